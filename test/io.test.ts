// Lossless I/O: what goes in comes out, field by field and byte by byte, including what the onnx-proto
// package's ONNX 1.10 schema drops (metadata_props, functions, INT4, unknown fields).

import { readFileSync, existsSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelBytes, loadModelFile } from '../src/onnx/load.js';
import { saveModel, serializeModel } from '../src/onnx/save.js';
import { convertFile } from '../src/api.js';
import { decodeModel } from '../src/onnx/proto.js';
import { fields } from '../src/onnx/wire.js';
import { SeInjectError } from '../src/errors.js';
import { validateModels } from '../src/validate/runtime.js';
import { FUTURE_FIELDS, cached, onnxCheck, small, tempDir } from './support/fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('future-fields.onnx (shared fixture)', () => {
  const bytes = readFileSync(FUTURE_FIELDS);
  const model = loadModelBytes(bytes);

  it('round-trips byte for byte', () => {
    expect(Buffer.from(serializeModel(model)).equals(bytes)).toBe(true);
  });

  it('keeps node metadata_props and the unknown field 1000', () => {
    const again = decodeModel(serializeModel(model));
    const conv1 = again.graph.nodes.find((n) => n.name === 'block/conv1')!;
    const conv2 = again.graph.nodes.find((n) => n.name === 'block/conv2')!;
    expect(conv1.metadataProps.map((p) => p.key)).toEqual(['source', 'pkg.torch.onnx.stack_trace']);
    expect(conv2.metadataProps).toHaveLength(1);
    const unknown = conv2.extras.find((e) => e.no === 1000)!;
    expect(unknown).toBeDefined();
    expect([...fields(unknown.bytes)][0]!.num).toBe(7);
  });

  it('keeps graph metadata_props, model metadata_props and the model-local function', () => {
    const again = decodeModel(serializeModel(model));
    const graphMeta = again.graph.extras.filter((e) => e.no === 16);
    expect(graphMeta).toHaveLength(1);
    expect(Buffer.from(graphMeta[0]!.bytes).toString('latin1')).toContain('graph.note');
    expect(again.metadataProps).toEqual([expect.objectContaining({ key: 'model.note' })]);
    const fn = again.extras.filter((e) => e.no === 25);
    expect(fn).toHaveLength(1);
    const text = Buffer.from(fn[0]!.bytes).toString('latin1');
    expect(text).toContain('ScaledRelu');
    expect(text).toContain('custom.fn');
  });

  it('keeps the INT4 initializer that no node reads', () => {
    const again = decodeModel(serializeModel(model));
    const q = again.graph.initializers.find((t) => t.name === 'quant_table_int4')!;
    expect(q.dataType).toBe(22);
    expect(q.dims).toEqual([4]);
    expect(q.rawData?.byteLength).toBe(2);
  });

  it('keeps tensor bytes as views into the loaded buffer', () => {
    const w = model.graph.proto.initializers.find((t) => t.rawData && t.rawData.byteLength > 1000)!;
    expect(w.rawData!.buffer).toBe(bytes.buffer);
  });
});

describe('torchvision exports round-trip', () => {
  const names = readdirSync(path.dirname(cached('x'))).filter((f) => f.endsWith('.onnx'));

  it.each(names)('%s comes back byte-identical', async (name) => {
    const file = cached(name);
    const model = await loadModelFile(file);
    expect(Buffer.from(serializeModel(model)).equals(readFileSync(file))).toBe(true);
  });

  it('keeps float16 element types (resnet18 fp16)', async () => {
    const model = await loadModelFile(cached('resnet18_op9_fp16.onnx'));
    expect(model.graph.proto.inputs[0]!.type!.elemType).toBe(10);
    expect([...model.graph.initializers.values()].filter((t) => t.dims.length === 4).every((t) => t.dataType === 10)).toBe(true);
  });
});

describe('external data', () => {
  const ext = cached('resnet50_external/model.onnx');

  it('loads without reading the data file, then saves next to the output', async () => {
    const model = await loadModelFile(ext);
    expect(model.source.external.size).toBeGreaterThan(50);
    const out = path.join(tmp.dir, 'ext-out.onnx');
    const saved = await saveModel(model, out);
    expect(saved.dataFile).toBe(`${out}.data`);
    expect(statSync(`${out}.data`).size).toBeGreaterThanOrEqual(statSync(path.join(path.dirname(ext), 'weights.bin')).size);
    const again = await loadModelFile(out);
    for (const t of again.graph.initializers.values()) {
      if (t.dataLocation === 1) expect(t.externalData.find((e) => e.key === 'location')!.value).toBe('ext-out.onnx.data');
    }
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(ext, out, { ep: 'cpu', runs: 0, expectEqual: true, rtol: 0, atol: 0 });
    expect(v.problems).toEqual([]);
    expect(v.outputs[0]!.maxAbsDiff).toBe(0);
  });

  it('new SE weights follow the layout of the input: external beside the original weights, small ones inline', async () => {
    const out = path.join(tmp.dir, 'ext-se.onnx');
    const { report } = await convertFile(ext, out, { init: 'preserve' });
    expect(report.inserted).toBe(16);
    const back = await loadModelFile(out);
    const se = back.proto.graph.initializers.filter((t) => t.name.startsWith('se/'));
    expect(se.length).toBe(16 * 4);
    for (const t of se) expect(t.dataLocation === 1, t.name).toBe(back.tensorBytes(t).byteLength >= 1024);
    // The model file holds the graph and the small tensors: SE-ResNet-50 adds 10 MB of weights, all outside it.
    expect(statSync(out).size).toBeLessThan(statSync(ext).size + 64 * 1024);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
  });

  it('moves weights out when asked (--external-data) and the result loads back', async () => {
    const model = await loadModelFile(small('tiny_resnet.onnx'));
    const out = path.join(tmp.dir, 'forced-ext.onnx');
    const saved = await saveModel(model, out, { externalData: true });
    expect(saved.dataBytes).toBeGreaterThan(0);
    expect(saved.bytes).toBeLessThan(statSync(small('tiny_resnet.onnx')).size / 2);
    expect((await loadModelFile(out)).source.external.size).toBeGreaterThan(0);
  });
});

describe('writes are atomic and never clobber', () => {
  it('refuses to overwrite an existing file without overwrite', async () => {
    const model = await loadModelFile(small('tiny_resnet.onnx'));
    const out = path.join(tmp.dir, 'exists.onnx');
    writeFileSync(out, 'keep me');
    await expect(saveModel(model, out)).rejects.toThrow(/already exists; pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await saveModel(model, out, { overwrite: true });
    expect(readFileSync(out).length).toBeGreaterThan(1000);
  });

  it('refuses a folder that does not exist, and leaves no temporary file behind', async () => {
    const model = await loadModelFile(small('tiny_resnet.onnx'));
    await expect(saveModel(model, path.join(tmp.dir, 'missing', 'x.onnx'))).rejects.toBeInstanceOf(SeInjectError);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(path.join(tmp.dir, 'missing'))).toBe(false);
  });
});
