// ONNX messages decoded losslessly: the fields se-inject reads or writes are typed, every other field
// (doc strings, model-local functions, training info, sparse initializers, fields newer than any schema
// we know) stays as its original bytes in `extras` and is written back verbatim, in field-number order.
// A message that nothing changed keeps `src`, its original encoding, and is written back as that view.

import { KEPT_FIELD_COST, WireError, WireType, WireWriter, budgetLeft, fields, lengthDelimitedSize, readPackedInt64, readPackedFloat, readString, spend, utf8Length, varintSize } from './wire.js';
import { WireCursor, sameBytes } from './cursor.js';
import { DecodedNode, DecodedTensor, WHOLE } from './decoded.js';

import { AttrType, DataType } from '../ir/types.js';
import { isSealed, sealedLayout } from '../ir/sealed.js';
import type { SealedGroup } from '../ir/sealed.js';
import type { AttributeProto, Dim, Extra, GraphProto, ModelProto, NodeProto, OpsetId, StringPair, TensorProto, TensorType, ValueInfoProto } from '../ir/types.js';

export { AttrType, DataType, FLOAT_TYPES } from '../ir/types.js';
export type { AttributeProto, Dim, Extra, GraphProto, ModelProto, NodeProto, OpsetId, StringPair, TensorProto, TensorType, ValueInfoProto };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// ---------------------------------------------------------------------------------------------
// Decoding. One cursor walks the whole buffer (cursor.ts); each decoder reads the message that spans
// [base, end) of it and leaves the cursor at `end`. Memory per node and tensor is what the model
// needs: lists are read into reused arrays and copied at their exact length, empty ones are one
// shared frozen array, and identical small attributes (every 1×1 Conv's kernel_shape) are one object,
// as are the equal dims lists of tensors of one shape.

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
  private readonly shapes: (number[] | undefined)[] = new Array<number[] | undefined>(LIST_SLOTS);

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

  /**
   * The first n of scratch as a frozen list: the dims of an earlier tensor when they are equal (the
   * weights of one layer kind share a shape, and so their dims list).
   */
  dimsList(scratch: number[], n: number): number[] {
    if (n === 0) return NONE;
    let h = n;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ scratch[i]!, 0x01000193);
    const slot = (h ^ (h >>> 15)) & (LIST_SLOTS - 1);
    const prev = this.shapes[slot];
    if (prev && prev.length === n && sameItems(prev, scratch)) return prev;
    return (this.shapes[slot] = frozenList(scratch, n) as number[]);
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
  return decoding(buf, (d, end) => tensorAt(d, 0, end, WHOLE));
}

/** The tensor in [base, end), the value of the field whose tag is at `field` (WHOLE: the buffer is the tensor). */
function tensorAt(d: Decoding, base: number, end: number, field: number): TensorProto {
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
  return new DecodedTensor(name, dataType, d.dimsList(DIMS, dims), externalData, dataLocation, extras, rawData, c.buf, field);
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
      case 5: a.t = tensorAt(d, c.value, c.pos, c.start); break;
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

/** One AttributeProto from its bytes (a function's attribute defaults). */
export function decodeAttribute(buf: Uint8Array): AttributeProto {
  return decoding(buf, (d, end) => decodeAttributeAt(d, 0, end));
}

export function decodeNode(buf: Uint8Array): NodeProto {
  return decoding(buf, (d, end) => nodeAt(d, 0, end, WHOLE));
}

/** The node in [base, end), the value of the field whose tag is at `field` (WHOLE: the buffer is the node). */
function nodeAt(d: Decoding, base: number, end: number, field: number): NodeProto {
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
  return new DecodedNode(
    name, opType, domain, frozenList(INPUTS, inputs), frozenList(OUTPUTS, outputs),
    d.attributeList(ATTRIBUTES, attributes), frozen(metadataProps), frozen(extras), c.buf, field,
  );
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
      const name = tensorAt(d, c.value, c.pos, c.start).name;
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

/** What the decoder saw of a graph's initializers, as decoded: the loader's checks read it instead of walking them again. */
export interface InitializerFacts {
  /** The first initializer whose dims are invalid or whose raw_data does not hold them (holdsDeclaredShape). */
  odd?: TensorProto;
  /** The initializers stored as external data, in order. */
  external: TensorProto[];
}

const initializerFacts = new WeakMap<GraphProto, InitializerFacts>();

/** The facts of a graph as decodeModel or decodeGraph returned it; undefined for a graph made otherwise. */
export function decodedInitializerFacts(g: GraphProto): InitializerFacts | undefined {
  return initializerFacts.get(g);
}

/** Dims that are all finite and non-negative, and raw_data, if any, of the size they call for (fixed-size types). */
export function holdsDeclaredShape(t: TensorProto): boolean {
  if (!validDims(t.dims)) return false;
  const held = t.rawData?.byteLength;
  const need = held === undefined ? undefined : expectedBytes(t);
  return held === undefined || need === undefined || held === need;
}

/** Dims that are all finite and non-negative. */
export function validDims(dims: readonly number[]): boolean {
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (d < 0 || !Number.isFinite(d)) return false;
  }
  return true;
}

/** Bytes a tensor's dims call for, for fixed-size element types; undefined for the others. */
export function expectedBytes(t: TensorProto): number | undefined {
  const size = elementBytes(t.dataType);
  return size === undefined ? undefined : elementCount(t.dims) * size;
}

function graphAt(d: Decoding, base: number, end: number): GraphProto {
  const c = d.c;
  const g: GraphProto = {
    name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], sparseInitializerNames: [], extras: [],
  };
  const facts: InitializerFacts = { external: [] };
  initializerFacts.set(g, facts);
  for (c.pos = base; c.pos < end; ) {
    c.next(base, end);
    if (c.type !== WireType.LengthDelimited && GRAPH_MESSAGES.has(c.no)) {
      throw new WireError(`graph field ${c.no} has wire type ${c.type}`, 0);
    }
    switch (c.no) {
      case 1: g.nodes.push(nodeAt(d, c.value, c.pos, c.start)); break;
      case 2: g.name = c.string(); break;
      case 5: {
        const t = tensorAt(d, c.value, c.pos, c.start);
        g.initializers.push(t);
        // Judged here, while the tensor is in the CPU's cache: a walk of 10^5 tensors after the decode
        // finds each of them out of it.
        if (!facts.odd && !holdsDeclaredShape(t)) facts.odd = t;
        if (t.dataLocation === 1) facts.external.push(t);
        break;
      }
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
//
// Every message is sized before it is written (a length prefix comes first), then written straight
// into its parent's writer: no writer per nested message, no copy of a message into its parent. The
// known fields of each message are listed in field-number order, so merging the extras in is a walk.

/** Extras in field-number order; fields with one number keep their relative order (a stable sort). */
function byNumber(extras: readonly Extra[]): readonly Extra[] {
  for (let i = 1; i < extras.length; i++) {
    if (extras[i]!.no < extras[i - 1]!.no) return extras.slice().sort((a, b) => a.no - b.no);
  }
  return extras;
}

/** Writes the extras from `at` numbered below `no` (they precede the known field `no`); returns where it stopped. */
function extrasBefore(w: WireWriter, extras: readonly Extra[], at: number, no: number): number {
  while (at < extras.length && extras[at]!.no < no) w.raw(extras[at++]!.bytes);
  return at;
}

function extrasSize(extras: readonly Extra[]): number {
  let n = 0;
  for (let i = 0; i < extras.length; i++) n += extras[i]!.bytes.length;
  return n;
}

function stringFieldSize(no: number, s: string): number {
  const n = utf8Length(s);
  return (no < 16 ? 1 : varintSize(no * 8)) + (n < 0x80 ? 1 : varintSize(n)) + n;
}

function varintFieldSize(no: number, v: number | bigint): number {
  return varintSize(no * 8) + varintSize(v);
}

function stringPairSize(p: StringPair): number {
  if (p.src) return p.src.length;
  return (p.key ? stringFieldSize(1, p.key) : 0) + (p.value ? stringFieldSize(2, p.value) : 0);
}

function writeStringPair(w: WireWriter, p: StringPair): void {
  if (p.src) {
    w.raw(p.src);
    return;
  }
  if (p.key) w.stringField(1, p.key);
  if (p.value) w.stringField(2, p.value);
}

function packedSize(values: readonly number[]): number {
  let n = 0;
  for (const v of values) n += varintSize(v);
  return n;
}

function tensorSize(t: TensorProto): number {
  if (t.src) return t.src.length;
  let n = extrasSize(t.extras);
  if (t.dims.length) n += lengthDelimitedSize(1, packedSize(t.dims));
  if (t.dataType) n += varintFieldSize(2, t.dataType);
  if (t.name) n += stringFieldSize(8, t.name);
  if (t.rawData) n += lengthDelimitedSize(9, t.rawData.length);
  for (const e of t.externalData) n += lengthDelimitedSize(13, stringPairSize(e));
  if (t.dataLocation) n += varintFieldSize(14, t.dataLocation);
  return n;
}

function writeTensor(w: WireWriter, t: TensorProto): void {
  if (t.src) {
    w.raw(t.src);
    return;
  }
  const extras = byNumber(t.extras);
  let x = extrasBefore(w, extras, 0, 1);
  if (t.dims.length) w.packedInt64Field(1, t.dims);
  x = extrasBefore(w, extras, x, 2);
  if (t.dataType) w.varintField(2, t.dataType);
  x = extrasBefore(w, extras, x, 8);
  if (t.name) w.stringField(8, t.name);
  x = extrasBefore(w, extras, x, 9);
  if (t.rawData) w.bytesField(9, t.rawData);
  x = extrasBefore(w, extras, x, 13);
  for (const e of t.externalData) {
    w.lengthDelimited(13, stringPairSize(e));
    writeStringPair(w, e);
  }
  x = extrasBefore(w, extras, x, 14);
  if (t.dataLocation) w.varintField(14, t.dataLocation);
  extrasBefore(w, extras, x, Infinity);
}

export function encodeTensor(t: TensorProto): WireWriter {
  const w = new WireWriter();
  writeTensor(w, t);
  return w;
}

function dimSize(d: Dim): number {
  if (d.value !== undefined) return varintFieldSize(1, d.value);
  return d.param !== undefined ? stringFieldSize(2, d.param) : 0;
}

function shapeSize(shape: readonly Dim[]): number {
  let n = 0;
  for (const d of shape) n += lengthDelimitedSize(1, dimSize(d));
  return n;
}

function tensorTypeSize(tt: TensorType): number {
  return varintFieldSize(1, tt.elemType) + (tt.shape ? lengthDelimitedSize(2, shapeSize(tt.shape)) : 0);
}

function valueInfoSize(v: ValueInfoProto): number {
  if (v.src) return v.src.length;
  return stringFieldSize(1, v.name) + (v.type ? lengthDelimitedSize(2, lengthDelimitedSize(1, tensorTypeSize(v.type))) : 0);
}

function writeValueInfo(w: WireWriter, v: ValueInfoProto): void {
  if (v.src) {
    w.raw(v.src);
    return;
  }
  w.stringField(1, v.name);
  if (!v.type) return;
  const tt = v.type;
  const ttSize = tensorTypeSize(tt);
  w.lengthDelimited(2, lengthDelimitedSize(1, ttSize));
  w.lengthDelimited(1, ttSize);
  w.varintField(1, tt.elemType);
  if (!tt.shape) return;
  w.lengthDelimited(2, shapeSize(tt.shape));
  for (const d of tt.shape) {
    w.lengthDelimited(1, dimSize(d));
    if (d.value !== undefined) w.varintField(1, d.value);
    else if (d.param !== undefined) w.stringField(2, d.param);
  }
}

/**
 * Encodings of frozen attributes (every decoded one; constants shared by many nodes), by object: a
 * frozen attribute cannot change, so its bytes are built once. Only small ones are kept, so a cached
 * encoding never holds a copy of a tensor or subgraph.
 */
const attributeBytes = new WeakMap<AttributeProto, Uint8Array>();
const CACHED_ATTRIBUTE_MAX = 256;
const NO_GRAPHS: readonly Uint8Array[] = [];

function attributeSize(a: AttributeProto): number {
  if (a.src) return a.src.length;
  const cached = attributeBytes.get(a);
  if (cached) return cached.length;
  let n = stringFieldSize(1, a.name) + varintFieldSize(20, a.type);
  if (a.f !== undefined) n += 5;
  if (a.i !== undefined) n += varintFieldSize(3, a.i);
  if (a.s !== undefined) n += stringFieldSize(4, a.s);
  if (a.t) n += lengthDelimitedSize(5, tensorSize(a.t));
  if (a.floats) n += 5 * a.floats.length;
  if (a.ints) for (const v of a.ints) n += varintFieldSize(8, v);
  const graphNo = a.type === AttrType.GRAPHS ? 11 : 6;
  for (const g of a.graphs ?? NO_GRAPHS) n += lengthDelimitedSize(graphNo, g.length);
  return n;
}

/** One attribute's AttributeProto bytes (what a node's field 5 holds). */
export function encodeAttribute(a: AttributeProto): WireWriter {
  const w = new WireWriter();
  writeAttribute(w, a, attributeSize(a));
  return w;
}

function writeAttribute(w: WireWriter, a: AttributeProto, size: number): void {
  if (a.src) {
    w.raw(a.src);
    return;
  }
  const cached = attributeBytes.get(a);
  if (cached) {
    w.raw(cached);
    return;
  }
  if (size <= CACHED_ATTRIBUTE_MAX && Object.isFrozen(a) && (!a.t || Object.isFrozen(a.t))) {
    const own = new WireWriter();
    writeAttributeFields(own, a);
    const bytes = own.toBytes();
    attributeBytes.set(a, bytes);
    w.raw(bytes);
    return;
  }
  writeAttributeFields(w, a);
}

function writeAttributeFields(w: WireWriter, a: AttributeProto): void {
  w.stringField(1, a.name);
  if (a.f !== undefined) w.fixed32FloatField(2, a.f);
  if (a.i !== undefined) w.varintField(3, a.i);
  if (a.s !== undefined) w.stringField(4, a.s);
  if (a.t) {
    w.lengthDelimited(5, tensorSize(a.t));
    writeTensor(w, a.t);
  }
  if (a.floats) for (const v of a.floats) w.fixed32FloatField(7, v);
  if (a.ints) for (const v of a.ints) w.varintField(8, v);
  // A GRAPH attribute holds its body in field 6 (g), a GRAPHS one in field 11 (graphs).
  for (const g of a.graphs ?? NO_GRAPHS) w.bytesField(a.type === AttrType.GRAPHS ? 11 : 6, g);
  w.varintField(20, a.type);
}

/**
 * The lengths of a node's attributes and metadata entries, in order, as sizing found them: writing
 * reads them back (each message's length prefix) instead of walking their strings again.
 */
class NestedSizes {
  readonly list: number[] = [];
  at = 0;
  next(): number {
    return this.list[this.at++]!;
  }
}

/** The length of the node encoded from its fields; with `nested`, also records its attributes' and metadata entries' lengths there. */
function nodeFieldsSize(n: NodeProto, nested?: NestedSizes): number {
  // Indexed loops: this runs for every edited node, mostly before the optimizer takes it, where a
  // for-of allocates an iterator result per element.
  let size = extrasSize(n.extras) + stringFieldSize(4, n.opType);
  const inputs = n.inputs, outputs = n.outputs, attributes = n.attributes, metadataProps = n.metadataProps;
  for (let i = 0; i < inputs.length; i++) size += stringFieldSize(1, inputs[i]!);
  for (let i = 0; i < outputs.length; i++) size += stringFieldSize(2, outputs[i]!);
  if (n.name) size += stringFieldSize(3, n.name);
  for (let i = 0; i < attributes.length; i++) {
    const length = attributeSize(attributes[i]!);
    nested?.list.push(length);
    size += lengthDelimitedSize(5, length);
  }
  if (n.domain) size += stringFieldSize(7, n.domain);
  for (let i = 0; i < metadataProps.length; i++) {
    const length = stringPairSize(metadataProps[i]!);
    nested?.list.push(length);
    size += lengthDelimitedSize(9, length);
  }
  return size;
}

function writeNode(w: WireWriter, n: NodeProto): void {
  const src = pristineSource(n);
  if (src) w.raw(src);
  else writeNodeFields(w, n);
}

/** Writes the node from its fields; `nested` holds the lengths its sizing recorded, else they are found here. */
function writeNodeFields(w: WireWriter, n: NodeProto, nested?: NestedSizes): void {
  const extras = byNumber(n.extras);
  const inputs = n.inputs, outputs = n.outputs, attributes = n.attributes, metadataProps = n.metadataProps;
  let x = extrasBefore(w, extras, 0, 1);
  for (let i = 0; i < inputs.length; i++) w.stringField(1, inputs[i]!);
  x = extrasBefore(w, extras, x, 2);
  for (let i = 0; i < outputs.length; i++) w.stringField(2, outputs[i]!);
  x = extrasBefore(w, extras, x, 3);
  if (n.name) w.stringField(3, n.name);
  x = extrasBefore(w, extras, x, 4);
  w.stringField(4, n.opType);
  x = extrasBefore(w, extras, x, 5);
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes[i]!;
    const size = nested ? nested.next() : attributeSize(a);
    w.lengthDelimited(5, size);
    writeAttribute(w, a, size);
  }
  x = extrasBefore(w, extras, x, 7);
  if (n.domain) w.stringField(7, n.domain);
  x = extrasBefore(w, extras, x, 9);
  for (let i = 0; i < metadataProps.length; i++) {
    const p = metadataProps[i]!;
    w.lengthDelimited(9, nested ? nested.next() : stringPairSize(p));
    writeStringPair(w, p);
  }
  extrasBefore(w, extras, x, Infinity);
}

export function encodeNode(n: NodeProto): WireWriter {
  const w = new WireWriter();
  writeNode(w, n);
  return w;
}

/** A graph sized for writing: each node's and initializer's length, found once, and the whole. */
interface GraphPlan {
  readonly entries: readonly (NodeProto | SealedGroup)[];
  readonly initializers: readonly TensorProto[];
  readonly groups: readonly SealedGroup[];
  /** Per entry, the node's length; -1 for a sealed group. */
  readonly nodeSizes: Float64Array;
  /** Per entry, the node's original bytes when they still encode it (pristineSource, asked once per plan). */
  readonly nodeSources: (Uint8Array | undefined)[];
  readonly initializerSizes: Float64Array;
  readonly initializerSources: (Uint8Array | undefined)[];
  readonly nested: NestedSizes;
  readonly length: number;
}

function planGraph(g: GraphProto): GraphPlan {
  // Inserted blocks the IR holds sealed are written from their records, in their place.
  const layout = sealedLayout(g);
  const entries = layout?.entries ?? g.nodes;
  const initializers = layout?.initializers ?? g.initializers;
  const groups = layout?.groups ?? [];
  const nodeSizes = new Float64Array(entries.length);
  const nodeSources = new Array<Uint8Array | undefined>(entries.length);
  const initializerSizes = new Float64Array(initializers.length);
  const initializerSources = new Array<Uint8Array | undefined>(initializers.length);
  const nested = new NestedSizes();
  let length = extrasSize(g.extras) + (g.name ? stringFieldSize(2, g.name) : 0);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (isSealed(e)) {
      length += e.nodeBytesLength;
      nodeSizes[i] = -1;
    } else {
      const src = (nodeSources[i] = pristineSource(e));
      length += lengthDelimitedSize(1, (nodeSizes[i] = src ? src.length : nodeFieldsSize(e, nested)));
    }
  }
  for (let i = 0; i < initializers.length; i++) {
    const t = initializers[i]!;
    initializerSources[i] = t.src;
    length += lengthDelimitedSize(5, (initializerSizes[i] = tensorSize(t)));
  }
  for (const s of groups) length += s.initializerBytesLength;
  for (const [no, list] of valueInfoLists(g)) for (const v of list) length += lengthDelimitedSize(no, valueInfoSize(v));
  return { entries, initializers, groups, nodeSizes, nodeSources, initializerSizes, initializerSources, nested, length };
}

function valueInfoLists(g: GraphProto): [number, readonly ValueInfoProto[]][] {
  return [[11, g.inputs], [12, g.outputs], [13, g.valueInfo]];
}

/** Writes the graph's fields, pausing (a yield) each time `batch` bytes are pending in `w`. */
function* writeGraph(w: WireWriter, g: GraphProto, plan: GraphPlan, batch: number): Generator<void> {
  plan.nested.at = 0;
  const extras = byNumber(g.extras);
  const runs = new SourceRuns();
  let x = extrasBefore(w, extras, 0, 1);
  const { entries, nodeSizes, nodeSources } = plan;
  for (let i = 0; i < entries.length; i++) {
    const size = nodeSizes[i]!;
    if (size < 0) (entries[i] as SealedGroup).writeNodes(w);
    else {
      w.lengthDelimited(1, size);
      const src = nodeSources[i];
      if (!src) writeNodeFields(w, entries[i] as NodeProto, plan.nested);
      else {
        const end = runs.end(nodeSources, i, 1);
        w.raw(runs.view(src, nodeSources[end - 1]!));
        i = end - 1;
      }
    }
    if (w.length >= batch) yield;
  }
  x = extrasBefore(w, extras, x, 2);
  if (g.name) w.stringField(2, g.name);
  x = extrasBefore(w, extras, x, 5);
  const { initializers, initializerSources } = plan;
  for (let i = 0; i < initializers.length; i++) {
    w.lengthDelimited(5, plan.initializerSizes[i]!);
    const src = initializerSources[i];
    if (!src) writeTensor(w, initializers[i]!);
    else {
      const end = runs.end(initializerSources, i, 5);
      w.raw(runs.view(src, initializerSources[end - 1]!));
      i = end - 1;
    }
    if (w.length >= batch) yield;
  }
  for (const s of plan.groups) {
    s.writeInitializers(w);
    if (w.length >= batch) yield;
  }
  for (const [no, list] of valueInfoLists(g)) {
    x = extrasBefore(w, extras, x, no);
    for (const v of list) {
      w.lengthDelimited(no, valueInfoSize(v));
      writeValueInfo(w, v);
    }
  }
  extrasBefore(w, extras, x, Infinity);
}

/**
 * Runs of original bytes: messages that follow one another in the buffer they were read from, each
 * behind the field header this writer would write for it (tag, shortest length), as an exporter writes
 * the untouched nodes and initializers of a graph. A run is written as one view of that buffer: one
 * chunk, not copied, instead of a header and a message each.
 */
class SourceRuns {
  private buffer: ArrayBufferLike | undefined;
  private bytes: Uint8Array = new Uint8Array(0);

  /** The index after the last of `sources` from `i` on that continue one run from sources[i] (i + 1 when none does). */
  end(sources: readonly (Uint8Array | undefined)[], i: number, no: number): number {
    let prev = sources[i]!;
    let j = i + 1;
    for (; j < sources.length; j++) {
      const next = sources[j];
      if (!next || !this.follows(prev, next, no)) break;
      prev = next;
    }
    return j;
  }

  /** The bytes from `first` through `last`, which end() found one run. */
  view(first: Uint8Array, last: Uint8Array): Uint8Array {
    return first === last ? first : new Uint8Array(first.buffer, first.byteOffset, last.byteOffset + last.length - first.byteOffset);
  }

  /** `next` comes right after `prev` and the header of field `no` with its length. */
  private follows(prev: Uint8Array, next: Uint8Array, no: number): boolean {
    const tag = no * 8 + WireType.LengthDelimited;
    let at = prev.byteOffset + prev.length;
    if (next.buffer !== prev.buffer || next.byteOffset - at !== varintSize(tag) + varintSize(next.length)) return false;
    if (this.buffer !== next.buffer) {
      this.buffer = next.buffer;
      this.bytes = new Uint8Array(next.buffer);
    }
    at = varintAt(this.bytes, at, tag);
    return at >= 0 && varintAt(this.bytes, at, next.length) >= 0;
  }
}

/** The position after `v` written as the shortest varint at b[at], or -1 when other bytes are there. */
function varintAt(b: Uint8Array, at: number, v: number): number {
  for (; ; v = Math.floor(v / 128)) {
    if (b[at++] !== (v >= 0x80 ? (v % 128) | 0x80 : v)) return -1;
    if (v < 0x80) return at;
  }
}

function drain(steps: Generator<void>): void {
  for (let s = steps.next(); !s.done; s = steps.next());
}

export function encodeGraph(g: GraphProto): WireWriter {
  const w = new WireWriter();
  drain(writeGraph(w, g, planGraph(g), Infinity));
  return w;
}

function opsetSize(o: OpsetId): number {
  if (o.src) return o.src.length;
  return (o.domain ? stringFieldSize(1, o.domain) : 0) + varintFieldSize(2, o.version);
}

function modelLength(m: ModelProto, graph: GraphPlan | undefined): number {
  let n = extrasSize(m.extras);
  if (m.irVersion) n += varintFieldSize(1, m.irVersion);
  if (m.producerName) n += stringFieldSize(2, m.producerName);
  if (m.producerVersion) n += stringFieldSize(3, m.producerVersion);
  if (graph) n += lengthDelimitedSize(7, graph.length);
  for (const o of m.opsetImport) n += lengthDelimitedSize(8, opsetSize(o));
  for (const p of m.metadataProps) n += lengthDelimitedSize(14, stringPairSize(p));
  return n;
}

function* writeModel(w: WireWriter, m: ModelProto, graph: GraphPlan | undefined, batch: number): Generator<void> {
  const extras = byNumber(m.extras);
  let x = extrasBefore(w, extras, 0, 1);
  if (m.irVersion) w.varintField(1, m.irVersion);
  x = extrasBefore(w, extras, x, 2);
  if (m.producerName) w.stringField(2, m.producerName);
  x = extrasBefore(w, extras, x, 3);
  if (m.producerVersion) w.stringField(3, m.producerVersion);
  x = extrasBefore(w, extras, x, 7);
  if (graph) {
    w.lengthDelimited(7, graph.length);
    yield* writeGraph(w, m.graph, graph, batch);
  }
  x = extrasBefore(w, extras, x, 8);
  for (const o of m.opsetImport) {
    w.lengthDelimited(8, opsetSize(o));
    if (o.src) w.raw(o.src);
    else {
      if (o.domain) w.stringField(1, o.domain);
      w.varintField(2, o.version);
    }
  }
  x = extrasBefore(w, extras, x, 14);
  for (const p of m.metadataProps) {
    w.lengthDelimited(14, stringPairSize(p));
    writeStringPair(w, p);
  }
  extrasBefore(w, extras, x, Infinity);
}

/** A model's encoding, sized but not yet written: its chunks are built batch by batch as they are asked for. */
export interface ModelEncoding {
  readonly length: number;
  /**
   * The chunks in order, in batches of about `batchBytes` (views into the input count too); each
   * batch is built when the iteration reaches it, so a caller that writes one before asking for the
   * next holds one batch at a time. Every iteration encodes anew. With `reuse`, a batch's chunks
   * may be written over once the batch after the next is asked for: for a caller that writes a batch
   * out while the next is built, and waits for that write before it asks for another; the batches
   * then cost no new memory.
   */
  batches(batchBytes?: number, reuse?: boolean): Generator<Uint8Array[]>;
}

const BATCH_BYTES = 2 * 1024 * 1024;

export function modelEncoding(m: ModelProto): ModelEncoding {
  const graph = m.hasGraph ? planGraph(m.graph) : undefined;
  const length = modelLength(m, graph);
  return {
    length,
    *batches(batchBytes = BATCH_BYTES, reuse = false) {
      const w = new WireWriter({ reuseTaken: reuse });
      for (const _ of writeModel(w, m, graph, batchBytes)) yield w.take();
      const last = w.take();
      // Sized before the first byte, written later: a model edited in between would come out torn.
      checkLength(w.written, length);
      if (last.length) yield last;
    },
  };
}

export function encodeModel(m: ModelProto): WireWriter {
  const w = new WireWriter();
  const graph = m.hasGraph ? planGraph(m.graph) : undefined;
  drain(writeModel(w, m, graph, Infinity));
  checkLength(w.length, modelLength(m, graph));
  return w;
}

function checkLength(written: number, planned: number): void {
  if (written !== planned) throw new Error(`IR: the model was written as ${written} bytes where its sizing found ${planned}; was it edited while being saved?`);
}

// ---------------------------------------------------------------------------------------------
// Tensor values, for the small integer constants that shape inference folds.

const ELEMENT_BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4, [DataType.UINT8]: 1, [DataType.INT8]: 1, [DataType.UINT16]: 2, [DataType.INT16]: 2,
  [DataType.INT32]: 4, [DataType.INT64]: 8, [DataType.BOOL]: 1, [DataType.FLOAT16]: 2, [DataType.DOUBLE]: 8,
  [DataType.UINT32]: 4, [DataType.UINT64]: 8, [DataType.BFLOAT16]: 2,
};

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < dims.length; i++) n *= dims[i]!;
  return n;
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
