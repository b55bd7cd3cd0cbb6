// The library surface: load from a path or bytes, inject or analyse, save to a path or bytes.
// Nothing runs at import; every function returns typed results and throws SeInjectError for bad input.
// Options are checked once, here at the boundary (resolveOptions), before any model is read.

import { functionCalls } from './analysis/functions.js';
import { inferShapes } from './analysis/shapes.js';
import { injectSE } from './inject.js';
import type { InjectOptions } from './inject.js';
import { cloneModel } from './ir/model.js';
import type { Model } from './ir/model.js';
import { inputStampOf, planOutput } from './onnx/commit.js';
import { loadModelBytes, loadModelFile } from './onnx/load.js';
import type { LoadFileOptions, LoadOptions } from './onnx/load.js';
import { saveModel, serializeModel } from './onnx/save.js';
import type { SaveOptions, SaveResult } from './onnx/save.js';
import type { Report } from './report/format.js';
import { summarize } from './report/summary.js';
import { countOps } from './report/op-counts.js';
import { checkDimsFor, clampNote, resolveOptions } from './options.js';

export type SEInjectOptions = Partial<InjectOptions>;

/** Loads a model from a file path or from bytes already in memory. */
export async function loadModel(input: string | Uint8Array, options: LoadOptions & LoadFileOptions = {}): Promise<Model> {
  return typeof input === 'string' ? loadModelFile(input, options) : loadModelBytes(input, options);
}

const LOAD_KEYS = ['baseDir', 'label'] as const;
const FILE_KEYS = ['overwrite', 'externalData', 'onProgress', 'inPlace', 'durable', 'defer'] as const;

function run(model: Model, o: InjectOptions, dryRun: boolean): Report {
  checkDimsFor(model, o);
  const summary = summarize(model, inferShapes(model.graph, model.opset, o, model.label));
  const target = dryRun ? cloneModel(model) : model;
  const { report } = injectSE(target, o);
  const notes = [clampNote(o, report.blocks), functionsNote(model, report.inserted)].filter((n): n is string => !!n);
  const opCounts = { before: summary.opCounts, after: countOps(target.graph) };
  return { file: model.label, dryRun, model: summary, ...report, opCounts, ...(notes.length ? { notes } : {}) };
}

/** Blocks were found, but some layers sit inside model-local functions, which are left as they are. */
function functionsNote(model: Model, inserted: number): string | undefined {
  const calls = inserted ? functionCalls(model) : [];
  return calls.length ? `the calls of model-local functions (${calls.join(', ')}) were not looked into; blocks inside them have no SE (export without functions to include them)` : undefined;
}

/** The report of what injection would do; the model is left as it is. */
export function analyze(model: Model, options: SEInjectOptions = {}): Report {
  return run(model, resolveOptions(options), true);
}

/** Inserts SE blocks into the model in place and returns the report (`inserted` 0: nothing to insert). */
export function inject(model: Model, options: SEInjectOptions = {}): Report {
  return run(model, resolveOptions(options), false);
}

/** Bytes in, bytes out: for pipelines that hold models in memory. `bytes` is undefined when nothing was inserted. */
export function convertBytes(input: Uint8Array, options: SEInjectOptions & LoadOptions = {}): { report: Report; bytes?: Uint8Array } {
  const o = resolveOptions(options, LOAD_KEYS);
  const model = loadModelBytes(input, options);
  const report = run(model, o, false);
  return { report, bytes: report.inserted ? serializeModel(model) : undefined };
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
