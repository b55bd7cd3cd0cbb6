// Decoded nodes and tensors. Each keeps its original encoding (`src`, what the encoder writes back
// while nothing changed) as a span of the buffer it was read from, and makes the view when first asked
// for it: a view is an object of about 100 bytes, and a model of 40,000 nodes and as many initializers
// would hold 80,000 of them from the load to the save, most never read before the save.
//
// `src` behaves as a property: the same view on every read, writable (Graph drops it on an edit). It
// lives on the prototype, so a spread copy (`{ ...node }`) does not carry it: such a copy is encoded
// from its fields. Copy it along (`{ ...node, src: node.src }`) to keep the original bytes.
//
// A tensor's `rawData` is made the same way when first read, found in the tensor's bytes: analysis
// reads the payloads of a few small constants, the writer none of an untouched tensor's. A spread
// copy of a tensor leaves it behind too: copy it by name (`{ ...t, rawData: t.rawData }`).

import type { AttributeProto, Extra, NodeProto, StringPair, TensorProto } from '../ir/types.js';
import { WireCursor } from './cursor.js';

/** A message that is the whole buffer it was decoded from (not a field inside it). */
export const WHOLE = -1;

/**
 * Where a message's bytes are: the value of the length-delimited field whose tag is at buf[field] (or
 * the whole buffer); or, once viewed or replaced, the view (or undefined). The field's tag and length,
 * read again when the view is made, cost no memory per message until then.
 */
class Source {
  #buf: Uint8Array;
  #src: Uint8Array | number | undefined;

  constructor(buf: Uint8Array, field: number) {
    this.#buf = buf;
    this.#src = field;
  }

  get src(): Uint8Array | undefined {
    const s = this.#src;
    return typeof s === 'number' ? (this.#src = s === WHOLE ? view(this.#buf, 0, this.#buf.length) : this.viewOfField(s)) : s;
  }

  set src(v: Uint8Array | undefined) {
    this.#src = v;
  }

  /** A view of the value of the length-delimited field at buf[field], which the decoder read. */
  protected viewOfField(field: number): Uint8Array {
    const buf = this.#buf;
    const length = afterVarint(buf, field);
    const from = afterVarint(buf, length);
    return view(buf, from, from + varintAt(buf, length));
  }
}

/** A view of buf[from, to) of buf's class (a Buffer's views are Buffers), as the decoder's cursor makes them. */
function view(buf: Uint8Array, from: number, to: number): Uint8Array {
  return Object.getPrototypeOf(buf) === Uint8Array.prototype ? new Uint8Array(buf.buffer, buf.byteOffset + from, to - from) : buf.subarray(from, to);
}

export class DecodedNode extends Source implements NodeProto {
  constructor(
    readonly name: string,
    readonly opType: string,
    readonly domain: string,
    readonly inputs: readonly string[],
    readonly outputs: readonly string[],
    readonly attributes: readonly AttributeProto[],
    readonly metadataProps: readonly StringPair[],
    readonly extras: readonly Extra[],
    buf: Uint8Array, field: number,
  ) {
    super(buf, field);
  }
}

export class DecodedTensor extends Source implements TensorProto {
  /**
   * raw_data: its length (-1: none) until it is read, then the view (or what replaced it). A tensor's
   * payload is viewed only when something reads it, so a loaded initializer holds no view, and its
   * length is at hand for the load's checks without a look at the buffer.
   */
  #raw: Uint8Array | number | undefined;

  constructor(
    public name: string,
    public dataType: number,
    public dims: number[],
    public externalData: StringPair[],
    public dataLocation: number,
    public extras: Extra[],
    rawLength: number,
    buf: Uint8Array, field: number,
  ) {
    super(buf, field);
    this.#raw = rawLength;
  }

  get rawData(): Uint8Array | undefined {
    const r = this.#raw;
    if (typeof r !== 'number') return r;
    return (this.#raw = r < 0 ? undefined : lastRawData(super.src!));
  }

  override get src(): Uint8Array | undefined {
    return super.src;
  }

  /** The payload is found in the tensor's original bytes: it is viewed before they are let go. */
  override set src(v: Uint8Array | undefined) {
    if (typeof this.#raw === 'number') void this.rawData;
    super.src = v;
  }

  set rawData(v: Uint8Array | undefined) {
    // As for a data property: a frozen tensor (an attribute's) refuses the write.
    if (Object.isFrozen(this)) throw new TypeError(`Cannot assign to read only property 'rawData' of tensor ${this.name}`);
    this.#raw = v;
  }

  /** The length of raw_data, without making its view; undefined when the tensor has none. */
  rawDataLength(): number | undefined {
    const r = this.#raw;
    if (typeof r !== 'number') return r?.byteLength;
    return r < 0 ? undefined : r;
  }
}

/** The payload of a tensor's last raw_data field (the one that decodes), as a view of the same buffer. */
function lastRawData(tensor: Uint8Array): Uint8Array {
  const c = new WireCursor(tensor, false);
  let from = 0, to = 0;
  while (c.pos < tensor.length) {
    c.next(0, tensor.length);
    if (c.no === 9) {
      from = c.value;
      to = c.pos;
    }
  }
  return c.slice(from, to);
}

// The varints of a field the decoder has read (its tag, its length): well formed, inside the buffer.

function afterVarint(buf: Uint8Array, at: number): number {
  while (buf[at++]! >= 0x80);
  return at;
}

function varintAt(buf: Uint8Array, at: number): number {
  let v = 0;
  for (let scale = 1; ; scale *= 128) {
    const b = buf[at++]!;
    v += (b & 0x7f) * scale;
    if (b < 0x80) return v;
  }
}

/** The byte length of a tensor's raw_data (undefined: none); a decoded tensor's payload is not viewed for it. */
export function rawDataLength(t: TensorProto): number | undefined {
  return t instanceof DecodedTensor ? t.rawDataLength() : t.rawData?.byteLength;
}
