// Sites chosen by the user: --at puts SE on named tensors of any architecture (a UNet, which no pass
// knows), --exclude leaves found sites out; both validated at the library boundary with one-line errors.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, small, tempDir } from './support/fixtures.js';

const UNET = path.join(ROOT, 'fixtures/families/unet_op13.onnx');
const ENCODER = ['/enc1/enc1.1/enc1.1.2/Relu_output_0', '/enc2/enc2.1/enc2.1.2/Relu_output_0', '/mid/mid.1/mid.1.2/Relu_output_0'];
const tmp = tempDir('se-inject-at-');
afterAll(() => tmp.cleanup());

describe('--at', () => {
  it('a UNet, where no pass finds a block, takes SE on its encoder tensors and computes the same function', async () => {
    expect(analyze(await loadModel(UNET)).inserted).toBe(0);
    const out = path.join(tmp.dir, 'unet_se.onnx');
    const { report } = await convertFile(UNET, out, { at: ENCODER, init: 'preserve' });
    expect(report.blocks.map((b) => [b.tensor, b.channels, b.kind, b.rule])).toEqual([
      [ENCODER[0], 8, 'user', 'insertSEAtTensor'], [ENCODER[1], 16, 'user', 'insertSEAtTensor'], [ENCODER[2], 32, 'user', 'insertSEAtTensor'],
    ]);
    // Every reader of a named tensor now reads the scaled one; only the SE block reads the original.
    const m = await loadModel(out);
    for (const t of ENCODER) {
      const readers = m.graph.nodes.filter((n) => n.inputs.includes(t));
      expect(readers.length).toBeGreaterThan(0);
      for (const r of readers) expect(r.outputs[0]!.startsWith('se/') || r.opType === 'Mul' || r.opType === 'GlobalAveragePool', `${r.name} reads ${t}`).toBe(true);
    }
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(UNET, out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
  });

  it('a name the model lacks gets the closest existing names; what is not a feature map is said in one line', async () => {
    const model = await loadModel(UNET);
    expect(() => analyze(model, { at: ['/enc1/enc1.1/enc1.1.2/Relu_output'] })).toThrow(/has no tensor "\/enc1\/enc1\.1\/enc1\.1\.2\/Relu_output"; closest: \/enc1\/enc1\.1\/enc1\.1\.2\/Relu_output_0/);
    expect(() => analyze(model, { at: ['output'] })).toThrow(/output is 2-D 1×10 float, not a float N×C×H×W feature map/);
    const resnet = await loadModel(small('tiny_resnet.onnx'));
    const flat = resnet.graph.nodes.find((n) => n.opType === 'Flatten')!.outputs[0]!;
    expect(() => analyze(resnet, { at: [flat] })).toThrow(/is 2-D .*, not a float N×C×H×W feature map/);
    expect(() => analyze(model, { at: [] })).toThrow(/option at must be a non-empty list of tensor names/);
    expect(() => analyze(model, { at: 'x' as never })).toThrow(/option at must be a non-empty list of tensor names/);
  });
});

describe('--at on channels-last maps', () => {
  // tf2onnx with its transpose optimizer off: each Conv between Transposes, the rest on N×H×W×C maps.
  const NHWC = path.join(ROOT, 'fixtures/families/tf_raw_nhwc_resnet_op13.onnx');

  it('refuses an N×H×W×C tensor in one line, takes the conv output before its Transpose, and --sites lists only the channels-first maps', async () => {
    const model = await loadModel(NHWC);
    expect(() => analyze(model, { at: ['model/block0_add/add:0'] })).toThrow(/model\/block0_add\/add:0 is channels-last \(N×H×W×C: a Transpose moved the channels off axis 1\), not an N×C×H×W feature map; name the tensor before that Transpose/);
    expect(analyze(model, { at: ['model/block0_2_conv/Conv2D:0'] }).blocks.map((b) => [b.tensor, b.channels])).toEqual([['model/block0_2_conv/Conv2D:0', 8]]);
    const { sites } = (await import('../src/api.js')).listSites(model);
    expect(sites.length).toBeGreaterThan(0);
    expect(sites.every((s) => /Conv2D:0$|__to_nchw:0$/.test(s.tensor))).toBe(true);
  });
});

describe('--at on a graph output', () => {
  it('the output keeps its name and now carries the scaled map; what its producer computed gets a fresh name', async () => {
    const original = path.join(tmp.dir, 'two_outputs.onnx');
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/support/export_two_outputs.py'), original], { stdio: 'ignore' });
    for (const block of ['se', 'cbam'] as const) {
      const out = path.join(tmp.dir, `two_outputs_${block}.onnx`);
      const { report } = await convertFile(original, out, { at: ['features'], block, init: 'preserve' });
      expect(report.blocks.map((b) => b.tensor)).toEqual(['features']);
      const m = await loadModel(out);
      expect(m.graph.proto.outputs.map((o) => o.name)).toEqual(['features', 'logits']);
      expect(m.graph.producer('features')!.name).toBe(`se/stage1.block1/${block === 'se' ? 'scale' : 'spatial/scale'}`);
      expect(m.graph.producer('se/stage1.block1/unscaled')!.opType).toBe('Relu');
      // The head reads the scaled map; only the block reads what the Relu computed.
      expect(m.graph.consumers('features').map((n) => n.opType)).toEqual(['ReduceMean']);
      expect(m.graph.consumers('se/stage1.block1/unscaled').every((n) => n.name.startsWith('se/'))).toBe(true);
      expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
      const same = await validateModels(original, out, { ep: 'cpu', runs: 0, expectEqual: true });
      expect(same.problems).toEqual([]);
    }
    // With a random init the output is the scaled map, so it differs from the original's.
    const he = path.join(tmp.dir, 'two_outputs_he.onnx');
    await convertFile(original, he, { at: ['features'] });
    const v = await validateModels(original, he, { ep: 'cpu', runs: 0 });
    expect(v.outputs.find((o) => o.name === 'features')!.maxAbsDiff).toBeGreaterThan(0);
  });
});

describe('--at on a detection backbone', () => {
  // torchvision's BackboneWithFPN over a ResNet body (fixtures/export_detection.py): the pyramid levels are
  // the graph's outputs, and the max-pooled extra level reads p4. No pass knows an FPN.
  const FPN = path.join(ROOT, 'fixtures/detection/fpn_resnet_op13.onnx');
  const C3 = '/fpn/body/layer2/layer2.1/relu_1/Relu_output_0';
  const LEVELS = ['p2', 'p3', 'p4', 'pool'];

  it('takes attention on a body tensor and on every pyramid level; the levels keep their names and the model computes the same function', async () => {
    const sites = (await import('../src/api.js')).listSites(await loadModel(FPN));
    for (const t of [C3, ...LEVELS]) expect(sites.sites.map((s) => s.tensor), t).toContain(t);
    for (const block of ['se', 'eca', 'cbam'] as const) {
      const out = path.join(tmp.dir, `fpn_${block}.onnx`);
      const { report } = await convertFile(FPN, out, { at: [C3, ...LEVELS], block, init: 'preserve' });
      // Blocks come in graph order: the pyramid computes its top level (p4) first.
      expect(report.blocks.map((b) => [b.tensor, b.channels])).toEqual([[C3, 32], ['p4', 32], ['p3', 32], ['p2', 32], ['pool', 32]]);
      const m = await loadModel(out);
      expect(m.graph.proto.outputs.map((o) => o.name)).toEqual(LEVELS);
      // The body's next stage and the pyramid's lateral conv both read the scaled C3; the extra level pools the scaled p4.
      const c3Readers = m.graph.nodes.filter((n) => n.inputs.includes(C3));
      expect(c3Readers.every((n) => n.name.startsWith('se/')), c3Readers.map((n) => n.name).join()).toBe(true);
      expect(m.graph.consumers('p4').map((n) => n.opType)).toContain('MaxPool');
      expect(m.graph.producer('p4')!.name.startsWith('se/')).toBe(true);
      expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
      const v = await validateModels(FPN, out, { ep: 'cpu', runs: 0, expectEqual: true });
      expect(v.problems).toEqual([]);
      expect(v.outputs.map((o) => o.name)).toEqual(LEVELS);
    }
  });
});

describe('--exclude', () => {
  it('leaves out sites by block name, tensor or node, with wildcards, and says why', async () => {
    const model = await loadModel(small('tiny_resnet.onnx'));
    const all = analyze(model);
    const kept = analyze(model, { exclude: ['se/stage2.*', all.blocks.find((b) => b.stage === 1)!.tensor] });
    expect(kept.blocks.map((b) => b.stage)).toEqual(all.blocks.filter((b) => b.stage !== 2).map((b) => b.stage).slice(1));
    const reasons = kept.skipped.map((s) => s.reason).filter((r) => r.startsWith('left out by --exclude'));
    expect(reasons.length).toBe(all.blocks.length - kept.blocks.length);
    expect(reasons).toContain('left out by --exclude se/stage2.*');
  });
});
