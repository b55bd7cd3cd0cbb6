// ONNX messages decoded losslessly: the fields se-inject reads or writes are typed, every other field
// (doc strings, model-local functions, training info, sparse initializers, fields newer than any schema
// we know) stays as its original bytes in `extras` and is written back verbatim, in field-number order.
// A message that nothing changed keeps `src`, its original encoding, and is written back as that view.

import { KEPT_FIELD_COST, WireError, WireType, WireWriter, fields, readInt64, readPackedInt64, readPackedFloat, readString, spend } from './wire.js';
import type { WireField } from './wire.js';

import { AttrType, DataType } from '../ir/types.js';
import { isSealed, sealedLayout } from '../ir/sealed.js';
import type { AttributeProto, Dim, Extra, GraphProto, ModelProto, NodeProto, OpsetId, StringPair, TensorProto, TensorType, ValueInfoProto } from '../ir/types.js';

export { AttrType, DataType, FLOAT_TYPES } from '../ir/types.js';
export type { AttributeProto, Dim, Extra, GraphProto, ModelProto, NodeProto, OpsetId, StringPair, TensorProto, TensorType, ValueInfoProto };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// ---------------------------------------------------------------------------------------------
// Decoding

/** A field kept as its bytes, counted against the load's budget (wire.ts). */
function kept(f: WireField): Extra {
  spend(KEPT_FIELD_COST - 1, f.bytes.byteOffset);
  return { no: f.no, bytes: f.bytes };
}

function expectType(f: WireField, type: WireType, what: string): void {
  if (f.type !== type) throw new WireError(`${what} (field ${f.no}) has wire type ${f.type}, expected ${type}`, 0);
}

function decodeStringPair(buf: Uint8Array): StringPair {
  const p: StringPair = { key: '', value: '', src: buf };
  for (const f of fields(buf)) {
    if (f.no === 1) p.key = readString(f);
    else if (f.no === 2) p.value = readString(f);
  }
  return p;
}

export function decodeTensor(buf: Uint8Array): TensorProto {
  const t: TensorProto = { name: '', dataType: 0, dims: [], externalData: [], dataLocation: 0, extras: [], src: buf };
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1: readPackedInt64(f, t.dims); break;
      case 2: t.dataType = f.num; break;
      case 8: t.name = readString(f); break;
      case 9: expectType(f, WireType.LengthDelimited, 'raw_data'); t.rawData = f.payload; break;
      case 13: expectType(f, WireType.LengthDelimited, 'external_data'); t.externalData.push(decodeStringPair(f.payload)); break;
      case 14: t.dataLocation = f.num; break;
      default: t.extras.push(kept(f));
    }
  }
  return t;
}

function decodeTensorType(buf: Uint8Array): TensorType {
  const tt: TensorType = { elemType: 0 };
  for (const f of fields(buf)) {
    if (f.no === 1) tt.elemType = f.num;
    else if (f.no === 2) {
      expectType(f, WireType.LengthDelimited, 'shape');
      tt.shape = [];
      for (const d of fields(f.payload)) {
        if (d.no !== 1) continue;
        const dim: Dim = {};
        for (const df of fields(d.payload)) {
          if (df.no === 1) dim.value = readInt64(df);
          else if (df.no === 2) dim.param = readString(df);
        }
        tt.shape.push(dim);
      }
    }
  }
  return tt;
}

export function decodeValueInfo(buf: Uint8Array): ValueInfoProto {
  const v: ValueInfoProto = { name: '', src: buf };
  for (const f of fields(buf)) {
    if (f.no === 1) v.name = readString(f);
    else if (f.no === 2) {
      expectType(f, WireType.LengthDelimited, 'type');
      for (const tf of fields(f.payload)) {
        if (tf.no === 1) v.type = decodeTensorType(tf.payload);
      }
    }
  }
  return v;
}

function decodeAttribute(buf: Uint8Array): AttributeProto {
  const a: Mutable<AttributeProto> & { graphs?: Uint8Array[]; ints?: number[]; floats?: number[] } = { name: '', type: AttrType.UNDEFINED, src: buf };
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1: a.name = readString(f); break;
      case 20: a.type = f.num; break;
      case 2: a.f = readPackedFloat1(f); break;
      case 3: a.i = readInt64(f); break;
      case 4: a.s = readString(f); break;
      case 5: a.t = decodeTensor(f.payload); break;
      case 6: (a.graphs ??= []).push(f.payload); break;
      case 11: (a.graphs ??= []).push(f.payload); break;
      case 7: readPackedFloat(f, (a.floats ??= [])); break;
      case 8: readPackedInt64(f, (a.ints ??= [])); break;
    }
  }
  if (a.graphs) a.captures = Object.freeze(capturesOf(a.graphs));
  for (const list of [a.graphs, a.ints, a.floats, a.t?.dims]) if (list) Object.freeze(list);
  if (a.t) Object.freeze(a.t);
  return Object.freeze(a);
}

function readPackedFloat1(f: WireField): number {
  const out: number[] = [];
  readPackedFloat(f, out);
  return out[0] ?? 0;
}

export function decodeNode(buf: Uint8Array): NodeProto {
  let name = '', opType = '', domain = '';
  const inputs: string[] = [], outputs: string[] = [], attributes: AttributeProto[] = [], metadataProps: StringPair[] = [], extras: Extra[] = [];
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1: inputs.push(readString(f)); break;
      case 2: outputs.push(readString(f)); break;
      case 3: name = readString(f); break;
      case 4: opType = readString(f); break;
      case 5: expectType(f, WireType.LengthDelimited, 'attribute'); attributes.push(decodeAttribute(f.payload)); break;
      case 7: domain = readString(f); break;
      case 9: expectType(f, WireType.LengthDelimited, 'metadata_props'); metadataProps.push(Object.freeze(decodeStringPair(f.payload))); break;
      default: extras.push(Object.freeze(kept(f)));
    }
  }
  const n: NodeProto = {
    name, opType, domain, inputs: Object.freeze(inputs), outputs: Object.freeze(outputs), attributes: Object.freeze(attributes),
    metadataProps: Object.freeze(metadataProps), extras: Object.freeze(extras), src: buf,
  };
  PRISTINE.set(buf, { ...n });
  return n;
}

/**
 * Each decoded node's fields as they were decoded, by its original bytes. The decoded arrays and
 * attributes are frozen, so a field still identical to its decoded value holds the same content: the
 * encoder writes `src` only then. A node edited behind the IR's back (a field replaced through a cast)
 * is re-encoded from its fields; one whose arrays are pushed into throws where it is done.
 */
const PRISTINE = new WeakMap<Uint8Array, NodeProto>();
const NODE_FIELDS = ['name', 'opType', 'domain', 'inputs', 'outputs', 'attributes', 'metadataProps', 'extras'] as const;

/** The node's original bytes, when they still encode it. */
export function pristineSource(n: NodeProto): Uint8Array | undefined {
  const decoded = n.src && PRISTINE.get(n.src);
  return decoded && NODE_FIELDS.every((k) => n[k] === decoded[k]) ? n.src : undefined;
}

/** Deeper nesting than any exporter writes; the limit keeps a crafted file from overflowing the stack. */
const MAX_SUBGRAPH_DEPTH = 64;

/** Outer-scope names read inside subgraphs (recursively), minus what they define. */
function capturesOf(graphs: readonly Uint8Array[]): string[] {
  const out = new Set<string>();
  for (const g of graphs) collectCaptures(g, out);
  return [...out];
}

function collectCaptures(graphBytes: Uint8Array, out: Set<string>, depth = 1): void {
  if (depth > MAX_SUBGRAPH_DEPTH) throw new WireError(`subgraphs nested more than ${MAX_SUBGRAPH_DEPTH} deep`, graphBytes.byteOffset);
  const defined = new Set<string>();
  const used: string[] = [];
  for (const f of fields(graphBytes)) {
    if (f.no === 5 || f.no === 11) defined.add(firstString(f.payload, f.no === 5 ? 8 : 1));
    if (f.no !== 1) continue;
    for (const nf of fields(f.payload)) {
      if (nf.no === 1) used.push(readString(nf));
      else if (nf.no === 2) defined.add(readString(nf));
      else if (nf.no === 5) {
        for (const af of fields(nf.payload)) {
          if (af.no === 6 || af.no === 11) {
            const inner = new Set<string>();
            collectCaptures(af.payload, inner, depth + 1);
            used.push(...inner);
          }
        }
      }
    }
  }
  for (const u of used) if (u && !defined.has(u)) out.add(u);
}

function firstString(buf: Uint8Array, no: number): string {
  for (const f of fields(buf)) if (f.no === no) return readString(f);
  return '';
}

function sparseTensorName(buf: Uint8Array): string {
  for (const f of fields(buf)) {
    if (f.no === 1) return decodeTensor(f.payload).name;
  }
  return '';
}

export function decodeGraph(buf: Uint8Array): GraphProto {
  const g: GraphProto = {
    name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], sparseInitializerNames: [], extras: [],
  };
  for (const f of fields(buf)) {
    if (f.type !== WireType.LengthDelimited && [1, 2, 5, 11, 12, 13, 15].includes(f.no)) {
      throw new WireError(`graph field ${f.no} has wire type ${f.type}`, 0);
    }
    switch (f.no) {
      case 1: g.nodes.push(decodeNode(f.payload)); break;
      case 2: g.name = readString(f); break;
      case 5: g.initializers.push(decodeTensor(f.payload)); break;
      case 11: g.inputs.push(decodeValueInfo(f.payload)); break;
      case 12: g.outputs.push(decodeValueInfo(f.payload)); break;
      case 13: g.valueInfo.push(decodeValueInfo(f.payload)); break;
      case 15: g.sparseInitializerNames.push(sparseTensorName(f.payload)); g.extras.push(kept(f)); break;
      default: g.extras.push(kept(f));
    }
  }
  return g;
}

export function decodeModel(buf: Uint8Array): ModelProto {
  const m: ModelProto = {
    irVersion: 0, opsetImport: [], producerName: '', producerVersion: '', metadataProps: [], extras: [], hasGraph: false,
    graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], sparseInitializerNames: [], extras: [] },
  };
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1: expectType(f, WireType.Varint, 'ir_version'); m.irVersion = readInt64(f); break;
      case 2: m.producerName = readString(f); break;
      case 3: m.producerVersion = readString(f); break;
      case 7: expectType(f, WireType.LengthDelimited, 'graph'); m.graph = decodeGraph(f.payload); m.hasGraph = true; break;
      case 8: {
        expectType(f, WireType.LengthDelimited, 'opset_import');
        const o: OpsetId = { domain: '', version: 0, src: f.payload };
        for (const of of fields(f.payload)) {
          if (of.no === 1) o.domain = readString(of);
          else if (of.no === 2) o.version = readInt64(of);
        }
        m.opsetImport.push(o);
        break;
      }
      case 14: expectType(f, WireType.LengthDelimited, 'metadata_props'); m.metadataProps.push(decodeStringPair(f.payload)); break;
      default: m.extras.push(kept(f));
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Encoding. Known fields and extras are merged in field-number order, which is the order protobuf
// serializers emit; a model written by one therefore comes back byte for byte.

type Emit = [no: number, write: (w: WireWriter) => void];

function emitOrdered(w: WireWriter, known: Emit[], extras: readonly Extra[]): void {
  const all: Emit[] = known.concat(extras.map((e) => [e.no, (ww: WireWriter) => ww.raw(e.bytes)] as Emit));
  // Array.prototype.sort is stable: fields with one number keep their relative order.
  all.sort((a, b) => a[0] - b[0]);
  for (const [, write] of all) write(w);
}

function encodeStringPair(p: StringPair): WireWriter {
  const w = new WireWriter();
  if (p.src) {
    w.raw(p.src);
    return w;
  }
  if (p.key) w.stringField(1, p.key);
  if (p.value) w.stringField(2, p.value);
  return w;
}

export function encodeTensor(t: TensorProto): WireWriter {
  const w = new WireWriter();
  if (t.src) {
    w.raw(t.src);
    return w;
  }
  const known: Emit[] = [];
  if (t.dims.length) known.push([1, (ww) => ww.packedInt64Field(1, t.dims)]);
  if (t.dataType) known.push([2, (ww) => ww.varintField(2, t.dataType)]);
  if (t.name) known.push([8, (ww) => ww.stringField(8, t.name)]);
  if (t.rawData) known.push([9, (ww) => ww.bytesField(9, t.rawData!)]);
  for (const e of t.externalData) known.push([13, (ww) => ww.messageField(13, encodeStringPair(e))]);
  if (t.dataLocation) known.push([14, (ww) => ww.varintField(14, t.dataLocation)]);
  emitOrdered(w, known, t.extras);
  return w;
}

function encodeValueInfo(v: ValueInfoProto): WireWriter {
  const w = new WireWriter();
  if (v.src) {
    w.raw(v.src);
    return w;
  }
  w.stringField(1, v.name);
  if (v.type) {
    const tt = new WireWriter();
    tt.varintField(1, v.type.elemType);
    if (v.type.shape) {
      const shape = new WireWriter();
      for (const d of v.type.shape) {
        const dim = new WireWriter();
        if (d.value !== undefined) dim.varintField(1, d.value);
        else if (d.param !== undefined) dim.stringField(2, d.param);
        shape.messageField(1, dim);
      }
      tt.messageField(2, shape);
    }
    const type = new WireWriter();
    type.messageField(1, tt);
    w.messageField(2, type);
  }
  return w;
}

export function encodeAttribute(a: AttributeProto): WireWriter {
  const w = new WireWriter();
  if (a.src) {
    w.raw(a.src);
    return w;
  }
  w.stringField(1, a.name);
  if (a.f !== undefined) w.fixed32FloatField(2, a.f);
  if (a.i !== undefined) w.varintField(3, a.i);
  if (a.s !== undefined) w.stringField(4, a.s);
  if (a.t) w.messageField(5, encodeTensor(a.t));
  if (a.floats) {
    for (const v of a.floats) w.fixed32FloatField(7, v);
  }
  if (a.ints) for (const v of a.ints) w.varintField(8, v);
  // A GRAPH attribute holds its body in field 6 (g), a GRAPHS one in field 11 (graphs).
  for (const g of a.graphs ?? []) w.bytesField(a.type === AttrType.GRAPHS ? 11 : 6, g);
  w.varintField(20, a.type);
  return w;
}

export function encodeNode(n: NodeProto): WireWriter {
  const w = new WireWriter();
  const src = pristineSource(n);
  if (src) {
    w.raw(src);
    return w;
  }
  const known: Emit[] = [];
  for (const i of n.inputs) known.push([1, (ww) => ww.stringField(1, i)]);
  for (const o of n.outputs) known.push([2, (ww) => ww.stringField(2, o)]);
  if (n.name) known.push([3, (ww) => ww.stringField(3, n.name)]);
  known.push([4, (ww) => ww.stringField(4, n.opType)]);
  for (const a of n.attributes) known.push([5, (ww) => ww.messageField(5, encodeAttribute(a))]);
  if (n.domain) known.push([7, (ww) => ww.stringField(7, n.domain)]);
  for (const p of n.metadataProps) known.push([9, (ww) => ww.messageField(9, encodeStringPair(p))]);
  emitOrdered(w, known, n.extras);
  return w;
}

export function encodeGraph(g: GraphProto): WireWriter {
  const w = new WireWriter();
  const known: Emit[] = [];
  // Inserted blocks the IR holds sealed are written from their records, in their place.
  const layout = sealedLayout(g);
  for (const e of layout?.entries ?? g.nodes) {
    known.push([1, isSealed(e) ? (ww) => ww.raw(e.encodeNodes()) : (ww) => ww.messageField(1, encodeNode(e))]);
  }
  if (g.name) known.push([2, (ww) => ww.stringField(2, g.name)]);
  for (const t of layout?.initializers ?? g.initializers) known.push([5, (ww) => ww.messageField(5, encodeTensor(t))]);
  for (const s of layout?.groups ?? []) known.push([5, (ww) => ww.raw(s.encodeInitializers())]);
  for (const v of g.inputs) known.push([11, (ww) => ww.messageField(11, encodeValueInfo(v))]);
  for (const v of g.outputs) known.push([12, (ww) => ww.messageField(12, encodeValueInfo(v))]);
  for (const v of g.valueInfo) known.push([13, (ww) => ww.messageField(13, encodeValueInfo(v))]);
  emitOrdered(w, known, g.extras);
  return w;
}

export function encodeModel(m: ModelProto): WireWriter {
  const w = new WireWriter();
  const known: Emit[] = [];
  if (m.irVersion) known.push([1, (ww) => ww.varintField(1, m.irVersion)]);
  if (m.producerName) known.push([2, (ww) => ww.stringField(2, m.producerName)]);
  if (m.producerVersion) known.push([3, (ww) => ww.stringField(3, m.producerVersion)]);
  if (m.hasGraph) known.push([7, (ww) => ww.messageField(7, encodeGraph(m.graph))]);
  for (const o of m.opsetImport) {
    known.push([8, (ww) => {
      const ow = new WireWriter();
      if (o.src) ow.raw(o.src);
      else if (o.domain) ow.stringField(1, o.domain);
      if (!o.src) ow.varintField(2, o.version);
      ww.messageField(8, ow);
    }]);
  }
  for (const p of m.metadataProps) known.push([14, (ww) => ww.messageField(14, encodeStringPair(p))]);
  emitOrdered(w, known, m.extras);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Tensor values, for the small integer constants that shape inference folds.

const ELEMENT_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4, [DataType.UINT8]: 1, [DataType.INT8]: 1, [DataType.UINT16]: 2, [DataType.INT16]: 2,
  [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.BOOL]: 1, [DataType.FLOAT16]: 2, [DataType.DOUBLE]: 8,
  [DataType.UINT32]: 4, [DataType.UINT64]: 8, [DataType.BFLOAT16]: 2,
};

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Values of an inline numeric tensor as numbers, or undefined when they are not at hand (external, strings). */
export function tensorValues(t: TensorProto): number[] | undefined {
  const n = elementCount(t.dims);
  if (t.rawData) {
    const size = ELEMENT_BYTES[t.dataType];
    if (!size || t.rawData.byteLength !== n * size) return undefined;
    const v = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const out: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      switch (t.dataType) {
        case DataType.INT64: out[i] = Number(v.getBigInt64(i * 8, true)); break;
        case DataType.UINT64: out[i] = Number(v.getBigUint64(i * 8, true)); break;
        case DataType.INT32: out[i] = v.getInt32(i * 4, true); break;
        case DataType.UINT32: out[i] = v.getUint32(i * 4, true); break;
        case DataType.FLOAT: out[i] = v.getFloat32(i * 4, true); break;
        case DataType.DOUBLE: out[i] = v.getFloat64(i * 8, true); break;
        case DataType.INT8: out[i] = v.getInt8(i); break;
        case DataType.UINT8: case DataType.BOOL: out[i] = v.getUint8(i); break;
        case DataType.INT16: out[i] = v.getInt16(i * 2, true); break;
        case DataType.UINT16: out[i] = v.getUint16(i * 2, true); break;
        default: return undefined;
      }
    }
    return out;
  }
  const out: number[] = [];
  try {
    for (const e of t.extras) {
      for (const f of fields(e.bytes)) {
        if (f.no === 4) readPackedFloat(f, out);
        else if (f.no === 5 || f.no === 7) readPackedInt64(f, out);
      }
    }
  } catch (e) {
    // Typed data fields stay bytes until analysis asks; malformed ones are values not at hand, kept verbatim.
    if (e instanceof WireError) return undefined;
    throw e;
  }
  return out.length === n ? out : undefined;
}

export function elementBytes(dataType: number): number | undefined {
  return ELEMENT_BYTES[dataType];
}
