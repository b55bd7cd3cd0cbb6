// Decoded nodes and tensors. Each keeps its original encoding (`src`, what the encoder writes back
// while nothing changed) as a span of the buffer it was read from, and makes the view when first asked
// for it: a view is an object of about 100 bytes, and a model of 40,000 nodes and as many initializers
// would hold 80,000 of them from the load to the save, most never read before the save.
//
// `src` behaves as a property: the same view on every read, writable (Graph drops it on an edit). It
// lives on the prototype, so a spread copy (`{ ...node }`) does not carry it: such a copy is encoded
// from its fields. Copy it along (`{ ...node, src: node.src }`) to keep the original bytes.

import type { AttributeProto, Extra, NodeProto, StringPair, TensorProto } from '../ir/types.js';

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
  // An own property, so that a spread copy of a tensor (a rename in a user's pipeline) keeps its weights.
  declare rawData?: Uint8Array;

  constructor(
    public name: string,
    public dataType: number,
    public dims: number[],
    public externalData: StringPair[],
    public dataLocation: number,
    public extras: Extra[],
    rawData: Uint8Array | undefined,
    buf: Uint8Array, field: number,
  ) {
    super(buf, field);
    if (rawData) this.rawData = rawData;
  }
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

