// Sealed blocks: an inserted SE block held as one record must write the bytes, and expand into the
// nodes, that building it as nodes gives — for every block kind, option and element type — and a graph
// holding sealed blocks must answer every question as if they were nodes.

import { describe, expect, it } from 'vitest';
import { countOps } from '../src/report/op-counts.js';
import { inject } from '../src/api.js';
import { lintGraph } from '../src/ir/lint.js';
import { sealedLayout } from '../src/ir/sealed.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { DataType, encodeNode, encodeTensor } from '../src/onnx/proto.js';
import { serializeModel } from '../src/onnx/save.js';
import { WireWriter } from '../src/onnx/wire.js';
import { BLOCK_KINDS, buildSE } from '../src/se/build.js';
import type { SEBlockPlan, SEOptions } from '../src/se/build.js';
import { namesUnderFreshPrefix } from '../src/se/names.js';
import { SealedSE, blockTemplate } from '../src/se/sealed.js';
import { residualChain } from './support/graphs.js';

const BASE: SEOptions = {
  block: 'se', ratio: 16, divisor: 1, minChannels: 1, bias: true, gate: 'sigmoid', init: 'he', seed: 0, act: 'relu', reduceFrom: 'tensor', form: 'mul',
};

function bytesOf(write: (w: WireWriter) => void): Uint8Array {
  const w = new WireWriter();
  write(w);
  return w.toBytes();
}

describe('a sealed SE block is the block buildSE builds', () => {
  const cases: { o: Partial<SEOptions>; plan: Partial<SEBlockPlan> }[] = [];
  for (const block of BLOCK_KINDS) {
    for (const init of ['he', 'preserve'] as const) {
      cases.push({ o: { block, init }, plan: {} });
      cases.push({ o: { block, init, bias: false, act: 'silu' }, plan: { dtype: DataType.FLOAT16, opset: 18 } });
    }
  }
  cases.push({ o: { act: 'hardswish', gate: 'hardsigmoid', seed: 7 }, plan: { dtype: DataType.DOUBLE, opset: 13, gate: 'hardsigmoid' } });
  cases.push({ o: { act: 'hardswish' }, plan: { dtype: DataType.BFLOAT16, opset: 14, reduceChannels: 64, ratio: 4 } });
  // Weights of many bytes (written apart from the block's other bytes), drawn and zero.
  for (const init of ['he', 'preserve'] as const) cases.push({ o: { block: 'cbam', init }, plan: { channels: 512 } });
  cases.push({ o: { block: 'ese' }, plan: { channels: 256, dtype: DataType.FLOAT16 } });
  // 1-D (N×C×L) and 3-D (N×C×D×H×W) maps: every kind's convs of that rank.
  for (const spatialAxes of [1, 3]) for (const block of BLOCK_KINDS) cases.push({ o: { block }, plan: { spatialAxes, spatialDims: new Array(spatialAxes).fill(8) } });
  // The resize form: every kind's channel gate repeated to the map's size (with the roi opsets 11 and 12 require), on every map rank.
  for (const block of BLOCK_KINDS) {
    for (const init of ['he', 'preserve'] as const) cases.push({ o: { block, init, form: 'resize' }, plan: {} });
    cases.push({ o: { block, form: 'resize' }, plan: { opset: 11, spatialDims: [7, 5] } });
    cases.push({ o: { block, form: 'resize' }, plan: { spatialAxes: 3, spatialDims: [2, 4, 4] } });
  }

  it.each(cases.map((c, i) => [i, c] as const))('case %i: same nodes, weights and bytes, under another prefix and tensor', (_, c) => {
    const o = { ...BASE, ...c.o };
    const plan = (prefix: string, tensor: string): SEBlockPlan => ({
      prefix, tensor, channels: 32, dtype: DataType.FLOAT, gate: o.gate, opset: 13, spatialAxes: 2, spatialDims: [8, 8], ...c.plan,
    });
    const template = blockTemplate(plan('se/stage1.block1', '/layer1/Relu_output_0'), o);
    // Other blocks of the same shape: the template's own names, a longer prefix and a tensor with a
    // name past ASCII, the first again, and a prefix past ASCII.
    const blocks = [
      plan('se/stage1.block1', '/layer1/Relu_output_0'), plan('se/stage12.block345', 'feature/λ/out'),
      plan('se/stage1.block1', '/layer1/Relu_output_0'), plan('se/étage2.bloc1', 't'),
    ];
    for (const mine of blocks) {
      const sealed = new SealedSE(mine, o, template);
      const built = buildSE(mine, o, namesUnderFreshPrefix());
      const expanded = sealed.expand();
      expect(expanded.nodes).toEqual(built.nodes);
      expect(expanded.initializers).toEqual(built.initializers);
      expect(sealed.writes).toEqual([built.output]);
      expect(sealed.opTypes).toEqual(built.nodes.map((n) => n.opType));
      const nodes = bytesOf((w) => built.nodes.forEach((n) => w.messageField(1, encodeNode(n))));
      const weights = bytesOf((w) => built.initializers.forEach((t) => w.messageField(5, encodeTensor(t))));
      expect(bytesOf((w) => sealed.writeNodes(w))).toEqual(nodes);
      expect(bytesOf((w) => sealed.writeInitializers(w))).toEqual(weights);
      expect([sealed.nodeBytesLength, sealed.initializerBytesLength]).toEqual([nodes.length, weights.length]);
    }
  });
});

describe('a graph holding sealed blocks', () => {
  it('writes the model it would write with the blocks as nodes, and expands them for any reader', () => {
    const model = loadModelBytes(residualChain(40), { label: 'chain' });
    const report = inject(model, { init: 'preserve' });
    expect(report.inserted).toBe(40);
    expect(sealedLayout(model.graph.proto)).toBeDefined();
    const ops = countOps(model.graph);
    const bytes = serializeModel(model);
    // Still sealed after counting and writing; reading the nodes expands them into the same model.
    expect(sealedLayout(model.graph.proto)).toBeDefined();
    expect(model.graph.nodes.length).toBe(40 * 2 + 1 + 40 * 8);
    expect(sealedLayout(model.graph.proto)).toBeUndefined();
    expect(lintGraph(model.graph)).toEqual([]);
    expect(countOps(model.graph)).toEqual(ops);
    expect(serializeModel(model)).toEqual(bytes);
    // A reloaded copy counts what the report said.
    const again = loadModelBytes(bytes, { label: 'out' });
    expect(again.graph.nodes.length).toBe(model.graph.nodes.length);
    expect(report.params.after - report.params.before).toBe(report.blocks.reduce((s, b) => s + b.params, 0));
  });

  it('expands on a question about a value, and the answer is the one the nodes give', () => {
    const model = loadModelBytes(residualChain(3), { label: 'chain' });
    inject(model, {});
    const g = model.graph;
    expect(g.holdsSealed).toBe(true);
    const out = sealedLayout(g.proto)!.groups[0]!;
    const written = (out as unknown as { writes: string[] }).writes[0]!;
    expect(g.producer(written)?.opType).toBe('Mul');
    expect(g.holdsSealed).toBe(false);
    expect(g.consumers(written).length).toBeGreaterThan(0);
  });

  it('is not used when a name in the model already starts with the blocks\' prefix: names then stay fresh', () => {
    const model = loadModelBytes(residualChain(3), { label: 'chain' });
    inject(model, {});
    const twice = loadModelBytes(serializeModel(model), { label: 'se chain' });
    const report = inject(twice, { at: [twice.graph.nodes.find((n) => n.opType === 'Add')!.outputs[0]!] });
    expect(report.inserted).toBe(1);
    expect(twice.graph.holdsSealed).toBe(false);
    expect(lintGraph(twice.graph)).toEqual([]);
  });
});
