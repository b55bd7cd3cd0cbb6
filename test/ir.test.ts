// The IR's promises: producer/consumer maps stay right through every mutation, dead-code elimination
// never drops a graph output, subgraph captures count as uses, topological order is stable.

import { describe, expect, it } from 'vitest';
import { Graph, topologicalOrder } from '../src/ir/graph.js';
import { lintGraph } from '../src/ir/lint.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { AttrType, encodeGraph } from '../src/onnx/proto.js';
import type { GraphProto, NodeProto } from '../src/onnx/proto.js';
import { serializeModel } from '../src/onnx/save.js';
import { buildModelBytes, node, residualBlock } from './support/models.js';

function graphOf(nodes: NodeProto[], outputs = ['y']): Graph {
  const proto: GraphProto = {
    name: 'g', nodes, initializers: [], inputs: [{ name: 'x' }], outputs: outputs.map((name) => ({ name })),
    valueInfo: [], sparseInitializerNames: [], extras: [],
  };
  return new Graph(proto);
}

describe('Graph', () => {
  it('keeps producer and consumer maps through insert, rewire and remove', () => {
    const g = graphOf([node('Relu', ['x'], ['a']), node('Relu', ['a'], ['y'])]);
    const [r1, r2] = g.nodes as [NodeProto, NodeProto];
    expect(g.producer('a')).toBe(r1);
    expect(g.consumers('a')).toEqual([r2]);
    const sig = node('Sigmoid', ['a'], ['s']);
    g.insertNodes([sig], r1);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Relu', 'Sigmoid', 'Relu']);
    g.replaceAllUsesWith('a', 's', new Set([sig]));
    expect(r2.inputs).toEqual(['s']);
    expect(g.consumers('a')).toEqual([sig]);
    expect(g.consumers('s')).toEqual([r2]);
    expect(r2.src).toBeUndefined();
    g.removeNode(sig);
    expect(g.producer('s')).toBeUndefined();
    expect(g.consumers('a')).toEqual([]);
  });

  it('dead-code elimination removes unread nodes but never a graph output', () => {
    const g = graphOf([node('Relu', ['x'], ['y']), node('Relu', ['x'], ['dead']), node('Relu', ['dead'], ['dead2'])]);
    expect(g.eliminateDeadCode()).toBe(2);
    expect(g.nodes.map((n) => n.outputs[0])).toEqual(['y']);
  });

  it('counts reads inside If/Loop bodies as uses, so DCE keeps their producers', () => {
    const body = encodeGraph({
      name: 'then', nodes: [node('Identity', ['outer'], ['inner'])], initializers: [], inputs: [], outputs: [{ name: 'inner' }],
      valueInfo: [], sparseInitializerNames: [], extras: [],
    }).toBytes();
    const iff: NodeProto = {
      ...node('If', ['cond'], ['y']),
      attributes: [{ name: 'then_branch', type: AttrType.GRAPH, graphs: [body] }, { name: 'else_branch', type: AttrType.GRAPH, graphs: [body] }],
    };
    const g = graphOf([node('Relu', ['x'], ['outer']), node('Relu', ['x'], ['cond']), iff]);
    expect(g.consumers('outer')).toEqual([iff]);
    expect(g.eliminateDeadCode()).toBe(0);
    expect(lintGraph(g)).toEqual([]);
  });

  it('gives unique, derived names', () => {
    const g = graphOf([node('Relu', ['x'], ['se/stage1.block1/fc1'])]);
    expect(g.uniqueValueName('se/stage1.block1/fc1')).toBe('se/stage1.block1/fc1_1');
    expect(g.uniqueValueName('se/stage1.block1/fc1')).toBe('se/stage1.block1/fc1_2');
  });

  it('sorts topologically, keeping the existing order where it is valid', () => {
    const g = graphOf([node('Relu', ['b'], ['y']), node('Relu', ['x'], ['a']), node('Relu', ['a'], ['b'])]);
    g.sortTopologically();
    expect(g.nodes.map((n) => n.outputs[0])).toEqual(['a', 'b', 'y']);
    const cyc = graphOf([node('Relu', ['b'], ['a']), node('Relu', ['a'], ['b']), node('Relu', ['x'], ['y'])]);
    expect(topologicalOrder(cyc).cycle).toBeDefined();
  });
});

describe('lint', () => {
  it('says what is wrong and how to fix it', () => {
    expect(lintGraph(graphOf([node('Relu', ['nope'], ['y'])]))[0]).toMatch(/reads nope, which no node, graph input or initializer defines/);
    expect(lintGraph(graphOf([node('Relu', ['a'], ['y']), node('Relu', ['x'], ['a'])]))[0]).toMatch(/before it is computed: the graph is not in topological order/);
    expect(lintGraph(graphOf([node('Relu', ['x'], ['y'], {}, 'n1'), node('Relu', ['x'], ['y'], {}, 'n2')]))[0]).toMatch(/tensor y is written by both n1 and n2/);
  });

  it('a rewritten model saves in topological order and reloads clean', () => {
    const bytes = buildModelBytes(residualBlock(32));
    const m = loadModelBytes(bytes);
    expect(lintGraph(m.graph)).toEqual([]);
    expect(Buffer.from(serializeModel(m)).equals(Buffer.from(bytes))).toBe(true);
  });
});
