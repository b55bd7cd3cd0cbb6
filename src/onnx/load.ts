// Bytes → Model. The file is read once into one buffer; every tensor's bytes stay views into it
// (large weights of a big file stay in the file until the save: see deferred.ts).
// External data is located and checked (inside the model's folder, long enough) but never read here:
// the writer streams it file to file.

import { accessSync, constants, statSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { SeInjectError, describeCause, inputError, quote } from '../errors.js';
import type { ExternalRef, Model, StoredBytes } from '../ir/model.js';
import { decodeWith, malformed } from './decode.js';
import type { LoadOptions } from './decode.js';
import { fileKind, gatherBytes, notRegularError, readModelFile, readPieces } from './deferred.js';
import type { DeferOptions, Deferred, FileBytes } from './deferred.js';
import { stampOf } from './stamp.js';
import type { InputFile } from './stamp.js';
import { expectedBytes } from './proto.js';
import type { TensorProto } from './proto.js';
import { WireError } from './wire.js';

export type { LoadOptions };

/** Node's reader of bytes outside memory: holes from the input file, external data from its files. */
function storedBytes(source: Uint8Array, deferred: Deferred | undefined): StoredBytes {
  return { gather: (chunks) => gatherBytes(chunks, source, deferred), external: (ref) => readPieces([ref]) };
}
const NODE_STORED = storedBytes(new Uint8Array(), undefined);

export interface LoadFileOptions {
  /**
   * Large weights of a big file stay in it until the save (default: files from 4 MB, tensors from
   * 256 KiB); `false` reads every byte into memory, so that `tensor.rawData` holds the real values.
   */
  defer?: DeferOptions;
}

export async function loadModelFile(file: string, options: LoadFileOptions = {}): Promise<Model> {
  const shown = quote(file);
  let stat;
  try {
    stat = statSync(file); // metadata only: microseconds, where a trip through libuv's threads costs more
  } catch (e) {
    throw statError(file, e);
  }
  if (stat.isDirectory()) throw inputError(`${shown} is a directory; give the path of a .onnx file`);
  if (!stat.isFile()) throw notRegularError(file, stat);
  if (stat.size === 0) throw inputError(`${shown} is empty (0 bytes); it is not an ONNX model`);
  let read: FileBytes;
  try {
    read = readModelFile(file, options.defer);
  } catch (e) {
    if (e instanceof SeInjectError) throw e;
    if (e instanceof WireError) return malformed(file, () => { throw e; });
    throw statError(file, e);
  }
  const source = { baseDir: path.dirname(path.resolve(file)), label: file };
  if (read.malformedAt !== undefined) {
    // The scan stopped at bytes no decoder accepts, having read everything before them: the decoder
    // fails at the same byte as on the whole file. Should it not, the whole file is read after all.
    decode(read.bytes, source, undefined, undefined);
    read = readModelFile(file, false);
  }
  return decode(read.bytes, source, read.deferred, { ...read.stamp, role: 'model' });
}

/** Why a path cannot be opened, in words: ENOENT is not the only reason. */
function statError(file: string, e: unknown): SeInjectError {
  const shown = quote(file);
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return inputError(`${shown}: too many levels of symbolic links (ELOOP): the path is a symlink loop; point it at the model file`, e);
  if (code === 'EACCES' || code === 'EPERM') return inputError(`${shown}: permission denied (${code}); make the file readable`, e);
  if (code === 'ENOTDIR') return inputError(`${shown}: a part of the path is not a folder (ENOTDIR); check the path`, e);
  if (code === 'ENAMETOOLONG') return inputError(`${shown}: the path is too long (ENAMETOOLONG)`, e);
  if (code === 'ENOENT') return inputError(`${shown}: no such file; check the path`, e);
  return inputError(`${shown}: cannot read it (${describeCause(e)})`, e);
}

/** Bytes in memory; external data (with `baseDir`) is located and checked in the files there. */
export function loadModelBytes(bytes: Uint8Array, options: LoadOptions = {}): Model {
  return decodeWith(bytes, options, { stored: NODE_STORED, resolveExternal: resolveExternalData });
}

function decode(bytes: Uint8Array, options: LoadOptions, deferred: Deferred | undefined, modelFile: InputFile | undefined): Model {
  return decodeWith(bytes, options, { deferred, modelFile, stored: storedBytes(bytes, deferred), resolveExternal: resolveExternalData });
}

function resolveExternalData(tensors: TensorProto[], label: string, baseDir: string, inputs: InputFile[]): Map<TensorProto, ExternalRef> {
  const refs = new Map<TensorProto, ExternalRef>();
  const root = realpathSync(baseDir);
  const sizes = new Map<string, number>();
  for (const t of tensors) {
    const entry = (k: string) => t.externalData.find((e) => e.key === k)?.value;
    const location = entry('location');
    if (!location) throw inputError(`${quote(label)}: tensor ${quote(t.name)} is external but has no location`);
    const resolved = safeResolve(root, location, label, t.name);
    const offset = parseNonNegative(entry('offset') ?? '0', label, t.name, 'offset');
    if (!sizes.has(resolved)) {
      let stat;
      try {
        stat = statSync(resolved, { bigint: true });
      } catch (e) {
        throw inputError(`${quote(label)}: external data file ${quote(location)} of tensor ${quote(t.name)} is missing; keep it next to the model`, e);
      }
      // A FIFO or a device would block the copy or never end: only a regular file holds weights.
      if (!stat.isFile()) throw inputError(`${quote(label)}: external data file ${quote(location)} of tensor ${quote(t.name)} is ${fileKind(stat)}, not a regular file`);
      // Read only when the output is written: a file that cannot be read is refused now, before the work.
      try {
        accessSync(resolved, constants.R_OK);
      } catch (e) {
        throw inputError(`${quote(label)}: external data file ${quote(location)} of tensor ${quote(t.name)} cannot be read (${(e as NodeJS.ErrnoException).code ?? describeCause(e)}); make it readable`, e);
      }
      sizes.set(resolved, Number(stat.size));
      inputs.push({ ...stampOf(resolved, stat), role: 'data' });
    }
    const fileSize = sizes.get(resolved)!;
    const lengthText = entry('length');
    const length = lengthText === undefined ? fileSize - offset : parseNonNegative(lengthText, label, t.name, 'length');
    if (offset + length > fileSize) {
      throw inputError(`${quote(label)}: external data file ${quote(location)} is ${fileSize} bytes, shorter than tensor ${quote(t.name)} needs (offset ${offset} + length ${length}); the file is truncated`);
    }
    const need = expectedBytes(t);
    if (need !== undefined && length < need) {
      throw inputError(`${quote(label)}: tensor ${quote(t.name)} declares ${t.dims.join('×')} (${need} bytes) but its external data holds ${length} bytes; the model and ${quote(location)} do not belong together`);
    }
    refs.set(t, { file: resolved, offset, length });
  }
  return refs;
}

function safeResolve(root: string, location: string, label: string, tensor: string): string {
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) {
    throw inputError(`${quote(label)}: tensor ${quote(tensor)} points at external data by absolute path (${quote(location)}); refused — external data must sit in the model's folder`);
  }
  const inside = (p: string) => p === root || p.startsWith(root + path.sep);
  const escapes = () => inputError(`${quote(label)}: external data location ${quote(location)} of tensor ${quote(tensor)} escapes the model's folder; refused`);
  const candidate = path.resolve(root, location);
  // Checked before the file system is asked anything about the path.
  if (!inside(candidate)) throw escapes();
  let real = candidate;
  try {
    real = realpathSync(candidate);
  } catch {
    // A missing file is reported by the size check with a clearer message; the path itself must still stay inside.
  }
  if (!inside(real)) throw escapes();
  return real;
}

function parseNonNegative(text: string, label: string, tensor: string, what: string): number {
  const v = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(v)) {
    throw inputError(`${quote(label)}: external data ${what} "${text}" of tensor ${quote(tensor)} is not a non-negative integer`);
  }
  return v;
}

export { SeInjectError };
