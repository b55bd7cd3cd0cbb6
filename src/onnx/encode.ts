// Model → bytes in memory, with no file system: the one encoder of a whole model that every host uses
// (the Node save streams the same encoding into files; see save.ts).

import { SeInjectError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { encodeModel } from './proto.js';

export const PROTOBUF_LIMIT = 2 ** 31 - 1;

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
  if (!model.source.stored) throw new Error(`IR: ${model.label} left weights in its input file but has no reader for them`);
  return model.source.stored.gather(w.finish());
}
