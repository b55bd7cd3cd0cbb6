// Placement proved per tensor on fixtures/families (fixtures/export_families.py writes the models and, from
// each architecture's definition, the node whose output every SE scales): exactly those tensors at those
// widths, onnx.checker on the output and --init preserve equality on ONNX Runtime; or, where the manifest
// says a form is refused (a graph ONNX Runtime fused, a QOperator model), that exit code.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, inject, loadModel } from '../src/api.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { encodeModel } from '../src/onnx/proto.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, tempDir } from './support/fixtures.js';

const DIR = path.join(ROOT, 'fixtures/families');
interface Entry {
  how: string;
  /** `call`: the site is inside that call of a model-local function, whose expansion names it `<call>/<tensor>`. */
  sites?: { node: string; tensor: string; channels: number; call?: string }[];
  exit?: number;
  nothingToInsert?: boolean;
  /** Sizes for the input's dynamic spatial dimensions (the export's own), bound with --dims. */
  dims?: Record<string, number>;
}
const manifest = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, Entry>;
const tmp = tempDir('se-inject-families-');
afterAll(() => tmp.cleanup());
const CLI = path.join(ROOT, 'dist/src/cli/main.js');

const cli = (args: string[]) => new Promise<{ code: number; stderr: string }>((resolve) =>
  execFile(process.execPath, [CLI, ...args], (err, _out, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr })));

/** The exit code a model without sites must end with: its own, or 5 for nothing to insert. */
const exitOf = (e: Entry) => e.exit ?? (e.nothingToInsert ? 5 : undefined);

describe.each(Object.entries(manifest))('%s', (file, e) => {
  const input = path.join(DIR, file);
  it(e.sites ? `SE exactly on the sites of the architecture (${e.how})` : `refused with exit ${exitOf(e)} (${e.how})`, async () => {
    const out = path.join(tmp.dir, file);
    if (!e.sites) {
      const { code, stderr } = await cli([input, '-o', out]);
      expect(exitOf(e)).toBeDefined();
      expect(code).toBe(exitOf(e));
      expect(stderr.trim().split('\n')).toHaveLength(1);
      return;
    }
    const { report } = await convertFile(input, out, { init: 'preserve', overwrite: true, dims: e.dims });
    expect(report.blocks.map((b) => [b.tensor, b.channels])).toEqual(e.sites.map((s) => [s.call ? `${s.call}/${s.tensor}` : s.tensor, s.channels]));
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(input, out, { ep: 'cpu', runs: 0, expectEqual: true, dims: e.dims });
    expect(v.problems).toEqual([]);
  });
});

describe('weights where other exporters put them', () => {
  it('Constant nodes: the same parameters and MACs as the initializer form, said to be in Constant nodes', async () => {
    const asConstants = analyze(await loadModel(path.join(DIR, 'resnet_basic_op13_constants.onnx')));
    const asInitializers = analyze(await loadModel(path.join(DIR, 'resnet_basic_op13_init_inputs.onnx')));
    expect(asConstants.params.before).toBe(asInitializers.params.before);
    expect(asConstants.params.where).toEqual({ initializers: 0, constantNodes: asInitializers.params.before });
    expect(asConstants.params.added).toBe(asInitializers.params.added);
    expect(asConstants.macs.before).toBe(asInitializers.macs.before);
  });
});

describe('a graph ONNX Runtime already fused', () => {
  it("FusedConv (a Conv with its activation fused in, the 'extended' optimizer's) is read as a conv: the blocks, parameters and MACs of the unfused graph", async () => {
    for (const [fused, plain] of [['resnet_basic_op13_ort_extended.onnx', 'resnet_basic_op13_ort_basic.onnx'], ['mobilenet_v2_op13_ort_extended.onnx', 'mobilenet_v2_op13.onnx']]) {
      const a = analyze(await loadModel(path.join(DIR, fused!))), b = analyze(await loadModel(path.join(DIR, plain!)));
      expect(a.blocks.map((x) => [x.tensor, x.channels, x.params]), fused).toEqual(b.blocks.map((x) => [x.tensor, x.channels, x.params]));
      expect([a.params.before, a.macs.before], fused).toEqual([b.params.before, b.macs.before]);
      expect(a.model.opCounts.FusedConv, fused).toBeGreaterThan(0);
    }
  });
});

describe('quantized models', () => {
  const qdq = (nodes: readonly { opType: string; name: string; inputs: readonly string[] }[]) =>
    nodes.filter((n) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear').map((n) => `${n.name}(${n.inputs.join(',')})`);

  it.each(['standard', 'pre', 'post', 'identity'] as const)('QDQ, placement %s: SE on float tensors, every Quantize/Dequantize node as it was', async (placement) => {
    const model = await loadModel(path.join(DIR, 'resnet_basic_op13_qdq.onnx'));
    const before = qdq(model.graph.nodes);
    const report = inject(model, { placement });
    expect(report.inserted).toBe(6);
    expect(qdq(model.graph.nodes)).toEqual(before);
    if (placement !== 'post') for (const b of report.blocks) expect(b.tensor).toMatch(/_DequantizeLinear_Output$/);
    // post: after the ReLU that follows the sum, as the next unit reads it (the last one, read by the float head, has no pair)
    else expect(report.blocks.map((b) => b.tensor.replace(/.*layers\.\d\.\d\//, ''))).toEqual([...Array(5).fill('relu_1/Relu_output_0_DequantizeLinear_Output'), 'relu_1/Relu_output_0']);
  });

  it('QDQ in ONNX Runtime\'s own domain (com.microsoft QuantizeLinear/DequantizeLinear): the same SE sites as the standard pair', async () => {
    const standard = await loadModel(path.join(DIR, 'resnet_basic_op13_qdq.onnx'));
    const p = standard.proto;
    const nodes = p.graph.nodes.map((n) => (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear' ? { ...n, domain: 'com.microsoft' } : n));
    const bytes = encodeModel({ ...p, graph: { ...p.graph, nodes }, opsetImport: [...p.opsetImport, { domain: 'com.microsoft', version: 1 }] }).toBytes();
    const contrib = loadModelBytes(bytes, { label: 'contrib qdq' });
    expect(contrib.graph.nodes.filter((n) => n.domain === 'com.microsoft').length).toBeGreaterThan(10);
    expect(analyze(contrib).blocks.map((b) => b.tensor)).toEqual(analyze(standard).blocks.map((b) => b.tensor));
  });

  it('QDQ: the parameters of the float model (int8 weights and int32 biases counted, quantization scales not)', async () => {
    const quantized = analyze(await loadModel(path.join(DIR, 'resnet_basic_op13_qdq.onnx')));
    const float = analyze(await loadModel(path.join(DIR, 'resnet_basic_op13_init_inputs.onnx')));
    expect(quantized.params.before).toBe(float.params.before);
    expect(quantized.params.added).toBe(float.params.added);
    expect(quantized.macs.before).toBe(float.macs.before);
  });

  it('QOperator: every integer sum left alone with its reason, and one line saying why and what to do', async () => {
    const report = analyze(await loadModel(path.join(DIR, 'resnet_basic_op13_qoperator.onnx')));
    expect(report.inserted).toBe(0);
    expect(report.unsupported).toMatch(/quantized to integer ops \(QLinearConv ×15, com\.microsoft:QLinearAdd ×6\).*run it on the float model.*QuantFormat\.QDQ/);
    const residual = report.candidates.filter((c) => c.pass === 'residual');
    expect(residual).toHaveLength(6);
    for (const c of residual) expect(c).toMatchObject({ result: 'skipped', code: 'integer-op' });
    // Its parameters are the float model's (int8 kernels and int32 biases; no scale or zero point), and
    // its integer convs are counted as the convs they stand for.
    const float = analyze(await loadModel(path.join(DIR, 'resnet_basic_op13_constants.onnx')));
    expect(report.params.before).toBe(float.params.before);
    const convMacs = (r: typeof report) => r.macs.byOp.before.QLinearConv ?? r.macs.byOp.before.Conv;
    expect(report.macs.before).toBeGreaterThan(0);
    expect(convMacs(report)).toBe(convMacs(float));
  });
});

describe('dynamic spatial dimensions', () => {
  it('unbound, are analysed at 224×224 and said so in one note; the model written stays dynamic and valid', async () => {
    const file = path.join(DIR, 'resnet_basic_op13_dynamic_nhw.onnx');
    const report = analyze(await loadModel(file));
    expect(report.model.boundDims).toEqual({ batch: 1, height: 224, width: 224 });
    expect(report.stages.map((s) => s.resolution)).toEqual(['224×224', '112×112', '56×56']);
    expect(report.notes).toContainEqual(expect.stringMatching(/^dynamic height and width analysed at 224 each .*--dims height=N width=N .*the model written keeps them dynamic$/));
    const out = path.join(tmp.dir, 'dyn.onnx');
    const { code, stderr } = await cli([file, '-o', out, '--validate', '--ep', 'cpu', '--init', 'preserve']);
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/validation on cpu: passed/);
    const written = await loadModel(out);
    expect(written.graph.proto.inputs[0]!.type!.shape!.map((d) => d.param ?? d.value)).toEqual(['batch', 3, 'height', 'width']);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    // Bound, the same blocks at the bound size, and no note.
    const bound = analyze(await loadModel(file), { dims: { height: 64, width: 64 } });
    expect(bound.blocks.map((b) => b.tensor)).toEqual(report.blocks.map((b) => b.tensor));
    expect(bound.notes ?? []).not.toContainEqual(expect.stringMatching(/analysed at 224/));
  });

  it('bound for analysis only: the report at the bound H×W, the model written still dynamic', async () => {
    const model = await loadModel(path.join(DIR, 'resnet_basic_op13_dynamic_nhw.onnx'));
    const report = inject(model, { dims: { height: 48, width: 40 }, batch: 2 });
    expect(report.stages.map((s) => s.resolution)).toEqual(['48×40', '24×20', '12×10']);
    expect(model.graph.proto.inputs[0]!.type!.shape!.map((d) => d.param ?? d.value)).toEqual(['batch', 3, 'height', 'width']);
  });
});

describe('forms of other exporters (fixtures/zoo_graphs.py, tf_like_graphs.py)', () => {
  it('a depthwise conv padded by a Pad op (tf2onnx SAME, Keras ZeroPadding2D): the block starts before its expansion 1×1', async () => {
    for (const [file, widths] of [['tf_efficientnet_lite_op11.onnx', [8, 8, 8, 8]], ['tf_keras_mobilenet_v2_op13.onnx', [8, 8, 16, 16]]] as const) {
      const report = analyze(await loadModel(path.join(DIR, file)), { reduceFrom: 'input' });
      // the width SE is sized from is the block input's, not the expanded width the depthwise conv reads
      expect(report.blocks.map((b) => b.squeezeFrom)).toEqual(widths);
    }
  });

  it('stages start where the model names its first block: the scope its convs and its last node share', async () => {
    const starts = async (file: string) => analyze(await loadModel(path.join(DIR, file))).stages.map((s) => s.startsAt);
    expect(await starts('mxnet_resnet_v1_op7_ir3.onnx')).toEqual(['resnetv10_stage1', 'resnetv10_stage2']);
    expect(await starts('mxnet_mobilenet_v2_op7_ir3.onnx')).toEqual([0, 1, 3].map((i) => `mobilenetv20_features_linearbottleneck${i}`));
    expect(await starts('tf_efficientnet_lite_op11.onnx')).toEqual([0, 1, 3].map((i) => `efficientnet-lite0/model/blocks_${i}`));
    expect(await starts('tf_keras_mobilenet_v2_op13.onnx')).toEqual(['model/block_0', 'model/block_1', 'model/block_3']);
    expect(await starts('caffe2_googlenet_op9_ir3.onnx')).toEqual(['inception_3a', 'inception_3b', 'inception_4a']);
    expect(await starts('mobilenet_v2_op13.onnx')).toEqual(['/blocks/blocks.0', '/blocks/blocks.2']);
  });
});

describe('MixNet blocks', () => {
  it('with --mobilenet-placement v3 get SE after the mixed depthwise conv\'s activation, where MixNet puts it; the concat of its groups is no Inception module', async () => {
    const model = await loadModel(path.join(DIR, 'proxyless_mixnet_op13.onnx'));
    const report = inject(model, { mobilenetPlacement: 'v3' });
    expect(report.blocks.map((b) => b.tensor).filter((t) => /blocks\.[678]\//.test(t))).toEqual([6, 7, 8].map((i) => `/blocks/blocks.${i}/dw/dw.2/Relu_output_0`));
    const concats = report.candidates.filter((c) => c.pass === 'inception');
    expect(concats.map((c) => c.code)).toEqual(['other-family', 'other-family', 'other-family']);
    // Every group of a mixed conv but the first says where its block is (every candidate left alone has a reason).
    const groups = report.candidates.filter((c) => c.pass === 'mobilenet' && c.code === 'same-block');
    expect(groups.length).toBeGreaterThan(2);
    for (const g of groups) expect(g.reason).toMatch(/^a group of the mixed depthwise conv \(MixConv\) matched at /);
  });
});

describe('CSP stages', () => {
  it.each(['cspdarknet_op13.onnx', 'yolov5_c3_op12.onnx', 'yolov8_c2f_op13.onnx'])('%s: the cross-stage partial Concat is no Inception module, even with only the Inception pass', async (file) => {
    const report = inject(await loadModel(path.join(DIR, file)), { families: ['inception'] });
    const concats = report.candidates.filter((c) => c.pass === 'inception' && c.code === 'other-family');
    expect(concats.length).toBeGreaterThan(1);
    for (const c of concats) expect(c.reason).toMatch(/a block of its own \(as a cross-stage partial merge holds its residual units: CSPNet, YOLOv5.s C3, YOLOv8.s C2f\)/);
    expect(report.inserted).toBe(0);
  });

  it.each(['yolov5_c3_op12.onnx', 'yolov8_c2f_op13.onnx'])('%s: SPPF\'s concat of a map and its max pools is a pooling pyramid, not dense connectivity', async (file) => {
    const report = analyze(await loadModel(path.join(DIR, file)));
    const sppf = report.candidates.filter((c) => c.pass === 'inception' && /pooling pyramid/.test(c.reason ?? ''));
    expect(sppf.map((c) => c.code)).toEqual(['too-few-branches']);
  });
});

describe('a local context inside a branch', () => {
  it("SCNet: the self-calibrated conv's merge of its pooled, upsampled context is multi-scale; each bottleneck's sum is a residual unit", async () => {
    const report = analyze(await loadModel(path.join(DIR, 'scnet_op13.onnx')));
    const sums = report.candidates.filter((c) => c.pass === 'residual');
    expect(sums.filter((c) => c.node.includes('/scconv/')).map((c) => c.code)).toEqual(Array(5).fill('multi-scale'));
    expect(sums.filter((c) => !c.node.includes('/scconv/')).map((c) => c.result)).toEqual(Array(5).fill('inserted'));
  });
});

describe('NAS cells', () => {
  it('NASNet-A normal cells: every sum, separable conv and cell concat left alone as a NAS cell, none as another family', async () => {
    const report = analyze(await loadModel(path.join(DIR, 'nasnet_a_normal_op13.onnx')));
    const inCells = report.candidates.filter((c) => c.node.startsWith('/cell_'));
    expect(inCells.filter((c) => c.result !== 'skipped')).toEqual([]);
    expect(new Set(inCells.map((c) => c.code))).toEqual(new Set(['nas-cell']));
    expect(inCells.filter((c) => c.pass === 'inception').map((c) => c.node)).toEqual(['/cell_0/Concat', '/cell_1/Concat']);
  });
});

describe('conv–transformer hybrids and MetaFormers: what is left alone, and why', () => {
  const codes = async (file: string) => analyze(await loadModel(path.join(DIR, file))).candidates.filter((c) => c.result === 'skipped');

  it("MobileViT: the transformer's rank-3 token sums are no feature maps, and Concat(x, transformer) before the fusion conv is no Inception module", async () => {
    const skipped = await codes('mobilevit_op13.onnx');
    expect(skipped.filter((c) => c.node.includes('/transformer/')).every((c) => c.code === 'not-feature-map')).toBe(true);
    expect(skipped.find((c) => c.node === '/stage2/stage2.1/Concat')).toMatchObject({ pass: 'inception', code: 'transformer' });
  });

  it("PoolFormer's token mixer and GRN's + x hold no conv; CoAtNet's attention residual is a transformer block", async () => {
    expect((await codes('poolformer_op13.onnx')).filter((c) => /stage\d\.\d\/Add$/.test(c.node)).map((c) => c.code)).toEqual(Array(4).fill('no-conv'));
    expect((await codes('convnext_v2_convmlp_op13.onnx')).filter((c) => c.node.endsWith('/grn/Add_2')).map((c) => c.code)).toEqual(Array(4).fill('no-conv'));
    expect((await codes('coatnet_op13.onnx')).find((c) => c.node === '/stage2/stage2.1/Add')).toMatchObject({ code: 'transformer' });
  });
});
