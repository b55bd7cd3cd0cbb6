// Which bytes of a large model to leave in its input, and how output pieces map back onto it: the scan
// and the piece logic of deferred.ts, with no file system. A host supplies the reads (Node: positioned
// reads of a file descriptor; a browser: FileReaderSync over Blob slices).

import type { Deferred, FileRegion } from '../host/types.js';
import { SeInjectError, quote } from '../errors.js';
import { MAX_DECODED, WireType } from './wire.js';

/** Files below this are read whole: scanning saves nothing there. */
export const DEFER_FILES_FROM = 4 * 1024 * 1024;
/** Initializer payloads at least this large are left in the file until the save. */
export const DEFER_MIN_BYTES = 256 * 1024;
export const WINDOW = 64 * 1024;

/** Below this a tensor is always read: shape constants, which analysis folds, stay far smaller. */
export const DEFER_FLOOR = 1024;

/** Which weights stay in the file (tensors from `minTensorBytes`, at least 1 KiB); `false` reads everything. */
export type DeferOptions = false | { fromFileBytes?: number; minTensorBytes?: number };

export function tooLargeError(file: string, size: number): SeInjectError {
  return new SeInjectError('input', `${quote(file)} is ${(size / 2 ** 30).toFixed(2)} GiB, over protobuf's 2 GiB limit for one message: no ONNX reader can load it; save the model with its weights as external data (onnx.save_model(model, path, save_as_external_data=True)) and give that`);
}

export class GiveUp extends Error {}
/** The scan met bytes no protobuf reader accepts at `at`; nothing past them was read. */
export class Malformed extends Error {
  constructor(readonly at: number) {
    super(`malformed at byte ${at}`);
  }
}

/** Which messages the scan descends into: the model, its graph, the graph's initializers. */
const MODEL = 0, GRAPH = 1, TENSOR = 2, OTHER = 3;

/** Which nested message each length-delimited field of a kind holds, where the scan descends. */
function child(kind: number, no: number): number {
  if (kind === MODEL && no === 7) return GRAPH;
  if (kind === GRAPH && no === 5) return TENSOR;
  return OTHER;
}

const MAX_FIELD_NUMBER = 536870911;

/**
 * The holes of a model being read into `bytes` (the size of the input): `fill(bytes, from, to)` loads
 * bytes[from, to) from the input at the same offsets and returns false when the input ends first. Throws
 * GiveUp for what only a whole read can judge (groups, a short input), Malformed at bytes no decoder accepts.
 */
export function scan(fill: (bytes: Uint8Array, from: number, to: number) => boolean, bytes: Uint8Array, minTensorBytes: number): Deferred['holes'] {
  const s = new Scan(fill, bytes, minTensorBytes);
  s.message(0, bytes.length, MODEL);
  return s.holes;
}

/**
 * One scan's state. Invariant: every byte in [scan position, loadedTo) is loaded; the scan only moves
 * forward. Every field's bytes are loaded as it passes them, holes apart: a scan that leaves none has
 * read the file. A class, not closures over shared variables: the walk visits every field of the
 * graph and of each initializer, and its one-byte tags and lengths take the short path.
 */
class Scan {
  readonly holes: Deferred['holes'] = [];
  private loadedTo = 0;
  /** The position after the varint read last (no pair allocated per varint). */
  private next = 0;
  /**
   * The decoder decodes every field the scan visits (and more): past its budget the scan can stop, as
   * the decoder will fail before the same byte.
   */
  private visits = 0;

  constructor(
    private readonly fill: (bytes: Uint8Array, from: number, to: number) => boolean,
    private readonly bytes: Uint8Array,
    private readonly minTensorBytes: number,
  ) {}

  private ensure(pos: number, n: number): void {
    const bytes = this.bytes;
    const want = Math.min(bytes.length, pos + n);
    if (want <= this.loadedTo) return;
    const from = Math.max(pos, this.loadedTo);
    const to = Math.min(bytes.length, Math.max(want, from + WINDOW));
    if (!this.fill(bytes, from, to)) throw new GiveUp();
    this.loadedTo = to;
  }

  /** A varint past its message's end, or of more than 10 bytes: malformed at the field that holds it. */
  private varint(pos: number, end: number, field: number): number {
    if (pos + 10 > this.loadedTo) this.ensure(pos, 10);
    const bytes = this.bytes;
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10 && pos < end; i++) {
      const b = bytes[pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.next = pos;
        return v;
      }
      scale *= 128;
    }
    throw new Malformed(field);
  }

  /**
   * The scan reads inside the graph and the initializers only. A tensor shorter than a hole cannot hold
   * one: it is read whole, unwalked; whatever is wrong inside it the decoder finds at the same byte,
   * every byte before it being read (the walk only stops early, it never decides an error).
   */
  private descends(kind: number, no: number, len: number): boolean {
    const into = child(kind, no);
    return into === GRAPH || (into === TENSOR && (len >= this.minTensorBytes || len > MAX_DECODED));
  }

  message(start: number, end: number, kind: number): void {
    const bytes = this.bytes;
    let pos = start;
    while (pos < end) {
      const field = pos;
      if (++this.visits > MAX_DECODED) throw new Malformed(field);
      // A one-byte tag, as varint() reads it.
      let tag: number, afterTag: number;
      if (pos + 10 > this.loadedTo) this.ensure(pos, 10);
      const t0 = bytes[pos]!;
      if (t0 < 0x80) {
        tag = t0;
        afterTag = pos + 1;
      } else {
        tag = this.varint(pos, end, field);
        afterTag = this.next;
      }
      const no = Math.floor(tag / 8);
      const type = tag & 7;
      if (no < 1 || no > MAX_FIELD_NUMBER) throw new Malformed(field);
      if (type === WireType.Varint) {
        this.varint(afterTag, end, field);
        pos = this.next;
      }
      else if (type === WireType.Fixed64 || type === WireType.Fixed32) {
        pos = afterTag + (type === WireType.Fixed64 ? 8 : 4);
        this.ensure(afterTag, pos - afterTag);
      }
      else if (type === WireType.LengthDelimited) {
        let len: number, payload: number;
        const l0 = bytes[afterTag]!;
        // A one-byte length inside the message (and loaded: the tag's ensure covered 10 bytes).
        if (l0 < 0x80 && afterTag < end) {
          len = l0;
          payload = afterTag + 1;
        } else {
          len = this.varint(afterTag, end, field);
          payload = this.next;
        }
        pos = payload + len;
        if (pos > end) throw new Malformed(field);
        if (kind === TENSOR && no === 9 && len >= this.minTensorBytes) this.holes.push({ start: payload, end: pos });
        // Packed dims longer than the decode budget: the decoder refuses them by their length alone.
        else if (kind === TENSOR && no === 1 && len > MAX_DECODED) throw new Malformed(field);
        else if (this.descends(kind, no, len)) this.message(payload, pos, child(kind, no));
        else if (pos > this.loadedTo) this.ensure(payload, len);
      } else if (type === WireType.StartGroup) throw new GiveUp(); // legal but unused by ONNX: the decoder judges
      else throw new Malformed(field);
      if (pos > end) throw new Malformed(field);
    }
  }
}

/**
 * Splits output chunks into bytes in memory and regions still in the input file: a chunk that views a
 * hole of `deferred` becomes a FileRegion. Chunks of other buffers pass through.
 *
 * Outside the holes the source buffer holds the file's bytes at the same offsets and is never written
 * after the scan, so the small views between two holes (tensor headers, small tensors) are copied from
 * the file along with them, and so are freshly encoded bytes equal to the file's at that place (the
 * tag and length before each untouched tensor): untouched initializers become one sequential copy.
 */
export function resolvePieces(chunks: readonly Uint8Array[], source: Uint8Array, deferred: Deferred | undefined): Array<Uint8Array | FileRegion> {
  if (!deferred) return chunks.slice();
  const out: Array<Uint8Array | FileRegion> = [];
  const sourceOffset = (p: Uint8Array | FileRegion | undefined): number | undefined =>
    p === undefined ? undefined : p instanceof Uint8Array ? (p.buffer === source.buffer ? p.byteOffset - source.byteOffset : undefined) : p.offset;
  const length = (p: Uint8Array | FileRegion) => (p instanceof Uint8Array ? p.byteLength : p.length);
  // A field's tag and length, encoded afresh, equal the file's bytes where the original stood: the
  // run continues through them (a hole's zeros never count as a match).
  const sameAsFile = (p: Uint8Array, at: number) => {
    if (p.byteLength > 32 || at + p.byteLength > source.byteLength) return false;
    const h = deferred.holes[firstHoleEndingAfter(deferred.holes, at)];
    if (h && h.start < at + p.byteLength) return false;
    for (let i = 0; i < p.byteLength; i++) if (p[i] !== source[at + i]) return false;
    return true;
  };
  const push = (p: Uint8Array | FileRegion) => {
    const last = out[out.length - 1];
    const lastAt = sourceOffset(last);
    let at = sourceOffset(p);
    if (at === undefined && last && lastAt !== undefined && p instanceof Uint8Array && sameAsFile(p, lastAt + length(last))) at = lastAt + length(last);
    if (last && at !== undefined && lastAt !== undefined && lastAt + length(last) === at) {
      const lastIsRegion = !(last instanceof Uint8Array);
      const pIsRegion = !(p instanceof Uint8Array);
      const absorbable = (q: Uint8Array | FileRegion) => !(q instanceof Uint8Array) || q.byteLength < DEFER_MIN_BYTES;
      if ((lastIsRegion || pIsRegion) && absorbable(last) && absorbable(p)) {
        out[out.length - 1] = { file: deferred.file, offset: lastAt, length: length(last) + length(p) };
        return;
      }
    }
    out.push(p);
  };
  for (const c of chunks) {
    if (c.buffer !== source.buffer) {
      push(c);
      continue;
    }
    let at = c.byteOffset - source.byteOffset;
    const end = at + c.byteLength;
    for (let h = firstHoleEndingAfter(deferred.holes, at); h < deferred.holes.length && deferred.holes[h]!.start < end; h++) {
      const hole = deferred.holes[h]!;
      const from = Math.max(at, hole.start);
      const to = Math.min(end, hole.end);
      if (from > at) push(source.subarray(at, from));
      push({ file: deferred.file, offset: from, length: to - from });
      at = to;
    }
    if (at < end) push(source.subarray(at, end));
  }
  return out;
}

function firstHoleEndingAfter(holes: Deferred['holes'], at: number): number {
  let lo = 0;
  let hi = holes.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (holes[mid]!.end <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

