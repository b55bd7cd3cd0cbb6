// A sealed block's bytes, laid out once per shape. Every block made from one template encodes to the
// same bytes but for its prefix, the tensor it scales and its drawn weights; and where those go depends
// only on their lengths. So a template, described as parts (the bytes all its blocks share, the places
// of the block's names and weights, the length-delimited fields around them), is laid out once per
// pair of name lengths into copies with holes, and a block is written as those copies with its own
// names and weights put into the holes: no sizing walk, no encoder, no object per name or node.

import type { ByteSink } from '../ir/sealed.js';
import { DataType } from '../onnx/proto.js';
import { varintSize } from '../onnx/wire.js';
import type { UniformStream } from '../random.js';
import { heUniform, initialBytes } from './build.js';
import type { WeightInit } from './build.js';

/** A weight as the layout writes it: its data is `count` elements of `dataType`, made from `init`. */
export interface LaidWeight {
  readonly dataType: number;
  readonly count: number;
  readonly init: WeightInit;
  /** Its data's length in bytes. */
  readonly length: number;
}

/** A part of a template's encoding, in the order it is written. */
export type Part =
  /** Bytes every block shares. */
  | Uint8Array
  /** The block's own names, as UTF-8. */
  | 'prefix'
  | 'tensor'
  /** A length-delimited field holding its parts; with `ifNotEmpty`, left out when they are empty. */
  | { readonly no: number; readonly parts: readonly Part[]; readonly ifNotEmpty: boolean }
  /** The data of weight `weight` (an index into the template's weights). */
  | { readonly weight: number };

/**
 * Bytes copied as they are, with the block's prefix, tensor and small drawn weights put in at these
 * offsets; or, without `bytes`, the data of `weight` written apart (a large one, which the writer
 * keeps as a view). One shape for both, so the writing loop sees one kind of object.
 */
interface Piece {
  readonly bytes: Uint8Array | undefined;
  readonly prefixAt: Int32Array;
  readonly tensorAt: Int32Array;
  readonly drawAt: Int32Array;
  /** The weight drawn at each of drawAt. */
  readonly drawn: Int32Array;
  readonly weight: number;
}

/** Parts laid out for one pair of name lengths. */
export interface Layout {
  readonly length: number;
  readonly pieces: readonly Piece[];
}

const NO_OFFSETS = new Int32Array(0);

/** Data of at least this many bytes is written apart: a writer keeps such bytes as a view, never a copy. */
const APART = 512;

export function layOut(parts: readonly Part[], prefixLength: number, tensorLength: number, weights: readonly LaidWeight[]): Layout {
  const pieces: Piece[] = [];
  let bytes: number[] = [], prefixAt: number[] = [], tensorAt: number[] = [], drawAt: number[] = [], drawn: number[] = [];
  const endCopy = () => {
    if (!bytes.length) return;
    pieces.push({ bytes: Uint8Array.from(bytes), prefixAt: Int32Array.from(prefixAt), tensorAt: Int32Array.from(tensorAt), drawAt: Int32Array.from(drawAt), drawn: Int32Array.from(drawn), weight: -1 });
    bytes = [], prefixAt = [], tensorAt = [], drawAt = [], drawn = [];
  };
  const hole = (n: number) => {
    for (let i = 0; i < n; i++) bytes.push(0);
  };
  const varint = (v: number) => {
    for (; v >= 0x80; v = Math.floor(v / 128)) bytes.push((v % 128) | 0x80);
    bytes.push(v);
  };
  // Parts are told apart by their keys, not by instanceof: bytes may come from another realm's TextEncoder.
  const size = (p: Part): number => {
    if (p === 'prefix') return prefixLength;
    if (p === 'tensor') return tensorLength;
    if ('weight' in p) return weights[p.weight]!.length;
    if (!('no' in p)) return p.length;
    const n = p.parts.reduce((sum, q) => sum + size(q), 0);
    return n === 0 && p.ifNotEmpty ? 0 : varintSize(p.no * 8 + 2) + varintSize(n) + n;
  };
  const emit = (p: Part): void => {
    if (p === 'prefix') prefixAt.push(bytes.length), hole(prefixLength);
    else if (p === 'tensor') tensorAt.push(bytes.length), hole(tensorLength);
    else if ('weight' in p) {
      const w = weights[p.weight]!;
      if (w.length >= APART) {
        endCopy();
        pieces.push({ bytes: undefined, prefixAt: NO_OFFSETS, tensorAt: NO_OFFSETS, drawAt: NO_OFFSETS, drawn: NO_OFFSETS, weight: p.weight });
      } else if (w.init.kind === 'fixed') for (const b of w.init.bytes) bytes.push(b);
      else if (w.init.kind === 'zeros') hole(w.length);
      else drawAt.push(bytes.length), drawn.push(p.weight), hole(w.length);
    } else if (!('no' in p)) for (const b of p) bytes.push(b);
    else {
      const n = p.parts.reduce((sum, q) => sum + size(q), 0);
      if (n === 0 && p.ifNotEmpty) return;
      varint(p.no * 8 + 2);
      varint(n);
      p.parts.forEach(emit);
    }
  };
  const length = parts.reduce((sum, p) => sum + size(p), 0);
  parts.forEach(emit);
  endCopy();
  return { length, pieces };
}

/** A block's own names and their lengths in UTF-8 bytes. */
export interface BlockNames {
  readonly prefix: string;
  readonly prefixLength: number;
  readonly tensor: string;
  readonly tensorLength: number;
}

/** The names of the block being written, as UTF-8: the prefix, then the tensor. */
let nameBytes = new Uint8Array(256);
let nameView: DataView = new DataView(nameBytes.buffer);
const utf8 = new TextEncoder();
/** The output buffer last written into, as a DataView: names are copied four bytes at a time. */
let outBytes: Uint8Array | undefined;
let outView: DataView = nameView;

/**
 * Writes one block by the layout; `rng` is the block's stream, which its drawn weights continue in
 * order. Float32 weights are drawn into one reused array per weight (`scratch`), not a new one per block.
 */
export function writeLayout(out: ByteSink, layout: Layout, names: BlockNames, weights: readonly LaidWeight[], rng: UniformStream | undefined, scratch: Scratch[]): void {
  const p = names.prefixLength, t = names.tensorLength;
  if (nameBytes.length < p + t + 4) {
    nameBytes = new Uint8Array(2 * (p + t + 4));
    nameView = new DataView(nameBytes.buffer);
  }
  encode(names.prefix, p, 0);
  encode(names.tensor, t, p);
  const pieces = layout.pieces;
  for (let k = 0; k < pieces.length; k++) {
    const piece = pieces[k]!;
    if (piece.bytes === undefined) {
      const w = weights[piece.weight]!;
      out.raw(initialBytes(w.init, w.count, w.dataType, rng!));
      continue;
    }
    const at = out.claim(piece.bytes.length);
    const buf = out.buffer;
    if (buf !== outBytes) {
      outBytes = buf;
      outView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    buf.set(piece.bytes, at);
    putName(buf, at, piece.prefixAt, 0, p);
    putName(buf, at, piece.tensorAt, p, t);
    for (let i = 0; i < piece.drawAt.length; i++) {
      const index = piece.drawn[i]!, w = weights[index]!;
      buf.set(drawn(w, rng!, (scratch[index] ??= scratchFor(w.count))), at + piece.drawAt[i]!);
    }
  }
}

/** Puts `s` (of `length` UTF-8 bytes) into nameBytes at `at`: ASCII from its characters, else through the encoder. */
function encode(s: string, length: number, at: number): void {
  if (length !== s.length) {
    utf8.encodeInto(s, nameBytes.subarray(at, at + length));
    return;
  }
  for (let i = 0; i < length; i++) nameBytes[at + i] = s.charCodeAt(i);
}

/** Copies nameBytes[from, from + length) to each offset in `offsets` from `at`: in four-byte words, then the bytes left. */
function putName(buf: Uint8Array, at: number, offsets: Int32Array, from: number, length: number): void {
  const words = length & ~3, out = outView, names = nameView, bytes = nameBytes;
  for (let i = 0; i < offsets.length; i++) {
    const to = at + offsets[i]!;
    let j = 0;
    for (; j < words; j += 4) out.setUint32(to + j, names.getUint32(from + j));
    for (; j < length; j++) buf[to + j] = bytes[from + j]!;
  }
}

/** An array a float32 weight is drawn into, and its bytes. */
export interface Scratch {
  floats: Float32Array;
  bytes: Uint8Array;
}

function scratchFor(count: number): Scratch {
  const floats = new Float32Array(count);
  return { floats, bytes: new Uint8Array(floats.buffer) };
}

/** A drawn weight's bytes, as initialBytes makes them; float32 ones drawn into `into`. */
function drawn(w: LaidWeight, rng: UniformStream, into: Scratch): Uint8Array {
  if (w.dataType !== DataType.FLOAT || w.init.kind !== 'he') return initialBytes(w.init, w.count, w.dataType, rng);
  heUniform(w.init.fanIn, rng, into.floats);
  return into.bytes;
}
