// Nothing lost: after an injection, saved and read back, everything the passes did not touch is what the
// input had, byte for byte — nodes, initializers (external data contents too), value_info, graph inputs
// and outputs, metadata, functions, opset imports, IR version and fields no schema knows. Rewired nodes
// differ only in the inputs that now read an SE output.

import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from '../../src/api.js';
import type { Model } from '../../src/ir/model.js';
import { gatherBytes } from '../../src/onnx/deferred.js';
import { loadModelFile } from '../../src/onnx/load.js';
import { encodeNode, encodeTensor } from '../../src/onnx/proto.js';
import type { Extra, NodeProto, TensorProto } from '../../src/onnx/proto.js';
import { saveModel } from '../../src/onnx/save.js';
import { fields } from '../../src/onnx/wire.js';
import { FUTURE_FIELDS, cached, small, tempDir } from '../support/fixtures.js';

const tmp = tempDir('se-inject-lossless-');
afterAll(() => tmp.cleanup());

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const extras = (xs: readonly Extra[]) => xs.map((e) => `${e.no}:${hex(e.bytes)}`);
const key = (n: NodeProto) => n.outputs.join('|');
const isSE = (n: NodeProto | undefined) => !!n?.metadataProps.some((p) => p.key === 'se-inject.block');

/** A node's fields other than its inputs, as the bytes that were read. */
const allButInputs = (n: NodeProto) => [...fields(encodeNode(n).toBytes())].filter((f) => f.no !== 1).map((f) => hex(f.bytes));

/** The tensor's real bytes: weights a big file's loader left on disk, and external data, read from their files. */
const tensorBytes = (model: Model, t: TensorProto) => Buffer.from(model.tensorBytes(t));
/** A tensor's whole encoding as it will be written, deferred weights included. */
const encoded = (model: Model, t: TensorProto) => hex(gatherBytes(encodeTensor(t).finish(), model.source.bytes, model.source.deferred));

let saved = 0;

/** Injects into a fresh load of `file`, saves, reads back; returns input, reloaded output and SE count. */
async function roundTrip(file: string): Promise<{ before: Model; after: Model; inserted: number }> {
  const before = await loadModelFile(file);
  const model = await loadModelFile(file);
  const { inserted } = inject(model);
  if (!inserted) return { before, after: model, inserted };
  const out = path.join(tmp.dir, `${saved++}-${path.basename(file)}`);
  await saveModel(model, out);
  return { before, after: await loadModelFile(out), inserted };
}

function expectModelKept(before: Model, after: Model, inserted: number): void {
  const [a, b] = [before.proto, after.proto];
  expect(b.irVersion).toBe(a.irVersion);
  expect([b.producerName, b.producerVersion]).toEqual([a.producerName, a.producerVersion]);
  expect(b.opsetImport.map((o) => hex(o.src!))).toEqual(a.opsetImport.map((o) => hex(o.src!)));
  expect(extras(b.extras)).toEqual(extras(a.extras));
  expect(extras(b.graph.extras)).toEqual(extras(a.graph.extras));
  expect(b.graph.name).toBe(a.graph.name);
  const added = inserted ? [{ key: 'se-inject', value: expect.any(String) }] : [];
  expect(b.metadataProps.map(({ key, value }) => ({ key, value }))).toEqual([...a.metadataProps.map(({ key, value }) => ({ key, value })), ...added]);
  for (const list of ['inputs', 'outputs', 'valueInfo'] as const) {
    expect(b.graph[list].map((v) => hex(v.src!)), list).toEqual(a.graph[list].map((v) => hex(v.src!)));
  }
}

function expectInitializersKept(before: Model, after: Model): void {
  const out = new Map(after.proto.graph.initializers.map((t) => [t.name, t]));
  for (const t of before.proto.graph.initializers) {
    const u = out.get(t.name)!;
    expect(u, t.name).toBeDefined();
    expect([u.dataType, u.dims, extras(u.extras)], t.name).toEqual([t.dataType, t.dims, extras(t.extras)]);
    if (!before.externalRef(t) && !after.externalRef(u)) expect(encoded(after, u) === encoded(before, t), t.name).toBe(true);
    expect(tensorBytes(after, u).equals(tensorBytes(before, t)), t.name).toBe(true);
  }
  for (const u of after.proto.graph.initializers) if (!before.graph.initializer(u.name)) expect(u.name).toMatch(/^se\//);
}

/** Returns how many nodes were rewired. */
function expectNodesKept(before: Model, after: Model): number {
  const g = after.graph;
  const out = new Map(g.nodes.map((n) => [key(n), n]));
  let rewired = 0;
  for (const n of before.graph.nodes) {
    const m = out.get(key(n))!;
    expect(m, key(n)).toBeDefined();
    if (hex(encodeNode(m).toBytes()) === hex(encodeNode(n).toBytes())) continue;
    rewired++;
    expect(allButInputs(m), n.name).toEqual(allButInputs(n));
    expect(m.inputs.length).toBe(n.inputs.length);
    n.inputs.forEach((input, i) => {
      if (m.inputs[i] === input) return;
      // The new input is an SE block's output, and that block reads the tensor the node used to read.
      const se = g.producer(m.inputs[i]!);
      expect(isSE(se), `${n.name} input ${i}`).toBe(true);
      const block = se!.metadataProps.find((p) => p.key === 'se-inject.block')!.value;
      expect(g.nodes.some((x) => isSE(x) && x.metadataProps.some((p) => p.value === block) && x.inputs.includes(input))).toBe(true);
    });
  }
  const old = new Set(before.graph.nodes.map(key));
  expect(g.nodes.filter((n) => !old.has(key(n))).every(isSE)).toBe(true);
  // The input's nodes keep their relative order.
  expect(g.nodes.filter((n) => old.has(key(n))).map(key)).toEqual(before.graph.nodes.map(key));
  return rewired;
}

const FIXTURES = [
  ...['tiny_resnet', 'tiny_resnet_dynbatch', 'tiny_shufflenet', 'tiny_shufflenet_dynbatch', 'tiny_mobilenet_v2', 'tiny_inception', 'tiny_densenet', 'tiny_efficientnet'].map((n) => small(`${n}.onnx`)),
  ...['resnet18_op9.onnx', 'mobilenet_v2_op9.onnx', 'shufflenet_v2_x1_0_op13_dynbatch.onnx', 'resnet50_external/model.onnx'].map(cached),
  FUTURE_FIELDS,
];

describe.each(FIXTURES.map((f) => [path.relative(path.dirname(path.dirname(f)), f), f]))('%s: inject, save, read back', (_name, file) => {
  it('keeps every node, initializer, value_info, metadata entry, function and unknown field it did not rewrite', async () => {
    const { before, after, inserted } = await roundTrip(file);
    expectModelKept(before, after, inserted);
    expectInitializersKept(before, after);
    const rewired = expectNodesKept(before, after);
    if (inserted) expect(rewired).toBeGreaterThanOrEqual(inserted);
    else expect(rewired).toBe(0);
  });
});

describe('future-fields.onnx keeps all it carries through an injection', () => {
  it('node, graph and model metadata, the unknown field 1000, the function and the INT4 initializer', async () => {
    const { after, inserted } = await roundTrip(FUTURE_FIELDS);
    expect(inserted).toBe(1);
    const node = (name: string) => after.graph.nodes.find((n) => n.name === name)!;
    expect(node('block/conv1').metadataProps.map((p) => p.key)).toEqual(['source', 'pkg.torch.onnx.stack_trace']);
    expect(node('block/conv2').metadataProps).toHaveLength(1);
    const unknown = node('block/conv2').extras.filter((e) => e.no === 1000);
    expect(unknown.map((e) => [...fields(e.bytes)][0]!.num)).toEqual([7]);
    const graphMeta = after.proto.graph.extras.filter((e) => e.no === 16);
    expect(graphMeta.map((e) => Buffer.from(e.bytes).toString('latin1'))).toEqual([expect.stringContaining('graph.note')]);
    expect(after.proto.metadataProps.map((p) => p.key)).toEqual(['model.note', 'se-inject']);
    const fn = after.proto.extras.filter((e) => e.no === 25).map((e) => [...fields(e.bytes)][0]!.payload);
    expect(fn).toHaveLength(1);
    expect(Buffer.from(fn[0]!).toString('latin1')).toMatch(/ScaledRelu[\s\S]*custom\.fn/);
    expect([...fields(fn[0]!)].filter((f) => f.no === 14), 'FunctionProto.metadata_props').toHaveLength(1);
    const int4 = after.graph.initializer('quant_table_int4')!;
    expect([int4.dataType, int4.dims, int4.rawData?.byteLength]).toEqual([22, [4], 2]);
    expect(after.proto.irVersion).toBe(10);
    expect(after.opset).toBe(21);
  });
});
