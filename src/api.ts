// The library surface on Node: load from a path or bytes, inject or analyse, save to a path or bytes
// (the host-independent part is src/core.ts).
// Nothing runs at import; every function returns typed results and throws SeInjectError for bad input.
// Options are checked once, here at the boundary (resolveOptions), before any model is read.

import { convertBytesWith, run } from './core.js';
import type { SEInjectOptions } from './core.js';
import type { Model } from './ir/model.js';
import { inputStampOf, planOutput } from './onnx/commit.js';
import { loadModelBytes, loadModelFile } from './onnx/load.js';
import type { LoadFileOptions, LoadOptions } from './onnx/load.js';
import { saveModel, serializeModel } from './onnx/save.js';
import type { SaveOptions, SaveResult } from './onnx/save.js';
import type { Report } from './report/format.js';
import { resolveOptions } from './options.js';

export { analyze, inject, listSites } from './core.js';
export type { SEInjectOptions };

/** Loads a model from a file path or from bytes already in memory. */
export async function loadModel(input: string | Uint8Array, options: LoadOptions & LoadFileOptions = {}): Promise<Model> {
  return typeof input === 'string' ? loadModelFile(input, options) : loadModelBytes(input, options);
}

const FILE_KEYS = ['overwrite', 'externalData', 'onProgress', 'inPlace', 'durable', 'defer'] as const;

/** Bytes in, bytes out: for pipelines that hold models in memory. `bytes` is undefined when nothing was inserted. */
export function convertBytes(input: Uint8Array, options: SEInjectOptions & LoadOptions = {}): { report: Report; bytes?: Uint8Array } {
  return convertBytesWith(loadModelBytes, input, options);
}

export interface ConvertFileOptions extends SEInjectOptions, SaveOptions, LoadFileOptions {}

/** File in, file out. Nothing is written when nothing was inserted. */
export async function convertFile(input: string, output: string, options: ConvertFileOptions = {}): Promise<{ report: Report; saved?: SaveResult }> {
  const o = resolveOptions(options, FILE_KEYS);
  // Refused before anything is read; the save checks again against every file the model reads.
  const stamp = await inputStampOf(input);
  await planOutput(output, stamp ? [stamp] : [], options);
  const model = await loadModelFile(input, { defer: options.defer });
  const report = run(model, o, false);
  if (!report.inserted) return { report };
  const saved = await saveModel(model, output, options);
  report.output = saved.path;
  return { report, saved };
}

export { saveModel, serializeModel };
