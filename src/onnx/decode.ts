// Bytes → Model, with no file system: the decoder checks the model's shape and builds the IR. Where
// external data lives is the host's business: the Node loader (load.ts) passes a resolver that finds
// and checks the data files; without one, a model that keeps tensors outside is refused.

import { describeCause, inputError, quote } from '../errors.js';
import { Model } from '../ir/model.js';
import type { ExternalRef, StoredBytes } from '../ir/model.js';
import type { Deferred } from './deferred.js';
import type { InputFile } from './stamp.js';
import { decodeModel, decodedInitializerFacts, expectedBytes, holdsDeclaredShape, validDims } from './proto.js';
import type { ModelProto, TensorProto } from './proto.js';
import { LimitError, WireError, WireType, fields, withDecodeBudget } from './wire.js';

export interface LoadOptions {
  /** Folder that external data locations are relative to (the model file's folder when loading a file). */
  baseDir?: string;
  /** Shown in messages instead of a path when loading bytes. */
  label?: string;
}

/** What a host adds to decoded bytes: where external data is, what was read, how to read what is not in memory. */
export interface HostContext {
  deferred?: Deferred;
  modelFile?: InputFile;
  stored?: StoredBytes;
  /** Locates and checks every external tensor (adding the data files it reads to `inputs`). */
  resolveExternal?: (tensors: TensorProto[], label: string, baseDir: string, inputs: InputFile[]) => Map<TensorProto, ExternalRef>;
}

/** A model from bytes in memory (no external data: give the model's file to a host that can read it). */
export function loadModelBytes(bytes: Uint8Array, options: LoadOptions = {}): Model {
  return decodeWith(bytes, options, {});
}

export function decodeWith(bytes: Uint8Array, options: LoadOptions, host: HostContext): Model {
  const label = options.label ?? 'model bytes';
  if (bytes.byteLength === 0) throw inputError(`${quote(label)} is empty (0 bytes); it is not an ONNX model`);
  return withDecodeBudget(() => {
    const proto = malformed(label, () => decodeModel(bytes), isOtherMessage(bytes));
    checkModelShape(proto, label);
    const inputs: InputFile[] = host.modelFile ? [host.modelFile] : [];
    const external = externalData(proto, label, options.baseDir, inputs, host);
    // The IR reads subgraph bodies (If/Loop), which the decoder keeps as bytes: they can be malformed too.
    return malformed(label, () => new Model(proto, { bytes, deferred: host.deferred, external, inputs, sourceDir: options.baseDir, label, stored: host.stored }));
  });
}

function externalData(m: ModelProto, label: string, baseDir: string | undefined, inputs: InputFile[], host: HostContext): Map<TensorProto, ExternalRef> {
  const tensors = decodedInitializerFacts(m.graph)?.external ?? m.graph.initializers.filter((t) => t.dataLocation === 1);
  if (tensors.length === 0) return new Map();
  if (!baseDir || !host.resolveExternal) {
    throw inputError(`${quote(label)} stores ${tensors.length} tensors as external data; load it from its file, or pass baseDir`);
  }
  return host.resolveExternal(tensors, label, baseDir, inputs);
}

export function malformed<T>(label: string, read: () => T, otherMessage = () => false): T {
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
  // The first initializer that breaks its declared shape: the decoder saw it, for a graph it decoded.
  const facts = decodedInitializerFacts(m.graph);
  const t = facts ? facts.odd : m.graph.initializers.find((x) => !holdsDeclaredShape(x));
  if (!t) return;
  if (!validDims(t.dims)) {
    throw inputError(`${quote(label)}: initializer ${quote(t.name)} has a negative or invalid dimension (${t.dims.join('×')})`);
  }
  const need = expectedBytes(t);
  throw inputError(`${quote(label)}: initializer ${quote(t.name)} declares ${t.dims.join('×') || 'a scalar'} (${need} bytes) but holds ${t.rawData?.byteLength} bytes of raw_data; the file is damaged`);
}
