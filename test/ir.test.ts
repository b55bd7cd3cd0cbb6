// The IR's promises: producer/consumer maps stay right through every mutation, dead-code elimination
// never drops a graph output, subgraph captures count as uses, topological order is stable.

import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { Graph, topologicalOrder } from '../src/ir/graph.js';
import { inputProblems, lintGraph } from '../src/ir/lint.js';
import { injectSE } from '../src/inject.js';
import { DEFAULT_OPTIONS } from '../src/options.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { AttrType, decodeNode, encodeGraph, encodeNode } from '../src/onnx/proto.js';
import type { GraphProto, NodeProto } from '../src/onnx/proto.js';
import { serializeModel } from '../src/onnx/save.js';
import { ROOT } from './support/fixtures.js';
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
    // The codec finds what a subgraph reads from outside (the IR never parses bytes): the node goes through it.
    const iff = decodeNode(encodeNode({
      ...node('If', ['cond'], ['y']),
      attributes: [{ name: 'then_branch', type: AttrType.GRAPH, graphs: [body] }, { name: 'else_branch', type: AttrType.GRAPH, graphs: [body] }],
    }).toBytes());
    expect(iff.attributes.map((a) => a.captures)).toEqual([['outer'], ['outer']]);
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

  it('checks the lists as they are, not the value ids the graph read from them', () => {
    const g = graphOf([node('Relu', ['x'], ['a']), node('Relu', ['a'], ['y'])]);
    expect(lintGraph(g)).toEqual([]);
    const [r1, r2] = g.nodes as [NodeProto, NodeProto];
    // A list replaced behind the IR, and the node list reordered behind it.
    (r2 as unknown as { inputs: string[] }).inputs = ['nope'];
    expect(lintGraph(g)[0]).toMatch(/reads nope, which no node/);
    (r2 as unknown as { inputs: string[] }).inputs = ['a'];
    g.proto.nodes.reverse();
    expect(lintGraph(g)[0]).toMatch(/reads a before it is computed/);
    expect(g.nodeIndex().get(r1)).toBe(1);
    expect(g.nodeIndex().get(r2)).toBe(0);
  });

  it('duplicate node names are a lint problem, but not one that refuses an input', () => {
    const g = graphOf([node('Relu', ['x'], ['a'], {}, 'same'), node('Relu', ['a'], ['y'], {}, 'same')]);
    expect(lintGraph(g)).toEqual(['two nodes are named same: give each node a unique name']);
    expect(inputProblems(g)).toEqual([]);
    const spec = residualBlock(32);
    const named = spec.nodes.map((n) => ({ ...n, name: 'layer' }));
    const m = loadModelBytes(buildModelBytes({ ...spec, nodes: named }));
    expect(lintGraph(m.graph)).toEqual(['two nodes are named layer: give each node a unique name']);
    expect(injectSE(m, { ...DEFAULT_OPTIONS }).report.inserted).toBe(1);
  });

  it('a rewritten model saves in topological order and reloads clean', () => {
    const bytes = buildModelBytes(residualBlock(32));
    const m = loadModelBytes(bytes);
    expect(lintGraph(m.graph)).toEqual([]);
    expect(Buffer.from(serializeModel(m)).equals(Buffer.from(bytes))).toBe(true);
  });
});

describe('nodes are read-only outside the IR', () => {
  const block = () => loadModelBytes(buildModelBytes(residualBlock(8)), { label: 'block' });
  const relu = (m: ReturnType<typeof block>) => m.graph.nodes.find((n) => n.opType === 'Relu')!;

  it('an in-place edit of a loaded or inserted node throws where it is made', () => {
    const m = block();
    const r = relu(m) as unknown as { inputs: string[]; outputs: string[]; attributes: unknown[] };
    expect(() => r.inputs.push('x')).toThrow(TypeError);
    expect(() => { r.inputs[0] = 'x'; }).toThrow(TypeError);
    expect(() => r.outputs.splice(0, 1)).toThrow(TypeError);
    const conv = m.graph.nodes.find((n) => n.opType === 'Conv')! as unknown as { attributes: Array<{ ints: number[]; i?: number }> };
    expect(() => conv.attributes[0]!.ints.push(1)).toThrow(TypeError);
    expect(() => { conv.attributes[0]!.i = 2; }).toThrow(TypeError);
    const sig = node('Sigmoid', ['r1'], ['s']);
    m.graph.insertNodes([sig], relu(m));
    expect(() => (sig.inputs as string[]).push('x')).toThrow(TypeError);
    expect(Buffer.from(serializeModel(m)).includes(Buffer.from('Sigmoid'))).toBe(true);
  });

  it('a field replaced behind the IR is encoded as edited, never as the original bytes', () => {
    const m = block();
    const r = relu(m);
    expect(r.src).toBeDefined();
    (r as { inputs: readonly string[] }).inputs = ['x'];
    (m.graph.nodes.find((n) => n.opType === 'Add')! as { opType: string }).opType = 'Sub';
    const back = loadModelBytes(serializeModel(m));
    expect(back.graph.nodes.find((n) => n.name === r.name)!.inputs).toEqual(['x']);
    expect(back.graph.nodes.map((n) => n.opType)).toContain('Sub');
    // A copy of an untouched node still encodes as its original bytes.
    const copy = block();
    const before = serializeModel(copy);
    copy.proto.graph.nodes[0] = { ...copy.proto.graph.nodes[0]! };
    expect(Buffer.from(serializeModel(copy)).equals(Buffer.from(before))).toBe(true);
  });

  it('replaceUses rewires all readers, or only those a set or a predicate accepts, and drops their original bytes', () => {
    const g = graphOf([node('Relu', ['x'], ['a']), node('Relu', ['a'], ['b']), node('Add', ['a', 'a'], ['c']), node('Add', ['b', 'c'], ['y'])]);
    const [, r2, add] = g.nodes as [NodeProto, NodeProto, NodeProto];
    const s1 = node('Sigmoid', ['a'], ['s']);
    g.insertNodes([s1], g.nodes[0]);
    expect(g.replaceUses('a', 's', { only: new Set([add]) })).toEqual([add]);
    expect(add.inputs).toEqual(['s', 's']);
    expect(r2.inputs).toEqual(['a']);
    expect(g.consumers('a')).toEqual([r2, s1]);
    expect(g.replaceUses('a', 's', { only: (u) => u !== s1 })).toEqual([r2]);
    expect(g.consumers('a')).toEqual([s1]);
    expect(new Set(g.consumers('s'))).toEqual(new Set([add, r2]));
    expect(add.src).toBeUndefined();
    expect(lintGraph(g)).toEqual([]);
    g.setInput(add, 1, 'b');
    expect(add.inputs).toEqual(['s', 'b']);
    expect(new Set(g.consumers('b'))).toEqual(new Set([add, g.nodes.at(-1)]));
    expect(() => g.setInput(add, 2, 'b')).toThrow(/has no input 2/);
  });

  it('editing a node outside Graph is a type error', () => {
    const file = path.join(ROOT, 'test/readonly-check.ts');
    const source = [
      `import type { NodeProto } from '../src/ir/types.js';`,
      `import type { Graph } from '../src/ir/graph.js';`,
      `declare const n: NodeProto; declare const g: Graph;`,
      `n.inputs.push('x');`,
      `n.inputs[0] = 'x';`,
      `n.outputs = [];`,
      `n.src = undefined;`,
      `n.opType = 'Sub';`,
      `n.attributes[0]!.ints!.push(1);`,
      `g.consumers('a')[0]!.inputs.splice(0, 1);`,
      `(g.nodes as NodeProto[]).push(n);`, // a cast says so, and the frozen node list is not this array's contents
      `g.replaceUses('a', 'b', { only: (u) => u.opType === 'Conv' });`,
    ].join('\n');
    const options: ts.CompilerOptions = { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (f, lang, ...rest) => (path.resolve(f) === file ? ts.createSourceFile(f, source, lang) : read(f, lang, ...rest));
    const exists = host.fileExists.bind(host);
    host.fileExists = (f) => path.resolve(f) === file || exists(f);
    const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options, host)).filter((d) => d.file && path.resolve(d.file.fileName) === file);
    const lines = diagnostics.map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1);
    expect(lines).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });
});

describe('the IR knows no codec and no files', () => {
  it('src/ir imports only itself and the host types, never the codec or Node', () => {
    const dir = path.join(ROOT, 'src/ir');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
      const imports = [...readFileSync(path.join(dir, f), 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
      for (const i of imports) expect(i, `src/ir/${f} imports ${i}`).toMatch(/^\.\/[a-z-]+\.js$|^\.\.\/host\/types\.js$/);
    }
  });
});
