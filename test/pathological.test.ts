// Wide, shared-input and long graphs: matching and rewriting are near-linear in nodes and never recurse
// over them. These tests only require the work to finish (bench/node-count.mjs measures the time).

import { describe, expect, it } from 'vitest';
import { inject } from '../src/api.js';
import { Graph } from '../src/ir/graph.js';
import { lintGraph } from '../src/ir/lint.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { reluChain, residualChain, sharedInput, wideConcat } from './support/graphs.js';
import { buildModel, node, residualBlock } from './support/models.js';

const load = (bytes: Uint8Array) => loadModelBytes(bytes, { label: 'generated' });
const LONG = 600_000;

describe('pathological graphs finish', () => {
  it('a 10,000-wide Concat of convs gets one SE over all 10,000 channels', () => {
    const model = load(wideConcat(10_000));
    const r = inject(model, { init: 'preserve' });
    expect(r.blocks.map((b) => [b.tensor, b.channels])).toEqual([['cat', 10_000]]);
    expect(lintGraph(model.graph)).toEqual([]);
  }, LONG);

  it('20,000 residual sums reading one input each get their SE', () => {
    const model = load(sharedInput(20_000));
    const r = inject(model, { init: 'preserve' });
    expect(r.inserted).toBe(20_000);
    expect(r.blocks[19_999]).toMatchObject({ tensor: 'c19999', channels: 4 });
    expect(lintGraph(model.graph)).toEqual([]);
  }, LONG);

  it('a chain of 20,000 residual units (40,001 nodes) gets 20,000 SE blocks', () => {
    const model = load(residualChain(20_000));
    const r = inject(model, { init: 'preserve' });
    expect(r.inserted).toBe(20_000);
    expect(r.blocks[0]).toMatchObject({ tensor: 'c0', stage: 1, block: 1 });
    expect(model.graph.nodes).toHaveLength(40_001 + 20_000 * 8);
    expect(lintGraph(model.graph)).toEqual([]);
  }, LONG);

  it('a 300,000-node chain is analysed and has nothing to insert', () => {
    const model = load(reluChain(300_000));
    const r = inject(model, { init: 'preserve' });
    expect(r.inserted).toBe(0);
  }, LONG);

  it('sorts a reversed 1,000,000-node chain without recursion or argument spreading', () => {
    const proto = buildModel(residualBlock(8)).graph.proto;
    const chain = Array.from({ length: 1_000_000 }, (_, i) => node('Relu', [i ? `r${i - 1}` : 'x'], [`r${i}`]));
    proto.nodes.splice(0, proto.nodes.length);
    for (let i = chain.length - 1; i >= 0; i--) proto.nodes.push(chain[i]!);
    const g = new Graph(proto);
    g.sortTopologically();
    expect(g.nodes[0]).toBe(chain[0]);
    expect(g.nodes[999_999]).toBe(chain[999_999]);
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
