// The decoder's cursor reads what fields() reads: the same strings (non-ASCII ones included), the same
// limits at the same byte, and shared attributes and lists that stay frozen. A node's bytes are
// written back only while they still decode to its fields. A tensor's payload is a view of the buffer.

import { describe, expect, it } from 'vitest';
import { decodeGraph, decodeNode, decodeTensor, encodeNode, encodeTensor, pristineSource } from '../src/onnx/proto.js';
import type { NodeProto } from '../src/onnx/proto.js';
import { LimitError, WireWriter, budgetLeft, fields, readString, withDecodeBudget } from '../src/onnx/wire.js';
import { node } from './support/models.js';

function nodeBytes(build: (w: WireWriter) => void): Uint8Array {
  const w = new WireWriter();
  build(w);
  return w.toBytes();
}

describe('the decoder cursor', () => {
  it('reads strings as TextDecoder does: ASCII, UTF-8, invalid UTF-8, a BOM, long names', () => {
    const names = ['x', 'conv12', 'ü', '数据', '\u{1F600}', 'a'.repeat(40), 'b'.repeat(100), `${'é'.repeat(20)}x`];
    const bytes = nodeBytes((w) => {
      for (const n of names) w.stringField(1, n);
      w.bytesField(1, Uint8Array.of(0x61, 0xff, 0x62));
      w.bytesField(1, Uint8Array.of(0xef, 0xbb, 0xbf, 0x61));
      w.stringField(4, 'Relu');
    });
    const expected = [...fields(bytes)].filter((f) => f.no === 1).map(readString);
    expect(decodeNode(bytes).inputs).toEqual(expected);
    expect(decodeNode(bytes).inputs.slice(0, names.length)).toEqual(names);
  });

  it('gives nodes of one kind one frozen attribute and list, and still spends the budget each decode spent', () => {
    const conv = encodeNode(node('Conv', ['x', 'w'], ['y'], { kernel_shape: [1, 1], strides: [1, 1], group: 1 }, 'c')).toBytes();
    const graph = nodeBytes((w) => { for (let i = 0; i < 5; i++) w.bytesField(1, conv); });
    const spent = (decode: () => unknown) => withDecodeBudget(() => { decode(); return 1e9 - budgetLeft(); }, 1e9);
    const g = decodeGraph(graph);
    expect(g.nodes[4]!.attributes[0]).toBe(g.nodes[0]!.attributes[0]);
    expect(g.nodes[4]!.attributes).toBe(g.nodes[0]!.attributes);
    expect(Object.isFrozen(g.nodes[4]!.attributes[0]!.ints)).toBe(true);
    // A shared attribute counts as decoded again: the graph spends five nodes' worth, plus its five fields.
    const total = spent(() => decodeGraph(graph));
    expect(total).toBe(5 * (spent(() => decodeNode(conv)) + 1));
    // With one less, the limit falls where it fell when each attribute was decoded anew: in the last node.
    expect(() => withDecodeBudget(() => decodeGraph(graph), total)).not.toThrow();
    expect(() => withDecodeBudget(() => decodeGraph(graph), total - 1)).toThrow(LimitError);
    try {
      withDecodeBudget(() => decodeGraph(graph), total - 1);
    } catch (e) {
      expect((e as LimitError).message).toMatch(/at byte (\d+)$/);
      expect(Number(/at byte (\d+)$/.exec((e as Error).message)![1])).toBeGreaterThan(graph.length - conv.length);
    }
  });

  it('shares the empty lists of a node and a tensor, frozen', () => {
    const n = decodeNode(nodeBytes((w) => { w.stringField(1, 'x'); w.stringField(2, 'y'); w.stringField(4, 'Relu'); }));
    expect(n.attributes).toEqual([]);
    expect(Object.isFrozen(n.attributes) && Object.isFrozen(n.metadataProps) && Object.isFrozen(n.extras)).toBe(true);
    const t = decodeTensor(nodeBytes((w) => { w.varintField(1, 3); w.varintField(2, 1); w.stringField(8, 'w'); }));
    expect(t.dims).toEqual([3]);
    expect(t.externalData).toEqual([]);
    expect(t.extras).toEqual([]);
  });
});

describe('a decoded tensor', () => {
  const weight = (name: string, dims: number[], raw: Uint8Array) => nodeBytes((w) => {
    w.packedInt64Field(1, dims);
    w.varintField(2, 1);
    w.stringField(8, name);
    w.bytesField(9, raw);
  });

  it('views its raw_data in the buffer it was read from, and a spread copy keeps it', () => {
    const raw = Uint8Array.from({ length: 300 }, (_, i) => i % 251);
    const bytes = weight('w', [75], raw);
    const t = decodeTensor(bytes);
    expect(t.rawData!.buffer).toBe(bytes.buffer);
    expect(Buffer.from(t.rawData!).equals(Buffer.from(raw))).toBe(true);
    // A renamed copy, as a pipeline makes one, is written with the same weights.
    const renamed = { ...t, name: 'w2' };
    expect(Buffer.from(renamed.rawData!).equals(Buffer.from(raw))).toBe(true);
    expect(decodeTensor(encodeTensor(renamed).toBytes()).rawData!.byteLength).toBe(300);
    // Of two raw_data fields, the last is the one that decodes.
    const twice = decodeTensor(nodeBytes((w) => { w.bytesField(9, Uint8Array.of(1)); w.stringField(8, 'w'); w.bytesField(9, Uint8Array.of(2, 3)); }));
    expect([...twice.rawData!]).toEqual([2, 3]);
    expect(decodeTensor(nodeBytes((w) => { w.stringField(8, 'shape'); w.varintField(2, 7); })).rawData).toBeUndefined();
  });

  it('is encoded from its fields to the same bytes by a spread copy', () => {
    const t = decodeTensor(weight('w', [2, 2], new Uint8Array(16).fill(7)));
    expect(Buffer.from(encodeTensor({ ...t }).toBytes()).equals(Buffer.from(t.src!))).toBe(true);
  });

  it('shares one frozen dims list with the tensors of its shape', () => {
    const graph = nodeBytes((w) => {
      for (const [name, dims] of [['a', [16, 16, 1, 1]], ['b', [16]], ['c', [16, 16, 1, 1]]] as const) {
        w.bytesField(5, weight(name, [...dims], new Uint8Array(dims.reduce((x, y) => x * y, 4))));
      }
    });
    const [a, b, c] = decodeGraph(graph).initializers;
    expect(a!.dims).toBe(c!.dims);
    expect(b!.dims).toEqual([16]);
    expect(Object.isFrozen(a!.dims)).toBe(true);
  });
});

describe('a node keeps its bytes only while they encode it', () => {
  const relu = () => decodeNode(encodeNode(node('Relu', ['x'], ['y'], {}, 'r')).toBytes());

  it('a decoded node, or a copy of it that takes its bytes along, is its bytes', () => {
    const n = relu();
    expect(pristineSource(n)).toBe(n.src);
    expect(pristineSource({ ...n, src: n.src })).toBe(n.src);
  });

  it('a spread copy, which leaves the bytes behind, is encoded from its fields to the same bytes', () => {
    const n = relu();
    expect(pristineSource({ ...n })).toBeUndefined();
    expect(Buffer.from(encodeNode({ ...n }).toBytes()).equals(Buffer.from(n.src!))).toBe(true);
  });

  it('a field replaced through a cast, by another value, is re-encoded', () => {
    for (const edit of [
      (n: NodeProto) => { (n as { inputs: readonly string[] }).inputs = ['z']; },
      (n: NodeProto) => { (n as { inputs: readonly string[] }).inputs = ['x', 'z']; },
      (n: NodeProto) => { (n as { outputs: readonly string[] }).outputs = []; },
      (n: NodeProto) => { (n as { name: string }).name = 'other'; },
      (n: NodeProto) => { (n as { opType: string }).opType = 'Sigmoid'; },
      (n: NodeProto) => { (n as { domain: string }).domain = 'com.example'; },
      (n: NodeProto) => { (n as { attributes: unknown[] }).attributes = [{ name: 'alpha', type: 1, f: 0.5 }]; },
      (n: NodeProto) => { (n as { extras: unknown[] }).extras = [{ no: 6, bytes: Uint8Array.of(0x32, 0) }]; },
    ]) {
      const n = relu();
      edit(n);
      expect(pristineSource(n)).toBeUndefined();
    }
  });

  it('a field replaced by an equal value still encodes as the original bytes', () => {
    const n = relu();
    (n as { inputs: readonly string[] }).inputs = ['x'];
    expect(pristineSource(n)).toBe(n.src);
  });
});
