// Model → bytes → file. Encoding gathers views (tensor bytes are not copied); the file is written with
// writev into a temporary file in the target folder and renamed into place, so a crash, a full disk or
// a refused write never leaves a half file or touches an existing one.
//
// External data: every tensor that was external in the input is streamed from its data file into
// `<output>.data` next to the output (never pointing back at the input's file). A model whose protobuf
// would pass 2 GiB moves its large initializers there too.

import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { SeInjectError, describeCause } from '../errors.js';
import type { Model } from '../ir/model.js';
import { changedError, checkUnchanged, gatherBytes, reopenError, resolvePieces } from './deferred.js';
import type { FileRegion } from './deferred.js';
import { encodeModel } from './proto.js';
import type { ModelProto, TensorProto } from './proto.js';

export const PROTOBUF_LIMIT = 2 ** 31 - 1;
/** Tensors at least this large move to external data when a model must be split. */
const EXTERNALIZE_MIN_BYTES = 1024;
const ALIGN = 64;
const COPY_CHUNK = 8 * 1024 * 1024;

export interface SaveOptions {
  /** Replace an existing file at the output path (the CLI's --force). */
  overwrite?: boolean;
  /** Force every initializer of at least 1 KiB into external data, whatever the size. */
  externalData?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface SaveResult {
  path: string;
  bytes: number;
  dataFile?: string;
  dataBytes?: number;
}

/** Encodes a model without external data into one buffer (the library's in-memory path). */
export function serializeModel(model: Model): Uint8Array {
  if (model.source.external.size > 0) {
    throw new SeInjectError('unsupported', `${model.label} keeps ${model.source.external.size} tensors in external data; save it to a file with saveModel()`);
  }
  const w = encodeModel(model.proto);
  if (w.length > PROTOBUF_LIMIT) {
    throw new SeInjectError('unsupported', `${model.label} serializes to ${w.length} bytes, past protobuf's 2 GiB limit; save it to a file, which moves weights to external data`);
  }
  // Weights the loader left in the input file are read now, into their place in the output.
  if (!model.source.deferred) return w.toBytes();
  return gatherBytes(w.finish(), model.source.bytes, model.source.deferred);
}

/** Output bytes in order: in memory, or a region of a file (deferred weights, external data). */
type Piece = Uint8Array | FileRegion;

interface Plan {
  proto: ModelProto;
  /** What goes into the data file, one entry per tensor, in order. */
  tensors: Piece[][];
  dataBytes: number;
}

function planExternal(model: Model, dataName: string, moveAll: boolean): Plan {
  const tensors: Plan['tensors'] = [];
  let offset = 0;
  const rewritten = model.proto.graph.initializers.map((t): TensorProto => {
    const ref = model.externalRef(t);
    const inline = t.rawData && (moveAll && t.rawData.byteLength >= EXTERNALIZE_MIN_BYTES);
    if (!ref && !inline) return t;
    const length = ref ? ref.length : t.rawData!.byteLength;
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    tensors.push(ref ? [{ ...ref }] : resolvePieces([t.rawData!], model.source.bytes, model.source.deferred));
    const entry = { ...t, src: undefined, rawData: undefined, dataLocation: 1, externalData: [
      { key: 'location', value: dataName },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ] };
    offset += length;
    return entry;
  });
  const proto = { ...model.proto, graph: { ...model.proto.graph, initializers: rewritten } };
  return { proto, tensors, dataBytes: offset };
}

export async function saveModel(model: Model, file: string, options: SaveOptions = {}): Promise<SaveResult> {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  await checkTarget(target, dir, options.overwrite ?? false);

  const dataName = `${path.basename(target)}.data`;
  let plan: Plan = { proto: model.proto, tensors: [], dataBytes: 0 };
  if (model.source.external.size > 0 || options.externalData) plan = planExternal(model, dataName, !!options.externalData);
  let encoded = encodeModel(plan.proto);
  if (encoded.length > PROTOBUF_LIMIT && !options.externalData) {
    plan = planExternal(model, dataName, true);
    encoded = encodeModel(plan.proto);
  }
  if (encoded.length > PROTOBUF_LIMIT) {
    throw new SeInjectError('unsupported', `${model.label}: even with weights moved to external data the graph is ${encoded.length} bytes, past protobuf's 2 GiB limit`);
  }

  const total = encoded.length + plan.dataBytes;
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done, total);
  };
  const temps: string[] = [];
  const sources = new SourceFiles(model);
  try {
    let dataFile: string | undefined;
    if (plan.tensors.length) {
      dataFile = path.join(dir, dataName);
      temps.push(await writeTemp(dataFile, (fh) => writeDataFile(fh, plan.tensors, sources, progress)));
    }
    const pieces = resolvePieces(encoded.finish(), model.source.bytes, model.source.deferred);
    temps.push(await writeTemp(target, async (fh) => { await writePieces(fh, pieces, sources, progress); }));
    if (dataFile) await fsp.rename(temps[0]!, dataFile);
    await fsp.rename(temps[temps.length - 1]!, target);
    return { path: target, bytes: encoded.length, dataFile, dataBytes: dataFile ? plan.dataBytes : undefined };
  } catch (e) {
    await Promise.all(temps.map((t) => fsp.rm(t, { force: true })));
    if (e instanceof SeInjectError) throw e;
    throw writeFailure(file, e);
  } finally {
    await sources.close();
  }
}

function writeFailure(file: string, e: unknown): SeInjectError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const [why, fix] = code === 'ENOSPC' || code === 'EDQUOT' ? [`the disk is full (${code})`, 'free some space']
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? [`its folder cannot be written (${code})`, 'choose another output path']
    : [describeCause(e), 'choose another output path'];
  return new SeInjectError('output', `cannot write ${file}: ${why}; nothing was written — ${fix}`, { cause: e });
}

async function checkTarget(target: string, dir: string, overwrite: boolean): Promise<void> {
  let dirStat;
  try {
    dirStat = await fsp.stat(dir);
  } catch {
    throw new SeInjectError('output', `output folder ${dir} does not exist; create it first`);
  }
  if (!dirStat.isDirectory()) throw new SeInjectError('output', `${dir} is not a folder; the output path must be inside a folder`);
  try {
    await fsp.access(dir, 2 /* W_OK */);
  } catch {
    throw new SeInjectError('output', `output folder ${dir} is not writable; choose another output path`);
  }
  const existing = await fsp.stat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new SeInjectError('output', `${target} is a directory; give a file path for the output`);
  if (existing && !overwrite) {
    throw new SeInjectError('output', `${target} already exists; pass --force to overwrite it`);
  }
}

let tempCounter = 0;

async function writeTemp(finalPath: string, write: (fh: FileHandle) => Promise<void>): Promise<string> {
  const temp = path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${process.pid}.${tempCounter++}.tmp`);
  const fh = await fsp.open(temp, 'wx');
  try {
    await write(fh);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(temp, { force: true });
    throw e;
  }
  await fh.close();
  return temp;
}

async function writeChunks(fh: FileHandle, chunks: Uint8Array[], progress: (n: number) => void): Promise<void> {
  // writev takes at most IOV_MAX (1024) buffers per call; batch by count and by ~64 MiB for progress.
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  const flush = async () => {
    let pending = batch;
    while (pending.length) {
      const { bytesWritten } = await fh.writev(pending);
      progress(bytesWritten);
      pending = dropWritten(pending, bytesWritten);
    }
    batch = [];
    batchBytes = 0;
  };
  for (const c of chunks) {
    batch.push(c);
    batchBytes += c.byteLength;
    if (batch.length >= 1024 || batchBytes >= 64 * 1024 * 1024) await flush();
  }
  await flush();
}

function dropWritten(buffers: Uint8Array[], written: number): Uint8Array[] {
  let i = 0;
  while (i < buffers.length && written >= buffers[i]!.byteLength) written -= buffers[i++]!.byteLength;
  const rest = buffers.slice(i);
  if (rest.length && written > 0) rest[0] = rest[0]!.subarray(written);
  return rest;
}

/** Input files that output regions are copied from, opened once each; the model's own file is checked unchanged. */
class SourceFiles {
  private open = new Map<string, Promise<FileHandle>>();
  private copyBuffers?: [Uint8Array, Uint8Array];
  constructor(private readonly model: Model) {}

  /** The two copy buffers of this save: one is read into while the other is written. */
  get buffers(): [Uint8Array, Uint8Array] {
    return (this.copyBuffers ??= [new Uint8Array(COPY_CHUNK), new Uint8Array(COPY_CHUNK)]);
  }

  get(file: string): Promise<FileHandle> {
    let fh = this.open.get(file);
    if (!fh) this.open.set(file, (fh = this.openChecked(file)));
    return fh;
  }

  private async openChecked(file: string): Promise<FileHandle> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(file, 'r');
    } catch (e) {
      throw reopenError(file, e);
    }
    const deferred = this.model.source.deferred;
    if (deferred?.file === file) {
      try {
        checkUnchanged(deferred, await fh.stat());
      } catch (e) {
        await fh.close();
        throw e;
      }
    }
    return fh;
  }

  async close(): Promise<void> {
    const handles = await Promise.allSettled(this.open.values());
    await Promise.all(handles.map((h) => (h.status === 'fulfilled' ? h.value.close().catch(() => {}) : undefined)));
  }
}

/** Writes pieces in order: runs of memory views gathered into writev, file regions copied in chunks. */
async function writePieces(fh: FileHandle, pieces: readonly Piece[], sources: SourceFiles, progress: (n: number) => void): Promise<number> {
  let views: Uint8Array[] = [];
  let written = 0;
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      views.push(p);
      written += p.byteLength;
      continue;
    }
    await writeChunks(fh, views, progress);
    views = [];
    await copyRegion(fh, p, sources, progress);
    written += p.length;
  }
  await writeChunks(fh, views, progress);
  return written;
}

/** Copies a file region in chunks, reading the next chunk while the last one is written. */
async function copyRegion(fh: FileHandle, region: FileRegion, sources: SourceFiles, progress: (n: number) => void): Promise<void> {
  const src = await sources.get(region.file);
  const [a, b] = sources.buffers;
  const readAt = (buffer: Uint8Array, copied: number) => {
    const read = src.read(buffer, 0, Math.min(buffer.byteLength, region.length - copied), region.offset + copied);
    read.catch(() => {}); // awaited below; a write failing first must not leave it unhandled
    return read;
  };
  let current = a;
  let pending = readAt(current, 0);
  for (let copied = 0; copied < region.length; ) {
    const { bytesRead } = await pending;
    if (bytesRead === 0) throw changedError(region.file);
    const filled = current.subarray(0, bytesRead);
    copied += bytesRead;
    current = current === a ? b : a;
    if (copied < region.length) pending = readAt(current, copied);
    await writeChunks(fh, [filled], progress);
  }
}

async function writeDataFile(fh: FileHandle, tensors: Plan['tensors'], sources: SourceFiles, progress: (n: number) => void): Promise<void> {
  let position = 0;
  for (const pieces of tensors) {
    const aligned = Math.ceil(position / ALIGN) * ALIGN;
    if (aligned > position) {
      await fh.write(new Uint8Array(aligned - position));
      position = aligned;
    }
    position += await writePieces(fh, pieces, sources, progress);
  }
}
