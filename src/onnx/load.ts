// Bytes → Model. The file is read once into one buffer; every tensor's bytes stay views into it
// (large weights of a big file stay in the file until the save: see deferred.ts).
// External data is located and checked (inside the model's folder, long enough) but never read here:
// the writer streams it file to file.

import { promises as fsp, statSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { SeInjectError, describeCause, inputError, quote } from '../errors.js';
import { Model } from '../ir/model.js';
import type { ExternalRef } from '../ir/model.js';
import { fileKind, notRegularError, readModelFile } from './deferred.js';
import type { DeferOptions, Deferred, FileBytes } from './deferred.js';
import { stampOf } from './stamp.js';
import type { InputFile } from './stamp.js';
import { decodeModel, elementBytes, elementCount } from './proto.js';
import type { ModelProto, TensorProto } from './proto.js';
import { LimitError, WireError, WireType, fields, withDecodeBudget } from './wire.js';

export interface LoadOptions {
  /** Folder that external data locations are relative to (the model file's folder when loading a file). */
  baseDir?: string;
  /** Shown in messages instead of a path when loading bytes. */
  label?: string;
}

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
    stat = await fsp.stat(file);
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
    throw inputError(`${shown}: cannot read it (${describeCause(e)})`, e);
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

export function loadModelBytes(bytes: Uint8Array, options: LoadOptions = {}): Model {
  return decode(bytes, options, undefined, undefined);
}

function decode(bytes: Uint8Array, options: LoadOptions, deferred: Deferred | undefined, modelFile: InputFile | undefined): Model {
  const label = options.label ?? 'model bytes';
  if (bytes.byteLength === 0) throw inputError(`${quote(label)} is empty (0 bytes); it is not an ONNX model`);
  return withDecodeBudget(() => {
    const proto = malformed(label, () => decodeModel(bytes), isOtherMessage(bytes));
    checkModelShape(proto, label);
    const inputs: InputFile[] = modelFile ? [modelFile] : [];
    const external = resolveExternalData(proto, label, options.baseDir, inputs);
    // The IR reads subgraph bodies (If/Loop), which the decoder keeps as bytes: they can be malformed too.
    return malformed(label, () => new Model(proto, { bytes, deferred, external, inputs, sourceDir: options.baseDir, label }));
  });
}

function malformed<T>(label: string, read: () => T, otherMessage = () => false): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof LimitError) {
      throw inputError(`${quote(label)} holds ${describeCause(e)}; no model is that large in its structure, so it is refused rather than exhaust memory`, e);
    }
    if (!(e instanceof WireError || e instanceof RangeError)) throw e;
    if (otherMessage()) {
      throw inputError(`${quote(label)} is a protobuf message but not an ONNX ModelProto (${describeCause(e)}); is it a TensorProto or another message? give a .onnx model`, e);
    }
    throw inputError(`${quote(label)} is not an ONNX model: the protobuf is malformed (${describeCause(e)}); the file may be truncated or not a .onnx file`, e);
  }
}

/** Well-formed protobuf without a graph field: another message (a TensorProto, say), not a damaged model. */
function isOtherMessage(bytes: Uint8Array): () => boolean {
  return () => {
    try {
      return ![...fields(bytes)].some((f) => f.no === 7 && f.type === WireType.LengthDelimited);
    } catch {
      return false;
    }
  };
}

function checkModelShape(m: ModelProto, label: string): void {
  if (!m.hasGraph) {
    throw inputError(`${quote(label)} is not an ONNX ModelProto: it has no graph (is it a tensor, a text file or a truncated model?)`);
  }
  if (!m.irVersion) throw inputError(`${quote(label)} is not an ONNX ModelProto: ir_version is missing`);
  if (m.opsetImport.length === 0) {
    throw inputError(`${quote(label)} has no opset_import; the file is truncated or was not written by an ONNX exporter`);
  }
  for (const t of m.graph.initializers) {
    if (t.dims.some((d) => d < 0 || !Number.isFinite(d))) {
      throw inputError(`${quote(label)}: initializer ${quote(t.name)} has a negative or invalid dimension (${t.dims.join('×')})`);
    }
    const need = expectedBytes(t);
    if (t.rawData && need !== undefined && t.rawData.byteLength !== need) {
      throw inputError(`${quote(label)}: initializer ${quote(t.name)} declares ${t.dims.join('×') || 'a scalar'} (${need} bytes) but holds ${t.rawData.byteLength} bytes of raw_data; the file is damaged`);
    }
  }
}

/** Bytes a tensor's dims call for, for fixed-size element types; undefined for the others. */
function expectedBytes(t: TensorProto): number | undefined {
  const size = elementBytes(t.dataType);
  return size === undefined ? undefined : elementCount(t.dims) * size;
}

function resolveExternalData(m: ModelProto, label: string, baseDir: string | undefined, inputs: InputFile[]): Map<TensorProto, ExternalRef> {
  const refs = new Map<TensorProto, ExternalRef>();
  const tensors = m.graph.initializers.filter((t) => t.dataLocation === 1);
  if (tensors.length === 0) return refs;
  if (!baseDir) {
    throw inputError(`${quote(label)} stores ${tensors.length} tensors as external data; load it from its file, or pass baseDir`);
  }
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
