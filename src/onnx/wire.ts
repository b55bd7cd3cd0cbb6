// Protobuf wire format, read and written by hand.
//
// Why not a generated decoder: the onnx-proto package (ONNX 1.10 schema, protobufjs 6) drops every field
// its schema does not know — metadata_props on nodes/graphs/functions, fields newer than 1.10, fields no
// schema knows — without a warning. This reader hands every field back with its exact byte span, so
// the decoder can keep what it does not model as raw bytes and the encoder can write them back verbatim.

export enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

/** Thrown for bytes that are not a well-formed protobuf message; the loader wraps it with the file name. */
export class WireError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
  }
}

/** One field as it sits in the buffer: `bytes` spans tag and payload; `payload` spans the value only. */
export interface WireField {
  no: number;
  type: WireType;
  /** varint / fixed values as a number (exact below 2^53; fixed64 and big varints use `payload`). */
  num: number;
  payload: Uint8Array;
  bytes: Uint8Array;
}

export const MAX_FIELD_NUMBER = 536870911;

/**
 * Fields and packed values one load may decode. Each becomes a JS object, string or number that is
 * held, so a file of well-formed but absurd repetition (a gigabyte of empty node inputs, or of packed
 * dims) would otherwise run out of memory after minutes. 2^24 is some three times a million-node
 * graph's count.
 */
export const MAX_DECODED = 2 ** 24;
let budget = Infinity;

/** Too many fields or values for one model: well-formed, but more than a model is. */
export class LimitError extends WireError {
  constructor(offset: number) {
    super(`more than ${MAX_DECODED.toLocaleString('en-US')} protobuf fields and values (nodes, names, dims, attribute values; a field kept undecoded counts ${KEPT_FIELD_COST})`, offset);
  }
}

/** Runs `fn` (a decode) with the count of decoded fields and values bounded by MAX_DECODED. */
export function withDecodeBudget<T>(fn: () => T, limit = MAX_DECODED): T {
  const saved = budget;
  budget = limit;
  try {
    return fn();
  } finally {
    budget = saved;
  }
}

/**
 * A field kept as bytes (an unknown or undecoded field) holds a view object, several times the memory
 * of a decoded number or name: it counts as this many.
 */
export const KEPT_FIELD_COST = 4;

export function spend(n: number, offset: number): void {
  budget -= n;
  if (budget < 0) throw new LimitError(offset);
}

/** What is left of the budget (Infinity outside withDecodeBudget). */
export function budgetLeft(): number {
  return budget;
}

export class WireReader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError('truncated varint', start);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new WireError('varint longer than 10 bytes', start);
  }

  /** Reads the next field; throws WireError on anything malformed. */
  field(): WireField {
    const start = this.pos;
    const tag = this.varint();
    const no = Math.floor(tag / 8);
    const type = (tag & 7) as WireType;
    if (no < 1 || no > MAX_FIELD_NUMBER) throw new WireError(`invalid field number ${no}`, start);
    let num = 0;
    let payloadStart = this.pos;
    switch (type) {
      case WireType.Varint:
        num = this.varint();
        break;
      case WireType.Fixed64:
        this.skip(8, start);
        break;
      case WireType.Fixed32:
        this.skip(4, start);
        num = new DataView(this.buf.buffer, this.buf.byteOffset + payloadStart, 4).getUint32(0, true);
        break;
      case WireType.LengthDelimited: {
        const len = this.varint();
        payloadStart = this.pos;
        this.skip(len, start);
        num = len;
        break;
      }
      case WireType.StartGroup:
        this.skipGroup(no, start);
        break;
      default:
        throw new WireError(`invalid wire type ${type} for field ${no}`, start);
    }
    return {
      no,
      type,
      num,
      payload: this.buf.subarray(payloadStart, this.pos),
      bytes: this.buf.subarray(start, this.pos),
    };
  }

  private skip(n: number, fieldStart: number): void {
    if (n > this.end - this.pos) {
      throw new WireError(`field length ${n} runs past the end of the message`, fieldStart);
    }
    this.pos += n;
  }

  private skipGroup(no: number, fieldStart: number): void {
    for (;;) {
      if (this.done()) throw new WireError(`unterminated group ${no}`, fieldStart);
      const f = this.field();
      if (f.type === WireType.EndGroup) {
        if (f.no !== no) throw new WireError(`group ${no} closed by ${f.no}`, fieldStart);
        return;
      }
    }
  }
}

/** Iterates the fields of one message body. EndGroup at top level is malformed. */
export function* fields(buf: Uint8Array): Generator<WireField> {
  const r = new WireReader(buf);
  while (!r.done()) {
    const f = r.field();
    if (f.type === WireType.EndGroup) throw new WireError('unexpected end-group', f.bytes.byteOffset);
    spend(1, f.bytes.byteOffset);
    yield f;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

export function readString(f: WireField): string {
  if (f.type !== WireType.LengthDelimited) throw new WireError(`field ${f.no} should be a string`, 0);
  return utf8.decode(f.payload);
}

/** Signed 64-bit value of a varint field as a number (values past 2^53 lose precision, analysis only). */
export function readInt64(f: WireField): number {
  if (f.type === WireType.Varint) {
    if (f.num < 2 ** 53) return f.num;
    return Number(BigInt.asIntN(64, varintBig(f.payload)));
  }
  throw new WireError(`field ${f.no} should be a varint`, 0);
}

function varintBig(p: Uint8Array): bigint {
  let v = 0n;
  for (let i = p.length - 1; i >= 0; i--) v = (v << 7n) | BigInt(p[i]! & 0x7f);
  return v;
}

/** Packed or repeated int64 values (both encodings are legal for repeated scalars). */
export function readPackedInt64(f: WireField, out: number[]): void {
  if (f.type === WireType.Varint) {
    out.push(readInt64(f));
    return;
  }
  // Every varint takes at least one byte: the payload's length bounds the count before any is decoded.
  if (f.payload.byteLength > budget) spend(f.payload.byteLength, f.payload.byteOffset);
  const r = new WireReader(f.payload);
  const before = out.length;
  while (!r.done()) {
    const start = r.pos;
    const v = r.varint();
    if (v < 2 ** 53) out.push(v);
    else out.push(Number(BigInt.asIntN(64, varintBig(f.payload.subarray(start, r.pos)))));
  }
  spend(out.length - before, f.payload.byteOffset);
}

export function readPackedFloat(f: WireField, out: number[]): void {
  const view = new DataView(f.payload.buffer, f.payload.byteOffset, f.payload.byteLength);
  if (f.type === WireType.Fixed32) {
    out.push(view.getFloat32(0, true));
    return;
  }
  if (f.payload.byteLength % 4 !== 0) throw new WireError('packed floats not a multiple of 4 bytes', 0);
  spend(f.payload.byteLength / 4, f.payload.byteOffset);
  for (let i = 0; i < f.payload.byteLength; i += 4) out.push(view.getFloat32(i, true));
}

// ---------------------------------------------------------------------------------------------
// Writing: a message is a list of chunks. Tags, lengths, names and small views are written into one
// growing buffer per message; views of at least COPY_MAX bytes (tensor data, large messages) stay
// views, so tensor bytes are never copied until the final gathered write. A view below COPY_MAX never
// touches a weight the loader left in the file (those are at least 1 KiB, and a view spans whole fields).

/** Views shorter than this are copied into the message's buffer; longer ones are passed on as views. */
const COPY_MAX = 512;
/** A buffer whose written part reaches this is handed on as a chunk, and writing goes on in a new one. */
const SEGMENT = 64 * 1024;
const FIRST_BUFFER = 256;
/** The buffers a long message is written in, one after another. */
const SEGMENT_BUFFER = 2 * SEGMENT;
/** Buffers of finished nested messages whose bytes were copied out, reused by the next message. */
const spare: Uint8Array[] = [];
const float32Bytes = new Uint8Array(4);
const float32View = new DataView(float32Bytes.buffer);

export class WireWriter {
  /** Finished chunks, in order; the bytes after `start` in `buf` follow them. */
  private readonly done: Uint8Array[] = [];
  private doneLength = 0;
  /** Bytes handed over by take(). */
  private taken = 0;
  private buf: Uint8Array = EMPTY;
  private start = 0;
  private pos = 0;
  /** Some chunk is a view of `buf`: it must not be reused. */
  private shared = false;
  /**
   * With reuseTaken: segment buffers left since the last take() (their views go out in the next), those
   * left before it, and those free to write again.
   */
  private retired: Uint8Array[] | undefined;
  private retiredBefore: Uint8Array[] = [];
  private readonly free: Uint8Array[] = [];

  /**
   * reuseTaken: the caller is done with the chunks one take() hands over by the time it writes on
   * after the next take() (it writes each batch out while the next is built, and waits for that
   * before it builds another), so the buffers they were in are written again rather than new ones
   * faulted in.
   */
  constructor(options: { reuseTaken?: boolean } = {}) {
    if (options.reuseTaken) this.retired = [];
  }

  get length(): number {
    return this.doneLength + this.pos - this.start;
  }

  /** Every byte written, including those handed over by take(). */
  get written(): number {
    return this.taken + this.length;
  }

  get chunks(): Uint8Array[] {
    return this.finish();
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    if (pending >= SEGMENT) {
      this.cut();
      this.replace(n <= SEGMENT_BUFFER ? this.segment() : new Uint8Array(n), 0);
      return;
    }
    // Views still point into a shared buffer, which is never written again: a long message with many
    // views in it goes on in segments of bounded size instead of doubling the buffer each time.
    const size = this.shared ? Math.max(SEGMENT_BUFFER, pending + n) : Math.max(FIRST_BUFFER, 2 * this.buf.length, pending + n);
    const next = size === FIRST_BUFFER ? spare.pop() ?? new Uint8Array(FIRST_BUFFER) : size === SEGMENT_BUFFER ? this.segment() : new Uint8Array(size);
    next.set(this.buf.subarray(this.start, this.pos));
    this.replace(next, pending);
  }

  private replace(next: Uint8Array, pos: number): void {
    this.release();
    this.buf = next;
    this.start = 0;
    this.pos = pos;
    this.shared = false;
  }

  private segment(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(SEGMENT_BUFFER);
  }

  /** Gives the buffer back for reuse when nothing points into it, or (reuseTaken) once its chunks are written out. */
  private release(): void {
    if (!this.shared && this.buf.length === FIRST_BUFFER && spare.length < 64) spare.push(this.buf);
    else if (this.shared && this.retired && this.buf.length === SEGMENT_BUFFER) this.retired.push(this.buf);
    this.buf = EMPTY;
  }

  /** Ends the bytes written so far as a chunk (a view of the buffer). */
  private cut(): void {
    if (this.pos === this.start) return;
    this.push(this.buf.subarray(this.start, this.pos));
    this.shared = true;
    this.start = this.pos;
  }

  private push(c: Uint8Array): void {
    this.done.push(c);
    this.doneLength += c.byteLength;
  }

  private copy(bytes: Uint8Array): void {
    const n = bytes.length;
    if (this.pos + n > this.buf.length) this.room(n);
    // A few bytes (a small weight, a tag run) copy faster in a loop than through set()'s call.
    if (n <= 32) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = bytes[i]!;
      this.pos = p;
      return;
    }
    this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  private pushVarint(v: number | bigint): void {
    this.room(10);
    const buf = this.buf;
    if (typeof v === 'number' && v >= 0 && v < 0x80) {
      buf[this.pos++] = v;
      return;
    }
    if (typeof v === 'bigint' || v < 0 || v > Number.MAX_SAFE_INTEGER) {
      let b = BigInt.asUintN(64, BigInt(v));
      while (b >= 0x80n) {
        buf[this.pos++] = Number(b & 0x7fn) | 0x80;
        b >>= 7n;
      }
      buf[this.pos++] = Number(b);
      return;
    }
    while (v >= 0x80) {
      buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
  }

  tag(no: number, type: WireType): void {
    this.pushVarint(no * 8 + type);
  }

  /** The tag and length of a length-delimited field whose `length` payload bytes the caller writes next. */
  lengthDelimited(no: number, length: number): void {
    this.pushVarint(no * 8 + WireType.LengthDelimited);
    this.pushVarint(length);
  }

  varintField(no: number, v: number | bigint): void {
    this.tag(no, WireType.Varint);
    this.pushVarint(v);
  }

  /** Claims the next `n` bytes for the caller to fill before it writes anything else; returns where they start in `buffer`. */
  claim(n: number): number {
    if (this.pos + n > this.buf.length) this.room(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The buffer the last claim is in. */
  get buffer(): Uint8Array {
    return this.buf;
  }

  /** Raw bytes as they were read (a field with its tag): copied when short, else appended as a view. */
  raw(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (bytes.length < COPY_MAX) {
      this.copy(bytes);
      return;
    }
    this.cut();
    this.push(bytes);
  }

  bytesField(no: number, bytes: Uint8Array): void {
    this.tag(no, WireType.LengthDelimited);
    this.pushVarint(bytes.length);
    this.raw(bytes);
  }

  stringField(no: number, s: string): void {
    const n = s.length;
    if (no >= 16 || n >= 0x4000) {
      this.longStringField(no, s);
      return;
    }
    // The common case inline: a one-byte tag, a length of one or two bytes, ASCII written in one pass
    // (one byte per character); the first character past ASCII sends it to be written as UTF-8.
    if (this.pos + 3 + n > this.buf.length) this.room(3 + n);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = no * 8 + WireType.LengthDelimited;
    if (n < 0x80) buf[p++] = n;
    else {
      buf[p++] = (n & 0x7f) | 0x80;
      buf[p++] = n >> 7;
    }
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.utf8Field(no, s);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  private longStringField(no: number, s: string): void {
    const n = s.length;
    this.room(20 + n);
    const start = this.pos;
    this.tag(no, WireType.LengthDelimited);
    this.pushVarint(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start;
        this.utf8Field(no, s);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  private utf8Field(no: number, s: string): void {
    const bytes = utf8Encoder.encode(s);
    this.tag(no, WireType.LengthDelimited);
    this.pushVarint(bytes.length);
    this.copy(bytes);
  }

  messageField(no: number, w: WireWriter): void {
    this.tag(no, WireType.LengthDelimited);
    this.pushVarint(w.length);
    for (const c of w.done) this.raw(c);
    const pending = w.buf.subarray(w.start, w.pos);
    if (pending.length < COPY_MAX) {
      this.copy(pending);
      w.release();
    } else {
      this.cut();
      this.push(pending);
      w.shared = true;
    }
    w.done.length = 0;
    w.doneLength = 0;
    w.start = w.pos = 0;
    w.buf = EMPTY;
  }

  packedInt64Field(no: number, values: readonly number[]): void {
    let length = 0;
    for (const v of values) length += varintSize(v);
    this.lengthDelimited(no, length);
    for (const v of values) this.pushVarint(v);
  }

  fixed32FloatField(no: number, v: number): void {
    this.tag(no, WireType.Fixed32);
    float32View.setFloat32(0, v, true);
    this.copy(float32Bytes);
  }

  finish(): Uint8Array[] {
    this.cut();
    return this.done;
  }

  /**
   * The chunks written since the last take, handed over: the writer forgets them and goes on after
   * them, so a long encoding can be written out in batches without holding all of it.
   */
  take(): Uint8Array[] {
    this.cut();
    const out = this.done.slice();
    this.taken += this.doneLength;
    this.done.length = 0;
    this.doneLength = 0;
    if (this.retired) {
      // Views in the chunks taken before these are done with once the caller writes on.
      for (const b of this.retiredBefore) this.free.push(b);
      this.retiredBefore = this.retired;
      this.retired = [];
    }
    return out;
  }

  /** Concatenates into one buffer (small messages, tests). */
  toBytes(): Uint8Array {
    const chunks = this.finish();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const EMPTY = new Uint8Array(0);
const utf8Sizer = new TextEncoder();

/** Bytes of a varint as pushVarint writes it (negative and huge values as 64-bit two's complement). */
export function varintSize(v: number | bigint): number {
  if (typeof v === 'number' && v >= 0 && v < 0x80) return 1;
  if (typeof v === 'bigint' || v < 0 || v > Number.MAX_SAFE_INTEGER) {
    let b = BigInt.asUintN(64, BigInt(v));
    let n = 1;
    while (b >= 0x80n) {
      n++;
      b >>= 7n;
    }
    return n;
  }
  let n = 1;
  while (v >= 0x80) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}

/** UTF-8 bytes of `s` as stringField writes it (lone surrogates as U+FFFD, as TextEncoder does). */
export function utf8Length(s: string): number {
  // The regular expression scans in native code, some times faster than a loop over charCodeAt.
  return NON_ASCII.test(s) ? utf8Sizer.encode(s).length : s.length;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Bytes of a length-delimited field (tag, length, payload) with a payload of `length` bytes. */
export function lengthDelimitedSize(no: number, length: number): number {
  return varintSize(no * 8 + WireType.LengthDelimited) + varintSize(length) + length;
}
