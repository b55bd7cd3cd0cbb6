// Decoded nodes and tensors. Each keeps its original encoding (`src`, what the encoder writes back
// while nothing changed) as a span of the buffer it was read from, and makes the view when first asked
// for it: a view is an object of about 100 bytes, and a model of 40,000 nodes and as many initializers
// would hold 80,000 of them from the load to the save, most never read before the save.
//
// `src` behaves as a property: the same view on every read, writable (Graph drops it on an edit). It
// lives on the prototype, so a spread copy (`{ ...node }`) does not carry it: such a copy is encoded
// from its fields. Copy it along (`{ ...node, src: node.src }`) to keep the original bytes.

import type { AttributeProto, Extra, NodeProto, StringPair, TensorProto } from '../ir/types.js';

/** Where a message's bytes are: buf[from, to); or, once viewed or replaced, the view (or undefined). */
class Source {
  #buf: Uint8Array;
  #src: Uint8Array | number | undefined;
  #end: number;

  constructor(buf: Uint8Array, from: number, to: number) {
    this.#buf = buf;
    this.#src = from;
    this.#end = to;
  }

  get src(): Uint8Array | undefined {
    const s = this.#src;
    return typeof s === 'number' ? (this.#src = view(this.#buf, s, this.#end)) : s;
  }

  set src(v: Uint8Array | undefined) {
    this.#src = v;
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
    buf: Uint8Array, from: number, to: number,
  ) {
    super(buf, from, to);
  }
}

export class DecodedTensor extends Source implements TensorProto {
  declare rawData?: Uint8Array;

  constructor(
    public name: string,
    public dataType: number,
    public dims: number[],
    public externalData: StringPair[],
    public dataLocation: number,
    public extras: Extra[],
    rawData: Uint8Array | undefined,
    buf: Uint8Array, from: number, to: number,
  ) {
    super(buf, from, to);
    if (rawData) this.rawData = rawData;
  }
}
