// The browser host: a model from a File or Blob, and back to a Blob, with the large weights never read.
//
// Where reads can be synchronous (FileReaderSync, in a Web Worker) a big file is scanned as on Node
// (src/onnx/scan.ts): every initializer payload of at least 256 KiB stays in the File — a hole of zeros
// in a buffer of the file's size — and the output Blob takes those ranges as slices of the input File,
// so weights are never copied through JavaScript and memory does not grow with them. On a page's main
// thread, where only asynchronous reads exist, the File is read whole (one ArrayBuffer: a browser's
// limit, ~2 GiB, applies). Models that keep tensors as external data need the Node entry.

import { SeInjectError, inputError, quote } from '../errors.js';
import type { Model, StoredBytes } from '../ir/model.js';
import { decodeWith } from '../onnx/decode.js';
import type { LoadOptions } from '../onnx/decode.js';
import { PROTOBUF_LIMIT, serializeModel } from '../onnx/encode.js';
import { encodeModel } from '../onnx/proto.js';
import { DEFER_FILES_FROM, DEFER_FLOOR, DEFER_MIN_BYTES, GiveUp, Malformed, resolvePieces, scan, tooLargeError } from '../onnx/scan.js';
import type { DeferOptions } from '../onnx/scan.js';
import type { ByteSource, Deferred } from './types.js';

/** A ByteSource that can also hand out its ranges as Blobs (the output then refers to them, uncopied). */
export interface BlobByteSource extends ByteSource {
  slice(offset: number, length: number): Blob;
  lastModified?: number;
}

interface FileReaderSyncLike {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

/** The Blob as a synchronous byte source, where the platform has FileReaderSync (Web Workers); undefined elsewhere. */
export function blobSource(blob: Blob, name = blobName(blob)): BlobByteSource | undefined {
  const Reader = (globalThis as { FileReaderSync?: new () => FileReaderSyncLike }).FileReaderSync;
  if (!Reader) return undefined;
  const reader = new Reader();
  return {
    name,
    size: blob.size,
    lastModified: (blob as { lastModified?: number }).lastModified,
    read: (offset, length) => new Uint8Array(reader.readAsArrayBuffer(blob.slice(offset, offset + length))),
    slice: (offset, length) => blob.slice(offset, offset + length),
  };
}

export interface BlobLoadOptions extends Pick<LoadOptions, 'label'> {
  /** As on Node: which weights stay in the File (from 4 MB files, tensors from 256 KiB); `false` reads everything. */
  defer?: DeferOptions;
}

/** Loads a File/Blob: scanned with its large weights left in it where reads can be synchronous, read whole otherwise. */
export async function loadModelBlob(blob: Blob, options: BlobLoadOptions = {}): Promise<Model> {
  const label = options.label ?? blobName(blob);
  const source = blobSource(blob, label);
  if (source) return loadModelSource(source, options);
  if (blob.size > PROTOBUF_LIMIT) throw tooLargeError(label, blob.size);
  return decodeWith(new Uint8Array(await blob.arrayBuffer()), { label }, {});
}

/** Blobs whose bytes a loaded model's holes refer to, by the model's buffer. */
const SOURCES = new WeakMap<Uint8Array, BlobByteSource>();

/**
 * Loads from a synchronous byte source (a File in a worker, or any ByteSource whose ranges are Blobs):
 * a big one is scanned and its large weights left in it, as the Node loader does with a file.
 */
export function loadModelSource(source: BlobByteSource, options: BlobLoadOptions = {}): Model {
  const label = options.label ?? source.name;
  if (source.size === 0) throw inputError(`${quote(label)} is empty (0 bytes); it is not an ONNX model`);
  if (source.size > PROTOBUF_LIMIT) throw tooLargeError(label, source.size);
  const defer = options.defer ?? {};
  const bytes = new Uint8Array(source.size);
  const fill = (b: Uint8Array, from: number, to: number): boolean => {
    const got = source.read(from, to - from);
    b.set(got, from);
    return got.byteLength === to - from;
  };
  let holes: Deferred['holes'] = [];
  if (defer && source.size >= (defer.fromFileBytes ?? DEFER_FILES_FROM)) {
    try {
      holes = scan(fill, bytes, Math.max(DEFER_FLOOR, defer.minTensorBytes ?? DEFER_MIN_BYTES));
    } catch (e) {
      if (!(e instanceof Malformed || e instanceof GiveUp)) throw e;
      // The decoder fails at the byte the scan stopped at, having read only what came before it; should
      // it not, the whole source is read after all.
      if (e instanceof Malformed) decodeWith(bytes, { label }, {});
      holes = [];
    }
  }
  if (!holes.length) {
    if (!fill(bytes, 0, source.size)) throw new SeInjectError('input', `${quote(label)} changed while se-inject was reading it; load it again`);
    return decodeWith(bytes, { label }, {});
  }
  const deferred: Deferred = { file: label, holes, size: source.size, mtimeMs: source.lastModified ?? 0, ino: 0 };
  SOURCES.set(bytes, source);
  return decodeWith(bytes, { label }, { deferred, stored: storedIn(source, bytes, deferred) });
}

function storedIn(source: BlobByteSource, bytes: Uint8Array, deferred: Deferred): StoredBytes {
  return {
    gather(chunks) {
      const pieces = resolvePieces(chunks, bytes, deferred);
      const total = pieces.reduce((n, p) => n + (p instanceof Uint8Array ? p.byteLength : p.length), 0);
      const out = new Uint8Array(total);
      let at = 0;
      for (const p of pieces) {
        const b = p instanceof Uint8Array ? p : source.read(p.offset, p.length);
        out.set(b, at);
        at += b.byteLength;
      }
      return out;
    },
    external() {
      throw new SeInjectError('unsupported', `${quote(deferred.file)}: external data is read by the Node entry only`);
    },
  };
}

/**
 * The model as a Blob to download: bytes in memory as they are, weights left in the input File as
 * slices of it (nothing is copied or read). Byte for byte what serializeModel returns.
 */
export function serializeModelBlob(model: Model, type = 'application/octet-stream'): Blob {
  const source = SOURCES.get(model.source.bytes);
  const w = source && model.source.deferred && !model.source.external.size ? encodeModel(model.proto) : undefined;
  // Everything else (and what serializeModel refuses, with its message) goes through serializeModel.
  if (!source || !model.source.deferred || !w || w.length > PROTOBUF_LIMIT) return new Blob([serializeModel(model) as BlobPart], { type });
  const parts = resolvePieces(w.finish(), model.source.bytes, model.source.deferred).map((p): BlobPart => (p instanceof Uint8Array ? p as BlobPart : source.slice(p.offset, p.length)));
  return new Blob(parts, { type });
}

function blobName(blob: Blob): string {
  const name = (blob as { name?: unknown }).name;
  return typeof name === 'string' && name ? name : 'model';
}
