// ONNX messages decoded losslessly: the fields se-inject reads or writes are typed, every other field
// (doc strings, model-local functions, training info, sparse initializers, fields newer than any schema
// we know) stays as its original bytes in `extras` and is written back verbatim, in field-number order.
// A message that nothing changed keeps `src`, its original encoding, and is written back as that view.

import { KEPT_FIELD_COST, WireError, WireType, WireWriter, budgetLeft, fields, readPackedInt64, readPackedFloat, readString, spend } from './wire.js';
import { WireCursor, sameBytes } from './cursor.js';

import { AttrType, DataType } from '../ir/types.js';
import { isSealed, sealedLayout } from '../ir/sealed.js';
import type { AttributeProto, Dim, Extra, GraphProto, ModelProto, NodeProto, OpsetId, StringPair, TensorProto, TensorType, ValueInfoProto } from '../ir/types.js';

export { AttrType, DataType, FLOAT_TYPES } from '../ir/types.js';
export type { AttributeProto, Dim, Extra, GraphProto, ModelProto, NodeProto, OpsetId, StringPair, TensorProto, TensorType, ValueInfoProto };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// ---------------------------------------------------------------------------------------------
// Decoding. One cursor walks the whole buffer (cursor.ts); each decoder reads the message that spans
// [base, end) of it and leaves the cursor at `end`. Memory per node and tensor is what the model
// needs: lists are read into reused arrays and copied at their exact length, empty ones are one
// shared frozen array, and identical small attributes (every 1×1 Conv's kernel_shape) are one object.

/** The empty list of every message that has none: frozen, as decoded lists are (nothing adds to one). */
const NONE = Object.freeze([]) as unknown as never[];

/**
 * Attributes of at most this many bytes are shared. Weights left in the file until the save (deferred.ts)
 * are at least 1 KiB, so equal bytes here are always bytes that were read, never two unread holes.
 */
const SHARE_MAX = 128;
const SHARE_SLOTS = 1024;
const LIST_SLOTS = 256;

interface Shared {
  a: AttributeProto;
  /** What decoding it spent from the budget: a reuse spends as much, so limits fall where they did. */
  cost: number;
}

/** One decode: the cursor, and the attributes and attribute lists decoded so far. */
class Decoding {
  readonly c: WireCursor;
  readonly shared: (Shared | undefined)[] = new Array<Shared | undefined>(SHARE_SLOTS);
  private readonly lists: (readonly AttributeProto[] | undefined)[] = new Array<readonly AttributeProto[] | undefined>(LIST_SLOTS);

  constructor(buf: Uint8Array) {
    this.c = new WireCursor(buf);
  }

  /**
   * The first n of scratch as a frozen list: the list of an earlier node when it holds the same
   * attribute objects (nodes of one kind and shape share their attributes, and so their list).
   */
  attributeList(scratch: AttributeProto[], n: number): readonly AttributeProto[] {
    if (n === 0) return NONE;
    // Decoded attributes differ by where their bytes are.
    let h = n;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ scratch[i]!.src!.byteOffset, 0x01000193);
    const slot = (h ^ (h >>> 15)) & (LIST_SLOTS - 1);
    const prev = this.lists[slot];
    if (prev && prev.length === n && sameItems(prev, scratch)) return prev;
    return (this.lists[slot] = frozenList(scratch, n));
  }
}

function sameItems<T>(list: readonly T[], scratch: readonly T[]): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] !== scratch[i]) return false;
  return true;
}

/** Reused arrays that lists are read into; a decoder never runs inside one of its own kind. */
const INPUTS: string[] = [], OUTPUTS: string[] = [], ATTRIBUTES: AttributeProto[] = [], DIMS: number[] = [], INTS: number[] = [];

function exactCopy<T>(scratch: T[], n: number): T[] {
  return n === 0 ? NONE : scratch.slice(0, n);
}

/** The first n of scratch as a frozen list; short ones as literals, which V8 builds faster than a slice. */
function frozenList<T>(s: T[], n: number): readonly T[] {
  switch (n) {
    case 0: return NONE;
    case 1: return Object.freeze([s[0]!]);
    case 2: return Object.freeze([s[0]!, s[1]!]);
    case 3: return Object.freeze([s[0]!, s[1]!, s[2]!]);
    case 4: return Object.freeze([s[0]!, s[1]!, s[2]!, s[3]!]);
    default: return Object.freeze(s.slice(0, n));
  }
}

/** A list pushed into while read, frozen; the shared empty one is frozen already. */
function frozen<T>(list: T[]): readonly T[] {
  return list === NONE ? NONE : Object.freeze(list);
}

/** The first n of scratch as a new array, as frozenList (dims stay mutable, as they always were). */
function listOf(s: number[], n: number): number[] {
  switch (n) {
    case 0: return [];
    case 1: return [s[0]!];
    case 2: return [s[0]!, s[1]!];
    case 3: return [s[0]!, s[1]!, s[2]!];
    case 4: return [s[0]!, s[1]!, s[2]!, s[3]!];
    default: return s.slice(0, n);
  }
}

/**
 * Runs one decode over buf. The scratch lists let go of what they held after it (an attribute's
 * views would keep the file's buffer alive).
 */
function decoding<T>(buf: Uint8Array, decode: (d: Decoding, end: number) => T): T {
  try {
    return decode(new Decoding(buf), buf.length);
  } finally {
    ATTRIBUTES.length = 0;
  }
}

/** A field kept as its bytes, counted against the load's budget (wire.ts). */
function kept(c: WireCursor): Extra {
  spend(KEPT_FIELD_COST - 1, c.at());
  return { no: c.no, bytes: c.bytes() };
}

function expectType(c: WireCursor, type: WireType, what: string): void {
  if (c.type !== type) throw new WireError(`${what} (field ${c.no}) has wire type ${c.type}, expected ${type}`, 0);
}

function stringPairAt(d: Decoding, base: number, end: number): StringPair {
  const c = d.c;
  const p: StringPair = { key: '', value: '', src: c.slice(base, end) };
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.no === 1) p.key = c.string();
    else if (c.no === 2) p.value = c.string();
  }
  return p;
}

export function decodeTensor(buf: Uint8Array): TensorProto {
  return decoding(buf, (d, end) => tensorAt(d, 0, end));
}

function tensorAt(d: Decoding, base: number, end: number): TensorProto {
  const c = d.c;
  let name = '', dataType = 0, dataLocation = 0, dims = 0;
  let rawData: Uint8Array | undefined;
  let externalData: StringPair[] = NONE, extras: Extra[] = NONE;
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    switch (c.no) {
      case 1: dims = c.int64s(DIMS, dims); break;
      case 2: dataType = c.num; break;
      case 8: name = c.string(); break;
      case 9: expectType(c, WireType.LengthDelimited, 'raw_data'); rawData = c.payload(); break;
      case 13: {
        expectType(c, WireType.LengthDelimited, 'external_data');
        if (externalData === NONE) externalData = [];
        externalData.push(stringPairAt(d, c.value, c.pos));
        break;
      }
      case 14: dataLocation = c.num; break;
      default: if (extras === NONE) extras = []; extras.push(kept(c));
    }
  }
  const src = c.slice(base, end);
  const shape = listOf(DIMS, dims);
  // Keys in the order they always had (rawData last); each literal is one hidden class with no spare slots.
  return rawData
    ? { name, dataType, dims: shape, externalData, dataLocation, extras, src, rawData }
    : { name, dataType, dims: shape, externalData, dataLocation, extras, src };
}

function tensorTypeAt(d: Decoding, base: number, end: number): TensorType {
  const c = d.c;
  const tt: TensorType = { elemType: 0 };
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.no === 1) tt.elemType = c.num;
    else if (c.no === 2) {
      expectType(c, WireType.LengthDelimited, 'shape');
      tt.shape = shapeAt(d, c.value, c.pos);
    }
  }
  return tt;
}

function shapeAt(d: Decoding, base: number, end: number): Dim[] {
  const c = d.c;
  const shape: Dim[] = [];
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.no !== 1) continue;
    const dim: Dim = {};
    const dimBase = c.value, dimEnd = c.pos;
    for (c.pos = dimBase; c.pos < dimEnd; ) {
      c.next(dimBase, dimEnd);
      if (c.no === 1) dim.value = c.int64();
      else if (c.no === 2) dim.param = c.string();
    }
    shape.push(dim);
  }
  return shape;
}

export function decodeValueInfo(buf: Uint8Array): ValueInfoProto {
  return decoding(buf, (d, end) => valueInfoAt(d, 0, end));
}

function valueInfoAt(d: Decoding, base: number, end: number): ValueInfoProto {
  const c = d.c;
  const v: ValueInfoProto = { name: '', src: c.slice(base, end) };
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.no === 1) v.name = c.string();
    else if (c.no === 2) {
      expectType(c, WireType.LengthDelimited, 'type');
      const type = typeAt(d, c.value, c.pos);
      if (type) v.type = type;
    }
  }
  return v;
}

/** A TypeProto's tensor_type (the last one); sequences, maps and optionals are not decoded. */
function typeAt(d: Decoding, base: number, end: number): TensorType | undefined {
  const c = d.c;
  let type: TensorType | undefined;
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.no === 1) type = tensorTypeAt(d, c.value, c.pos);
  }
  return type;
}

/**
 * The attribute in [base, end): a small one already decoded from equal bytes is that same frozen
 * object (its `src` holds equal bytes, all the encoder needs), after spending what its decode spent.
 */
function attributeAt(d: Decoding, base: number, end: number): AttributeProto {
  if (end - base > SHARE_MAX) return decodeAttributeAt(d, base, end);
  const buf = d.c.buf;
  let h = 0x811c9dc5;
  for (let i = base; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const slot = (h ^ (h >>> 15)) & (SHARE_SLOTS - 1);
  const hit = d.shared[slot];
  // With too little budget left the bytes are decoded again, to fail at the field they always failed at.
  if (hit && sameBytes(hit.a.src!, buf, base, end) && hit.cost <= budgetLeft()) {
    spend(hit.cost, 0);
    d.c.pos = end;
    return hit.a;
  }
  const before = budgetLeft();
  const a = decodeAttributeAt(d, base, end);
  d.shared[slot] = { a, cost: before === Infinity ? 0 : before - budgetLeft() };
  return a;
}

function decodeAttributeAt(d: Decoding, base: number, end: number): AttributeProto {
  const c = d.c;
  const a: Mutable<AttributeProto> & { graphs?: Uint8Array[]; ints?: number[]; floats?: number[] } = { name: '', type: AttrType.UNDEFINED, src: c.slice(base, end) };
  let ints = 0;
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    switch (c.no) {
      case 1: a.name = c.string(); break;
      case 20: a.type = c.num; break;
      case 2: a.f = firstFloat(c); break;
      case 3: a.i = c.int64(); break;
      case 4: a.s = c.string(); break;
      case 5: a.t = tensorAt(d, c.value, c.pos); break;
      case 6: (a.graphs ??= []).push(c.payload()); break;
      case 11: (a.graphs ??= []).push(c.payload()); break;
      case 7: c.floats((a.floats ??= [])); break;
      // Read into INTS and copied at the end; the key is set now, so keys keep their order.
      case 8: a.ints ??= NONE; ints = c.int64s(INTS, ints); break;
    }
  }
  if (a.ints) a.ints = exactCopy(INTS, ints);
  if (a.graphs) a.captures = Object.freeze(capturesOf(a.graphs));
  for (const list of [a.graphs, a.ints, a.floats, a.t?.dims]) if (list) Object.freeze(list);
  if (a.t) Object.freeze(a.t);
  return Object.freeze(a);
}

function firstFloat(c: WireCursor): number {
  const out: number[] = [];
  c.floats(out);
  return out[0] ?? 0;
}

export function decodeNode(buf: Uint8Array): NodeProto {
  return decoding(buf, (d, end) => nodeAt(d, 0, end));
}

function nodeAt(d: Decoding, base: number, end: number): NodeProto {
  const c = d.c;
  let name = '', opType = '', domain = '';
  let inputs = 0, outputs = 0, attributes = 0;
  let metadataProps: StringPair[] = NONE, extras: Extra[] = NONE;
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    switch (c.no) {
      case 1: INPUTS[inputs++] = c.string(); break;
      case 2: OUTPUTS[outputs++] = c.string(); break;
      case 3: name = c.string(); break;
      case 4: opType = c.string(); break;
      case 5: expectType(c, WireType.LengthDelimited, 'attribute'); ATTRIBUTES[attributes++] = attributeAt(d, c.value, c.pos); break;
      case 7: domain = c.string(); break;
      case 9: {
        expectType(c, WireType.LengthDelimited, 'metadata_props');
        if (metadataProps === NONE) metadataProps = [];
        metadataProps.push(Object.freeze(stringPairAt(d, c.value, c.pos)));
        break;
      }
      default: if (extras === NONE) extras = []; extras.push(Object.freeze(kept(c)));
    }
  }
  return {
    name, opType, domain, inputs: frozenList(INPUTS, inputs), outputs: frozenList(OUTPUTS, outputs),
    attributes: d.attributeList(ATTRIBUTES, attributes), metadataProps: frozen(metadataProps), extras: frozen(extras),
    src: c.slice(base, end),
  };
}

/**
 * The node's original bytes, when they still encode it. Decoded lists and attributes are frozen, but
 * a field can still be replaced behind the IR's back (through a cast) without dropping `src`: the
 * bytes are written back only when they decode to the node's fields as they are now, else the node
 * is re-encoded from its fields. Attributes, metadata and extras compare by the bytes they were
 * decoded from (their `src`, their `bytes`), which the encoder writes back for them too.
 */
export function pristineSource(n: NodeProto): Uint8Array | undefined {
  const src = n.src;
  if (!src) return undefined;
  try {
    return encodesNode(src, n) ? src : undefined;
  } catch (e) {
    // Bytes the decoder would refuse: not what a decoded node holds.
    if (e instanceof WireError) return undefined;
    throw e;
  }
}

function encodesNode(src: Uint8Array, n: NodeProto): boolean {
  const c = new WireCursor(src, false);
  const end = src.length;
  let inputs = 0, outputs = 0, attributes = 0, metadataProps = 0, extras = 0;
  // Where the last name, op_type and domain fields are (the last one of a field is what decodes).
  let name = -1, opType = -1, domain = -1;
  while (c.pos < end) {
    c.next(0, end);
    switch (c.no) {
      case 1: if (!c.isString(n.inputs[inputs++] ?? '') || inputs > n.inputs.length) return false; break;
      case 2: if (!c.isString(n.outputs[outputs++] ?? '') || outputs > n.outputs.length) return false; break;
      case 3: if (c.type !== WireType.LengthDelimited) return false; name = c.start; break;
      case 4: if (c.type !== WireType.LengthDelimited) return false; opType = c.start; break;
      case 7: if (c.type !== WireType.LengthDelimited) return false; domain = c.start; break;
      case 5: if (!heldBy(n.attributes[attributes++]?.src, c)) return false; break;
      case 9: if (!heldBy(n.metadataProps[metadataProps++]?.src, c)) return false; break;
      default: {
        const e = n.extras[extras++];
        if (!e || e.no !== c.no || !sameBytes(e.bytes, src, c.start, c.pos)) return false;
      }
    }
  }
  return inputs === n.inputs.length && outputs === n.outputs.length && attributes === n.attributes.length
    && metadataProps === n.metadataProps.length && extras === n.extras.length
    && stringAt(c, name, n.name) && stringAt(c, opType, n.opType) && stringAt(c, domain, n.domain);
}

/** The length-delimited field under the cursor holds `bytes`. */
function heldBy(bytes: Uint8Array | undefined, c: WireCursor): boolean {
  return !!bytes && c.type === WireType.LengthDelimited && sameBytes(bytes, c.buf, c.value, c.pos);
}

/** The string field at `start` (-1: none, which decodes as '') is `s`. */
function stringAt(c: WireCursor, start: number, s: string): boolean {
  if (start < 0) return s === '';
  c.pos = start;
  c.next(0, c.buf.length);
  return c.isString(s);
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

/** The name of a sparse_initializer's values tensor; its fields after that one are not read. */
function sparseTensorName(d: Decoding, base: number, end: number): string {
  const c = d.c;
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.no === 1) {
      const name = tensorAt(d, c.value, c.pos).name;
      c.pos = end;
      return name;
    }
  }
  return '';
}

/** Graph fields that must be length-delimited. */
const GRAPH_MESSAGES = new Set([1, 2, 5, 11, 12, 13, 15]);

export function decodeGraph(buf: Uint8Array): GraphProto {
  return decoding(buf, (d, end) => graphAt(d, 0, end));
}

function graphAt(d: Decoding, base: number, end: number): GraphProto {
  const c = d.c;
  const g: GraphProto = {
    name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], sparseInitializerNames: [], extras: [],
  };
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.type !== WireType.LengthDelimited && GRAPH_MESSAGES.has(c.no)) {
      throw new WireError(`graph field ${c.no} has wire type ${c.type}`, 0);
    }
    switch (c.no) {
      case 1: g.nodes.push(nodeAt(d, c.value, c.pos)); break;
      case 2: g.name = c.string(); break;
      case 5: g.initializers.push(tensorAt(d, c.value, c.pos)); break;
      case 11: g.inputs.push(valueInfoAt(d, c.value, c.pos)); break;
      case 12: g.outputs.push(valueInfoAt(d, c.value, c.pos)); break;
      case 13: g.valueInfo.push(valueInfoAt(d, c.value, c.pos)); break;
      case 15: {
        const start = c.start, value = c.value, after = c.pos;
        g.sparseInitializerNames.push(sparseTensorName(d, value, after));
        // The cursor read the sparse tensor's fields: back to the field itself, to keep its bytes.
        c.start = start;
        c.value = value;
        c.pos = after;
        c.no = 15;
        g.extras.push(kept(c));
        break;
      }
      default: g.extras.push(kept(c));
    }
  }
  return g;
}

export function decodeModel(buf: Uint8Array): ModelProto {
  return decoding(buf, (d, end) => modelAt(d, 0, end));
}

function modelAt(d: Decoding, base: number, end: number): ModelProto {
  const c = d.c;
  const m: ModelProto = {
    irVersion: 0, opsetImport: [], producerName: '', producerVersion: '', metadataProps: [], extras: [], hasGraph: false,
    graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], sparseInitializerNames: [], extras: [] },
  };
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    switch (c.no) {
      case 1: expectType(c, WireType.Varint, 'ir_version'); m.irVersion = c.int64(); break;
      case 2: m.producerName = c.string(); break;
      case 3: m.producerVersion = c.string(); break;
      case 7: expectType(c, WireType.LengthDelimited, 'graph'); m.graph = graphAt(d, c.value, c.pos); m.hasGraph = true; break;
      case 8: expectType(c, WireType.LengthDelimited, 'opset_import'); m.opsetImport.push(opsetAt(d, c.value, c.pos)); break;
      case 14: expectType(c, WireType.LengthDelimited, 'metadata_props'); m.metadataProps.push(stringPairAt(d, c.value, c.pos)); break;
      default: m.extras.push(kept(c));
    }
  }
  return m;
}

function opsetAt(d: Decoding, base: number, end: number): OpsetId {
  const c = d.c;
  const o: OpsetId = { domain: '', version: 0, src: c.slice(base, end) };
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.no === 1) o.domain = c.string();
    else if (c.no === 2) o.version = c.int64();
  }
  return o;
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
