// SE's options beyond the paper's defaults: the MLP's inner activation (--act), the squeeze width from the
// block input (--reduce-from input, as RegNetY and EfficientNet size SE) and a ratio per stage
// (--ratio-per-stage, the paper's Table 7). On ResNet-50 each adds what torch counts for the same blocks;
// on small models each form is valid ONNX and computes the original function with --init preserve.

import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertBytes, loadModel } from '../src/api.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, cached, onnxCheck, tempDir } from './support/fixtures.js';
import { buildModelBytes, residualBlock } from './support/models.js';

const tmp = tempDir('se-inject-se-options-');
afterAll(() => tmp.cleanup());

/**
 * torch's count of SE blocks (two biased 1×1 convs, `act` between) on ResNet-50's 16 units, each block
 * given as [scaled channels, channels the squeeze width comes from, ratio].
 */
function torchCount(blocks: [number, number, number][], act = 'relu'): number {
  const script = `
import json, sys, torch.nn as nn
Act = {'relu': nn.ReLU, 'silu': nn.SiLU, 'hardswish': nn.Hardswish}[sys.argv[2]]
se = lambda c, cin, r: nn.Sequential(nn.Conv2d(c, cin // r, 1), Act(), nn.Conv2d(cin // r, c, 1))
print(sum(p.numel() for c, cin, r in json.loads(sys.argv[1]) for p in se(c, cin, r).parameters()))
`;
  return Number(execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(blocks), act], { encoding: 'utf8' }).trim());
}

/** ResNet-50's bottlenecks: output width and input width per unit (the first unit of a stage widens). */
const RESNET50: [number, number][] = [
  [256, 64], [256, 256], [256, 256], [512, 256], [512, 512], [512, 512], [512, 512],
  [1024, 512], ...Array<[number, number]>(5).fill([1024, 1024]), [2048, 1024], [2048, 2048], [2048, 2048],
];
const STAGE = [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4];

async function preserved(opset: number, options: object, name: string): Promise<{ nodes: string[] }> {
  const input = buildModelBytes({ ...residualBlock(32, 8), opset });
  const { bytes, report } = convertBytes(input, { init: 'preserve', ...options });
  expect(report.inserted).toBe(1);
  const [a, b] = [path.join(tmp.dir, `${name}.onnx`), path.join(tmp.dir, `${name}_se.onnx`)];
  writeFileSync(a, input);
  writeFileSync(b, bytes!);
  expect(onnxCheck([b])[0]).toMatchObject({ ok: true });
  const v = await validateModels(a, b, { ep: 'cpu', runs: 0, expectEqual: true });
  expect(v.problems).toEqual([]);
  return { nodes: (await loadModel(bytes!)).graph.nodes.filter((n) => n.name.startsWith('se/')).map((n) => n.opType) };
}

describe('--act', () => {
  it.each(['relu', 'silu', 'hardswish'] as const)('%s: torch counts the same parameters on ResNet-50', async (act) => {
    const report = analyze(await loadModel(cached('resnet50_op13.onnx')), { act });
    expect(report.params.added).toBe(torchCount(RESNET50.map(([c]) => [c, c, 16]), act));
    expect(report.options.act).toBe(act);
  });

  it('writes ReLU, SiLU as x·σ(x), hard-swish as the HardSwish op from opset 14 and x·HardSigmoid(x) below; each exact with --init preserve', async () => {
    expect((await preserved(13, { act: 'relu' }, 'relu')).nodes).toContain('Relu');
    const silu = (await preserved(13, { act: 'silu' }, 'silu')).nodes;
    expect(silu.filter((t) => t === 'Sigmoid')).toHaveLength(2); // the activation's and the gate's
    expect(silu).not.toContain('Relu');
    const hs13 = (await preserved(13, { act: 'hardswish' }, 'hs13')).nodes;
    expect(hs13).toContain('HardSigmoid');
    expect(hs13).not.toContain('HardSwish');
    expect((await preserved(14, { act: 'hardswish' }, 'hs14')).nodes).toContain('HardSwish');
    // The gate's form counts as attention whatever the activation: a second run inserts nothing.
    const { bytes } = convertBytes(buildModelBytes(residualBlock(32, 8)), { act: 'silu' });
    expect(analyze(await loadModel(bytes!)).inserted).toBe(0);
  });
});

describe('--reduce-from input', () => {
  it('sizes each squeeze from the block input (64 in the first bottleneck), as torch counts it', async () => {
    const report = analyze(await loadModel(cached('resnet50_op13.onnx')), { reduceFrom: 'input' });
    expect(report.blocks.map((b) => b.squeezeChannels)).toEqual(RESNET50.map(([, cin]) => cin / 16));
    expect(report.blocks.map((b) => b.squeezeFrom)).toEqual(RESNET50.map(([, cin]) => cin));
    expect(report.params.added).toBe(torchCount(RESNET50.map(([c, cin]) => [c, cin, 16])));
    expect(report.params.formula).toBe(RESNET50.reduce((s, [c, cin]) => s + (2 * c * cin) / 16, 0));
    const cbam = analyze(await loadModel(cached('resnet50_op13.onnx')), { reduceFrom: 'input', block: 'cbam' });
    expect(cbam.params.formula).toBe(cbam.params.added);
  });
});

describe('--ratio-per-stage', () => {
  it('gives each stage its ratio, leaves out a stage given none, and says why', async () => {
    const model = await loadModel(cached('resnet50_op13.onnx'));
    const ratios = [8, 16, null, 32];
    const report = analyze(model, { ratioPerStage: ratios });
    const kept = RESNET50.map(([c], i): [number, number, number] => [c, c, ratios[STAGE[i]! - 1] ?? 0]).filter(([, , r]) => r);
    expect(report.inserted).toBe(10);
    expect(report.params.added).toBe(torchCount(kept));
    expect(report.blocks.map((b) => b.squeezeChannels)).toEqual(kept.map(([c, , r]) => c / r));
    expect(report.skipped.filter((s) => s.code === 'stage-excluded').map((s) => s.reason)).toEqual(Array(6).fill('stage 3 excluded by --ratio-per-stage'));
    expect(report.stages.map((s) => s.formulaParams)).toEqual([3 * 2 * 256 ** 2 / 8, 4 * 2 * 512 ** 2 / 16, 3 * 2 * 2048 ** 2 / 32]);
    expect(report.blocks.map((b) => b.ratio)).toEqual(kept.map(([, , r]) => r));
    // A stage's ratio so large that its widths are clamped is said, naming that ratio.
    expect(analyze(model, { ratioPerStage: [8, 16, null, 4096] }).notes).toEqual([expect.stringMatching(/^ratio 4096 clamps 3 of 10 blocks' squeeze width to the minimum 1 \(e\.g\. 2048 channels \/ 4096 = 0\.500\)/)]);
    expect(() => analyze(model, { ratioPerStage: [8, 16] })).toThrow(/option ratioPerStage gives 2 stage\(s\), but .* has 4/);
    expect(() => analyze(model, { ratioPerStage: [8, 0, 16, 16] })).toThrow(/option ratioPerStage must be a list with one positive ratio per stage/);
  });

  it('on the command line: 8,16,-,32, shown in the report header; a typo is one line', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', cwd: ROOT });
    const r = cli('report', cached('resnet50_op13.onnx'), '--ratio-per-stage', '8,16,-,32');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^SE blocks \(dry run: nothing written\) — r per stage 8,16,-,32, placement standard/m);
    const bad = cli('report', cached('resnet50_op13.onnx'), '--ratio-per-stage', '8,x,-,32');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--ratio-per-stage "8,x,-,32": "x" is not a ratio/);
    const short = cli('report', cached('resnet50_op13.onnx'), '--ratio-per-stage', '8,16');
    expect(short.stderr).toMatch(/--ratio-per-stage gives 2 stage\(s\), but .* has 4; .*run se-inject report to see them/);
    const help = cli('--help');
    for (const opt of ['--act', '--reduce-from', '--ratio-per-stage', 'cbam-channel']) expect(help.stdout, opt).toContain(opt);
  });
});
