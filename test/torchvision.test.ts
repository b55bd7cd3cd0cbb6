// Real exports are the final word: the ground truth for counts and insertion, on torchvision models exported
// by Debian's torch at opsets 9–17, static and dynamic batch. Every written model is judged by
// onnx.checker (full_check) and by ONNX Runtime with --init preserve (outputs equal to the original's).

import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, inject } from '../src/api.js';
import { countMacs, countParams } from '../src/analysis/cost.js';
import { inferShapes } from '../src/analysis/shapes.js';
import { lintGraph } from '../src/ir/lint.js';
import { loadModelFile } from '../src/onnx/load.js';
import { serializeModel } from '../src/onnx/save.js';
import { validateModels } from '../src/validate/runtime.js';
import { cached, onnxCheck, tempDir } from './support/fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('report: MACs and parameters (published counts, batch 1)', () => {
  const truth: [string, number][] = [
    ['resnet50_op13.onnx', 4_089_184_256],
    ['resnet50_op17_dynbatch.onnx', 4_089_184_256],
    ['resnext50_32x4d_op11.onnx', 4_230_479_872],
    ['googlenet_op12.onnx', 1_498_376_192],
    ['inception_v3_op13.onnx', 5_713_216_096],
    ['mobilenet_v2_op9.onnx', 300_774_272],
    ['mobilenet_v2_op13.onnx', 300_774_272],
    ['shufflenet_v2_x1_0_op11.onnx', 144_907_992],
    ['shufflenet_v2_x1_0_op13_dynbatch.onnx', 144_907_992],
  ];
  it.each(truth)('%s: Conv+Gemm = %d MACs, every feature map shaped', async (file, macs) => {
    const model = await loadModelFile(cached(file));
    const shapes = inferShapes(model.graph, model.opset);
    const count = countMacs(model.graph, shapes);
    expect((count.byOp.Conv ?? 0) + (count.byOp.Gemm ?? 0)).toBe(macs);
    expect(count.unknown).toEqual([]);
    const unshaped = model.graph.nodes.flatMap((n) => n.outputs).filter((o) => o && !shapes.get(o)?.dims);
    expect(unshaped).toEqual([]);
    const floats = [...model.graph.initializers.values()].filter((t) => [1, 10, 11, 16].includes(t.dataType));
    expect(countParams(model.graph).total).toBe(floats.reduce((s, t) => s + t.dims.reduce((a, b) => a * b, 1), 0));
  });

  it('binds a dynamic batch for analysis only: --batch 4 scales MACs, the model keeps its symbol', async () => {
    const model = await loadModelFile(cached('shufflenet_v2_x1_0_op13_dynbatch.onnx'));
    const report = analyze(model, { batch: 4 });
    expect((report.macs.byOp.before.Conv ?? 0) + (report.macs.byOp.before.Gemm ?? 0)).toBe(4 * 144_907_992);
    expect(model.graph.proto.inputs[0]!.type!.shape![0]).toEqual({ param: 'batch' });
  });
});

interface Expectation {
  file: string;
  blocks: number;
  kind: string;
  stages?: string;
  formula?: number;
  added?: number;
}

const EXPECTED: Expectation[] = [
  { file: 'resnet50_op13.onnx', blocks: 16, kind: 'residual', stages: '3x256 4x512 6x1024 3x2048', formula: 2_514_944, added: 2_530_992 },
  { file: 'resnet50_op17_dynbatch.onnx', blocks: 16, kind: 'residual', added: 2_530_992 },
  { file: 'resnext50_32x4d_op11.onnx', blocks: 16, kind: 'residual', added: 2_530_992 },
  { file: 'wide_resnet50_2_op13.onnx', blocks: 16, kind: 'residual', added: 2_530_992 },
  { file: 'resnet101_op13.onnx', blocks: 33, kind: 'residual', added: 4_777_712 },
  { file: 'resnet18_op7.onnx', blocks: 8, kind: 'residual', formula: 87_040, added: 89_080 },
  { file: 'resnet18_op9.onnx', blocks: 8, kind: 'residual', formula: 87_040, added: 89_080 },
  { file: 'resnet18_op9_fp16.onnx', blocks: 8, kind: 'residual', formula: 87_040, added: 89_080 },
  { file: 'googlenet_op12.onnx', blocks: 9, kind: 'inception' },
  { file: 'inception_v3_op13.onnx', blocks: 11, kind: 'inception' },
  { file: 'mobilenet_v2_op9.onnx', blocks: 17, kind: 'mobilenet+residual' },
  { file: 'mobilenet_v2_op13.onnx', blocks: 17, kind: 'mobilenet+residual' },
  { file: 'mnasnet1_0_op10.onnx', blocks: 17, kind: 'mobilenet+residual' },
  { file: 'mobilenet_v3_large_op14.onnx', blocks: 7, kind: 'mobilenet+residual' },
  { file: 'shufflenet_v2_x0_5_op15.onnx', blocks: 16, kind: 'shufflenet' },
  { file: 'shufflenet_v2_x1_0_op11.onnx', blocks: 16, kind: 'shufflenet' },
  { file: 'shufflenet_v2_x1_0_op13_dynbatch.onnx', blocks: 16, kind: 'shufflenet' },
  // Beyond the named families.
  { file: 'regnet_x_400mf_op13.onnx', blocks: 22, kind: 'residual', stages: '1x32 2x64 7x160 12x400' },
  { file: 'convnext_tiny_op13.onnx', blocks: 18, kind: 'residual', stages: '3x96 3x192 9x384 3x768' },
  { file: 'efficientnet_v2_s_op13.onnx', blocks: 8, kind: 'residual', stages: '2x24 3x48 3x64' },
  { file: 'mobilenet_v3_small_op13_dynbatch.onnx', blocks: 2, kind: 'mobilenet+residual', stages: '2x24' },
  { file: 'squeezenet1_1_op16_dynbatch.onnx', blocks: 8, kind: 'inception', stages: '2x128 2x256 2x384 2x512' },
];

describe('SE insertion on torchvision exports (timm and SENet counts, r = 16, biases)', () => {
  const written: string[] = [];

  it.each(EXPECTED)('$file: $blocks blocks', async (e) => {
    const file = cached(e.file);
    const model = await loadModelFile(file);
    const report = inject(model, { init: 'preserve' });
    expect(report.inserted).toBe(e.blocks);
    expect([...new Set(report.blocks.map((b) => b.kind))].sort().join('+')).toBe(e.kind);
    if (e.stages) expect(report.stages.map((s) => `${s.blocks}x${s.channels}`).join(' ')).toBe(e.stages);
    if (e.formula !== undefined) expect(report.params.formula).toBe(e.formula);
    if (e.added !== undefined) expect(report.params.added).toBe(e.added);
    expect(report.params.added).toBe(report.params.after - report.params.before);
    expect(report.macs.added).toBe(report.blocks.reduce((s, b) => s + b.macs, 0));
    expect(lintGraph(model.graph)).toEqual([]);
    // Dynamic stays dynamic; ir_version and opsets are untouched.
    const original = await loadModelFile(file);
    // IR 3 declares every initializer as a graph input too, the new SE weights included.
    const inputs = original.graph.proto.inputs;
    expect(model.graph.proto.inputs.slice(0, inputs.length)).toEqual(inputs);
    const seWeights = model.graph.proto.initializers.filter((t) => !original.graph.initializer(t.name)).map((t) => t.name);
    expect(model.graph.proto.inputs.slice(inputs.length).map((v) => v.name)).toEqual(model.proto.irVersion < 4 ? seWeights : []);
    expect(model.proto.irVersion).toBe(original.proto.irVersion);
    expect(model.proto.opsetImport).toEqual(original.proto.opsetImport);

    const bytes = serializeModel(model);
    const out = path.join(tmp.dir, e.file);
    writeFileSync(out, bytes);
    written.push(out);
    const v = await validateModels(file, out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
    expect(v.passed).toBe(true);
  });

  it('onnx.checker (full_check) accepts every written model', () => {
    expect(written.length).toBe(EXPECTED.length);
    for (const r of onnxCheck(written)) expect(r, r.path).toMatchObject({ ok: true });
  });

  it.each(['efficientnet_b0_op13.onnx', 'regnet_y_400mf_op13.onnx'])('%s already carries SE in every block: nothing to insert', async (f) => {
    const report = inject(await loadModelFile(cached(f)));
    expect(report.inserted).toBe(0);
    expect(report.nothingToInsert).toMatch(/already hold SE/);
  });

  it('densenet121: nothing to insert, naming the supported families', async () => {
    const report = inject(await loadModelFile(cached('densenet121_op12.onnx')));
    expect(report.inserted).toBe(0);
    expect(report.nothingToInsert).toMatch(/supports residual networks/);
  });

  it('running se-inject on its own output inserts nothing', async () => {
    const model = await loadModelFile(cached('mobilenet_v3_large_op14.onnx'));
    inject(model);
    const out = path.join(tmp.dir, 'twice.onnx');
    writeFileSync(out, serializeModel(model));
    const again = inject(await loadModelFile(out));
    expect(again.inserted).toBe(0);
  });

  it('the same model, options and seed give byte-identical output', async () => {
    const run = async () => {
      const m = await loadModelFile(cached('resnet18_op9.onnx'));
      inject(m, { seed: 42 });
      return Buffer.from(serializeModel(m));
    };
    const [a, b] = [await run(), await run()];
    expect(a.equals(b)).toBe(true);
    const m = await loadModelFile(cached('resnet18_op9.onnx'));
    inject(m, { seed: 43 });
    expect(Buffer.from(serializeModel(m)).equals(a)).toBe(false);
  });
});
