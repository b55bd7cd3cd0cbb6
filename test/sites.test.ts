// se-inject report --sites: every tensor --at accepts, with shape, stage and block, as a table, Markdown
// and JSON — what a user reads before choosing --at or --exclude.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, listSites, loadModel } from '../src/api.js';
import { ROOT, cached } from './support/fixtures.js';

const RESNET50 = cached('resnet50_op13.onnx');
const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', cwd: ROOT });

describe('report --sites', () => {
  it("lists ResNet-50's feature maps: the passes' 16 sites inside their blocks and stages, the stem outside any", async () => {
    const model = await loadModel(RESNET50);
    const { sites } = listSites(model);
    const report = analyze(model);
    const scaled = sites.filter((s) => s.scaledBy);
    expect(scaled.map((s) => [s.tensor, s.block, s.stage])).toEqual(report.blocks.map((b) => [b.tensor, b.name, b.stage]));
    expect(scaled.every((s) => s.scaledBy === 'insertSEOnResidualBranch')).toBe(true);
    expect(sites[0]).toMatchObject({ tensor: '/conv1/Conv_output_0', shape: [1, 64, 112, 112], elemType: 'float', op: 'Conv' });
    expect(sites[0]!.block).toBeUndefined();
    const inBlock = sites.filter((s) => s.block === 'se/stage2.block1');
    expect(inBlock.length).toBeGreaterThan(3);
    expect(inBlock.every((s) => s.stage === 2 && s.scope === '/layer2/layer2.0')).toBe(true);
    // Every listed tensor is one --at takes: a stem tensor and a tensor inside a block.
    const at = [sites[0]!.tensor, inBlock[0]!.tensor];
    expect(analyze(model, { at }).blocks.map((b) => b.tensor)).toEqual(at);
    // With options the plan changes, and so do the blocks listed.
    expect(listSites(model, { stages: [1] }).sites.filter((s) => s.scaledBy)).toHaveLength(16); // --stages selects after the plan
    expect(listSites(model, { placement: 'post' }).sites.filter((s) => s.scaledBy).every((s) => /Relu/.test(s.tensor))).toBe(true);
  });

  it('prints a table, Markdown or one JSON document', () => {
    const text = cli('report', RESNET50, '--sites');
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^tensor\s+shape\s+op\s+stage\s+block\s+model scope\s+passes$/m);
    expect(text.stdout).toMatch(/^\/layer1\/layer1\.0\/conv3\/Conv_output_0\s+1×256×56×56\s+Conv\s+1\s+se\/stage1\.block1\s+\/layer1\/layer1\.0\s+insertSEOnResidualBranch$/m);
    expect(text.stdout).toMatch(/tensors can take attention \(--at\), \d+ inside blocks the passes found; the passes scale 16/);
    const md = cli('report', RESNET50, '--sites', '--markdown');
    expect(md.stdout).toMatch(/^\| tensor \| shape \| op \| stage \| block \| model scope \| passes \|$/m);
    const json = JSON.parse(cli('report', RESNET50, '--sites', '--json').stdout);
    expect(json.file).toContain('resnet50_op13.onnx');
    expect(json.sites.filter((s: { scaledBy?: string }) => s.scaledBy)).toHaveLength(16);
    expect(Object.keys(json.sites[0]).sort()).toEqual(['elemType', 'node', 'op', 'shape', 'tensor']);
  });
});
