// SE blocks held sealed (src/ir/sealed.ts): one record per block, made into bytes or nodes only when
// written or read. Every block of one shape has the same structure, so one template per shape is built
// (by buildSE, the one builder), checked and counted; a block differs from its template only in its
// name prefix, the tensor it scales and its weights, which are drawn again from the block's own stream
// by the template's recipes. The bytes are those encodeNode and encodeTensor write for the nodes
// buildSE would build for the block (a test holds the two equal for every block kind and option).

import type { SealedBlock } from '../ir/graph.js';
import { elementBytes, encodeAttribute } from '../onnx/proto.js';
import { WireWriter, lengthDelimitedSize, utf8Length, varintSize } from '../onnx/wire.js';
import type { AttributeProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { blockStream, buildSE, initialBytes } from './build.js';
import type { BuiltSE, SEBlockPlan, SEOptions, WeightInit } from './build.js';
import { namesUnderFreshPrefix } from './names.js';

/** A name in the template: fixed, the block's prefix followed by a suffix, or the tensor it scales. */
type Slot = { fixed: Uint8Array; text: string } | { suffix: Uint8Array; text: string } | 'tensor';

interface NodeRecipe {
  opType: string;
  opTypeBytes: Uint8Array;
  inputs: Slot[];
  outputs: Slot[];
  name: Slot;
  attributes: readonly AttributeProto[];
  /** The attributes' encodings (AttributeProto bytes), which no block changes. */
  attributeBytes: Uint8Array[];
  /** Its metadata: the block tag, whose value is the prefix. */
  tagKey: Uint8Array;
  tagKeyText: string;
}

interface WeightRecipe {
  name: Slot;
  dims: readonly number[];
  /** dims as written: field 1 (packed), empty for a scalar. */
  dimsField: Uint8Array;
  dataType: number;
  count: number;
  init: WeightInit;
}

/** What every block of one shape shares: built once, under the first block's prefix. */
export interface BlockTemplate {
  built: BuiltSE;
  /** The block's output is its prefix followed by this. */
  outputSuffix: string;
  opTypes: readonly string[];
  nodes: NodeRecipe[];
  weights: WeightRecipe[];
}

const utf8 = new TextEncoder();

export function blockTemplate(plan: SEBlockPlan, o: SEOptions): BlockTemplate {
  const built = buildSE(plan, o, namesUnderFreshPrefix());
  const under = `${plan.prefix}/`;
  const slot = (s: string): Slot => {
    if (s === plan.tensor) return 'tensor';
    if (s.startsWith(under)) return { suffix: utf8.encode(s.slice(plan.prefix.length)), text: s.slice(plan.prefix.length) };
    return { fixed: utf8.encode(s), text: s };
  };
  if (!built.output.startsWith(under)) throw new Error(`IR: the SE block's output ${built.output} is not under its prefix ${plan.prefix}`);
  const nodes = built.nodes.map((n): NodeRecipe => {
    const tag = n.metadataProps[0];
    if (n.domain || n.extras.length || n.metadataProps.length !== 1 || tag?.value !== plan.prefix) {
      throw new Error(`IR: the SE block's ${n.opType} is not in the form sealed blocks are written in`);
    }
    return {
      opType: n.opType, inputs: n.inputs.map(slot), outputs: n.outputs.map(slot), name: slot(n.name), attributes: n.attributes,
      attributeBytes: n.attributes.map((a) => encodeAttribute(a).toBytes()), opTypeBytes: utf8.encode(n.opType), tagKey: utf8.encode(tag.key), tagKeyText: tag.key,
    };
  });
  const weights = built.initializers.map((t, i): WeightRecipe => {
    const dims = new WireWriter();
    if (t.dims.length) dims.packedInt64Field(1, t.dims);
    return { name: slot(t.name), dims: t.dims.slice(), dimsField: dims.toBytes(), dataType: t.dataType, count: t.dims.reduce((a, b) => a * b, 1), init: built.recipes[i]! };
  });
  return { built, outputSuffix: built.output.slice(plan.prefix.length), opTypes: Object.freeze(built.nodes.map((n) => n.opType)), nodes, weights };
}

/** Blocks of one shape with their own prefix and tensor: the signature the template cache is keyed by. */
export function templateKey(plan: SEBlockPlan, dims: readonly number[]): string {
  return JSON.stringify([dims, plan.channels, plan.reduceChannels, plan.ratio, plan.dtype, plan.gate, plan.opset]);
}

/** One SE block as a record: its plan (prefix, tensor), the options and its template. */
export class SealedSE implements SealedBlock {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  private lengths?: { nodes: number; initializers: number };

  constructor(private readonly plan: SEBlockPlan, private readonly options: SEOptions, private readonly template: BlockTemplate) {
    this.reads = [plan.tensor];
    this.writes = [plan.prefix + template.outputSuffix];
  }

  get opTypes(): readonly string[] {
    return this.template.opTypes;
  }

  /** The nodes and weights buildSE would build for this block. */
  expand(): { nodes: NodeProto[]; initializers: TensorProto[] } {
    const p = this.plan.prefix;
    const text = (s: Slot) => (s === 'tensor' ? this.plan.tensor : 'fixed' in s ? s.text : p + s.text);
    const tag = Object.freeze([{ key: this.template.nodes[0]?.tagKeyText ?? '', value: p }]);
    const nodes = this.template.nodes.map((r): NodeProto => ({
      name: text(r.name), opType: r.opType, domain: '', inputs: r.inputs.map(text), outputs: r.outputs.map(text), attributes: r.attributes,
      metadataProps: tag, extras: [], src: undefined,
    }));
    const rng = blockStream(this.options.seed, p);
    const initializers = this.template.weights.map((w): TensorProto => ({
      name: text(w.name), dataType: w.dataType, dims: w.dims.slice(), rawData: initialBytes(w.init, w.count, w.dataType, rng),
      externalData: [], dataLocation: 0, extras: [],
    }));
    return { nodes, initializers };
  }

  encodeNodes(): Uint8Array {
    const names = this.names();
    const out = new Writer(this.nodeBytesLength);
    for (const r of this.template.nodes) {
      out.tag(1, 2);
      out.varint(nodeLength(r, names));
      writeNode(out, r, names);
    }
    return out.bytes;
  }

  encodeInitializers(): Uint8Array {
    const names = this.names();
    const out = new Writer(this.initializerBytesLength);
    const rng = blockStream(this.options.seed, this.plan.prefix);
    for (const w of this.template.weights) {
      const data = initialBytes(w.init, w.count, w.dataType, rng);
      out.tag(5, 2);
      out.varint(tensorLength(w, names, data.byteLength));
      out.raw(w.dimsField);
      out.tag(2, 0);
      out.varint(w.dataType);
      out.string(8, names, w.name);
      out.tag(9, 2);
      out.varint(data.byteLength);
      out.raw(data);
    }
    return out.bytes;
  }

  get nodeBytesLength(): number {
    return (this.lengths ??= this.measure()).nodes;
  }

  get initializerBytesLength(): number {
    return (this.lengths ??= this.measure()).initializers;
  }

  private names(): Names {
    return { prefix: this.plan.prefix, prefixLength: utf8Length(this.plan.prefix), tensor: this.plan.tensor, tensorLength: utf8Length(this.plan.tensor) };
  }

  private measure(): { nodes: number; initializers: number } {
    const names = this.names();
    let nodes = 0;
    for (const r of this.template.nodes) nodes += field(nodeLength(r, names));
    let initializers = 0;
    for (const w of this.template.weights) initializers += field(tensorLength(w, names, dataLength(w)));
    return { nodes, initializers };
  }
}

/** The block's own names and their UTF-8 lengths. */
interface Names {
  prefix: string;
  prefixLength: number;
  tensor: string;
  tensorLength: number;
}

function slotLength(s: Slot, names: Names): number {
  return s === 'tensor' ? names.tensorLength : 'fixed' in s ? s.fixed.length : names.prefixLength + s.suffix.length;
}

/** A length-delimited field of `n` payload bytes (every field here has a number below 16: one tag byte). */
function field(n: number): number {
  return lengthDelimitedSize(1, n);
}

/** NodeProto's fields in the order encodeNode writes them: inputs, outputs, name, op_type, attributes, metadata. */
function nodeLength(r: NodeRecipe, names: Names): number {
  let n = 0;
  for (const s of r.inputs) n += field(slotLength(s, names));
  for (const s of r.outputs) n += field(slotLength(s, names));
  const name = slotLength(r.name, names);
  if (name) n += field(name);
  n += field(r.opTypeBytes.length);
  for (const a of r.attributeBytes) n += field(a.length);
  return n + field(tagLength(r, names));
}

function tagLength(r: NodeRecipe, names: Names): number {
  return (r.tagKey.length ? field(r.tagKey.length) : 0) + (names.prefixLength ? field(names.prefixLength) : 0);
}

function writeNode(out: Writer, r: NodeRecipe, names: Names): void {
  for (const s of r.inputs) out.string(1, names, s);
  for (const s of r.outputs) out.string(2, names, s);
  if (slotLength(r.name, names)) out.string(3, names, r.name);
  out.tag(4, 2);
  out.varint(r.opTypeBytes.length);
  out.raw(r.opTypeBytes);
  for (const a of r.attributeBytes) {
    out.tag(5, 2);
    out.varint(a.length);
    out.raw(a);
  }
  out.tag(9, 2);
  out.varint(tagLength(r, names));
  if (r.tagKey.length) {
    out.tag(1, 2);
    out.varint(r.tagKey.length);
    out.raw(r.tagKey);
  }
  if (names.prefixLength) {
    out.tag(2, 2);
    out.varint(names.prefixLength);
    out.text(names.prefix, names.prefixLength);
  }
}

/** TensorProto's fields in the order encodeTensor writes them: dims, data_type, name, raw_data. */
function tensorLength(w: WeightRecipe, names: Names, dataBytes: number): number {
  return w.dimsField.length + 1 + varintSize(w.dataType) + field(slotLength(w.name, names)) + field(dataBytes);
}

/** The bytes of a weight's data, as initialBytes makes them. */
function dataLength(w: WeightRecipe): number {
  return w.init.kind === 'fixed' ? w.init.bytes.length : w.count * (elementBytes(w.dataType) ?? 4);
}

/**
 * Bytes of a known length, written in order, carved out of a shared slab: one allocation per 256 KiB
 * of blocks rather than one per block (a slab lives as long as a piece of it is held).
 */
class Writer {
  readonly bytes: Uint8Array;
  pos = 0;
  constructor(length: number) {
    this.bytes = slabPiece(length);
  }

  varint(v: number): void {
    while (v >= 0x80) {
      this.bytes[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.bytes[this.pos++] = v;
  }

  tag(no: number, type: number): void {
    this.varint(no * 8 + type);
  }

  raw(b: Uint8Array): void {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** A string of `length` UTF-8 bytes: ASCII by hand, anything else through TextEncoder. */
  text(s: string, length: number): void {
    if (length === s.length) {
      const b = this.bytes;
      let p = this.pos;
      for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
      this.pos = p;
      return;
    }
    this.pos += utf8.encodeInto(s, this.bytes.subarray(this.pos, this.pos + length)).written;
  }

  string(no: number, names: Names, s: Slot): void {
    this.tag(no, 2);
    this.varint(slotLength(s, names));
    if (s === 'tensor') this.text(names.tensor, names.tensorLength);
    else if ('fixed' in s) this.raw(s.fixed);
    else {
      this.text(names.prefix, names.prefixLength);
      this.raw(s.suffix);
    }
  }
}

const SLAB = 256 * 1024;
let slab = new Uint8Array(0);
let slabUsed = 0;

function slabPiece(length: number): Uint8Array {
  if (length > SLAB / 4) return new Uint8Array(length);
  if (slabUsed + length > slab.length) {
    slab = new Uint8Array(SLAB);
    slabUsed = 0;
  }
  const piece = slab.subarray(slabUsed, slabUsed + length);
  slabUsed += length;
  return piece;
}
