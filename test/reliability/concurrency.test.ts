// Many conversions from one process: run at once they give the bytes they give one by one (no shared
// state between models, temporary names that cannot collide), and a model's memory is released once it
// is saved, so a long-running pipeline does not grow.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { convertBytes, convertFile } from '../../src/api.js';
import type { SEInjectOptions } from '../../src/api.js';
import { FUTURE_FIELDS, cached, small, tempDir } from '../support/fixtures.js';

const tmp = tempDir('se-inject-concurrency-');
afterAll(() => tmp.cleanup());

const JOBS: { input: string; options: SEInjectOptions }[] = [
  { input: small('tiny_resnet.onnx'), options: {} },
  { input: small('tiny_resnet.onnx'), options: { seed: 7, ratio: 4 } },
  { input: small('tiny_resnet_dynbatch.onnx'), options: { init: 'preserve' } },
  { input: small('tiny_shufflenet.onnx'), options: {} },
  { input: small('tiny_mobilenet_v2.onnx'), options: { mobilenetPlacement: 'v3' } },
  { input: small('tiny_inception.onnx'), options: {} },
  { input: FUTURE_FIELDS, options: { seed: 3 } },
  { input: cached('resnet50_external/model.onnx'), options: {} },
];

const read = (file: string) => readFileSync(file);
const sha = (file: string) => (existsSync(file) ? createHash('sha256').update(read(file)).digest('hex') : 'absent');
/** The model file and its external data file, as hashes (a 100 MB toEqual would take minutes). */
const outputs = (file: string) => [sha(file), sha(`${file}.data`)];

describe('conversions at once', () => {
  it('8 convertFile calls under Promise.all write what they write one by one', async () => {
    // One name in two folders: the external data file's name is written into the model.
    const out = (tag: string, i: number) => path.join(tmp.dir, tag, `job-${i}.onnx`);
    mkdirSync(path.join(tmp.dir, 'serial'));
    mkdirSync(path.join(tmp.dir, 'parallel'));
    for (const [i, job] of JOBS.entries()) await convertFile(job.input, out('serial', i), job.options);
    const results = await Promise.all(JOBS.map((job, i) => convertFile(job.input, out('parallel', i), job.options)));
    expect(results.every((r) => r.report.inserted > 0)).toBe(true);
    JOBS.forEach((_, i) => expect(outputs(out('parallel', i)), `job ${i}`).toEqual(outputs(out('serial', i))));
  });

  it('convertBytes gives the bytes convertFile writes', async () => {
    const inline = JOBS.filter((j) => !j.input.includes('external'));
    const files = await Promise.all(inline.map(async (job, i) => {
      const file = path.join(tmp.dir, `file-${i}.onnx`);
      await convertFile(job.input, file, job.options);
      return read(file);
    }));
    const bytes = await Promise.all(inline.map(async (job) => convertBytes(read(job.input), job.options).bytes!));
    inline.forEach((_, i) => expect(Buffer.from(bytes[i]!).equals(files[i]!), `job ${i}`).toBe(true));
  });
});

/** `global.gc` without --expose-gc: the flag can be set at run time and read from a fresh context. */
function gc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function retained(collect: () => void): number {
  collect();
  collect();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('memory', () => {
  it('50 conversions in a loop do not grow memory: each model is released after it is saved', async () => {
    const collect = gc();
    const input = small('tiny_resnet.onnx');
    const size = read(input).length;
    const convert = (i: number) => convertFile(input, path.join(tmp.dir, `loop-${i % 2}.onnx`), { overwrite: true });
    for (let i = 0; i < 5; i++) await convert(i);
    const before = retained(collect);
    for (let i = 0; i < 50; i++) await convert(i);
    const growth = retained(collect) - before;
    // A model kept alive holds at least its file's bytes (tensors are views into them): 50 would add 50 × size.
    expect(growth).toBeLessThan(5 * size);
  });
});
