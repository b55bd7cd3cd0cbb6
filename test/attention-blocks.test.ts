// The channel-attention family beside SE: eSE (VoVNetV2) and ECA (Wang et al.). On ResNet-50 each adds the
// parameters torch counts for the same blocks (torch builds them, independently of se-inject); on a small
// model each is valid ONNX, computes the original function with --init preserve, and counts as existing
// attention, so a second run inserts nothing.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import { validateModels } from '../src/validate/runtime.js';
import { cached, onnxCheck, small, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-attention-');
afterAll(() => tmp.cleanup());

/** Parameters of the blocks torch builds for ResNet-50's 16 units (widths 256×3, 512×4, 1024×6, 2048×3). */
function torchCount(block: 'se' | 'ese' | 'eca'): number {
  const script = `
import math, sys, torch.nn as nn
def k(c):  # timm's EcaModule: t = int(abs(log2(c) + b) / gamma), odd, at least 3
    t = int(abs(math.log(c, 2) + 1) / 2)
    return max(t if t % 2 else t + 1, 3)
make = {
    'se': lambda c: nn.Sequential(nn.Conv2d(c, c // 16, 1), nn.ReLU(), nn.Conv2d(c // 16, c, 1)),
    'ese': lambda c: nn.Conv2d(c, c, 1),
    'eca': lambda c: nn.Conv1d(1, 1, k(c), padding=(k(c) - 1) // 2, bias=False),
}[sys.argv[1]]
print(sum(p.numel() for c in [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3 for p in make(c).parameters()))
`;
  return Number(execFileSync('/usr/bin/python3', ['-c', script, block], { encoding: 'utf8' }).trim());
}

describe.each(['se', 'ese', 'eca'] as const)('--block %s', (block) => {
  it('adds on ResNet-50 exactly what torch counts for the same 16 blocks, and what its formula says', async () => {
    const report = analyze(await loadModel(cached('resnet50_op13.onnx')), { block });
    expect(report.inserted).toBe(16);
    expect(report.params.added).toBe(torchCount(block));
    if (block !== 'se') expect(report.params.formula).toBe(report.params.added); // SE's paper formula leaves out the biases
    if (block === 'eca') expect(report.params.added).toBe(86);
  });

  it('writes valid ONNX that computes the original function with --init preserve; a second run adds nothing', async () => {
    const out = path.join(tmp.dir, `tiny_${block}.onnx`);
    const { report } = await convertFile(small('tiny_resnet.onnx'), out, { block, init: 'preserve' });
    expect(report.inserted).toBeGreaterThan(0);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(small('tiny_resnet.onnx'), out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
    for (const again of ['se', 'ese', 'eca'] as const) expect(analyze(await loadModel(out), { block: again }).inserted).toBe(0);
  });
});
