// Each rule on small graphs: a positive case with the exact ops written, and named negative cases.

import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, inject } from '../src/api.js';
import { lintGraph } from '../src/ir/lint.js';
import { loadModelFile } from '../src/onnx/load.js';
import { serializeModel } from '../src/onnx/save.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { squeezeWidth } from '../src/se/build.js';
import { buildModel, conv, int64s, node, residualBlock, weight } from './support/models.js';
import { small } from './support/fixtures.js';

const SE_OPS = ['GlobalAveragePool', 'Conv', 'Relu', 'Conv', 'Sigmoid', 'Mul'];

describe('insertSEOnResidualBranch', () => {
  it('writes Add(SE(branch), shortcut) with exactly the SE ops', () => {
    const model = buildModel(residualBlock(32));
    const before = model.graph.nodes.map((n) => n.opType);
    const report = inject(model, { ratio: 16 });
    expect(report.inserted).toBe(1);
    expect(report.blocks[0]).toMatchObject({ kind: 'residual', channels: 32, squeezeChannels: 2, tensor: 'c2', stage: 1 });
    const after = model.graph.nodes.map((n) => n.opType);
    expect(after).toEqual([...before.slice(0, 3), ...SE_OPS, 'Add', 'Relu', 'GlobalAveragePool']);
    const add = model.graph.nodes.find((n) => n.opType === 'Add')!;
    expect(add.inputs).toEqual(['se/stage1.block1/scale', 'x']);
    expect(lintGraph(model.graph)).toEqual([]);
    // 32·2 + 2 + 2·32 + 32 weights and biases
    expect(report.params.added).toBe(32 * 2 + 2 + 2 * 32 + 32);
  });

  it('tags every new node with its SE block and records the options in the model', () => {
    const model = buildModel(residualBlock(32));
    inject(model, { seed: 3 });
    const added = model.graph.nodes.filter((n) => n.metadataProps.some((p) => p.key === 'se-inject.block'));
    expect(added).toHaveLength(6);
    expect(added.every((n) => n.name.startsWith('se/stage1.block1/'))).toBe(true);
    expect(JSON.parse(model.proto.metadataProps.find((p) => p.key === 'se-inject')!.value)).toMatchObject({ ratio: 16, seed: 3 });
  });

  it('places SE where --placement says (pre, post, identity)', () => {
    const pre = buildModel(residualBlock(32));
    inject(pre, { placement: 'pre' });
    expect(pre.graph.nodes.find((n) => n.name === 'c1')!.inputs[0]).toBe('se/stage1.block1/scale');
    expect(pre.graph.nodes.find((n) => n.opType === 'Add')!.inputs).toEqual(['c2', 'x']);

    const post = buildModel(residualBlock(32));
    inject(post, { placement: 'post' });
    expect(post.graph.nodes.at(-2)!.opType).toBe('Mul');
    expect(post.graph.nodes.find((n) => n.opType === 'Mul')!.inputs[0]).toBe('out');
    expect(post.graph.nodes.at(-1)!.inputs).toEqual(['se/stage1.block1/scale']);

    const identity = buildModel(residualBlock(32));
    inject(identity, { placement: 'identity' });
    expect(identity.graph.nodes.find((n) => n.opType === 'Add')!.inputs).toEqual(['c2', 'se/stage1.block1/scale']);
  });

  it('negative: a broadcasting Add (bias add) is not a residual sum', () => {
    const c1 = conv('x', 'c1', 16, 16);
    const b = weight('bias', [1, 16, 1, 1]);
    const model = buildModel({
      nodes: [c1.node, node('Add', ['c1', 'bias'], ['y'])], inits: [...c1.inits, b],
      input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 16, 8, 8] },
    });
    const report = inject(model);
    expect(report.inserted).toBe(0);
    expect(report.skipped[0]!.reason).toMatch(/constant or not a float feature map/);
  });

  it('negative: the float bias add of a MatMul head (tf2onnx, Keras) is not a feature map, and no shape arithmetic', () => {
    const rb = residualBlock(16);
    const w = weight('w', [16, 10]), b = weight('b', [10]);
    const model = buildModel({
      nodes: [...rb.nodes.slice(0, -1), node('GlobalAveragePool', ['out'], ['gap']), node('Flatten', ['gap'], ['flat']), node('MatMul', ['flat', 'w'], ['mm']), node('Add', ['mm', 'b'], ['y'])],
      inits: [...rb.inits, w, b], input: rb.input, output: { name: 'y', dims: [1, 10] },
    });
    const head = analyze(model).candidates.find((c) => c.node === 'y')!;
    expect(head).toMatchObject({ code: 'not-feature-map', reason: 'a sum of float tensors of rank 2, not N×C×H×W feature maps' });
  });

  it('negative: two parallel chains of two convs added (no shortcut) are not a residual unit', () => {
    const a1 = conv('x', 'a1', 16, 16), a = conv('a1', 'a', 16, 16), b1 = conv('x', 'b1', 16, 16), b = conv('b1', 'b', 16, 16);
    const model = buildModel({
      nodes: [a1.node, a.node, b1.node, b.node, node('Add', ['a', 'b'], ['y'])], inits: [...a1.inits, ...a.inits, ...b1.inits, ...b.inits],
      input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 16, 8, 8] },
    });
    expect(inject(model).skipped[0]!.reason).toMatch(/cannot tell branch from shortcut/);
  });

  it('a sum of single-conv branches of one input (RepVGG: 3×3 + 1×1 + identity) is one block: SE on the sum, before the ReLU; its inner Add is left alone', () => {
    const a = conv('x', 'a', 16, 16), b = conv('x', 'b', 16, 16, 1), c = conv('s', 'c', 16, 16);
    const model = buildModel({
      nodes: [a.node, b.node, node('Add', ['a', 'b'], ['ab']), node('Add', ['ab', 'x'], ['s']), node('Relu', ['s'], ['r']), c.node],
      inits: [...a.inits, ...b.inits, ...c.inits],
      input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'c', dims: [1, 16, 8, 8] },
    });
    const report = inject(model);
    expect(report.blocks.map((k) => k.tensor)).toEqual(['s']);
    expect(report.skipped.map((k) => k.code)).toEqual(['inner-sum']);
    expect(model.graph.nodes.find((n) => n.opType === 'Relu')!.inputs[0]).not.toBe('s');
  });

  it('negative: a sum of two conv-ReLU branches of one input is no RepVGG block (an activation does not fold into one conv)', () => {
    const a = conv('x', 'a', 16, 16), b = conv('x', 'b', 16, 16, 1);
    const model = buildModel({
      nodes: [a.node, b.node, node('Relu', ['a'], ['ra']), node('Relu', ['b'], ['rb']), node('Add', ['ra', 'rb'], ['s']), node('GlobalAveragePool', ['s'], ['y'])],
      inits: [...a.inits, ...b.inits], input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 16, 1, 1] },
    });
    const report = inject(model);
    expect(report.inserted).toBe(0);
    expect(report.candidates.find((c) => c.node === 's')).toMatchObject({ code: 'ambiguous' });
  });

  it('is idempotent: running on its own output inserts nothing', () => {
    const model = buildModel(residualBlock(32));
    inject(model);
    const again = loadModelBytes(serializeModel(model));
    const report = inject(again);
    expect(report.inserted).toBe(0);
    expect(report.skipped[0]!.reason).toMatch(/already holds attention \(/);
    expect(report.nothingToInsert).toMatch(/already hold SE/);
  });
});

describe('insertSEAfterDepthwiseBlock', () => {
  it('negative: a grouped conv whose input width is unknown is left alone as shape-unknown, not as a non-depthwise conv', () => {
    // Hardmax has no shape rule: the channel count of what it writes is unknown.
    const dw = conv('h', 'd', 16, 16, 3, 16), pw = conv('d', 'p', 16, 32, 1);
    const model = buildModel({
      nodes: [node('Hardmax', ['x'], ['h'], { axis: 1 }), dw.node, pw.node, node('GlobalAveragePool', ['p'], ['y'])],
      inits: [...dw.inits, ...pw.inits], input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 32, 1, 1] },
    });
    const c = analyze(model).candidates.find((k) => k.pass === 'mobilenet')!;
    expect(c).toMatchObject({ code: 'shape-unknown', reason: "a grouped conv (group 16) whose input's channel count is unknown" });
  });

  it('a depthwise block whose output is only reshaped into predictions (SSD\'s box and class heads) is left alone; the backbone block that feeds it gets SE', () => {
    // backbone: x → expand 1×1 → dw 3×3 → project 1×1 (f); head: dw 3×3 on f → 1×1 to 6 anchors × 4 → Reshape N×(−1)×4 → Concat → output
    const e = conv('x', 'e', 16, 32, 1), d = conv('e', 'd', 32, 32, 3, 32), f = conv('d', 'f', 32, 16, 1);
    const hd = conv('f', 'hd', 16, 16, 3, 16), hp = conv('hd', 'hp', 16, 24, 1);
    const model = buildModel({
      nodes: [e.node, d.node, f.node, hd.node, hp.node, node('Reshape', ['hp', 'shape'], ['boxes']), node('Concat', ['boxes', 'boxes'], ['y'], { axis: 1 })],
      inits: [...e.inits, ...d.inits, ...f.inits, ...hd.inits, ...hp.inits, int64s('shape', [1, -1, 4])],
      input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 768, 4] },
    });
    const report = analyze(model);
    expect(report.blocks.map((b) => b.tensor)).toEqual(['f']);
    const head = report.candidates.find((c) => c.tensor === 'hp' || c.node === 'hd');
    expect(head).toMatchObject({ code: 'prediction' });
    expect(head!.reason).toMatch(/^hp is only reshaped into predictions/);
  });

  it('a conv without kernel_shape (the attribute is optional) is sized by its weight: a 3×3 is no pointwise projection, a 1×1 is', () => {
    const block = (k: number) => {
      const dw = conv('x', 'd', 16, 16, 3, 16), pw = conv('d', 'p', 16, 32, k);
      const bare = { ...pw.node, attributes: pw.node.attributes.filter((a) => a.name !== 'kernel_shape') };
      return buildModel({
        nodes: [dw.node, bare, node('GlobalAveragePool', ['p'], ['y'])],
        inits: [...dw.inits, ...pw.inits], input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 32, 1, 1] },
      });
    };
    expect(analyze(block(3)).candidates.find((k) => k.pass === 'mobilenet')).toMatchObject({ code: 'no-projection' });
    expect(analyze(block(1)).blocks.map((b) => b.tensor)).toEqual(['p']);
  });
});

/**
 * x → conv a → relu → conv b → relu, Concat(x, a, b) → 1×1 conv → relu: VoVNet's OSA module. With `dense`,
 * conv b reads Concat(x, a) instead (DenseNet's growing concat); `aggregate` is the kernel after the concat.
 */
function osaModule(o: { dense?: boolean; aggregate?: number } = {}) {
  const a = conv('x', 'a', 8, 8), b = conv(o.dense ? 'xa' : 'ra', 'b', o.dense ? 16 : 8, 8), agg = conv('cat', 'agg', 24, 16, o.aggregate ?? 1);
  const nodes = [a.node, node('Relu', ['a'], ['ra']), ...(o.dense ? [node('Concat', ['x', 'ra'], ['xa'], { axis: 1 })] : []), b.node,
    node('Relu', ['b'], ['rb']), node('Concat', ['x', 'ra', 'rb'], ['cat'], { axis: 1 }), agg.node, node('Relu', ['agg'], ['out']),
    node('GlobalAveragePool', ['out'], ['y'])];
  return buildModel({ nodes, inits: [...a.inits, ...b.inits, ...agg.inits], input: { name: 'x', dims: [1, 8, 8, 8] }, output: { name: 'y', dims: [1, 16, 1, 1] } });
}

describe('insertSEAfterOneShotAggregation', () => {
  it('writes SE after the 1×1 aggregation conv\'s activation, not on the concat', () => {
    const model = osaModule();
    const report = inject(model, { ratio: 4 });
    expect(report.blocks.map((b) => [b.rule, b.tensor, b.channels])).toEqual([['insertSEAfterOneShotAggregation', 'out', 16]]);
    expect(model.graph.nodes.find((n) => n.opType === 'GlobalAveragePool' && n.outputs[0] === 'y')!.inputs).toEqual(['se/stage1.block1/scale']);
    expect(lintGraph(model.graph)).toEqual([]);
  });

  it('negative: a layer reading the concat of those before it is dense connectivity (DenseNet)', () => {
    const report = inject(osaModule({ dense: true }), { ratio: 4 });
    expect(report.inserted).toBe(0);
    expect(report.candidates.find((c) => c.node === 'cat')).toMatchObject({ result: 'skipped', code: 'dense' });
  });

  it('negative: a concat read by a 3×3 conv is not aggregated by a 1×1 one', () => {
    const report = inject(osaModule({ aggregate: 3 }), { ratio: 4 });
    expect(report.candidates.find((c) => c.node === 'cat')).toMatchObject({ result: 'skipped', code: 'dense' });
  });
});

describe('squeeze width', () => {
  it('is exactly C/r when r divides C, and rounds with --divisor', () => {
    expect(squeezeWidth(256, { ratio: 16, divisor: 1, minChannels: 1 })).toBe(16);
    expect(squeezeWidth(58, { ratio: 16, divisor: 1, minChannels: 1 })).toBe(4);
    expect(squeezeWidth(96, { ratio: 4, divisor: 8, minChannels: 8 })).toBe(24);
    expect(squeezeWidth(16, { ratio: 16, divisor: 8, minChannels: 8 })).toBe(8);
    expect(squeezeWidth(8, { ratio: 16, divisor: 1, minChannels: 1 })).toBe(1);
  });
});

describe('small committed fixtures', () => {
  const cases: [string, Record<string, number>, number][] = [
    ['tiny_resnet.onnx', { residual: 6 }, 3],
    ['tiny_resnet_dynbatch.onnx', { residual: 6 }, 3],
    ['tiny_shufflenet.onnx', { shufflenet: 6 }, 3],
    ['tiny_shufflenet_dynbatch.onnx', { shufflenet: 6 }, 3],
    ['tiny_mobilenet_v2.onnx', { residual: 11, mobilenet: 6 }, 7],
    ['tiny_inception.onnx', { inception: 2 }, 2],
  ];
  it.each(cases)('%s gets %j', async (file, families, stages) => {
    const model = await loadModelFile(small(file));
    const report = inject(model);
    const counts: Record<string, number> = {};
    for (const b of report.blocks) counts[b.kind] = (counts[b.kind] ?? 0) + 1;
    expect(counts).toEqual(families);
    expect(report.stages).toHaveLength(stages);
    expect(lintGraph(model.graph)).toEqual([]);
    expect(report.params.added).toBe(report.blocks.reduce((s, b) => s + b.params, 0));
  });

  it('DenseNet: nothing to insert, naming the supported families', async () => {
    const report = inject(await loadModelFile(small('tiny_densenet.onnx')));
    expect(report.inserted).toBe(0);
    expect(report.nothingToInsert).toMatch(/ResNet.*Inception.*MobileNet.*ShuffleNet/);
    expect(report.skipped.some((s) => /dense connectivity|fewer than two inputs/.test(s.reason))).toBe(true);
  });

  it("a ResNet ONNX Runtime optimized: at 'extended' (FusedConv) the blocks of the export; at 'all' (NCHWc layout) nothing, and the user is told to use the export", async () => {
    const ort = (await import('onnxruntime-node')).default;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'se-inject-ortopt-'));
    try {
      const exported = inject(await loadModelFile(small('tiny_resnet.onnx')));
      const written: Record<string, string> = {};
      for (const level of ['extended', 'all'] as const) {
        written[level] = path.join(dir, `${level}.onnx`);
        const session = await ort.InferenceSession.create(small('tiny_resnet.onnx'), { graphOptimizationLevel: level, optimizedModelFilePath: written[level], logSeverityLevel: 3 });
        await session.release();
      }
      const extended = inject(await loadModelFile(written.extended!));
      expect(extended.inserted).toBe(exported.inserted);
      expect(extended.blocks.map((b) => b.channels)).toEqual(exported.blocks.map((b) => b.channels));
      const all = inject(await loadModelFile(written.all!));
      expect(all.inserted).toBe(0);
      expect(all.nothingToInsert).toContain('com.microsoft.nchwc:Conv');
      expect(all.nothingToInsert).toMatch(/run se-inject on the model as exported/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('EfficientNet blocks that carry SE get none, and are told so', async () => {
    const report = inject(await loadModelFile(small('tiny_efficientnet.onnx')));
    expect(report.inserted).toBe(0);
    expect(report.nothingToInsert).toMatch(/already hold SE/);
  });

  it('--stages leaves out what it does not name', async () => {
    const model = await loadModelFile(small('tiny_resnet.onnx'));
    const report = inject(model, { stages: [1, 2] });
    expect(report.blocks.map((b) => b.stage)).toEqual([1, 1, 2, 2]);
    expect(report.skipped.filter((s) => /stage 3 excluded/.test(s.reason))).toHaveLength(2);
  });

  it('stages are the model\'s blocks whatever --placement scales, named where they start in the model', async () => {
    const standard = inject(await loadModelFile(small('tiny_resnet.onnx')));
    const pre = inject(await loadModelFile(small('tiny_resnet.onnx')), { placement: 'pre', stages: [1, 2] });
    expect(standard.stages.map((s) => `${s.blocks}@${s.startsAt}`)).toEqual(['2@/layers/layers.0', '2@/layers/layers.2', '2@/layers/layers.4']);
    expect(pre.blocks.map((b) => b.stage)).toEqual([1, 1, 2, 2]);
    expect(pre.stages.map((s) => s.startsAt)).toEqual(['/layers/layers.0', '/layers/layers.2']);
  });

  it('--stages naming a stage the model lacks is a usage error', async () => {
    const model = await loadModelFile(small('tiny_resnet.onnx'));
    expect(() => inject(model, { stages: [7] })).toThrow(/stages names stage 7, but .* has stages 1, 2, 3/);
  });

  it('--arch forces one family', async () => {
    const report = inject(await loadModelFile(small('tiny_mobilenet_v2.onnx')), { families: ['mobilenet'] });
    expect(report.blocks.every((b) => b.kind === 'mobilenet')).toBe(true);
    expect(report.inserted).toBe(17);
  });

  it('MobileNetV3 placement puts a hard-sigmoid SE between the depthwise activation and the projection', async () => {
    const model = await loadModelFile(small('tiny_mobilenet_v2.onnx'));
    const report = inject(model, { mobilenetPlacement: 'v3', gate: 'hardsigmoid' });
    expect(report.inserted).toBe(17);
    expect(report.blocks.every((b) => b.kind === 'mobilenet')).toBe(true);
    const scale = model.graph.nodes.find((n) => n.name === 'se/stage1.block1/scale')!;
    const reader = model.graph.consumers(scale.outputs[0]!)[0]!;
    expect(reader.opType).toBe('Conv');
    expect(model.graph.nodes.filter((n) => n.opType === 'HardSigmoid')).toHaveLength(17);
  });
});

describe('blocks of conv–transformer and MetaFormer models', () => {
  /** x → Conv → GRN channels-first (ReduceL2 over H×W, ÷ its ReduceMean over C, x·N·γ + β + x) → Conv → Add(x). */
  function grnBlock() {
    const c1 = conv('x', 'c1', 16, 16), c2 = conv('g', 'c2', 16, 16, 1);
    const gamma = weight('gamma', [1, 16, 1, 1]), beta = weight('beta', [1, 16, 1, 1]), eps = weight('eps', [1]);
    return buildModel({
      nodes: [c1.node,
        node('ReduceL2', ['c1'], ['gx'], { axes: [2, 3], keepdims: 1 }), node('ReduceMean', ['gx'], ['gm'], { axes: [1], keepdims: 1 }),
        node('Add', ['gm', 'eps'], ['ge']), node('Div', ['gx', 'ge'], ['nx']), node('Mul', ['c1', 'nx'], ['xn']),
        node('Mul', ['gamma', 'xn'], ['gxn']), node('Add', ['gxn', 'beta'], ['gb']), node('Add', ['gb', 'c1'], ['g']),
        c2.node, node('Add', ['x', 'c2'], ['sum']), node('GlobalAveragePool', ['sum'], ['y'])],
      inits: [...c1.inits, ...c2.inits, gamma, beta, eps], input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 16, 1, 1] },
    });
  }

  it("ConvNeXt-V2's GRN (a mean over the channels of per-channel norms, no learned gate) is no attention: the unit gets SE", () => {
    const report = inject(grnBlock());
    expect(report.blocks.map((b) => b.tensor)).toEqual(['c2']);
    expect(report.candidates.find((c) => c.node === 'g')).toMatchObject({ result: 'skipped', code: 'no-conv' });
  });

  it("negative: a sum with no conv on either input (PoolFormer's token mixer x + AvgPool(x) − x) is left alone as no-conv", () => {
    const model = buildModel({
      nodes: [node('AveragePool', ['x'], ['p'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] }), node('Sub', ['p', 'x'], ['m']),
        node('Add', ['x', 'm'], ['sum']), node('GlobalAveragePool', ['sum'], ['y'])],
      inits: [], input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 16, 1, 1] },
    });
    const report = inject(model);
    expect(report.inserted).toBe(0);
    expect(report.candidates.find((c) => c.node === 'sum')).toMatchObject({ result: 'skipped', code: 'no-conv' });
  });

  /** Self-attention on a map: 1×1 convs q, k, v, reshaped to N×C×L, softmax(qᵀk), v·a, back to N×C×H×W, a 1×1 projection. */
  function attention(x: string, out: string) {
    const q = conv(x, `${out}.q`, 16, 16, 1), k = conv(x, `${out}.k`, 16, 16, 1), v = conv(x, `${out}.v`, 16, 16, 1);
    const p = conv(`${out}.o`, out, 16, 16, 1);
    const shape = int64s(`${out}.tokens`, [1, 16, 64]), back = int64s(`${out}.map`, [1, 16, 8, 8]);
    return {
      nodes: [q.node, k.node, v.node,
        ...['q', 'k', 'v'].map((t) => node('Reshape', [`${out}.${t}`, shape.name], [`${out}.${t}t`])),
        node('Transpose', [`${out}.qt`], [`${out}.qT`], { perm: [0, 2, 1] }), node('MatMul', [`${out}.qT`, `${out}.kt`], [`${out}.s`]),
        node('Softmax', [`${out}.s`], [`${out}.a`], { axis: -1 }), node('Transpose', [`${out}.a`], [`${out}.aT`], { perm: [0, 2, 1] }),
        node('MatMul', [`${out}.vt`, `${out}.aT`], [`${out}.av`]), node('Reshape', [`${out}.av`, back.name], [`${out}.o`]), p.node],
      inits: [...q.inits, ...k.inits, ...v.inits, ...p.inits, shape, back],
    };
  }

  it('negative: a residual sum around self-attention on a map (CoAtNet, MaxViT) is a transformer block, left alone', () => {
    const a = attention('x', 'att');
    const model = buildModel({
      nodes: [...a.nodes, node('Add', ['x', 'att'], ['sum']), node('GlobalAveragePool', ['sum'], ['y'])],
      inits: a.inits, input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 16, 1, 1] },
    });
    const report = inject(model);
    expect(report.inserted).toBe(0);
    expect(report.candidates.find((c) => c.node === 'sum')).toMatchObject({ result: 'skipped', code: 'transformer' });
  });

  it("negative: MobileViT's Concat(x, transformer(x)) before its fusion conv is no Inception module", () => {
    const a = attention('x', 'att'), fuse = conv('cat', 'fused', 32, 16);
    const model = buildModel({
      nodes: [...a.nodes, node('Concat', ['x', 'att'], ['cat'], { axis: 1 }), fuse.node, node('GlobalAveragePool', ['fused'], ['y'])],
      inits: [...a.inits, ...fuse.inits], input: { name: 'x', dims: [1, 16, 8, 8] }, output: { name: 'y', dims: [1, 16, 1, 1] },
    });
    const report = inject(model);
    expect(report.inserted).toBe(0);
    expect(report.candidates.find((c) => c.node === 'cat')).toMatchObject({ result: 'skipped', code: 'transformer' });
  });
});
