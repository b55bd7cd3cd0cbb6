// The library for models in memory, on any host: analyse, inject, convert bytes to bytes. Nothing here
// touches a file system; src/api.ts (Node) adds files, src/browser.ts re-exports this for bundles.
// Options are checked once, here at the boundary (resolveOptions), before any model is read.

import { analyseModel } from './analysis/analyse.js';
import { blockedCalls, expandCallsHoldingBlocks, expandedCopy } from './analysis/functions.js';
import type { CallExpansion } from './analysis/functions.js';
import { imageSizeNote } from './analysis/input-dims.js';
import { attentionSites, injectSE } from './inject.js';
import type { SitesReport } from './report/sites.js';
import type { InjectOptions } from './inject.js';
import { cloneModel } from './ir/model.js';
import type { Model } from './ir/model.js';
import { loadModelBytes as decodeBytes } from './onnx/decode.js';
import type { LoadOptions } from './onnx/decode.js';
import { serializeModel } from './onnx/encode.js';
import type { SEReport } from './report/build.js';
import type { Report } from './report/format.js';
import { summarize } from './report/summary.js';
import { countOps } from './report/op-counts.js';
import { checkDimsFor, checkFormFor, clampNote, resolveOptions } from './options.js';

export type SEInjectOptions = Partial<InjectOptions>;

const LOAD_KEYS = ['baseDir', 'label'] as const;

export function run(model: Model, o: InjectOptions, dryRun: boolean): Report {
  checkDimsFor(model, o);
  checkFormFor(model, o);
  const analysis = analyseModel(model, o);
  // A model with calls is seen as its copy with every call it can expand expanded (analysis/functions.ts):
  // its largest layers are among their functions' nodes, and the plan of that copy says which calls hold
  // or feed a block, the calls expanded in the model written.
  const expanded = expandedCopy(model);
  const expandedAnalysis = expanded && analyseModel(expanded.copy, o);
  const summary = summarize(model, analysis.shapes, (expandedAnalysis ?? analysis).macs);
  const target = dryRun ? cloneModel(model) : model;
  const seen = expanded && injectSE(expanded.copy, o, expandedAnalysis).report;
  const expansion = expanded && expandCallsHoldingBlocks(target, expanded, seen!.blocks.map((b) => b.tensor));
  const { report } = injectSE(target, o, expansion?.expanded.length ? undefined : analysis);
  if (seen) withCallBodies(report, seen);
  const notes = [imageSizeNote(model.graph.proto.inputs, o), clampNote(o, report.blocks), expansionNote(expansion), blockedNote(target, report.inserted)].filter((n): n is string => !!n);
  const opCounts = { before: summary.opCounts, after: countOps(target.graph) };
  return { file: model.label, dryRun, model: summary, ...report, opCounts, ...(notes.length ? { notes } : {}) };
}

/**
 * The report of a model with calls tells what lies inside the calls that stay calls, as it would for the
 * same network exported without functions: the candidates left alone there and why (a block that holds
 * SE already, DenseNet's concats), the MACs of their layers, and why nothing was inserted when nothing
 * was. `seen` is the plan of the copy with every call expanded, whose blocks are the ones `report` has.
 */
function withCallBodies(report: SEReport, seen: SEReport): void {
  report.candidates = seen.candidates;
  report.skipped = seen.skipped;
  report.macs = seen.macs;
  delete report.unsupported;
  delete report.nothingToInsert;
  if (seen.unsupported !== undefined) report.unsupported = seen.unsupported;
  if (seen.nothingToInsert !== undefined) report.nothingToInsert = seen.nothingToInsert;
}

/** Calls expanded so that their blocks could take SE. */
function expansionNote(e: CallExpansion | undefined): string | undefined {
  if (!e?.expanded.length) return undefined;
  const rest = e.kept ? `the other ${e.kept} call${e.kept > 1 ? 's' : ''} and every function stay as they were` : 'every function stays as it was';
  return `blocks inside model-local functions: the calls holding them or feeding them (${e.expanded.join(', ')}) were expanded into their functions' nodes, named under each call, to take SE; ${rest}`;
}

/** Blocks were found, but some calls could not be looked into. */
function blockedNote(model: Model, inserted: number): string | undefined {
  const calls = inserted ? blockedCalls(model) : [];
  return calls.length ? `calls of model-local functions that se-inject cannot expand were not looked into: ${calls.join(', ')}; blocks inside them have no SE (export without functions to include them)` : undefined;
}

/** The report of what injection would do; the model is left as it is. */
export function analyze(model: Model, options: SEInjectOptions = {}): Report {
  return run(model, resolveOptions(options), true);
}

/** Every tensor that could take attention (what `at` accepts), with the stage and block holding it. */
export function listSites(model: Model, options: SEInjectOptions = {}): SitesReport {
  const o = resolveOptions(options);
  checkDimsFor(model, o);
  // Sites inside model-local functions are listed under the names their calls' expansion gives them.
  return { file: model.label, sites: attentionSites(expandedCopy(model)?.copy ?? model, o) };
}

/** Inserts SE blocks into the model in place and returns the report (`inserted` 0: nothing to insert). */
export function inject(model: Model, options: SEInjectOptions = {}): Report {
  return run(model, resolveOptions(options), false);
}

/**
 * Bytes in, bytes out: for pipelines that hold models in memory. `bytes` is undefined when nothing was
 * inserted. `load` is the host's decoder of bytes (the Node one also finds external data by `baseDir`).
 */
export function convertBytesWith(
  load: (bytes: Uint8Array, options: LoadOptions) => Model,
  input: Uint8Array,
  options: SEInjectOptions & LoadOptions = {},
): { report: Report; bytes?: Uint8Array } {
  const o = resolveOptions(options, LOAD_KEYS);
  const model = load(input, options);
  const report = run(model, o, false);
  return { report, bytes: report.inserted ? serializeModel(model) : undefined };
}

/** Bytes in, bytes out, with no file system: a model that keeps tensors as external data is refused. */
export function convertBytes(input: Uint8Array, options: SEInjectOptions & LoadOptions = {}): { report: Report; bytes?: Uint8Array } {
  return convertBytesWith(decodeBytes, input, options);
}
