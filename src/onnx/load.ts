// Bytes → Model. The file is read once into one buffer; every tensor's bytes stay views into it
// (large weights of a big file stay in the file until the save: see deferred.ts).
// External data is located and checked (inside the model's folder, long enough) but never read here:
// the writer streams it file to file.

import { promises as fsp, statSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { SeInjectError, describeCause, inputError } from '../errors.js';
import { Model } from '../ir/model.js';
import type { ExternalRef } from '../ir/model.js';
import { readModelFile } from './deferred.js';
import type { DeferOptions, Deferred, FileBytes } from './deferred.js';
import { decodeModel, elementBytes, elementCount } from './proto.js';
import type { ModelProto, TensorProto } from './proto.js';
import { WireError, WireType, fields } from './wire.js';

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
  let stat;
  try {
    stat = await fsp.stat(file);
  } catch (e) {
    throw inputError(`${file}: no such file; check the path`, e);
  }
  if (stat.isDirectory()) throw inputError(`${file} is a directory; give the path of a .onnx file`);
  if (stat.size === 0) throw inputError(`${file} is empty (0 bytes); it is not an ONNX model`);
  let read: FileBytes;
  try {
    read = readModelFile(file, options.defer);
  } catch (e) {
    throw inputError(`${file}: cannot read it (${describeCause(e)})`, e);
  }
  return decode(read.bytes, { baseDir: path.dirname(path.resolve(file)), label: file }, read.deferred);
}

export function loadModelBytes(bytes: Uint8Array, options: LoadOptions = {}): Model {
  return decode(bytes, options, undefined);
}

function decode(bytes: Uint8Array, options: LoadOptions, deferred: Deferred | undefined): Model {
  const label = options.label ?? 'model bytes';
  if (bytes.byteLength === 0) throw inputError(`${label} is empty (0 bytes); it is not an ONNX model`);
  const proto = malformed(label, () => decodeModel(bytes), isOtherMessage(bytes));
  checkModelShape(proto, label);
  const external = resolveExternalData(proto, label, options.baseDir);
  // The IR reads subgraph bodies (If/Loop), which the decoder keeps as bytes: they can be malformed too.
  return malformed(label, () => new Model(proto, { bytes, deferred, external, sourceDir: options.baseDir, label }));
}

function malformed<T>(label: string, read: () => T, otherMessage = () => false): T {
  try {
    return read();
  } catch (e) {
    if (!(e instanceof WireError || e instanceof RangeError)) throw e;
    if (otherMessage()) {
      throw inputError(`${label} is a protobuf message but not an ONNX ModelProto (${describeCause(e)}); is it a TensorProto or another message? give a .onnx model`, e);
    }
    throw inputError(`${label} is not an ONNX model: the protobuf is malformed (${describeCause(e)}); the file may be truncated or not a .onnx file`, e);
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
    throw inputError(`${label} is not an ONNX ModelProto: it has no graph (is it a tensor, a text file or a truncated model?)`);
  }
  if (!m.irVersion) throw inputError(`${label} is not an ONNX ModelProto: ir_version is missing`);
  if (m.opsetImport.length === 0) {
    throw inputError(`${label} has no opset_import; the file is truncated or was not written by an ONNX exporter`);
  }
  for (const t of m.graph.initializers) {
    if (t.dims.some((d) => d < 0 || !Number.isFinite(d))) {
      throw inputError(`${label}: initializer ${t.name} has a negative or invalid dimension (${t.dims.join('×')})`);
    }
    const need = expectedBytes(t);
    if (t.rawData && need !== undefined && t.rawData.byteLength !== need) {
      throw inputError(`${label}: initializer ${t.name} declares ${t.dims.join('×') || 'a scalar'} (${need} bytes) but holds ${t.rawData.byteLength} bytes of raw_data; the file is damaged`);
    }
  }
}

/** Bytes a tensor's dims call for, for fixed-size element types; undefined for the others. */
function expectedBytes(t: TensorProto): number | undefined {
  const size = elementBytes(t.dataType);
  return size === undefined ? undefined : elementCount(t.dims) * size;
}

function resolveExternalData(m: ModelProto, label: string, baseDir: string | undefined): Map<TensorProto, ExternalRef> {
  const refs = new Map<TensorProto, ExternalRef>();
  const tensors = m.graph.initializers.filter((t) => t.dataLocation === 1);
  if (tensors.length === 0) return refs;
  if (!baseDir) {
    throw inputError(`${label} stores ${tensors.length} tensors as external data; load it from its file, or pass baseDir`);
  }
  const root = realpathSync(baseDir);
  const sizes = new Map<string, number>();
  for (const t of tensors) {
    const entry = (k: string) => t.externalData.find((e) => e.key === k)?.value;
    const location = entry('location');
    if (!location) throw inputError(`${label}: tensor ${t.name} is external but has no location`);
    const resolved = safeResolve(root, location, label, t.name);
    const offset = parseNonNegative(entry('offset') ?? '0', label, t.name, 'offset');
    if (!sizes.has(resolved)) {
      try {
        sizes.set(resolved, statSync(resolved).size);
      } catch (e) {
        throw inputError(`${label}: external data file ${location} of tensor ${t.name} is missing; keep it next to the model`, e);
      }
    }
    const fileSize = sizes.get(resolved)!;
    const lengthText = entry('length');
    const length = lengthText === undefined ? fileSize - offset : parseNonNegative(lengthText, label, t.name, 'length');
    if (offset + length > fileSize) {
      throw inputError(`${label}: external data file ${location} is ${fileSize} bytes, shorter than tensor ${t.name} needs (offset ${offset} + length ${length}); the file is truncated`);
    }
    const need = expectedBytes(t);
    if (need !== undefined && length < need) {
      throw inputError(`${label}: tensor ${t.name} declares ${t.dims.join('×')} (${need} bytes) but its external data holds ${length} bytes; the model and ${location} do not belong together`);
    }
    refs.set(t, { file: resolved, offset, length });
  }
  return refs;
}

function safeResolve(root: string, location: string, label: string, tensor: string): string {
  if (path.isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location)) {
    throw inputError(`${label}: tensor ${tensor} points at external data by absolute path (${location}); refused — external data must sit in the model's folder`);
  }
  const inside = (p: string) => p === root || p.startsWith(root + path.sep);
  const escapes = () => inputError(`${label}: external data location ${location} of tensor ${tensor} escapes the model's folder; refused`);
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
    throw inputError(`${label}: external data ${what} "${text}" of tensor ${tensor} is not a non-negative integer`);
  }
  return v;
}

export { SeInjectError };
