// Seeded mutations of ONNX files for the fuzzer. Byte-level ones (bit flips, truncation) test the wire
// reader; structural ones walk into a random nested message (graph → node → attribute → tensor ...),
// change one field there and fix every enclosing length, so the damage reaches the decoder and the
// passes instead of being caught by the first length check.

import { WireReader, WireType, WireWriter } from '../../src/onnx/wire.js';
import type { WireField } from '../../src/onnx/wire.js';
import { mulberry32 } from '../../src/random.js';

export type Rng = () => number;

/** The library's seeded PRNG (mulberry32): the same sequence on every machine. */
export const rng = (seed: number): Rng => mulberry32(seed);

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

export const MUTATIONS = ['bitflip', 'truncate', 'duplicate', 'delete', 'swap-type', 'huge-length', 'extreme-varint'] as const;
export type Mutation = (typeof MUTATIONS)[number];

export function mutate(input: Uint8Array, kind: Mutation, r: Rng): Uint8Array {
  if (kind === 'bitflip') {
    const out = new Uint8Array(input); // a copy (Buffer.slice would be a view)
    for (let i = 1 + int(r, 8); i > 0; i--) out[int(r, out.length)]! ^= 1 << int(r, 8);
    return out;
  }
  if (kind === 'truncate') return input.slice(0, int(r, input.length));
  return mutateMessage(input, kind, r, 0) ?? input;
}

function parse(buf: Uint8Array): WireField[] | undefined {
  try {
    const r = new WireReader(buf);
    const out: WireField[] = [];
    while (!r.done()) out.push(r.field());
    return out.length ? out : undefined;
  } catch {
    return undefined;
  }
}

/** Changes one field somewhere below `buf`; undefined when `buf` is not a message. */
function mutateMessage(buf: Uint8Array, kind: Mutation, r: Rng, depth: number): Uint8Array | undefined {
  const fs = parse(buf);
  if (!fs) return undefined;
  // extreme-varint ends on a varint (dims, data types, attribute ints); the others on any field.
  const ends = fs.flatMap((x, j) => (kind !== 'extreme-varint' || x.type === WireType.Varint ? [j] : []));
  const i = ends.length && r() < 0.3 ? pick(r, ends) : int(r, fs.length);
  const f = fs[i]!;
  const parts: Uint8Array[] = fs.map((x) => x.bytes);
  if (f.type === WireType.LengthDelimited && depth < 8 && r() < 0.75) {
    const inner = mutateMessage(f.payload, kind, r, depth + 1);
    if (inner) {
      parts[i] = lengthDelimited(f.no, inner);
      return concat(parts);
    }
  }
  const at = ends.includes(i) ? i : ends.length ? pick(r, ends) : -1;
  if (at < 0) return undefined;
  parts.splice(at, 1, ...changeField(fs[at]!, kind, r));
  return concat(parts);
}

function changeField(f: WireField, kind: Mutation, r: Rng): Uint8Array[] {
  switch (kind) {
    case 'duplicate': return [f.bytes, f.bytes];
    case 'delete': return [];
    case 'swap-type': {
      const type = pick(r, [WireType.Varint, WireType.Fixed64, WireType.LengthDelimited, WireType.Fixed32, WireType.StartGroup].filter((t) => t !== f.type));
      return [varint(f.no * 8 + type), f.payload];
    }
    case 'huge-length':
      return [varint(f.no * 8 + WireType.LengthDelimited), varint(pick(r, [2 ** 31 - 1, 2 ** 32 + 7, 2 ** 53 - 1, 2 ** 62])), f.payload];
    default: {
      const w = new WireWriter();
      w.varintField(f.no, pick(r, [0, 1, -1, 2 ** 31, 2 ** 53, -(2 ** 40), 1e12]));
      return [w.toBytes()];
    }
  }
}

function varint(v: number): Uint8Array {
  const out: number[] = [];
  let b = BigInt(v);
  while (b >= 0x80n) {
    out.push(Number(b & 0x7fn) | 0x80);
    b >>= 7n;
  }
  out.push(Number(b));
  return Uint8Array.from(out);
}

function lengthDelimited(no: number, payload: Uint8Array): Uint8Array {
  const w = new WireWriter();
  w.bytesField(no, payload);
  return w.toBytes();
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
