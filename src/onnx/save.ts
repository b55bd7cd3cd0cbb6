// Model → bytes → file. The encoding is sized first, then built in batches while it is written (tensor
// bytes stay views, never copies); files are written with writev and committed by the protocol of
// commit.ts, so no fault leaves a half file or touches a file the user had.
//
// External data: every tensor that was external in the input is streamed from its data file into
// `<output>.data` next to the output (never pointing back at the input's file), and new SE weights join
// them. A model whose protobuf would pass 2 GiB moves its large initializers there too.

import { constants as fsConstants, fstatSync, promises as fsp, statSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { SeInjectError, describeCause } from '../errors.js';
import type { Model } from '../ir/model.js';
import { NAME_MAX, Transaction, fitName, planDataFile, planOutput, randomHex8, removeStaleTemps, tempPath } from './commit.js';
import { changedError, checkUnchanged, reopenError, resolvePieces } from './deferred.js';
import { PROTOBUF_LIMIT, serializeModel } from './encode.js';
import type { FileRegion } from './deferred.js';
import { modelEncoding } from './proto.js';
import type { ModelEncoding, ModelProto, TensorProto } from './proto.js';
import { unchanged } from './stamp.js';
import type { InputFile } from './stamp.js';

/** Tensors at least this large move to external data when a model must be split. */
const EXTERNALIZE_MIN_BYTES = 1024;
const ALIGN = 64;

export { PROTOBUF_LIMIT, serializeModel };
const COPY_CHUNK = 4 * 1024 * 1024;

export interface SaveOptions {
  /** Replace an existing file at the output path (the CLI's --force). Never a file the model was read from. */
  overwrite?: boolean;
  /** Allow the output to be the model's own input file, which is then replaced (the CLI's --in-place). */
  inPlace?: boolean;
  /** Force every initializer of at least 1 KiB into external data, whatever the size. */
  externalData?: boolean;
  /**
   * fsync a new output's files and the folder before the save returns (default false: a crash of the
   * process never leaves a partial output, since the output only gets its name once complete; a power
   * loss within the kernel's writeback delay may leave it empty or short). A replacement (overwrite,
   * inPlace) is always made durable before the old file goes, whatever this says.
   */
  durable?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface SaveResult {
  path: string;
  bytes: number;
  dataFile?: string;
  dataBytes?: number;
  /** Things the user should know about the files (an input data file no longer used, a stale temporary removed). */
  notes: string[];
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
  const external = model.source.external.size > 0;
  const rewritten = model.proto.graph.initializers.map((t): TensorProto => {
    const ref = model.externalRef(t);
    // New tensors (no original bytes) follow the input's layout: external when the input used external data.
    const inline = t.rawData && t.rawData.byteLength >= EXTERNALIZE_MIN_BYTES && (moveAll || (external && !t.src));
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

/** The model's encoding with its data file named `dataName`; weights move out when past protobuf's limit. */
function planFor(model: Model, dataName: string, externalData: boolean): { plan: Plan; encoded: ModelEncoding } {
  let plan: Plan = { proto: model.proto, tensors: [], dataBytes: 0 };
  if (model.source.external.size > 0 || externalData) plan = planExternal(model, dataName, externalData);
  let encoded = modelEncoding(plan.proto);
  if (encoded.length > PROTOBUF_LIMIT && !externalData) {
    plan = planExternal(model, dataName, true);
    encoded = modelEncoding(plan.proto);
  }
  if (encoded.length > PROTOBUF_LIMIT) {
    throw new SeInjectError('unsupported', `${model.label}: even with weights moved to external data the graph is ${encoded.length} bytes, past protobuf's 2 GiB limit`);
  }
  return { plan, encoded };
}

/**
 * Writes the model (and its data file) by the protocol of commit.ts. The data file is committed first,
 * under a name no existing model points at: `OUT.data` when that name is free; otherwise (an old
 * `OUT.data`, or the input's own data with inPlace) a fresh `OUT.RAND.data`, then the model, and only
 * then `OUT.data` is made another name of the new data and the model rewritten to point at it. At every
 * moment OUT is either the old model with its old data or a new model with its new data.
 */
export async function saveModel(model: Model, file: string, options: SaveOptions = {}): Promise<SaveResult> {
  const inputs = model.source.inputs;
  const out = await planOutput(file, inputs, options);
  const notes = removeStaleTemps(out.dir).map((t) => `removed ${t}, a temporary left by an earlier run that did not finish`);
  const base = path.basename(out.target);
  const dataPath = `${out.target}.data`;
  const first = planFor(model, path.basename(dataPath), !!options.externalData);
  const hasData = first.plan.tensors.length > 0;
  if (hasData && Buffer.byteLength(path.basename(dataPath)) > NAME_MAX) {
    throw new SeInjectError('output', `${file}: its data file ${path.basename(dataPath)} would be a name of ${Buffer.byteLength(path.basename(dataPath))} bytes, past the file system's ${NAME_MAX}; nothing was written — choose an output name of at most ${NAME_MAX - 5} bytes`);
  }
  // Refused now if it must be; decided again under the lock, where another writer cannot interfere.
  const dataThere = hasData ? await planDataFile(out, dataPath, inputs, options) : undefined;

  const total = first.encoded.length + first.plan.dataBytes;
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done, total);
  };
  const tx = new Transaction(out.dir, options.durable === true || out.exists || !!dataThere);
  const sources = new SourceFiles(model);
  // A replaced file's mode and owner are kept; a new data file beside a replaced model takes the model's.
  const writeModel = (encoded: ModelEncoding, report = progress) => tx.writeTemp(base, (fh) => writeEncoding(fh, encoded, model, sources, report), out.replaced);
  try {
    let encoded = first.encoded;
    let dataFile: string | undefined;
    let interim: string | undefined;
    try {
      const dataTemp = hasData ? await tx.writeTemp(path.basename(dataPath), (fh) => writeDataFile(fh, first.plan.tensors, sources, progress), dataThere ?? out.replaced) : undefined;
      let modelTemp = hasData ? undefined : await writeModel(encoded);
      await tx.lock(out.target);
      if (dataTemp) {
        const dataExists = await planDataFile(out, dataPath, inputs, options);
        dataFile = dataExists ? interimDataPath(out.target) : dataPath;
        if (dataExists) interim = dataFile;
        // The first encoding already names OUT.data; only a fresh interim name needs another.
        if (dataExists) encoded = planFor(model, path.basename(dataFile), !!options.externalData).encoded;
        modelTemp = await writeModel(encoded);
      }
      await sources.checkUnchanged();
      if (dataTemp) await tx.createExclusive(dataTemp, dataFile!);
      if (options.overwrite || out.replacesInput) await tx.replace(modelTemp!, out.target);
      else await tx.createExclusive(modelTemp!, out.target);
      tx.commit();
      if (interim) dataFile = await settleDataName(tx, out.target, interim, dataPath, () => writeModel(planFor(model, path.basename(dataPath), !!options.externalData).encoded, () => {}), notes);
    } catch (e) {
      throw await failed(e, file, tx);
    } finally {
      await tx.unlock();
    }
    const unsynced = await tx.syncDir();
    if (unsynced) notes.push(unsynced);
    if (out.replacesInput) notes.push(...unusedInputData(inputs, dataFile));
    const links = out.replaced?.otherNames ?? 0;
    if (links > 0) notes.push(`${out.target} had ${links === 1 ? 'another name' : `${links} other names`} (hard links), which still hold the old model: the new one is a new file under this name alone`);
    return { path: out.target, bytes: encoded.length, dataFile, dataBytes: dataFile ? first.plan.dataBytes : undefined, notes };
  } finally {
    await sources.close();
  }
}

/** `OUT.RAND.data`, the output's name cut where it must be so that the name fits. */
function interimDataPath(target: string): string {
  const suffix = `.${randomHex8()}.data`;
  return path.join(path.dirname(target), `${fitName(path.basename(target), suffix)}${suffix}`);
}

/**
 * After the model stands with its data under `interim`: `dataPath` becomes a second name of that data
 * (one rename, replacing the old file), the model is rewritten to point at it, and `interim` goes. A
 * failure here leaves a model that works with the data under the name it points at; the note says so.
 */
async function settleDataName(tx: Transaction, target: string, interim: string, dataPath: string, writeModel: () => Promise<string>, notes: string[]): Promise<string> {
  try {
    await tx.replace(await tx.linkTemp(interim, path.basename(dataPath)), dataPath);
    await tx.replace(await writeModel(), target);
  } catch (e) {
    await tx.rollback();
    notes.push(`the weights are in ${interim}, which ${target} points at (could not name it ${path.basename(dataPath)}: ${describeCause(e)}); keep the two together`);
    return interim;
  }
  await fsp.unlink(interim).catch((e) => notes.push(`could not remove ${interim}, a second name of ${dataPath} (${describeCause(e)}); remove it yourself`));
  return dataPath;
}

/** With inPlace: the input's data files that the new model no longer points at. They are left alone. */
function unusedInputData(inputs: readonly InputFile[], dataFile: string | undefined): string[] {
  return inputs
    .filter((i) => i.role === 'data' && i.file !== dataFile)
    .map((i) => `${i.file} held the input's weights and is no longer used by the new model; remove it if nothing else uses it`);
}

async function failed(e: unknown, file: string, tx: Transaction): Promise<SeInjectError> {
  const left = await tx.rollback();
  const error = e instanceof SeInjectError ? e : writeFailure(file, e);
  if (!left.length) return error;
  const list = left.map((l) => `${l.file} (${l.why})`).join(', ');
  return new SeInjectError(error.kind, `${error.message}; the folder did not allow removing the temporary ${list}: remove it yourself`, { cause: e });
}

function writeFailure(file: string, e: unknown): SeInjectError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const [why, fix] = code === 'ENOSPC' || code === 'EDQUOT' ? [`the disk is full (${code})`, 'free some space']
    : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? [`its folder cannot be written (${code})`, 'choose another output path']
    : [describeCause(e), 'choose another output path'];
  return new SeInjectError('output', `cannot write ${file}: ${why}; nothing was written — ${fix}`, { cause: e });
}

/** Writes `chunks` at `position` (positional writev), however the kernel splits the writes. */
async function writeAt(fh: FileHandle, chunks: readonly Uint8Array[], position: number, progress: (n: number) => void): Promise<void> {
  // writev takes at most IOV_MAX (1024) buffers per call; batch by count and by ~64 MiB for progress.
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  const flush = async () => {
    let pending = batch;
    while (pending.length) {
      const { bytesWritten } = await fh.writev(pending, position);
      position += bytesWritten;
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

/** The file at this path now (metadata, read synchronously), or undefined when there is none. */
function statNow(file: string): BigIntStats | undefined {
  try {
    return statSync(file, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Copy buffers kept from one save to the next (COPY_LANES of them at most, however many saves run at
 * once): a fresh buffer costs a page fault per 4 KiB the first time it is filled, which a program saving
 * many models would otherwise pay for each one.
 */
const spareBuffers: Uint8Array[] = [];

/** Input files that output regions are copied from, opened once each; the model's own file is checked unchanged. */
class SourceFiles {
  private open = new Map<string, Promise<FileHandle>>();
  constructor(private readonly model: Model) {}

  /** A copy buffer for a running copy lane, handed back when the lane ends. */
  takeBuffer(): Uint8Array {
    return spareBuffers.pop() ?? new Uint8Array(COPY_CHUNK);
  }

  giveBuffer(b: Uint8Array): void {
    if (spareBuffers.length < COPY_LANES) spareBuffers.push(b);
  }

  get(file: string): Promise<FileHandle> {
    let fh = this.open.get(file);
    if (!fh) this.open.set(file, (fh = this.openChecked(file)));
    return fh;
  }

  /** The file as the model was loaded from it (deferred weights come from the model's own file). */
  private stampOf(file: string): InputFile | undefined {
    const inputs = this.model.source.inputs;
    if (file === this.model.source.deferred?.file) return inputs.find((i) => i.role === 'model');
    return inputs.find((i) => i.file === file);
  }

  private async openChecked(file: string): Promise<FileHandle> {
    let fh: FileHandle;
    try {
      // Non-blocking, so that a FIFO put in the file's place does not wait for a writer: it is a
      // different file, refused below. Regular files read as ever.
      fh = await fsp.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    } catch (e) {
      throw reopenError(file, e);
    }
    try {
      // The load's stamp (device, inode, size, mtime, ctime) subsumes the deferred scan's own record.
      const stamp = this.stampOf(file);
      const deferred = this.model.source.deferred;
      // fstat through the descriptor, synchronously: metadata, microseconds.
      if (stamp) {
        if (!unchanged(stamp, fstatSync(fh.fd, { bigint: true }))) throw changedError(file);
      } else if (deferred?.file === file) checkUnchanged(deferred, fstatSync(fh.fd));
    } catch (e) {
      await fh.close();
      throw e;
    }
    return fh;
  }

  /**
   * Every file copied from is still the file, with the contents, the model was loaded from: written to
   * while its weights were copied (even at the same size), replaced or truncated, it is refused here,
   * before anything is committed.
   */
  async checkUnchanged(): Promise<void> {
    for (const [file, pending] of this.open) {
      const fh = await pending;
      const stamp = this.stampOf(file);
      if (!stamp) continue;
      const now = statNow(file);
      if (!now || !unchanged(stamp, now) || !unchanged(stamp, fstatSync(fh.fd, { bigint: true }))) throw changedError(file);
    }
  }

  async close(): Promise<void> {
    const handles = await Promise.allSettled(this.open.values());
    await Promise.all(handles.map((h) => (h.status === 'fulfilled' ? h.value.close().catch(() => {}) : undefined)));
  }
}

/**
 * Writes the model's encoding batch by batch, each at its place in the file: bytes in memory go out as
 * their batch is built, while regions of input files (the weights left in the file) are handed to the
 * copies, which run on their own. So the batches after the weights (new SE weights, drawn as they are
 * encoded) are built while the weights are still being copied. Each batch's write is done before the
 * batch after the next is built, so the save holds two batches of encoded bytes (plus views of the
 * input) at a time, in buffers the encoder writes again.
 */
async function writeEncoding(fh: FileHandle, encoded: ModelEncoding, model: Model, sources: SourceFiles, progress: (n: number) => void): Promise<void> {
  const copies = new RegionCopies(fh, sources, progress);
  let writing: Promise<unknown> = Promise.resolve();
  let position = 0;
  try {
    for (const batch of encoded.batches(undefined, true)) {
      const pieces = resolvePieces(batch, model.source.bytes, model.source.deferred);
      await writing;
      copies.check();
      writing = writePieces(fh, pieces, position, copies, progress);
      writing.catch(() => {}); // awaited before the next batch is built, or below; a failure must not go unhandled meanwhile
      position += piecesLength(pieces);
    }
    await writing;
    await copies.finish();
  } catch (e) {
    await copies.settle();
    throw e;
  }
}

function piecesLength(pieces: readonly Piece[]): number {
  let n = 0;
  for (const p of pieces) n += p instanceof Uint8Array ? p.byteLength : p.length;
  return n;
}

/** Writes pieces from `position` on: runs of memory views gathered into writev, file regions handed to the copies. */
async function writePieces(fh: FileHandle, pieces: readonly Piece[], position: number, copies: RegionCopies, progress: (n: number) => void): Promise<void> {
  let views: Uint8Array[] = [];
  let viewsAt = position;
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      views.push(p);
      position += p.byteLength;
      continue;
    }
    await writeAt(fh, views, viewsAt, progress);
    views = [];
    copies.add(p, position);
    position += p.length;
    viewsAt = position;
  }
  await writeAt(fh, views, viewsAt, progress);
}

/**
 * Pieces copied at once. Two keep a read of the input and a write of the output going side by side
 * across regions, whatever their sizes, and leave the rest of libuv's four threads to the encoded
 * bytes' writes, so that the main thread never waits behind the copies.
 */
const COPY_LANES = 2;

/**
 * Regions of input files copied into the output at given positions, in pieces of at most COPY_CHUNK:
 * up to COPY_LANES lanes each read a piece into its buffer and write it, then take the next. The first
 * failure stops them all; `finish` reports it once every lane has stopped, so nothing writes to the
 * file after its save gave up.
 */
class RegionCopies {
  private readonly queue: Array<{ file: string; offset: number; length: number; at: number }> = [];
  private readonly lanes = new Set<Promise<void>>();
  /** Lanes still taking pieces: counted down in the same step as a lane finds the queue empty, so a piece added later always gets a lane. */
  private running = 0;
  private failure?: { error: unknown };

  constructor(private readonly fh: FileHandle, private readonly sources: SourceFiles, private readonly progress: (n: number) => void) {}

  add(region: FileRegion, at: number): void {
    for (let done = 0; done < region.length; done += COPY_CHUNK) {
      this.queue.push({ file: region.file, offset: region.offset + done, length: Math.min(COPY_CHUNK, region.length - done), at: at + done });
    }
    this.startLanes();
  }

  private startLanes(): void {
    while (this.running < COPY_LANES && this.running < this.queue.length && !this.failure) {
      this.running++;
      const lane: Promise<void> = this.lane().finally(() => this.lanes.delete(lane));
      this.lanes.add(lane);
    }
  }

  /** Copies pieces until none is left or a copy failed; never rejects (the failure is kept for `check`). */
  private async lane(): Promise<void> {
    const buffer = this.sources.takeBuffer();
    try {
      for (let piece = this.queue.shift(); piece && !this.failure; piece = this.queue.shift()) {
        const src = await this.sources.get(piece.file);
        for (let read = 0; read < piece.length; ) {
          const { bytesRead } = await src.read(buffer, read, piece.length - read, piece.offset + read);
          if (bytesRead === 0) throw changedError(piece.file);
          read += bytesRead;
        }
        await writeAt(this.fh, [buffer.subarray(0, piece.length)], piece.at, this.progress);
      }
    } catch (error) {
      this.failure ??= { error };
      this.queue.length = 0;
    } finally {
      this.running--;
      this.sources.giveBuffer(buffer);
    }
  }

  /** Throws the first failure of a copy, if one failed. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Waits for every piece to be copied; throws the first failure. */
  async finish(): Promise<void> {
    while (this.lanes.size || (this.queue.length && !this.failure)) {
      this.startLanes();
      await Promise.all(this.lanes);
    }
    this.check();
  }

  /** Waits until no copy is running, whatever happened. */
  async settle(): Promise<void> {
    this.queue.length = 0;
    while (this.lanes.size) await Promise.all(this.lanes);
  }
}

async function writeDataFile(fh: FileHandle, tensors: Plan['tensors'], sources: SourceFiles, progress: (n: number) => void): Promise<void> {
  const copies = new RegionCopies(fh, sources, progress);
  let position = 0;
  try {
    for (const pieces of tensors) {
      const aligned = Math.ceil(position / ALIGN) * ALIGN;
      if (aligned > position) {
        const padding = new Uint8Array(aligned - position);
        for (let done = 0; done < padding.byteLength; ) done += (await fh.write(padding, done, padding.byteLength - done, position + done)).bytesWritten;
        position = aligned;
      }
      copies.check();
      await writePieces(fh, pieces, position, copies, progress);
      position += piecesLength(pieces);
    }
    await copies.finish();
  } catch (e) {
    await copies.settle();
    throw e;
  }
}
