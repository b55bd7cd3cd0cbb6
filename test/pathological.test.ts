// Wide, shared-input and long graphs: matching and rewriting are near-linear in nodes and never recurse
// over them. These tests only require the work to finish (bench/node-count.mjs measures the time).

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from '../src/api.js';
import { Graph } from '../src/ir/graph.js';
import { lintGraph } from '../src/ir/lint.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { reluChain, residualChain, sharedInput, wideConcat } from './support/graphs.js';
import { ROOT, tempDir } from './support/fixtures.js';
import { buildModel, node, residualBlock } from './support/models.js';

const LONG = 600_000;

// Each runs in its own process through the built CLI: a worker blocked for a minute would miss its own
// test runner's heartbeats on a loaded machine.
const tmp = tempDir('se-inject-patho-');
afterAll(() => tmp.cleanup());

async function reportOf(name: string, bytes: Uint8Array): Promise<{ code: number; report: Record<string, any> }> {
  const file = path.join(tmp.dir, `${name}.onnx`);
  writeFileSync(file, bytes);
  const cli = path.join(ROOT, 'dist/src/cli/main.js');
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [cli, 'report', file, '--init', 'preserve', '--json'], { maxBuffer: 1 << 30 }, (err, stdout) => {
      try {
        resolve({ code: err ? Number(err.code) : 0, report: JSON.parse(stdout) });
      } catch (e) {
        reject(e);
      }
    }));
}

describe('pathological graphs finish', () => {
  it('a 10,000-wide Concat of convs gets one SE over all 10,000 channels', async () => {
    const { code, report } = await reportOf('concat10k', wideConcat(10_000));
    expect(code).toBe(0);
    expect(report.blocks.map((b: any) => [b.tensor, b.channels])).toEqual([['cat', 10_000]]);
  }, LONG);

  it('20,000 residual sums reading one input each get their SE', async () => {
    const { report } = await reportOf('shared20k', sharedInput(20_000));
    expect(report.inserted).toBe(20_000);
    expect(report.blocks[19_999]).toMatchObject({ tensor: 'c19999', channels: 4 });
  }, LONG);

  it('a chain of 20,000 residual units (40,001 nodes) gets 20,000 SE blocks', async () => {
    const { report } = await reportOf('chain20k', residualChain(20_000));
    expect(report.inserted).toBe(20_000);
    expect(report.blocks[0]).toMatchObject({ tensor: 'c0', stage: 1, block: 1 });
    expect(report.blocks[19_999]).toMatchObject({ tensor: 'c19999', stage: 1, block: 20_000 });
  }, LONG);

  it('a 300,000-node chain is analysed and has nothing to insert', async () => {
    const { report } = await reportOf('relu300k', reluChain(300_000));
    expect(report.nothingToInsert).toMatch(/nothing to insert/);
    expect(report.model.nodes).toBe(300_000);
    expect(report.inserted).toBe(0);
  }, LONG);

  it('an injected 2,000-unit chain is written in topological order with every SE node', () => {
    const model = loadModelBytes(residualChain(2_000), { label: 'generated' });
    const r = inject(model, { init: 'preserve' });
    expect(r.inserted).toBe(2_000);
    expect(model.graph.nodes).toHaveLength(4_001 + 2_000 * 8);
    expect(lintGraph(model.graph)).toEqual([]);
  }, LONG);

  it('sorts a reversed 500,000-node chain without recursion or argument spreading', () => {
    const proto = buildModel(residualBlock(8)).graph.proto;
    const chain = Array.from({ length: 500_000 }, (_, i) => node('Relu', [i ? `r${i - 1}` : 'x'], [`r${i}`]));
    proto.nodes.splice(0, proto.nodes.length);
    for (let i = chain.length - 1; i >= 0; i--) proto.nodes.push(chain[i]!);
    const g = new Graph(proto);
    g.sortTopologically();
    expect(g.nodes[0]).toBe(chain[0]);
    expect(g.nodes[499_999]).toBe(chain[499_999]);
  }, LONG);
});

describe('Graph edits in one pass over the node list', () => {
  it('insertNodeGroups puts each group right after its anchor, in order', () => {
    const model = buildModel(residualBlock(8));
    const g = model.graph;
    const c1 = g.nodes.find((n) => n.name === 'c1')!, c2 = g.nodes.find((n) => n.name === 'c2')!;
    g.insertNodeGroups([
      { nodes: [node('Relu', ['c2'], ['a']), node('Relu', ['a'], ['b'])], anchor: c2 },
      { nodes: [node('Relu', ['c1'], ['d'])], anchor: c1 },
      { nodes: [node('Relu', ['y'], ['e'])] },
    ]);
    expect(g.nodes.map((n) => n.outputs[0])).toEqual(['c1', 'd', 'r1', 'c2', 'a', 'b', 'sum', 'out', 'y', 'e']);
    expect(g.consumers('c2').map((n) => n.outputs[0])).toEqual(['sum', 'a']);
    expect(() => g.insertNodes([node('Relu', ['x'], ['a'])])).toThrow(/already has a producer/);
  });

  it('eliminateDeadCode removes a dead chain in one sweep and keeps the maps right', () => {
    const model = buildModel(residualBlock(8));
    const g = model.graph;
    const c2 = g.nodes.find((n) => n.name === 'c2')!;
    g.insertNodes([node('Relu', ['c2'], ['dead1']), node('Relu', ['dead1'], ['dead2'])], c2);
    expect(g.eliminateDeadCode()).toBe(2);
    expect(g.consumers('c2').map((n) => n.outputs[0])).toEqual(['sum']);
    expect(g.producer('dead1')).toBeUndefined();
    expect(lintGraph(g)).toEqual([]);
  });
});
