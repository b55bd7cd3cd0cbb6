// ONNX messages decoded losslessly: the fields se-inject reads or writes are typed, every other field
// (doc strings, model-local functions, training info, sparse initializers, fields newer than any schema
// we know) stays as its original bytes in `extras` and is written back verbatim, in field-number order.
// A message that nothing changed keeps `src`, its original encoding, and is written back as that view.

import { KEPT_FIELD_COST, WireError, WireType, WireWriter, fields, readInt64, readPackedInt64, readPackedFloat, readString, spend } from './wire.js';
import type { WireField } from './wire.js';

export interface Extra {
  no: number;
  bytes: Uint8Array;
}

export interface StringPair {
  key: string;
  value: string;
  src?: Uint8Array;
}

export interface OpsetId {
  domain: string;
  version: number;
  src?: Uint8Array;
}

export enum DataType {
  UNDEFINED = 0, FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7, STRING = 8,
  BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, COMPLEX64 = 14, COMPLEX128 = 15,
  BFLOAT16 = 16, FLOAT8E4M3FN = 17, FLOAT8E4M3FNUZ = 18, FLOAT8E5M2 = 19, FLOAT8E5M2FNUZ = 20,
  UINT4 = 21, INT4 = 22, FLOAT4E2M1 = 23,
}

export const FLOAT_TYPES: ReadonlySet<number> = new Set([
  DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16, DataType.FLOAT8E4M3FN,
  DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ, DataType.FLOAT4E2M1,
]);

export interface TensorProto {
  name: string;
  dataType: number;
  dims: number[];
  /** View into the loaded buffer (or a fresh array for tensors se-inject made). */
  rawData?: Uint8Array;
  /** Set when data_location is EXTERNAL: the entries of `external_data` (location, offset, length, ...). */
  externalData: StringPair[];
  dataLocation: number;
  extras: Extra[];
  src?: Uint8Array;
}

export interface Dim {
  value?: number;
  param?: string;
}

export interface TensorType {
  elemType: number;
  shape?: Dim[];
}

export interface ValueInfoProto {
  name: string;
  /** Only tensor types are decoded; sequences, maps and optionals keep `src` and stay opaque. */
  type?: TensorType;
  src?: Uint8Array;
}

export enum AttrType {
  UNDEFINED = 0, FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5, FLOATS = 6, INTS = 7, STRINGS = 8,
  TENSORS = 9, GRAPHS = 10, SPARSE_TENSOR = 11, SPARSE_TENSORS = 12, TYPE_PROTO = 13, TYPE_PROTOS = 14,
}

export interface AttributeProto {
  name: string;
  type: AttrType;
  f?: number;
  i?: number;
  s?: string;
  ints?: number[];
  floats?: number[];
  t?: TensorProto;
  /** Subgraphs (If/Loop/Scan bodies), kept as their encoded bytes. */
  graphs?: Uint8Array[];
  src?: Uint8Array;
}

export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: AttributeProto[];
  metadataProps: StringPair[];
  extras: Extra[];
  src?: Uint8Array;
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  /** Names defined by sparse_initializer entries (the entries themselves stay in extras). */
  sparseInitializerNames: string[];
  extras: Extra[];
}

export interface ModelProto {
  irVersion: number;
  opsetImport: OpsetId[];
  producerName: string;
  producerVersion: string;
  graph: GraphProto;
  metadataProps: StringPair[];
  extras: Extra[];
  /** True when the buffer held a graph field; a ModelProto without one is not a model. */
  hasGraph: boolean;
}

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
  const a: AttributeProto = { name: '', type: AttrType.UNDEFINED, src: buf };
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
  return a;
}

function readPackedFloat1(f: WireField): number {
  const out: number[] = [];
  readPackedFloat(f, out);
  return out[0] ?? 0;
}

export function decodeNode(buf: Uint8Array): NodeProto {
  const n: NodeProto = {
    name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [], metadataProps: [], extras: [], src: buf,
  };
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1: n.inputs.push(readString(f)); break;
      case 2: n.outputs.push(readString(f)); break;
      case 3: n.name = readString(f); break;
      case 4: n.opType = readString(f); break;
      case 5: expectType(f, WireType.LengthDelimited, 'attribute'); n.attributes.push(decodeAttribute(f.payload)); break;
      case 7: n.domain = readString(f); break;
      case 9: expectType(f, WireType.LengthDelimited, 'metadata_props'); n.metadataProps.push(decodeStringPair(f.payload)); break;
      default: n.extras.push(kept(f));
    }
  }
  return n;
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

function encodeAttribute(a: AttributeProto): WireWriter {
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
  w.varintField(20, a.type);
  return w;
}

export function encodeNode(n: NodeProto): WireWriter {
  const w = new WireWriter();
  if (n.src) {
    w.raw(n.src);
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
  for (const n of g.nodes) known.push([1, (ww) => ww.messageField(1, encodeNode(n))]);
  if (g.name) known.push([2, (ww) => ww.stringField(2, g.name)]);
  for (const t of g.initializers) known.push([5, (ww) => ww.messageField(5, encodeTensor(t))]);
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
