// Large weights stay in the input file until the save (src/onnx/deferred.ts): the output still holds
// every byte, in memory and on disk; a file that changes or disappears in between is refused and
// nothing is written; a file too damaged to scan falls back to the whole read and its usual error.

import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, renameSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from '../src/api.js';
import { DEFER_MIN_BYTES, readModelFile, resolvePieces } from '../src/onnx/deferred.js';
import { loadModelBytes, loadModelFile } from '../src/onnx/load.js';
import { saveModel, serializeModel } from '../src/onnx/save.js';
import { ROOT, cached, small, tempDir } from './support/fixtures.js';
import { residualChain } from './support/graphs.js';

const tmp = tempDir('se-inject-deferred-');
afterAll(() => tmp.cleanup());
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const RESNET18 = cached('resnet18_op9.onnx');
let n = 0;
const fresh = (name: string) => path.join(tmp.dir, `${n++}-${name}`);

describe('deferred weights', () => {
  it('a big file whose weights are all small is read once by the scan, every byte of it, a trailing fixed-width field too', () => {
    // A residual chain scanned as a big file would be, then an unknown ModelProto field of wire type
    // fixed64 (field 99), which the scan steps over.
    const chain = residualChain(1000);
    const bytes = new Uint8Array(chain.length + 11);
    bytes.set(chain);
    bytes.set([0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8], chain.length);
    const file = fresh('small-weights.onnx');
    writeFileSync(file, bytes.subarray(0, chain.length + 10));
    const read = readModelFile(file, { fromFileBytes: 1 });
    expect(read.deferred).toBeUndefined();
    expect(read.bytes).toEqual(bytes.subarray(0, chain.length + 10));
  });

  it('leave the large initializers of a big file unread: holes cover most of its bytes, each one a raw_data payload', async () => {
    const model = await loadModelFile(RESNET18);
    const deferred = model.source.deferred!;
    expect(deferred).toBeDefined();
    const holeBytes = deferred.holes.reduce((s, h) => s + h.end - h.start, 0);
    expect(holeBytes / deferred.size).toBeGreaterThan(0.9);
    const payloads = new Set(model.proto.graph.initializers.map((t) => t.rawData?.byteOffset));
    for (const h of deferred.holes) {
      expect(h.end - h.start).toBeGreaterThanOrEqual(DEFER_MIN_BYTES);
      expect(payloads.has(h.start)).toBe(true);
    }
  });

  it('read back through Model.tensorBytes exactly as the file holds them', async () => {
    const model = await loadModelFile(RESNET18);
    const file = readFileSync(RESNET18);
    const whole = loadModelBytes(new Uint8Array(file));
    const big = model.proto.graph.initializers.filter((t) => t.rawData!.byteLength >= DEFER_MIN_BYTES);
    expect(big.length).toBeGreaterThan(10);
    for (const t of big) {
      const u = whole.graph.initializer(t.name)!;
      expect(Buffer.from(model.tensorBytes(t)).equals(Buffer.from(u.rawData!)), t.name).toBe(true);
    }
  });

  it('defer: false reads every byte, so rawData holds the real values', async () => {
    const model = await loadModelFile(RESNET18, { defer: false });
    expect(model.source.deferred).toBeUndefined();
    const t = model.proto.graph.initializers.find((i) => i.rawData!.byteLength >= DEFER_MIN_BYTES)!;
    expect(Buffer.from(t.rawData!).equals(Buffer.from(model.tensorBytes(t)))).toBe(true);
    expect(t.rawData!.some((b) => b !== 0)).toBe(true);
  });

  it('never defers a tensor under 1 KiB, whatever is asked: shape constants are always read', async () => {
    const model = await loadModelFile(small('tiny_resnet.onnx'), { defer: { fromFileBytes: 0, minTensorBytes: 1 } });
    const holes = model.source.deferred?.holes ?? [];
    expect(holes.length).toBeGreaterThan(0);
    for (const h of holes) expect(h.end - h.start).toBeGreaterThanOrEqual(1024);
  });

  it('small files are read whole: nothing deferred', async () => {
    expect((await loadModelFile(small('tiny_resnet.onnx'))).source.deferred).toBeUndefined();
  });

  it('an injected model saved to a file and serialized in memory gives the same bytes as the same model read whole', async () => {
    const lazy = await loadModelFile(RESNET18);
    const eager = loadModelBytes(new Uint8Array(readFileSync(RESNET18)), { baseDir: path.dirname(RESNET18) });
    inject(lazy, { seed: 3 });
    inject(eager, { seed: 3 });
    const expected = Buffer.from(serializeModel(eager));
    const out = fresh('resnet18.onnx');
    await saveModel(lazy, out);
    expect(readFileSync(out).equals(expected)).toBe(true);
    expect(Buffer.from(serializeModel(lazy)).equals(expected)).toBe(true);
  });

  it('moved to external data (--external-data) are copied from the input file into OUT.data', async () => {
    const lazy = await loadModelFile(RESNET18);
    inject(lazy);
    const out = fresh('resnet18-ext.onnx');
    await saveModel(lazy, out, { externalData: true });
    const back = await loadModelFile(out);
    expect(back.source.external.size).toBeGreaterThan(10);
    for (const t of lazy.proto.graph.initializers) {
      const u = back.graph.initializer(t.name)!;
      expect(Buffer.from(back.tensorBytes(u)).equals(Buffer.from(lazy.tensorBytes(t))), t.name).toBe(true);
    }
  });

  it('an input changed between load and save is refused, and nothing is written', async () => {
    const input = fresh('changing.onnx');
    copyFileSync(RESNET18, input);
    const model = await loadModelFile(input);
    inject(model);
    utimesSync(input, new Date(), new Date(Date.now() + 5000));
    const out = fresh('never.onnx');
    await expect(saveModel(model, out)).rejects.toThrow(/changed while se-inject was working on it; nothing was written/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an input replaced by another file of the same size is refused too', async () => {
    const input = fresh('replaced.onnx');
    copyFileSync(RESNET18, input);
    const model = await loadModelFile(input);
    const { mtime } = statSync(input);
    copyFileSync(RESNET18, `${input}.new`);
    renameSync(`${input}.new`, input);
    utimesSync(input, mtime, mtime);
    await expect(saveModel(model, fresh('never.onnx'))).rejects.toThrow(/changed while se-inject was working on it/);
  });

  it('an input deleted between load and save is refused, and nothing is written', async () => {
    const input = fresh('deleted.onnx');
    copyFileSync(RESNET18, input);
    const model = await loadModelFile(input);
    inject(model);
    unlinkSync(input);
    const out = fresh('never.onnx');
    await expect(saveModel(model, out)).rejects.toThrow(/cannot read .* again to copy its weights/);
    expect(existsSync(out)).toBe(false);
    expect(() => serializeModel(model)).toThrow(/cannot read .* again to copy its weights/);
  });

  it('--in-place on a big model copies the weights from the original before it is replaced', async () => {
    const file = fresh('in-place.onnx');
    copyFileSync(RESNET18, file);
    const { stderr } = await promisify(execFile)(process.execPath, [CLI, file, '-o', file, '--in-place', '--quiet']);
    expect(stderr).toBe('');
    const before = loadModelBytes(new Uint8Array(readFileSync(RESNET18)));
    const after = loadModelBytes(new Uint8Array(readFileSync(file)));
    for (const t of before.proto.graph.initializers) {
      expect(Buffer.from(after.graph.initializer(t.name)!.rawData!).equals(Buffer.from(t.rawData!)), t.name).toBe(true);
    }
  });

  it('a big file cut inside a weight falls back to the whole read and is refused as truncated', async () => {
    const file = fresh('cut.onnx');
    copyFileSync(RESNET18, file);
    truncateSync(file, 30_000_000);
    await expect(loadModelFile(file)).rejects.toThrow(/protobuf is malformed .* truncated/);
  });

  it('a big file that is not protobuf at all is refused as before', async () => {
    const file = fresh('noise.onnx');
    const noise = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    writeFileSync(file, noise);
    expect(readModelFile(file).deferred).toBeUndefined();
    await expect(loadModelFile(file)).rejects.toThrow(/not an ONNX model/);
  });

  it('resolvePieces turns views of holes into file regions, merges contiguous runs around them, keeps other bytes apart', () => {
    const big = DEFER_MIN_BYTES;
    const source = new Uint8Array(10 * big);
    source.set([8, 7, 6], 4 * big + 7); // what a re-encoded tag and length would equal
    const deferred = { file: 'f', holes: [{ start: 2 * big, end: 3 * big }, { start: 3 * big + 10, end: 4 * big }], size: source.length, mtimeMs: 0, ino: 0 };
    const view = (from: number, to: number) => source.subarray(from, to);
    const describe = (p: Uint8Array | { offset: number; length: number }) =>
      p instanceof Uint8Array ? (p.buffer === source.buffer ? `mem ${p.byteOffset}+${p.byteLength}` : `other ${p.byteLength}`) : `file ${p.offset}+${p.length}`;
    // A large view before the first hole stays in memory; the small header between the holes, the small
    // view after them and fresh bytes equal to the file's there join the copy; other bytes break the run.
    const pieces = resolvePieces([
      view(0, 2 * big + 5), view(2 * big + 5, 3 * big + 20), view(3 * big + 20, 4 * big + 7), Uint8Array.of(8, 7, 6),
      Uint8Array.of(1, 2), view(4 * big + 10, 4 * big + 12),
    ], source, deferred);
    expect(pieces.map(describe)).toEqual([`mem 0+${2 * big}`, `file ${2 * big}+${2 * big + 10}`, 'other 2', `mem ${4 * big + 10}+2`]);
    // Zeros that a hole holds in memory never pass for the file's bytes.
    const zeros = resolvePieces([view(2 * big - 4, 2 * big), new Uint8Array(4)], source, { ...deferred, holes: [{ start: 2 * big, end: 3 * big }] });
    expect(zeros.map(describe)).toEqual([`mem ${2 * big - 4}+4`, 'other 4']);
    expect(resolvePieces([view(0, 10)], source, undefined).map(describe)).toEqual(['mem 0+10']);
  });
});
