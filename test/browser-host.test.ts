// The browser host: a big File's large weights are never read (they stay in it as holes, as on Node),
// and the output Blob, which refers to them as slices of the input, holds exactly the bytes the Node
// library writes for the same model and options.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inject } from '../src/core.js';
import { loadModelBlob, loadModelSource, serializeModelBlob } from '../src/host/browser.js';
import type { BlobByteSource } from '../src/host/browser.js';
import { loadModelBytes, loadModelFile } from '../src/onnx/load.js';
import { serializeModel } from '../src/onnx/save.js';
import { cached, small } from './support/fixtures.js';

/** A File as a worker sees it (synchronous range reads), counting what is read. */
function fileSource(file: string): { source: BlobByteSource; read: () => number; sliced: () => number } {
  const bytes = readFileSync(file);
  let read = 0;
  let sliced = 0;
  const source: BlobByteSource = {
    name: file,
    size: bytes.byteLength,
    read: (offset, length) => {
      read += length;
      return new Uint8Array(bytes.subarray(offset, offset + length));
    },
    slice: (offset, length) => {
      sliced += length;
      return new Blob([bytes.subarray(offset, offset + length)]);
    },
  };
  return { source, read: () => read, sliced: () => sliced };
}

const blobBytes = async (b: Blob) => Buffer.from(await b.arrayBuffer());

describe('browser host', () => {
  it('leaves a big model\'s weights in the File and writes the Node library\'s bytes, the weights as slices of the input', async () => {
    const file = cached('mobilenet_v2_op13.onnx');
    const { source, read, sliced } = fileSource(file);
    const model = loadModelSource(source);
    const holes = model.source.deferred!.holes;
    const held = holes.reduce((n, h) => n + h.end - h.start, 0);
    expect(held).toBeGreaterThan(source.size * 0.6);
    expect(read()).toBeLessThan(source.size - held + (holes.length + 1) * 64 * 1024);
    const reference = await loadModelFile(file);
    expect(reference.source.deferred!.holes).toEqual(holes);
    const a = inject(model, { seed: 5, ratio: 8 });
    const b = inject(reference, { seed: 5, ratio: 8 });
    expect(a.inserted).toBe(b.inserted);
    const readBeforeSave = read();
    const out = serializeModelBlob(model);
    expect(read()).toBe(readBeforeSave);
    expect(sliced()).toBeGreaterThanOrEqual(held);
    expect((await blobBytes(out)).equals(Buffer.from(serializeModel(reference)))).toBe(true);
    // Reading a weight's bytes reads them from the File, exactly.
    const t = model.proto.graph.initializers.find((i) => i.rawData && i.rawData.byteLength >= 256 * 1024)!;
    const u = reference.proto.graph.initializers.find((i) => i.name === t.name)!;
    expect(Buffer.from(model.tensorBytes(t)).equals(Buffer.from(reference.tensorBytes(u)))).toBe(true);
  });

  it('reads a File whole where reads cannot be synchronous (a page\'s main thread), with the same result', async () => {
    const bytes = readFileSync(small('tiny_resnet.onnx'));
    const model = await loadModelBlob(new Blob([bytes]), { label: 'tiny_resnet.onnx' });
    expect(model.source.deferred).toBeUndefined();
    expect((await blobBytes(serializeModelBlob(model))).equals(bytes)).toBe(true);
  });

  it('refuses what the Node loader refuses, with the same message', async () => {
    const cut = readFileSync(small('tiny_resnet.onnx')).subarray(0, 1000);
    const { source } = fileSource(small('tiny_resnet.onnx'));
    const truncated: BlobByteSource = { ...source, size: cut.byteLength, read: (o, l) => new Uint8Array(cut.subarray(o, o + l)) };
    const message = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    const web = message(() => loadModelSource(truncated, { label: 'm.onnx', defer: { fromFileBytes: 0, minTensorBytes: 1024 } }));
    expect(web).toMatch(/^m\.onnx is not an ONNX model: the protobuf is malformed/);
    expect(web).toBe(message(() => loadModelBytes(cut, { label: 'm.onnx' })));
    const empty: BlobByteSource = { ...source, size: 0 };
    expect(message(() => loadModelSource(empty, { label: 'm.onnx' }))).toBe('m.onnx is empty (0 bytes); it is not an ONNX model');
  });
});
