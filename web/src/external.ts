// External data in the browser. The core decodes one buffer, so a model whose weights sit in a .data
// file is first made whole: each external tensor's region is read from the picked File by Blob.slice
// (the .data file is never read into one buffer), then written inline. On the way out, weights of
// 1 KiB and more move back into a .data Blob built from those pieces, aligned as the CLI aligns them.
// Both directions stay under protobuf's 2 GiB limit for the .onnx, and the browser's limit on a single
// ArrayBuffer for the model file itself.

import { SeInjectError } from '../../src/errors.js';
import { PROTOBUF_LIMIT } from '../../src/onnx/encode.js';
import { decodeModel, encodeModel } from '../../src/onnx/proto.js';
import type { TensorProto } from '../../src/onnx/proto.js';

const EXTERNALIZE_MIN_BYTES = 1024;
const ALIGN = 64;

const entry = (t: TensorProto, key: string) => t.externalData.find((e) => e.key === key)?.value;

/** The data files the model names, by location. */
export function externalLocations(model: Uint8Array): string[] {
  const proto = decodeModel(model);
  return [...new Set(proto.graph.initializers.filter((t) => t.dataLocation === 1).map((t) => entry(t, 'location') ?? ''))];
}

/** The model's bytes with every external tensor read from `files` (by location name) and stored inline. */
export async function inlineExternalData(model: Uint8Array, label: string, files: ReadonlyMap<string, Blob>): Promise<Uint8Array> {
  const proto = decodeModel(model);
  const external = proto.graph.initializers.filter((t) => t.dataLocation === 1);
  if (!external.length) return model;
  let total = 0;
  for (const t of external) {
    const location = entry(t, 'location') ?? '';
    const file = files.get(location);
    if (!file) throw new SeInjectError('input', `${label}: tensor ${t.name} is stored in ${location}; pick that file together with the model`);
    const offset = Number(entry(t, 'offset') ?? 0);
    const length = entry(t, 'length') !== undefined ? Number(entry(t, 'length')) : file.size - offset;
    if (!(offset >= 0 && length >= 0 && offset + length <= file.size)) {
      throw new SeInjectError('input', `${label}: ${location} is ${file.size} bytes, shorter than tensor ${t.name} needs (offset ${offset} + length ${length}); the file is truncated or another model's`);
    }
    total += length;
    if (total > PROTOBUF_LIMIT) {
      throw new SeInjectError('unsupported', `${label}: more than 2 GiB of external data; the page holds the model whole in memory, which protobuf and the browser limit to 2 GiB — use the CLI (npx se-inject) for this model`);
    }
    Object.assign(t, { rawData: new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()), dataLocation: 0, externalData: [], src: undefined });
  }
  return encodeModel(proto).toBytes();
}

/** Splits a whole model into OUT.onnx and OUT.onnx.data (weights of 1 KiB and more), as the CLI writes them. */
export function splitExternalData(model: Uint8Array, dataName: string): { model: Uint8Array; data: Blob } {
  const proto = decodeModel(model);
  const pieces: BlobPart[] = [];
  let offset = 0;
  for (const t of proto.graph.initializers) {
    if (!t.rawData || t.rawData.byteLength < EXTERNALIZE_MIN_BYTES) continue;
    const aligned = Math.ceil(offset / ALIGN) * ALIGN;
    if (aligned > offset) pieces.push(new Uint8Array(aligned - offset));
    const length = t.rawData.byteLength;
    pieces.push(t.rawData as Uint8Array<ArrayBuffer>);
    Object.assign(t, { rawData: undefined, src: undefined, dataLocation: 1, externalData: [
      { key: 'location', value: dataName }, { key: 'offset', value: String(aligned) }, { key: 'length', value: String(length) },
    ] });
    offset = aligned + length;
  }
  return { model: encodeModel(proto).toBytes(), data: new Blob(pieces) };
}
