// Placement proved per tensor on the block families torchvision lacks, in the forms other exporters write
// (fixtures/blocks, made by fixtures/export_blocks.py, whose expected.json names, from each architecture's
// definition, the node whose output every SE scales and its width). Each output must pass onnx.checker
// and compute the original function (--init preserve) on ONNX Runtime.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, tempDir } from './support/fixtures.js';

const DIR = path.join(ROOT, 'fixtures/blocks');
interface Expected {
  how: string;
  sites?: { node: string; tensor: string; channels: number }[];
  sameParamsAs?: string;
  exit?: number;
  why?: string;
}
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, Expected>;
const tmp = tempDir('se-inject-blocks-');
afterAll(() => tmp.cleanup());

const placed = Object.entries(expected).filter(([, e]) => e.sites);

describe.each(placed)('%s', (file, e) => {
  it(`SE exactly where the architecture puts it (${e.how})`, async () => {
    const out = path.join(tmp.dir, file);
    const { report } = await convertFile(path.join(DIR, file), out, { init: 'preserve' });
    expect(report.blocks.map((b) => [b.tensor, b.channels])).toEqual(e.sites!.map((s) => [s.tensor, s.channels]));
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(path.join(DIR, file), out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
    expect(v.passed).toBe(true);
  });
  if (e.sameParamsAs) {
    it(`counts the weights where they live: the same parameters as ${e.sameParamsAs}`, async () => {
      const here = analyze(await loadModel(path.join(DIR, file)));
      const there = analyze(await loadModel(path.join(DIR, e.sameParamsAs!)));
      expect(here.params.before).toBe(there.params.before);
      expect(here.params.where).toEqual({ initializers: 0, constantNodes: there.params.before });
      expect(here.params.added).toBe(there.params.added);
      expect(here.macs.before).toBe(there.macs.before);
    });
  }
});

describe.each(Object.entries(expected).filter(([, e]) => e.exit))('%s', (file, e) => {
  it(`is refused with exit ${e.exit}, naming why (${e.how})`, async () => {
    const cli = path.join(ROOT, 'dist/src/cli/main.js');
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [cli, path.join(DIR, file), '-o', path.join(tmp.dir, `refused-${file}`)], (err, _out, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stderr })));
    expect(code).toBe(e.exit);
    expect(stderr).toMatch(new RegExp(e.why!));
    expect(stderr.trim().split('\n').length).toBe(1);
  });
});
