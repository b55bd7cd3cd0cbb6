// The encoder sizes a model before it writes a byte, then writes it in batches (the save writes each
// batch before the next is built, over the buffers of the ones before). Whatever the batch size, the
// bytes are those of the one-piece encoding; sealed groups are written in their place from their
// records; untouched nodes and initializers go out as views of the bytes they were read from; new
// nodes with unknown fields and non-ASCII names come out in field-number order and decode back to
// themselves.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inject } from '../src/core.js';
import { sealInto, unsealed } from '../src/ir/sealed.js';
import type { SealedGroup } from '../src/ir/sealed.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { AttrType, DataType, decodeModel, decodeNode, decodeTensor, encodeGraph, encodeModel, encodeNode, encodeTensor, modelEncoding } from '../src/onnx/proto.js';
import type { GraphProto, ModelProto, NodeProto, TensorProto } from '../src/onnx/proto.js';
import { WireWriter, fields } from '../src/onnx/wire.js';
import { FUTURE_FIELDS, small } from './support/fixtures.js';
import { residualChain } from './support/graphs.js';
import { node } from './support/models.js';
import { concat } from './reliability/mutate.js';

/** Every batch's chunks, one after the other. */
function concatBatches(batches: Iterable<Uint8Array[]>): Uint8Array {
  return concat([...batches].flat());
}

/** Byte equality without a deep comparison per element (the models are megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function weight(name: string, values: number[]): TensorProto {
  return { name, dataType: DataType.FLOAT, dims: [values.length], rawData: new Uint8Array(new Float32Array(values).buffer), externalData: [], dataLocation: 0, extras: [] };
}

function graph(nodes: NodeProto[], initializers: TensorProto[]): GraphProto {
  return { name: 'g', nodes, initializers, inputs: [{ name: 'x' }], outputs: [{ name: 'y' }], valueInfo: [], sparseInitializerNames: [], extras: [] };
}

function model(g: GraphProto): ModelProto {
  return { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'test', producerVersion: '', graph: g, metadataProps: [], extras: [], hasGraph: true };
}

describe('batched encoding', () => {
  const injected = loadModelBytes(readFileSync(small('tiny_resnet.onnx')), { label: 'tiny_resnet' });
  inject(injected, { init: 'preserve' });
  const models: [string, ModelProto][] = [
    ['future-fields', loadModelBytes(readFileSync(FUTURE_FIELDS), { label: 'future' }).proto],
    ['tiny_resnet with SE', injected.proto],
  ];

  it.each(models)('%s: every batch size gives the bytes and length of the one-piece encoding', (_, m) => {
    const whole = encodeModel(m).toBytes();
    for (const batch of [1, 100, 4096, undefined]) {
      const e = modelEncoding(m);
      expect(e.length).toBe(whole.length);
      expect(same(concatBatches(e.batches(batch)), whole)).toBe(true);
      // A second pass encodes anew, to the same bytes.
      expect(same(concatBatches(e.batches(batch)), whole)).toBe(true);
    }
  });

  it('written batch by batch over the buffers of batches already written out, gives the same bytes in a few buffers', () => {
    const chain = loadModelBytes(residualChain(2000), { label: 'chain' });
    inject(chain, {});
    const whole = encodeModel(chain.proto).toBytes();
    const written: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (const batch of modelEncoding(chain.proto).batches(256 * 1024, true)) {
      // Copied out before the next batch is asked for, as a file write would be.
      written.push(concat(batch));
      for (const c of batch) if (c.buffer !== chain.source.bytes.buffer) buffers.add(c.buffer);
    }
    expect(same(concat(written), whole)).toBe(true);
    expect(whole.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(buffers.size).toBeLessThan(8);
  });

  it('refuses to finish an encoding whose model changed after it was sized', () => {
    const m = model(graph([node('Relu', ['x'], ['y'])], []));
    const e = modelEncoding(m);
    m.graph.name = 'a longer name';
    expect(() => concatBatches(e.batches())).toThrow(/edited while being saved/);
  });
});

describe('sealed groups', () => {
  it('are written in their place, nodes among the nodes and weights after the graph\'s own', () => {
    const [a, b, c] = [node('Relu', ['x'], ['a']), node('Sigmoid', ['a'], ['b'], {}, 'sealed/b'), node('Mul', ['a', 'b'], ['y'])];
    const [own, inner] = [weight('own', [1, 2]), weight('inner', [3])];
    const field = (no: number, body: WireWriter) => {
      const w = new WireWriter();
      w.messageField(no, body);
      return w.toBytes();
    };
    const nodeBytes = field(1, encodeNode(b));
    const initBytes = field(5, encodeTensor(inner));
    const group: SealedGroup = {
      opTypes: ['Sigmoid'], nodeBytesLength: nodeBytes.length, initializerBytesLength: initBytes.length,
      writeNodes: (out) => out.raw(nodeBytes.slice()), writeInitializers: (out) => out.raw(initBytes.slice()),
      expand: () => ({ nodes: [b], initializers: [inner] }),
    };
    const expected = encodeModel(model(graph([a, b, c], [own, inner]))).toBytes();
    const sealedGraph = graph([], []);
    sealInto(sealedGraph, { entries: [a, group, c], initializers: [own], groups: [group] }, () => unsealed(sealedGraph, [a, b, c], [own, inner]));
    const m = model(sealedGraph);
    expect(encodeModel(m).toBytes()).toEqual(expected);
    expect(modelEncoding(m).length).toBe(expected.length);
    expect(concatBatches(modelEncoding(m).batches(1))).toEqual(expected);
    expect(encodeGraph(sealedGraph).toBytes()).toEqual(encodeGraph(graph([a, b, c], [own, inner])).toBytes());
  });
});

describe('untouched nodes and initializers', () => {
  /** A length-delimited field, its length written `padding` bytes longer than it need be (protobuf reads it all the same). */
  const field = (no: number, body: Uint8Array, padding = 0): Uint8Array => {
    const length: number[] = [];
    for (let v = body.length; v >= 0x80; v = Math.floor(v / 128)) length.push((v % 128) | 0x80);
    length.push(body.length >= 0x80 ? Math.floor(body.length / 128 ** length.length) : body.length);
    for (let i = 0; i < padding; i++) length.splice(length.length - 1, 1, length[length.length - 1]! | 0x80, 0);
    return concat([new Uint8Array([no * 8 + 2, ...length]), body]);
  };
  const modelWith = (padded: number) => {
    const body = (x: { toBytes(): Uint8Array }) => x.toBytes();
    const nodes = [node('Relu', ['x'], ['a']), node('Sigmoid', ['a'], ['b']), node('Relu', ['b'], ['y'])].map((n) => body(encodeNode(n)));
    const inits = [weight('w', Array.from({ length: 200 }, (_, i) => i)), weight('v', [1, 2]), weight('u', [3])].map((t) => body(encodeTensor(t)));
    const g = concat([...nodes.map((n, i) => field(1, n, i === padded ? 2 : 0)), field(2, new TextEncoder().encode('g')), ...inits.map((t, i) => field(5, t, i === padded ? 1 : 0))]);
    const w = new WireWriter();
    w.varintField(1, 8);
    w.bytesField(7, g);
    w.bytesField(8, new Uint8Array([2 * 8, 17]));
    return w.toBytes();
  };

  it('are written as views of the bytes they were read from, several in a row as one', () => {
    const bytes = modelWith(-1);
    const m = decodeModel(bytes);
    const chunks = [...modelEncoding(m).batches()].flat();
    expect(same(concat(chunks), bytes)).toBe(true);
    // The three initializers and the headers between them: one view of the input.
    const inits = m.graph.initializers.map((t) => t.src!);
    const last = inits[2]!;
    expect(chunks.some((c) => c.buffer === bytes.buffer && c.byteOffset === inits[0]!.byteOffset && c.byteOffset + c.length === last.byteOffset + last.length)).toBe(true);
  });

  it('held as views of another message, where other fields\' headers stand between them, are written each behind its own header', () => {
    const tensors = [weight('w', Array.from({ length: 200 }, (_, i) => i)), weight('v', [1, 2])];
    const encoded = tensors.map((t) => encodeTensor(t).toBytes());
    // The two tensors as fields 1 and 15 of some message: one header as long as an initializer's, one longer.
    for (const no of [1, 15]) {
      const [first, second] = encoded.map((t) => field(no, t));
      const holder = concat([first!, second!]);
      const viewed = [
        decodeTensor(holder.subarray(first!.length - encoded[0]!.length, first!.length)),
        decodeTensor(holder.subarray(holder.length - encoded[1]!.length)),
      ];
      expect(viewed[1]!.src!.buffer).toBe(holder.buffer);
      const expected = encodeModel(model(graph([], tensors))).toBytes();
      expect(same(encodeModel(model(graph([], viewed))).toBytes(), expected)).toBe(true);
    }
  });

  it('read with a length longer than it need be, are written with the shortest one', () => {
    for (const padded of [0, 1, 2]) {
      const m = decodeModel(modelWith(padded));
      expect(same(encodeModel(m).toBytes(), modelWith(-1))).toBe(true);
      expect(same(concat([...modelEncoding(m).batches(1)].flat()), modelWith(-1))).toBe(true);
    }
  });
});

describe('new nodes', () => {
  it('merge unknown fields in field-number order and decode back to themselves', () => {
    const extra = (no: number, payload: number[]) => {
      const w = new WireWriter();
      w.bytesField(no, new Uint8Array(payload));
      return { no, bytes: w.toBytes() };
    };
    const n: NodeProto = {
      name: 'ñodo/é', opType: 'Conv', domain: 'ai.onnx', inputs: ['x', 'w\u{1F600}', ''], outputs: ['y'],
      attributes: [
        { name: 'alpha', type: AttrType.FLOAT, f: 0.5 },
        { name: 'pads', type: AttrType.INTS, ints: [0, -1, 2 ** 40] },
        { name: 'scales', type: AttrType.FLOATS, floats: [1.5, -2] },
        { name: 'mode', type: AttrType.STRING, s: 'linéar' },
        { name: 'value', type: AttrType.TENSOR, t: weight('', [1, 2, 3]) },
        Object.freeze({ name: 'axis', type: AttrType.INT, i: 1 }),
      ],
      metadataProps: [{ key: 'k', value: 'v' }, { key: '', value: 'only value' }],
      extras: [extra(20, [1]), extra(6, [2, 3]), extra(8, [4]), extra(6, [5])],
    };
    for (let round = 0; round < 2; round++) {
      const bytes = encodeNode(n).toBytes();
      const numbers = [...fields(bytes)].map((f) => f.no);
      expect(numbers).toEqual([1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 6, 6, 7, 8, 9, 9, 20]);
      const back = decodeNode(bytes);
      const plain = (x: NodeProto) => ({ name: x.name, opType: x.opType, domain: x.domain, inputs: x.inputs, outputs: x.outputs, meta: x.metadataProps.map((p) => [p.key, p.value]) });
      expect(plain(back)).toEqual(plain(n));
      expect(back.extras.map((e) => [...e.bytes])).toEqual([[50, 2, 2, 3], [50, 1, 5], [66, 1, 4], [162, 1, 1, 1]]);
      expect(back.attributes.map((a) => a.name)).toEqual(n.attributes.map((a) => a.name));
      expect(encodeNode({ ...back, src: undefined }).toBytes()).toEqual(bytes);
    }
  });
});
