// The attention family beside SE: eSE (VoVNetV2), ECA (Wang et al.) and CBAM (Woo et al.), whole or its
// channel half. On ResNet-50 each adds the parameters torch counts for the same blocks (torch builds them,
// independently of se-inject); on small models each is valid ONNX at the model's opset and element type,
// computes the original function with --init preserve, and counts as existing attention, so a second run
// with any block type inserts nothing.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertBytes, convertFile, loadModel } from '../src/api.js';
import { BLOCK_KINDS } from '../src/se/build.js';
import { validateModels } from '../src/validate/runtime.js';
import { cached, onnxCheck, small, tempDir } from './support/fixtures.js';
import { buildModelBytes, residualBlock } from './support/models.js';

const tmp = tempDir('se-inject-attention-');
afterAll(() => tmp.cleanup());

/**
 * Parameters of the blocks torch builds for ResNet-50's 16 units (widths 256×3, 512×4, 1024×6, 2048×3).
 * CBAM as its reference implementation writes it (Linear layers with bias; the spatial conv without bias,
 * then BatchNorm2d), in inference form: the BN folded into the conv by torch's own fuse_conv_bn_eval.
 */
function torchCount(block: string, extra: string[] = []): number {
  const script = `
import math, sys, torch, torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
block, bias, act, r = sys.argv[1], sys.argv[2] == 'bias', sys.argv[3], 16
def k(c):  # timm's EcaModule: t = int(abs(log2(c) + b) / gamma), odd, at least 3
    t = int(abs(math.log(c, 2) + 1) / 2)
    return max(t if t % 2 else t + 1, 3)
Act = {'relu': nn.ReLU, 'silu': nn.SiLU, 'hardswish': nn.Hardswish}[act]
class ChannelGate(nn.Module):  # CBAM Eq. 2: one MLP shared by the average- and max-pooled vectors
    def __init__(s, c):
        super().__init__()
        s.mlp = nn.Sequential(nn.Flatten(), nn.Linear(c, c // r, bias=bias), Act(), nn.Linear(c // r, c, bias=bias))
    def forward(s, x):
        return x * torch.sigmoid(s.mlp(x.mean((2, 3))) + s.mlp(x.amax((2, 3))))[..., None, None]
class SpatialGate(nn.Module):  # CBAM Eq. 3: 7x7 conv over [mean; max] across channels, BN in inference form
    def __init__(s):
        super().__init__()
        s.conv = fuse_conv_bn_eval(nn.Conv2d(2, 1, 7, padding=3, bias=False).eval(), nn.BatchNorm2d(1).eval())
    def forward(s, x):
        return x * torch.sigmoid(s.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))
make = {
    'se': lambda c: nn.Sequential(nn.Conv2d(c, c // r, 1, bias=bias), Act(), nn.Conv2d(c // r, c, 1, bias=bias)),
    'ese': lambda c: nn.Conv2d(c, c, 1),
    'eca': lambda c: nn.Conv1d(1, 1, k(c), padding=(k(c) - 1) // 2, bias=False),
    'cbam': lambda c: nn.Sequential(ChannelGate(c), SpatialGate()),
    'cbam-channel': ChannelGate,
}[block]
x = torch.randn(1, 256, 8, 8)
if block.startswith('cbam'):
    assert make(256)(x).shape == x.shape  # the block runs as written
print(sum(p.numel() for c in [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3 for p in make(c).parameters()))
`;
  const [bias = 'bias', act = 'relu'] = extra;
  return Number(execFileSync('/usr/bin/python3', ['-c', script, block, bias, act], { encoding: 'utf8' }).trim());
}

describe.each(BLOCK_KINDS)('--block %s', (block) => {
  it('adds on ResNet-50 exactly what torch counts for the same 16 blocks, and what its formula says', async () => {
    const report = analyze(await loadModel(cached('resnet50_op13.onnx')), { block });
    expect(report.inserted).toBe(16);
    expect(report.params.added).toBe(torchCount(block));
    if (block !== 'se') expect(report.params.formula).toBe(report.params.added); // SE's paper formula leaves out the biases
    if (block === 'eca') expect(report.params.added).toBe(86);
    if (block === 'cbam') expect(report.params.added).toBe(2_532_576); // SE's 2,530,992 + 16 spatial convs of 2·49 + 1
    if (block === 'cbam-channel') expect(report.params.added).toBe(2_530_992);
    if (block === 'cbam') {
      // MACs per block (conventions of the README): average pool C·HW, the shared MLP twice 2·2·C·C/r, the sum
      // C, the channel scale C·HW; the mean over C C·HW, the 7×7 conv over 2 maps 98·HW, the spatial scale C·HW.
      const stages: [number, number, number][] = [[256, 56 * 56, 3], [512, 28 * 28, 4], [1024, 14 * 14, 6], [2048, 7 * 7, 3]];
      expect(report.macs.added).toBe(stages.reduce((s, [c, hw, n]) => s + n * (4 * c * hw + (4 * c * c) / 16 + c + 98 * hw), 0));
      expect(report.macs.added).toBe(28_481_398);
    }
  });

  it('writes valid ONNX that computes the original function with --init preserve; a run on it with any block adds nothing', async () => {
    const out = path.join(tmp.dir, `tiny_${block}.onnx`);
    const { report } = await convertFile(small('tiny_resnet.onnx'), out, { block, init: 'preserve' });
    expect(report.inserted).toBeGreaterThan(0);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(small('tiny_resnet.onnx'), out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
    const again = await loadModel(out);
    for (const other of BLOCK_KINDS) {
      const r = analyze(again, { block: other });
      expect(r.inserted, `--block ${other} on the ${block} output`).toBe(0);
      expect(r.skipped.filter((s) => s.code === 'has-se')).toHaveLength(report.inserted);
    }
  });
});

describe('a run on se-inject\'s own output', () => {
  it.each(['tiny_shufflenet.onnx', 'tiny_shufflenet_dynbatch.onnx', 'tiny_mobilenet_v2.onnx', 'tiny_inception.onnx'])(
    '%s: every block type, on the output of every block type, inserts nothing (a unit holding attention keeps its depthwise branch too)',
    async (file) => {
      const input = readFileSync(small(file));
      for (const block of BLOCK_KINDS) {
        const { bytes, report } = convertBytes(input, { block });
        expect(report.inserted).toBeGreaterThan(0);
        const again = await loadModel(bytes!);
        for (const other of BLOCK_KINDS) expect(analyze(again, { block: other }).inserted, `--block ${other} on the ${block} output`).toBe(0);
      }
    },
  );
});

describe('CBAM', () => {
  it('writes ReduceMean/ReduceMax with axes as an attribute before opset 18 and as an input from it; ORT runs both unchanged', async () => {
    for (const opset of [13, 17, 18, 21]) {
      const input = buildModelBytes({ ...residualBlock(32, 8), opset });
      const { bytes, report } = convertBytes(input, { block: 'cbam', init: 'preserve' });
      expect(report.inserted).toBe(1);
      const files = [path.join(tmp.dir, `block_op${opset}.onnx`), path.join(tmp.dir, `block_op${opset}_cbam.onnx`)];
      writeFileSync(files[0]!, input);
      writeFileSync(files[1]!, bytes!);
      const m = await loadModel(bytes!);
      const reduces = m.graph.nodes.filter((n) => n.opType === 'ReduceMean' || n.opType === 'ReduceMax');
      expect(reduces.map((n) => n.opType).sort()).toEqual(['ReduceMax', 'ReduceMean']);
      for (const n of reduces) {
        expect(n.inputs.length, `${n.opType} at opset ${opset}`).toBe(opset >= 18 ? 2 : 1);
        expect(n.attributes.some((a) => a.name === 'axes')).toBe(opset < 18);
      }
      const check = onnxCheck([files[1]!])[0]!;
      expect(check.ok).toBe(true);
      if (opset <= 17) expect(check.skipped).toBeUndefined(); // onnx 1.12 knows opsets up to 17
      const v = await validateModels(files[0]!, files[1]!, { ep: 'cpu', runs: 0, expectEqual: true });
      expect(v.problems).toEqual([]);
    }
  });

  it('takes the element type of the tensor it scales: float16 (resnet18 export, run on ORT) and double (checker: ORT\'s CPU provider has no double Conv)', async () => {
    const fp16 = path.join(tmp.dir, 'resnet18_fp16_cbam.onnx');
    const { report } = await convertFile(cached('resnet18_op9_fp16.onnx'), fp16, { block: 'cbam', init: 'preserve' });
    expect(report.inserted).toBe(8);
    const double = path.join(tmp.dir, 'block_double.onnx');
    execFileSync('/usr/bin/python3', ['-c', `
import sys, numpy as np, onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as T
w = lambda n, *d: nh.from_array(np.random.RandomState(len(n)).randn(*d) * 0.1, n)
nodes = [h.make_node('Conv', ['x', 'w1'], ['c1'], pads=[1] * 4), h.make_node('Relu', ['c1'], ['r1']),
         h.make_node('Conv', ['r1', 'w2'], ['c2'], pads=[1] * 4), h.make_node('Add', ['c2', 'x'], ['y'])]
g = h.make_graph(nodes, 'g', [h.make_tensor_value_info('x', T.DOUBLE, [1, 16, 8, 8])], [h.make_tensor_value_info('y', T.DOUBLE, [1, 16, 8, 8])], [w('w1', 16, 16, 3, 3), w('w2', 16, 16, 3, 3)])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)], ir_version=8), sys.argv[1])
`, double]);
    const doubleOut = path.join(tmp.dir, 'block_double_cbam.onnx');
    const d = await convertFile(double, doubleOut, { block: 'cbam', init: 'preserve' });
    expect(d.report.inserted).toBe(1);
    expect(d.report.params.added).toBe(2 * 16 + 1 + 16 + 99); // r = 16: C/r = 1
    for (const [original, out] of [[cached('resnet18_op9_fp16.onnx'), fp16], [double, doubleOut]] as const) {
      expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
      const m = await loadModel(out);
      const types = new Set(m.graph.proto.initializers.filter((t) => t.name.startsWith('se/') && !t.name.endsWith('.axes')).map((t) => t.dataType));
      expect(types.size).toBe(1);
      if (out === doubleOut) continue;
      const v = await validateModels(original, out, { ep: 'cpu', runs: 0, expectEqual: true });
      expect(v.problems).toEqual([]);
    }
  });

  it('--no-bias gives timm\'s MLP without biases, and torch agrees', async () => {
    const report = analyze(await loadModel(cached('resnet50_op13.onnx')), { block: 'cbam', bias: false });
    expect(report.params.added).toBe(torchCount('cbam', ['nobias']));
    expect(report.params.added).toBe(report.params.formula);
  });
});
