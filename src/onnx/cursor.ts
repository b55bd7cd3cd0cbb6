// The decoder's protobuf reader: it accepts and refuses exactly what WireReader and fields() do, with
// the same WireError messages and offsets and the same budget spent, but allocates nothing per field.
// The field just read lives in the cursor's own properties (number, wire type, value, where its bytes
// are), not in an object with two views, and strings are read straight from the bytes. A model of
// 40,000 nodes and as many tensors holds some 540,000 fields: per-field objects were most of the
// decode's time and memory.

import { MAX_FIELD_NUMBER, WireError, WireType, budgetLeft, spend } from './wire.js';

export class WireCursor {
  /** Index in `buf` of the next byte to read. */
  pos = 0;
  /** The field just read: its number and wire type. */
  no = 0;
  type: WireType = WireType.Varint;
  /** Varint and fixed32 values as a number (exact below 2^53), the length of a length-delimited value, else 0. */
  num = 0;
  /** Index of the field's tag. */
  start = 0;
  /** Index of its value: past the tag, and past the length of a length-delimited field. Its end is `pos`. */
  value = 0;
  private view: DataView | undefined;
  /** A plain Uint8Array: views of it are made with the constructor, twice as fast as subarray. */
  private readonly plain: boolean;
  /** buf's offset in its ArrayBuffer. */
  private readonly offset: number;

  /** Strings read, by their bytes: one table per buffer, sized to it (a cursor that only compares has none). */
  private readonly names: Interned | undefined;

  /** `counted`: each field read spends one from the decode budget, as fields() does. */
  constructor(readonly buf: Uint8Array, private readonly counted = true) {
    this.plain = Object.getPrototypeOf(buf) === Uint8Array.prototype;
    this.offset = buf.byteOffset;
    this.names = counted ? new Interned(buf.length) : undefined;
  }

  /**
   * Reads the field at `pos` of the message that spans [base, end) of the buffer. Offsets in errors
   * count from `base`, as WireReader's do from the start of the view it reads; the budget's count
   * from the start of the ArrayBuffer, as fields()'s do.
   */
  next(base: number, end: number): void {
    const buf = this.buf;
    const p = this.pos;
    const tag = buf[p]!;
    const b = buf[p + 1]!;
    // Most fields: a one-byte tag (fields 1 to 15) and a one-byte varint or length.
    if (tag < 0x80 && tag >= 8 && b < 0x80 && p + 2 <= end) {
      const type = tag & 7;
      if (type === WireType.LengthDelimited && b <= end - p - 2) {
        this.set(tag >> 3, type, b, p, p + 2, p + 2 + b);
        return;
      }
      if (type === WireType.Varint) {
        this.set(tag >> 3, type, b, p, p + 1, p + 2);
        return;
      }
    }
    this.field(base, end);
    if (this.counted) spend(1, this.offset + this.start);
  }

  private set(no: number, type: WireType, num: number, start: number, value: number, pos: number): void {
    this.no = no;
    this.type = type;
    this.num = num;
    this.start = start;
    this.value = value;
    this.pos = pos;
    if (this.counted) spend(1, this.offset + start);
  }

  private field(base: number, end: number): void {
    const buf = this.buf;
    const start = this.pos;
    let tag = buf[start]!;
    if (tag < 0x80 && start < end) this.pos = start + 1;
    else tag = this.varint(base, end);
    const no = Math.floor(tag / 8);
    const type = (tag & 7) as WireType;
    if (no < 1 || no > MAX_FIELD_NUMBER) throw new WireError(`invalid field number ${no}`, start - base);
    let num = 0;
    let value = this.pos;
    switch (type) {
      case WireType.Varint: {
        const b = buf[value]!;
        if (b < 0x80 && value < end) {
          num = b;
          this.pos = value + 1;
        } else {
          num = this.varint(base, end);
        }
        break;
      }
      case WireType.Fixed64:
        this.skip(8, start, base, end);
        break;
      case WireType.Fixed32:
        this.skip(4, start, base, end);
        num = (buf[value]! | (buf[value + 1]! << 8) | (buf[value + 2]! << 16) | (buf[value + 3]! << 24)) >>> 0;
        break;
      case WireType.LengthDelimited: {
        const b = buf[value]!;
        let len: number;
        if (b < 0x80 && value < end) {
          len = b;
          this.pos = value + 1;
        } else {
          len = this.varint(base, end);
        }
        value = this.pos;
        this.skip(len, start, base, end);
        num = len;
        break;
      }
      case WireType.StartGroup:
        this.skipGroup(no, start, base, end);
        break;
      default:
        throw new WireError(`invalid wire type ${type} for field ${no}`, start - base);
    }
    this.no = no;
    this.type = type;
    this.num = num;
    this.start = start;
    this.value = value;
  }

  private varint(base: number, end: number): number {
    const buf = this.buf;
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new WireError('truncated varint', start - base);
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new WireError('varint longer than 10 bytes', start - base);
  }

  private skip(n: number, fieldStart: number, base: number, end: number): void {
    if (n > end - this.pos) throw new WireError(`field length ${n} runs past the end of the message`, fieldStart - base);
    this.pos += n;
  }

  private skipGroup(no: number, fieldStart: number, base: number, end: number): void {
    for (;;) {
      if (this.pos >= end) throw new WireError(`unterminated group ${no}`, fieldStart - base);
      this.field(base, end);
      if (this.type === WireType.EndGroup) {
        if (this.no !== no) throw new WireError(`group ${no} closed by ${this.no}`, fieldStart - base);
        return;
      }
    }
  }

  /** Where the field starts in its ArrayBuffer: the offset budget errors name. */
  at(): number {
    return this.offset + this.start;
  }

  /** The value's bytes, as a view. */
  payload(): Uint8Array {
    return this.slice(this.value, this.pos);
  }

  /** The whole field, tag included, as a view. */
  bytes(): Uint8Array {
    return this.slice(this.start, this.pos);
  }

  /** A view of buf[from, to), of buf's class (a Buffer's views are Buffers, as subarray makes them). */
  slice(from: number, to: number): Uint8Array {
    const buf = this.buf;
    return this.plain ? new Uint8Array(buf.buffer, this.offset + from, to - from) : buf.subarray(from, to);
  }

  /** As readString. */
  string(): string {
    if (this.type !== WireType.LengthDelimited) throw new WireError(`field ${this.no} should be a string`, 0);
    return this.names ? this.names.utf8(this.buf, this.value, this.pos) : utf8(this.buf, this.value, this.pos);
  }

  /** The field is a string equal to `s`. */
  isString(s: string): boolean {
    return this.type === WireType.LengthDelimited && equalsUtf8(s, this.buf, this.value, this.pos);
  }

  /** As readInt64. */
  int64(): number {
    if (this.type !== WireType.Varint) throw new WireError(`field ${this.no} should be a varint`, 0);
    return this.num < 2 ** 53 ? this.num : bigVarint(this.buf, this.value, this.pos);
  }

  /** As readPackedInt64, writing from out[n]; returns the new count (lists are read into reused arrays). */
  int64s(out: number[], n: number): number {
    if (this.type === WireType.Varint) {
      out[n] = this.int64();
      return n + 1;
    }
    const from = this.value;
    const to = this.pos;
    const at = this.buf.byteOffset + from;
    // Every varint takes at least one byte: the payload's length bounds the count before any is decoded.
    if (to - from > budgetLeft()) spend(to - from, at);
    const before = n;
    this.pos = from;
    while (this.pos < to) {
      const start = this.pos;
      const v = this.varint(from, to);
      out[n++] = v < 2 ** 53 ? v : bigVarint(this.buf, start, this.pos);
    }
    spend(n - before, at);
    return n;
  }

  /** As readPackedFloat. */
  floats(out: number[]): void {
    const view = (this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
    if (this.type === WireType.Fixed32) {
      out.push(view.getFloat32(this.value, true));
      return;
    }
    const length = this.pos - this.value;
    if (length % 4 !== 0) throw new WireError('packed floats not a multiple of 4 bytes', 0);
    spend(length / 4, this.buf.byteOffset + this.value);
    for (let i = this.value; i < this.pos; i += 4) out.push(view.getFloat32(i, true));
  }
}

function bigVarint(buf: Uint8Array, from: number, to: number): number {
  let v = 0n;
  for (let i = to - 1; i >= from; i--) v = (v << 7n) | BigInt(buf[i]! & 0x7f);
  return Number(BigInt.asIntN(64, v));
}

// ---------------------------------------------------------------------------------------------
// Strings. Names in ONNX files are short and ASCII: built from char codes, they skip TextDecoder's
// per-call cost; anything else goes through TextDecoder, whose result they equal. Short strings are
// interned, so that the op types, domains and attribute names repeated on every node, and a value's
// name read as a node's output, as its readers' inputs and as an initializer's name, are one string.

const textDecoder = new TextDecoder('utf-8', { fatal: false });
/** Longer strings go through TextDecoder. */
const SHORT_MAX = 64;
const INTERN_MAX = 32;
/** One array of char codes per length, filled and spread into String.fromCharCode. */
const CODES: number[][] = Array.from({ length: SHORT_MAX + 1 }, (_, n) => Array.from({ length: n }, () => 0));

/** Short strings by the hash of their bytes; a slot holds the last one read. */
class Interned {
  private readonly strings: string[];
  /** Each slot's hash: a miss is seen without reading the string, which is rarely in the CPU's cache. */
  private readonly hashes: Int32Array;
  private readonly mask: number;

  /**
   * A slot per 256 bytes of the buffer, 256 to 4,096: a value's name is read again a node or two
   * later, and a small table stays in the CPU's cache.
   */
  constructor(bytes: number) {
    let slots = 256;
    while (slots < 4096 && slots * 256 < bytes) slots *= 2;
    this.strings = new Array<string>(slots).fill('');
    this.hashes = new Int32Array(slots);
    this.mask = slots - 1;
  }

  /** The bytes [from, to) as TextDecoder('utf-8') reads them. */
  utf8(buf: Uint8Array, from: number, to: number): string {
    const n = to - from;
    if (n === 0) return '';
    if (n > INTERN_MAX) return n > SHORT_MAX || !isAscii(buf, from, to) ? textDecoder.decode(buf.subarray(from, to)) : ascii(buf, from, n);
    // The length and the first and last bytes: names that differ mostly differ there ("conv12", "conv13").
    const h = Math.imul(Math.imul(Math.imul(n ^ buf[from]!, 0x01000193) ^ buf[to - 1]!, 0x01000193) ^ (n > 1 ? buf[to - 2]! : 0), 0x01000193);
    const slot = (h ^ (h >>> 15)) & this.mask;
    if (this.hashes[slot] === h) {
      const hit = this.strings[slot]!;
      // Only ASCII strings are kept: equal char codes mean ASCII bytes.
      if (hit.length === n && sameAscii(hit, buf, from)) return hit;
    }
    if (!isAscii(buf, from, to)) return textDecoder.decode(buf.subarray(from, to));
    this.hashes[slot] = h;
    return (this.strings[slot] = ascii(buf, from, n));
  }
}

function isAscii(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/** The n ASCII bytes from `from` as a string; the common short lengths without an array. */
function ascii(b: Uint8Array, f: number, n: number): string {
  switch (n) {
    case 1: return String.fromCharCode(b[f]!);
    case 2: return String.fromCharCode(b[f]!, b[f + 1]!);
    case 3: return String.fromCharCode(b[f]!, b[f + 1]!, b[f + 2]!);
    case 4: return String.fromCharCode(b[f]!, b[f + 1]!, b[f + 2]!, b[f + 3]!);
    case 5: return String.fromCharCode(b[f]!, b[f + 1]!, b[f + 2]!, b[f + 3]!, b[f + 4]!);
    case 6: return String.fromCharCode(b[f]!, b[f + 1]!, b[f + 2]!, b[f + 3]!, b[f + 4]!, b[f + 5]!);
    case 7: return String.fromCharCode(b[f]!, b[f + 1]!, b[f + 2]!, b[f + 3]!, b[f + 4]!, b[f + 5]!, b[f + 6]!);
    case 8: return String.fromCharCode(b[f]!, b[f + 1]!, b[f + 2]!, b[f + 3]!, b[f + 4]!, b[f + 5]!, b[f + 6]!, b[f + 7]!);
    default: {
      const codes = CODES[n]!;
      for (let i = 0; i < n; i++) codes[i] = b[f + i]!;
      return String.fromCharCode.apply(null, codes);
    }
  }
}

function sameAscii(s: string, buf: Uint8Array, from: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buf[from + i]) return false;
  return true;
}

/** The bytes [from, to) as TextDecoder('utf-8') reads them, for a cursor without a table. */
function utf8(buf: Uint8Array, from: number, to: number): string {
  return textDecoder.decode(buf.subarray(from, to));
}

/** `s` is what the bytes [from, to) decode to. */
function equalsUtf8(s: string, buf: Uint8Array, from: number, to: number): boolean {
  if (to - from === s.length) {
    let i = 0;
    while (i < s.length && buf[from + i]! < 0x80 && s.charCodeAt(i) === buf[from + i]) i++;
    if (i === s.length) return true;
    if (buf[from + i]! < 0x80) return false;
  }
  return textDecoder.decode(buf.subarray(from, to)) === s;
}

/** `a` holds the same bytes as buf[from, to). */
export function sameBytes(a: Uint8Array, buf: Uint8Array, from: number, to: number): boolean {
  if (a.length !== to - from) return false;
  if (a.buffer === buf.buffer && a.byteOffset === buf.byteOffset + from) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[from + i]) return false;
  return true;
}
