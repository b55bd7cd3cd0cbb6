// Reading a large model file without reading its weights.
//
// se-inject never looks inside a large weight: it needs dims and types, not values. So a big file is
// scanned field by field with positioned reads, and the raw_data payload of every initializer of at
// least DEFER_MIN_BYTES is skipped — a hole. The buffer the decoder sees is the size of the file with
// every byte at its file offset; the holes are untouched (zero) pages the kernel never maps in, so
// memory does not grow with the weights. Saving copies each hole from the file straight into the
// output through two reused buffers (save.ts): tensor bytes cross user space once, in fixed-size pieces.
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
import { WireError, WireReader, WireType } from './wire.js';
import { DEFER_FILES_FROM, DEFER_FLOOR, DEFER_MIN_BYTES, GiveUp, Malformed, WINDOW, resolvePieces, scan, tooLargeError } from './scan.js';
import type { DeferOptions } from './scan.js';

export type { Deferred, FileRegion };
export { DEFER_FILES_FROM, DEFER_MIN_BYTES, resolvePieces };
export type { DeferOptions };

export interface FileBytes {
  bytes: Uint8Array;
  /** The file as it was read (from the descriptor it was read through). */
  stamp: FileStamp;
  deferred?: Deferred;
  /** Set when the scan found bytes no decoder accepts there: only the bytes before it were read. */
  malformedAt?: number;
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
        const holes = scan((b, from, to) => readFully(fd, b, from, to), bytes, minTensorBytes);
        // A scan that left no hole has read every byte: the file is in memory.
        if (!holes.length) return { bytes, stamp };
        return { bytes, stamp, deferred: { file: absolute, holes, size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino } };
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
