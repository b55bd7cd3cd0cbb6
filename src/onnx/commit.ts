// The write protocol: how every file a run creates reaches its place, so that no fault (an error, a
// full disk, a signal, a crash, a second writer) can damage the input or any file the user already had.
//
//   1. Plan: the output's real path (folders and links resolved) is compared, by device and inode, with
//      every file the model was read from; only regular files are ever replaced, and only when asked.
//   2. Write: each file goes to a temporary in the output's folder (`.NAME.se-inject-HOST-PID-RAND.tmp`,
//      created exclusively), is made durable (fsync) and closed. A signal removes the temporaries; a
//      later run removes the ones a dead process of this host left behind.
//   3. Commit: a new name is taken with link(2), which fails if the name exists — so "never overwrite"
//      holds against a second writer too; a replacement is one rename(2). The data file is committed
//      before the model that points at it, under a name no existing model points at (see `saveModel`).

import { accessSync, constants, lstatSync, promises as fsp, readFileSync, readdirSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { SeInjectError, describeCause } from '../errors.js';
import { sameFile, stampOf } from './stamp.js';
import type { InputFile } from './stamp.js';

const HOST = os.hostname().replace(/[^A-Za-z0-9_.]/g, '_') || 'host';
/** This boot of the machine (Linux's boot_id; '' elsewhere): a lock written before a reboot names a process that has ended, whatever has its number now. */
const BOOT = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/[^0-9a-f-]/g, '');
  } catch {
    return '';
  }
})();
/** How long a lock may stay empty before it is taken for one whose writer died before writing its owner. */
const EMPTY_LOCK_MS = 1000;
const LOCK_WAIT_MS = 60_000;
const TEMP = /^\..+\.se-inject-(.+)-(\d+)-[0-9a-f]{8}\.tmp$/;

export function tempPath(dir: string, base: string): string {
  const suffix = `.se-inject-${HOST}-${process.pid}-${randomHex8()}.tmp`;
  return path.join(dir, `.${fitName(base, suffix)}${suffix}`);
}

/** The longest file name (bytes) on Linux, macOS and Windows file systems. */
export const NAME_MAX = 255;

/**
 * `base`, cut so that `.BASE` + `suffix` is one file name the system accepts: an output named near the
 * limit is as writable as any other, though its temporaries and lock have longer names. A cut name ends
 * in a hash of the whole one, so two long names that share their start stay apart.
 */
export function fitName(base: string, suffix: string): string {
  const room = NAME_MAX - 1 - Buffer.byteLength(suffix);
  if (Buffer.byteLength(base) <= room) return base;
  const tag = `~${fnv1a(base)}`;
  const chars = Array.from(base); // whole code points: a cut never splits a UTF-8 sequence
  let bytes = Buffer.byteLength(base) + tag.length;
  while (bytes > room) bytes -= Buffer.byteLength(chars.pop()!);
  return chars.join('') + tag;
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * Eight hex digits that tell this process's temporaries apart (host and pid tell processes apart).
 * Math.random, not node:crypto, whose loading costs a short run some 20–30 ms.
 */
export function randomHex8(): string {
  return Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
}

export interface OutputPlan {
  /** The output's real path: its folder resolved, a symbolic link followed. */
  target: string;
  dir: string;
  /** A regular file is there now (it is replaced: `overwrite` or `inPlace` allowed it). */
  exists: boolean;
  /** The output is the model's own input file (`inPlace`). */
  replacesInput: boolean;
  /** What the file replaced had, and its replacement keeps (undefined for a new output). */
  replaced?: Kept;
}

/**
 * A replaced file's permission bits and owner, which its replacement takes: a private model (0600)
 * stays private, a read-only one read-only, and a model root rewrites stays its owner's.
 */
export interface Kept {
  mode: number;
  uid: number;
  gid: number;
  /** Other names of the replaced file (hard links), which keep the old contents. */
  otherNames: number;
}

function keptOf(s: BigIntStats): Kept {
  return { mode: Number(s.mode) & 0o777, uid: Number(s.uid), gid: Number(s.gid), otherNames: Number(s.nlink) - 1 };
}

export interface TargetOptions {
  overwrite?: boolean;
  inPlace?: boolean;
}

const err = (kind: 'usage' | 'output', message: string) => new SeInjectError(kind, message);

/** Metadata of a path, or undefined where there is none (a missing file, a dangling link). */
function statOrNone(file: string): BigIntStats | undefined {
  try {
    return statSync(file, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Decides where the output goes, or refuses with what to do. Reads nothing but metadata, with the
 * synchronous calls: each is microseconds, where a trip through libuv's threads and back costs more,
 * and on a busy machine a wait for each thread to be scheduled.
 */
export async function planOutput(file: string, inputs: readonly InputFile[], o: TargetOptions): Promise<OutputPlan> {
  if (!file || file.endsWith('/') || file.endsWith(path.sep)) {
    throw err('usage', `output ${file || '""'} names a folder; give the output file's path, e.g. ${path.join(file || '.', 'model_se.onnx')}`);
  }
  const asked = path.resolve(file);
  const nameBytes = Buffer.byteLength(path.basename(asked));
  if (nameBytes > NAME_MAX) throw err('output', `output ${file}: its file name is ${nameBytes} bytes, past the file system's ${NAME_MAX}; choose a shorter name`);
  let dir: string;
  try {
    dir = realpathSync.native(path.dirname(asked));
  } catch {
    throw err('output', `output folder ${path.dirname(asked)} does not exist; create it first`);
  }
  if (!statSync(dir).isDirectory()) throw err('output', `${path.dirname(asked)} is not a folder; the output path must be inside a folder`);
  let target = path.join(dir, path.basename(asked));
  let link;
  try {
    link = lstatSync(target);
  } catch {
    // Nothing there yet.
  }
  if (link?.isSymbolicLink()) {
    try {
      target = realpathSync.native(target);
    } catch {
      throw err('output', `${file} is a symbolic link to a missing file; give the path the output should have`);
    }
    dir = path.dirname(target);
  }
  const there = statOrNone(target);
  if (there?.isDirectory()) throw err('usage', `${file} is a folder; give the output file's path, e.g. ${path.join(file, 'model_se.onnx')}`);
  if (there && !there.isFile()) {
    throw err('output', `${file} is not a regular file (a device, FIFO or socket); se-inject only replaces regular files — choose another output path`);
  }
  const input = there && inputs.find((i) => sameFile(i, there));
  if (input?.role === 'data') throw err('usage', `${file} is the external data file of the input model; choose another output path`);
  const replacesInput = !!input;
  if (replacesInput && !o.inPlace) {
    throw err('usage', `${file} is the input file${input.file !== asked ? ` (${input.file})` : ''}; choose another output, or pass --in-place to replace it`);
  }
  if (there && !replacesInput && !o.overwrite) throw err('output', `${file} already exists; pass --force to overwrite it`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw err('output', `output folder ${dir} is not writable; choose another output path`);
  }
  return { target, dir, exists: !!there, replacesInput, replaced: there && keptOf(there) };
}

/**
 * Whether the data file next to the output exists, and may be replaced (then what it has that its
 * replacement keeps); refuses where it must not be.
 */
export async function planDataFile(plan: OutputPlan, data: string, inputs: readonly InputFile[], o: TargetOptions): Promise<Kept | undefined> {
  const there = statOrNone(data);
  if (!there) return undefined;
  if (!there.isFile()) throw err('output', `${data} is not a regular file; se-inject only replaces regular files — choose another output path`);
  const input = inputs.find((i) => sameFile(i, there));
  if (input?.role === 'model') throw err('usage', `${data}, where the output's weights would go, is the input model; choose another output path`);
  if (input && !plan.replacesInput) {
    throw err('usage', `${data}, where the output's weights would go, is the input's external data file; choose another output name`);
  }
  if (!input && !o.overwrite) throw err('output', `${data} already exists; pass --force to overwrite it`);
  return keptOf(there);
}

/** Files this process created and has not committed; a signal removes them before the process ends. */
const pending = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(signal: NodeJS.Signals): void {
  for (const f of pending) {
    try {
      unlinkSync(f);
    } catch {
      // already gone, or the folder forbids it: nothing more can be done here
    }
  }
  pending.clear();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // Ended the way the signal would have ended it, unless the host program handles the signal itself.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function track(file: string): void {
  if (pending.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
  pending.add(file);
}

function untrack(file: string): void {
  if (pending.delete(file) && pending.size === 0) for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/** Removes temporaries that a process of this host, no longer running, left in `dir` (a crash, SIGKILL). */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m || m[1] !== HOST || Number(m[2]) === process.pid || alive(Number(m[2]))) continue;
    try {
      unlinkSync(path.join(dir, name));
      removed.push(name);
    } catch {
      // another run removed it first, or it cannot be removed: leave it
    }
  }
  return removed;
}

/** The file is empty and was last changed at least `ms` ago. */
function emptyFor(file: string, ms: number): boolean {
  try {
    const st = statSync(file);
    return st.size === 0 && Date.now() - st.mtimeMs >= ms;
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function isTempName(name: string): boolean {
  return TEMP.test(name);
}

/**
 * The files one save creates. Until `commit()`, a failure removes all of them (`rollback`); after it,
 * the output stands and only temporaries are removed.
 */
export class Transaction {
  private readonly created: Array<{ file: string; ino?: bigint }> = [];
  private committedFiles = new Set<string>();
  private lockFile?: string;

  constructor(readonly dir: string, readonly durable: boolean) {}

  /**
   * Writes a temporary for `base` in the folder, made durable and closed. With `keep`, it takes the
   * permission bits and owner of the file it will replace before any byte is written, having been
   * created readable by its owner alone: nobody the old file kept out can open it meanwhile.
   */
  async writeTemp(base: string, write: (fh: FileHandle) => Promise<void>, keep?: Kept): Promise<string> {
    const first = tempPath(this.dir, base);
    // Tracked before it exists: a signal that comes while the file is being created still removes it.
    // The name holds this process's id and a random part, so no other file can have it.
    this.remember(first);
    const fh = await fsp.open(first, 'wx', keep ? 0o600 : 0o666).catch((e: unknown) => {
      this.forget(first);
      throw e;
    });
    let temp = first;
    let failure: unknown;
    try {
      if (keep) await keepAttributes(fh, keep);
      // A folder that allows creating files but not renaming them (chattr +a, some network shares)
      // is found now, before any weight is written.
      temp = tempPath(this.dir, base);
      this.remember(temp);
      await fsp.rename(first, temp).catch((e: unknown) => {
        this.forget(temp);
        throw e;
      });
      this.forget(first);
      await write(fh);
      if (this.durable) await fh.sync();
    } catch (e) {
      failure = e;
    }
    // A failed close is reported only when nothing failed before it: the first fault is the real one.
    await fh.close().catch((e) => (failure ??= e));
    if (failure) throw failure;
    return temp;
  }

  /** Gives `temp` the new name `final`, failing if anything exists there (never overwrites). */
  async createExclusive(temp: string, final: string): Promise<void> {
    try {
      await fsp.link(temp, final);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw appeared(final);
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK'].includes(code ?? '')) throw e;
      // No hard links here: reserve the name exclusively, then move the file onto the reservation.
      const placeholder = await fsp.open(final, 'wx').catch((e2: NodeJS.ErrnoException) => {
        throw e2.code === 'EEXIST' ? appeared(final) : e2;
      });
      await placeholder.close();
      this.remember(final);
      await fsp.rename(temp, final);
      this.forget(temp);
      return;
    }
    this.remember(final, statSync(final, { bigint: true }).ino);
    await fsp.unlink(temp);
    this.forget(temp);
  }

  /** Replaces the regular file at `final` with `temp` in one step. */
  async replace(temp: string, final: string): Promise<void> {
    await fsp.rename(temp, final);
    this.forget(temp);
  }

  /** A temporary second name of `existing` (a hard link), removed with the other temporaries. */
  async linkTemp(existing: string, base: string): Promise<string> {
    const temp = tempPath(this.dir, base);
    this.remember(temp); // before it exists, as in writeTemp
    await fsp.link(existing, temp).catch((e: unknown) => {
      this.forget(temp);
      throw e;
    });
    return temp;
  }

  /**
   * Only one save commits to `target` at a time, so two writers given overwrite leave one output whole
   * (its model and data together). A lock is taken over when its process, of this host, has ended or
   * was written before the machine last booted (whatever process has its number now), and when it has
   * stayed empty for a second: a writer puts its owner in at once, so an empty lock is one whose writer
   * died between creating it and writing it (a crash, a power loss).
   */
  async lock(target: string): Promise<void> {
    const file = path.join(path.dirname(target), `.${fitName(path.basename(target), '.se-inject.lock')}.se-inject.lock`);
    const owner = `${HOST} ${process.pid}${BOOT ? ` ${BOOT}` : ''}\n`;
    for (const started = Date.now(); ; ) {
      try {
        writeFileSync(file, owner, { flag: 'wx' }); // a few bytes: synchronous, as the metadata calls are
        this.lockFile = file;
        track(file);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
      const [host, pid, boot] = (text ?? '').trim().split(' ');
      const ended = host === HOST && pid && ((boot && BOOT && boot !== BOOT) || !alive(Number(pid)));
      if (ended || (text === '' && emptyFor(file, EMPTY_LOCK_MS))) {
        await fsp.unlink(file).catch(() => {});
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS) {
        throw new SeInjectError('output', `another se-inject run (process ${pid ?? '?'} on ${host ?? '?'}) is writing ${target}; nothing was written — try again when it has finished, or remove ${file} if no such run exists`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async unlock(): Promise<void> {
    if (!this.lockFile) return;
    const file = this.lockFile;
    // Tried twice: a lock left behind only delays the next run until it sees this process has ended.
    await fsp.unlink(file).catch(() => fsp.unlink(file)).catch(() => {});
    untrack(this.lockFile);
    this.lockFile = undefined;
  }

  /** The output stands: what was created under final names is no longer removed on failure. */
  commit(): void {
    for (const c of this.created) if (!isTempName(path.basename(c.file))) this.committedFiles.add(c.file);
    for (const f of this.committedFiles) untrack(f);
  }

  /** Removes what this save created and did not commit; returns the files that could not be removed. */
  async rollback(): Promise<Array<{ file: string; why: string }>> {
    const left: Array<{ file: string; why: string }> = [];
    for (const c of this.created.splice(0).reverse()) {
      if (this.committedFiles.has(c.file)) continue;
      try {
        // A final name is removed only while it is still the file this save made.
        if (c.ino !== undefined && (await fsp.stat(c.file, { bigint: true })).ino !== c.ino) continue;
        await fsp.unlink(c.file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push({ file: c.file, why: describeCause(e) });
      }
      untrack(c.file);
    }
    return left;
  }

  /** Makes the renames themselves durable; a folder that cannot be synced gives a note, not a failure. */
  async syncDir(): Promise<string | undefined> {
    if (!this.durable) return undefined;
    try {
      const fh = await fsp.open(this.dir, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close().catch(() => {});
      }
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'EISDIR' || code === 'ENOTSUP') return undefined; // folders cannot be synced here
      return `the output is written, but the folder ${this.dir} could not be synced (${describeCause(e)}): a power loss now could lose the new name`;
    }
  }

  private remember(file: string, ino?: bigint): void {
    this.created.push({ file, ino });
    track(file);
  }

  private forget(file: string): void {
    const i = this.created.findIndex((c) => c.file === file);
    if (i >= 0) this.created.splice(i, 1);
    untrack(file);
  }
}

async function keepAttributes(fh: FileHandle, keep: Kept): Promise<void> {
  // Only root may give a file away, or a group its owner is not in: otherwise the new file is the
  // user's own, as any file they write.
  if (keep.uid !== process.getuid?.() || keep.gid !== process.getgid?.()) await fh.chown(keep.uid, keep.gid).catch(() => {});
  // After chown, which may clear bits. A file system without Unix modes (FAT, some shares) refuses
  // chmod; the temporary then keeps the owner-only mode it was created with, never a wider one.
  await fh.chmod(keep.mode).catch((e: NodeJS.ErrnoException) => {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(e.code ?? '')) throw e;
  });
}

function appeared(file: string): SeInjectError {
  return new SeInjectError('output', `${file} was created by another program while se-inject was writing; nothing was written — pass --force to overwrite it, or choose another output path`);
}

/** The stamp of a path now, for inputs given by path before anything is loaded. */
export async function inputStampOf(file: string): Promise<InputFile | undefined> {
  try {
    const real = realpathSync.native(file);
    return { ...stampOf(real, statSync(real, { bigint: true })), role: 'model' };
  } catch {
    return undefined;
  }
}
