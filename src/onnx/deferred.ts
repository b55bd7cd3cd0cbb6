// Reading a large model file without reading its weights.
//
// se-inject never looks inside a large weight: it needs dims and types, not values. So a big file is
// scanned field by field with positioned reads, and the raw_data payload of every initializer of at
// least DEFER_MIN_BYTES is skipped — a hole. The buffer the decoder sees is the size of the file with
// every byte at its file offset; the holes are untouched (zero) pages the kernel never maps in, so
// memory does not grow with the weights. Saving copies each hole from the file straight into the
// output through one reused buffer: tensor bytes cross user space once, in fixed-size pieces.
//
// Anything unusual (groups, lengths past the end, a file shorter than it says) makes the scan give up
// and read the whole file, so the decoder reports damage exactly as it does for bytes in memory.

import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import type { BigIntStats, Stats } from 'node:fs';
import * as path from 'node:path';
import { SeInjectError, describeCause, quote } from '../errors.js';
import { stampOf } from './stamp.js';
import type { FileStamp } from './stamp.js';
import type { Deferred, FileRegion } from '../host/types.js';

export type { Deferred, FileRegion };
import { MAX_DECODED, WireError, WireReader, WireType } from './wire.js';

/** Files below this are read whole: scanning saves nothing there. */
export const DEFER_FILES_FROM = 4 * 1024 * 1024;
/** Initializer payloads at least this large are left in the file until the save. */
export const DEFER_MIN_BYTES = 256 * 1024;
const WINDOW = 64 * 1024;

/** Below this a tensor is always read: shape constants, which analysis folds, stay far smaller. */
const DEFER_FLOOR = 1024;

/** Which weights stay in the file (tensors from `minTensorBytes`, at least 1 KiB); `false` reads everything. */
export type DeferOptions = false | { fromFileBytes?: number; minTensorBytes?: number };

export interface FileBytes {
  bytes: Uint8Array;
  /** The file as it was read (from the descriptor it was read through). */
  stamp: FileStamp;
  deferred?: Deferred;
  /** Set when the scan found bytes no decoder accepts there: only the bytes before it were read. */
  malformedAt?: number;
}

class GiveUp extends Error {}
/** The scan met bytes no protobuf reader accepts at `at`; nothing past them was read. */
class Malformed extends Error {
  constructor(readonly at: number) {
    super(`malformed at byte ${at}`);
  }
}

/** Protobuf's limit on one serialized message (2^31 − 1 bytes): a .onnx without external data cannot be larger. */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;
/** Node reads at most 2^31 − 1 bytes per call; a piece of a gigabyte keeps each read well under it. */
const MAX_READ = 2 ** 30;

/**
 * Reads `file`, leaving large weights in it when the file is big enough to matter.
 *
 * A big file is scanned field by field, so garbage is refused at its first bad byte: the scan stops
 * there and returns what it read (`malformedAt`), everything before that byte in place, which is all a
 * decoder reads before it fails at the same byte. A file over protobuf's 2 GiB limit is only sniffed
 * (its first top-level fields) and refused.
 */
export function readModelFile(file: string, defer: DeferOptions = {}): FileBytes {
  const absolute = path.resolve(file); // the save reopens it, whatever the working directory is then
  const fd = openRegularFile(absolute, file);
  try {
    const stat = fstatSync(fd);
    if (stat.size > MAX_PROTOBUF_BYTES) {
      sniff(fd);
      throw tooLargeError(file, stat.size);
    }
    const stamp = stampOf(realpathSync(absolute), fstatSync(fd, { bigint: true }));
    const bytes = new Uint8Array(stat.size);
    if (stat.size >= (defer ? defer.fromFileBytes ?? DEFER_FILES_FROM : DEFER_FILES_FROM)) {
      const minTensorBytes = defer ? Math.max(DEFER_FLOOR, defer.minTensorBytes ?? DEFER_MIN_BYTES) : Infinity;
      try {
        const holes = scan(fd, bytes, minTensorBytes);
        if (holes.length) return { bytes, stamp, deferred: { file: absolute, holes, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino } };
      } catch (e) {
        if (e instanceof Malformed) return { bytes, stamp, malformedAt: e.at };
        if (!(e instanceof GiveUp)) throw e;
      }
    }
    if (!readFully(fd, bytes, 0, stat.size)) throw changedError(file);
    return { bytes, stamp };
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens without blocking (a FIFO would wait for a writer forever) and refuses anything but a regular
 * file: a device such as /dev/zero or /dev/urandom has no size and never ends.
 */
function openRegularFile(absolute: string, shown: string): number {
  const fd = openSync(absolute, constants.O_RDONLY | constants.O_NONBLOCK);
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    throw notRegularError(shown, stat);
  }
  return fd;
}

/** What a path that is not a regular file is, in words. */
export function fileKind(stat: Stats | BigIntStats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'a special file';
}

export function notRegularError(file: string, stat: Stats): SeInjectError {
  return new SeInjectError('input', `${quote(file)} is ${fileKind(stat)}, not a regular file; give the path of a .onnx file`);
}

function tooLargeError(file: string, size: number): SeInjectError {
  return new SeInjectError('input', `${quote(file)} is ${(size / 2 ** 30).toFixed(2)} GiB, over protobuf's 2 GiB limit for one message: no ONNX reader can load it; save the model with its weights as external data (onnx.save_model(model, path, save_as_external_data=True)) and give that`);
}

/** The first top-level fields of a file too large to read: garbage gets the decoder's error, not a size complaint. */
function sniff(fd: number): void {
  const head = new Uint8Array(WINDOW);
  const n = readSync(fd, head, 0, WINDOW, 0);
  const r = new WireReader(head, 0, n);
  while (r.pos < n - 16) {
    const start = r.pos;
    try {
      const f = r.field();
      if (f.type === WireType.EndGroup) throw new WireError('unexpected end-group', start);
    } catch (e) {
      // A field that runs past the window may still end inside the file: that is as far as a sniff can see.
      if (e instanceof WireError && /runs past the end|truncated varint|unterminated group/.test(e.message)) return;
      throw e;
    }
  }
}

/** Fills bytes[from, to) from the file at the same offsets; false when the file ends first. */
function readFully(fd: number, bytes: Uint8Array, from: number, to: number): boolean {
  for (let pos = from; pos < to; ) {
    const n = readSync(fd, bytes, pos, Math.min(to - pos, MAX_READ), pos);
    if (n === 0) return false;
    pos += n;
  }
  return true;
}

type Kind = 'model' | 'graph' | 'tensor' | 'other';

/** Which nested message each length-delimited field of a kind holds, where the scan descends. */
function child(kind: Kind, no: number): Kind {
  if (kind === 'model' && no === 7) return 'graph';
  if (kind === 'graph' && no === 5) return 'tensor';
  return 'other';
}

const MAX_FIELD_NUMBER = 536870911;

function scan(fd: number, bytes: Uint8Array, minTensorBytes: number): Deferred['holes'] {
  const holes: Deferred['holes'] = [];
  let loadedTo = 0;
  // Invariant: every byte in [scan position, loadedTo) is loaded; the scan only moves forward.
  const ensure = (pos: number, n: number) => {
    const want = Math.min(bytes.length, pos + n);
    if (want <= loadedTo) return;
    const from = Math.max(pos, loadedTo);
    const to = Math.min(bytes.length, Math.max(want, from + WINDOW));
    if (!readFully(fd, bytes, from, to)) throw new GiveUp();
    loadedTo = to;
  };
  // A varint past its message's end, or of more than 10 bytes: malformed at the field that holds it.
  const varint = (pos: number, end: number, field: number): [number, number] => {
    ensure(pos, 10);
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10 && pos < end; i++) {
      const b = bytes[pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return [v, pos];
      scale *= 128;
    }
    throw new Malformed(field);
  };
  // The decoder decodes every field the scan visits (and more): past its budget the scan can stop, as
  // the decoder will fail before the same byte.
  let visits = 0;
  const message = (start: number, end: number, kind: Kind): void => {
    let pos = start;
    while (pos < end) {
      const field = pos;
      if (++visits > MAX_DECODED) throw new Malformed(field);
      const [tag, afterTag] = varint(pos, end, field);
      const no = Math.floor(tag / 8);
      const type = tag & 7;
      if (no < 1 || no > MAX_FIELD_NUMBER) throw new Malformed(field);
      if (type === WireType.Varint) pos = varint(afterTag, end, field)[1];
      else if (type === WireType.Fixed64) pos = afterTag + 8;
      else if (type === WireType.Fixed32) pos = afterTag + 4;
      else if (type === WireType.LengthDelimited) {
        const [len, payload] = varint(afterTag, end, field);
        pos = payload + len;
        if (pos > end) throw new Malformed(field);
        if (kind === 'tensor' && no === 9 && len >= minTensorBytes) holes.push({ start: payload, end: pos });
        // Packed dims longer than the decode budget: the decoder refuses them by their length alone.
        else if (kind === 'tensor' && no === 1 && len > MAX_DECODED) throw new Malformed(field);
        else if (child(kind, no) !== 'other') message(payload, pos, child(kind, no));
        else ensure(payload, len);
      } else if (type === WireType.StartGroup) throw new GiveUp(); // legal but unused by ONNX: the decoder judges
      else throw new Malformed(field);
      if (pos > end) throw new Malformed(field);
    }
  };
  message(0, bytes.length, 'model');
  return holes;
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

/** The real bytes of chunks (views into `source` or other buffers), holes read from the file, in one buffer. */
export function gatherBytes(chunks: readonly Uint8Array[], source: Uint8Array, deferred: Deferred | undefined): Uint8Array {
  return readPieces(resolvePieces(chunks, source, deferred), deferred);
}

/**
 * Pieces (bytes in memory, regions of files) into one new buffer. Each file is opened once; the file
 * `deferred` describes must be as it was scanned.
 */
export function readPieces(pieces: ReadonlyArray<Uint8Array | FileRegion>, deferred?: Deferred): Uint8Array {
  const total = pieces.reduce((n, p) => n + (p instanceof Uint8Array ? p.byteLength : p.length), 0);
  const out = new Uint8Array(total);
  const fds = new Map<string, number>();
  try {
    let o = 0;
    for (const p of pieces) {
      if (p instanceof Uint8Array) {
        out.set(p, o);
        o += p.byteLength;
        continue;
      }
      let fd = fds.get(p.file);
      if (fd === undefined) fds.set(p.file, (fd = openChecked(p.file, deferred)));
      for (let done = 0; done < p.length; ) {
        const n = readSync(fd, out, o + done, Math.min(p.length - done, MAX_READ), p.offset + done);
        if (n === 0) throw changedError(p.file);
        done += n;
      }
      o += p.length;
    }
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  return out;
}

function openChecked(file: string, deferred: Deferred | undefined): number {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw reopenError(file, e);
  }
  try {
    if (deferred?.file === file) checkUnchanged(deferred, fstatSync(fd));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

export function checkUnchanged(deferred: Deferred, stat: { size: number; mtimeMs: number; ino: number }): void {
  if (stat.size !== deferred.size || stat.mtimeMs !== deferred.mtimeMs || stat.ino !== deferred.ino) throw changedError(deferred.file);
}

/** An input file (the model's, or external data) that cannot be opened again when its bytes are copied. */
export function reopenError(file: string, cause: unknown): SeInjectError {
  return new SeInjectError('input', `cannot read ${quote(file)} again to copy its weights (${describeCause(cause)}); keep the input in place until the output is written`, { cause });
}

export function changedError(file: string): SeInjectError {
  return new SeInjectError('input', `${quote(file)} changed while se-inject was working on it; nothing was written — run it again`);
}
