// validateModels: runs the original and the injected model on one execution provider with the same
// seeded inputs and says whether the injected one is a sound replacement: it passes checkStructure, keeps
// the inputs and outputs, computes finite values, and (when asked) the same values. Latency is measured
// interleaved (original, injected, original, ...) so that clock drift and thermal state hit both alike.

import { DEFAULT_BATCH } from '../analysis/input-dims.js';
import * as ort from 'onnxruntime-node';
import { SeInjectError, describeCause } from '../errors.js';
import type { Model } from '../ir/model.js';
import { loadModelBytes, loadModelFile } from '../onnx/load.js';
import { DataType } from '../onnx/proto.js';
import { compareOutputs } from './compare.js';
import type { OutputComparison, Outputs } from './compare.js';
import { explainOrtError, selectProvider } from './providers.js';
import type { ProviderAttempt, ProviderName, ProviderProbe, ProviderRequest } from './providers.js';
import { checkPairStructure } from './structure.js';
import { summarizeLatency } from './latency.js';
import type { Latency } from './latency.js';
import { inputSpecs, randomFeeds } from './tensors.js';
import { saveOutputs } from './outputs.js';
import type { NpyArray } from './npy.js';

/** A model file (needed when weights live in external data) or the model's bytes. */
export type ModelSource = string | { bytes: Uint8Array; label?: string };

export interface ValidateOptions {
  ep?: ProviderRequest;
  /** Size of a leading dynamic dimension that --dims does not name. */
  batch?: number;
  dims?: Record<string, number>;
  /** Override the per-type defaults (float32 1e-4 / 1e-5, float16 1e-2 / 1e-3). */
  rtol?: number;
  atol?: number;
  /** Tolerances for some outputs by name, over rtol/atol. */
  perOutput?: Record<string, { rtol?: number; atol?: number }>;
  /** Real inputs by input name (readNpy); inputs not named get seeded random values. */
  inputs?: Record<string, NpyArray>;
  /** A folder to write both models' outputs into, as NAME.original.npy and NAME.injected.npy. */
  saveOutputs?: string;
  /** Timed runs of each model; 0 skips latency. */
  runs?: number;
  seed?: number;
  /** Require equal outputs within tolerance (the rewrite claims to preserve the function). */
  expectEqual?: boolean;
  /** intraOpNumThreads; 1 keeps latency comparable across machines. */
  threads?: number;
  probe?: ProviderProbe;
}

export type { Latency } from './latency.js';

export interface ValidationResult {
  ep: ProviderName;
  tried: ProviderAttempt[];
  outputs: OutputComparison[];
  /**
   * Where equal outputs were required and some differed beyond the tolerance, the outputs compared
   * again with ONNX Runtime's graph optimizations off (its fused kernels round the two graphs
   * differently): `equal` and `passed` are decided by these.
   */
  unoptimized?: OutputComparison[];
  latency?: Latency;
  /** Every check in `checks` held. */
  passed: boolean;
  /**
   * What `passed` covers: `structure` (both models pass the structure check, same inputs), `runs` (both
   * run on `ep`), `finite` (no NaN/Inf), `shapes` (same output names, shapes and types), and `equal`
   * (every output within tolerance) only when equal outputs were required (`expectEqual`).
   */
  checks: ValidationCheck[];
  /** Every output agreed within tolerance, whether or not that was required. */
  outputsEqual: boolean;
  problems: string[];
}

export type ValidationCheck = 'structure' | 'runs' | 'finite' | 'shapes' | 'equal';

const WARMUP_RUNS = 2;

export async function validateModels(original: ModelSource, injected: ModelSource, options: ValidateOptions = {}): Promise<ValidationResult> {
  const opts = checkOptions(options);
  const [before, after] = await Promise.all([loadForChecks(original, 'original'), loadForChecks(injected, 'injected')]);
  const structure = checkPairStructure(before, after);
  const problems = [
    ...structure.original.map((p) => `original model: ${p}`),
    ...structure.injected.map((p) => `injected model: ${p}`),
    ...compareInputs(before, after),
  ];
  const feeds = randomFeeds(inputSpecs(before), { batch: opts.batch, dims: opts.dims }, opts.seed, opts.inputs);
  const { ep, tried } = await selectProvider(opts.ep, opts.probe);
  const sessions: ort.InferenceSession[] = [];
  try {
    const a = await openSession(original, 'original', ep, opts.threads, sessions);
    const b = await openSession(injected, 'injected', ep, opts.threads, sessions);
    const outA = await runOnce(a, feeds, 'original', ep);
    const outB = await runOnce(b, feeds, 'injected', ep);
    if (opts.saveOutputs) await saveOutputs(opts.saveOutputs, outA, outB);
    const tolerance = { rtol: opts.rtol, atol: opts.atol, perOutput: opts.perOutput };
    const compared = compareOutputs(outA, outB, tolerance, opts.expectEqual);
    // Outside the tolerance where equal outputs are claimed: compared again with the graphs as written.
    const unfused = opts.expectEqual && compared.outputs.some((o) => !o.withinTolerance)
      ? compareOutputs(...await runUnoptimized(original, injected, feeds, ep, opts.threads, sessions), tolerance, true)
      : undefined;
    problems.push(...(unfused ?? compared).problems);
    const latency = opts.runs > 0 ? await measureLatency(a, b, feeds, opts.runs) : undefined;
    const equal = (c: typeof compared) => c.outputs.length > 0 && c.outputs.every((o) => o.withinTolerance);
    const outputsEqual = equal(unfused ?? compared);
    return {
      ep, tried, outputs: compared.outputs, ...(unfused ? { unoptimized: unfused.outputs } : {}), latency, passed: problems.length === 0,
      checks: checksFor(opts.expectEqual), outputsEqual, problems,
    };
  } catch (e) {
    if (!(e instanceof RunFailure)) throw e;
    problems.push(e.message);
    return { ep, tried, outputs: [], passed: false, checks: checksFor(opts.expectEqual), outputsEqual: false, problems };
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

function checksFor(expectEqual: boolean): ValidationCheck[] {
  return ['structure', 'runs', 'finite', 'shapes', ...(expectEqual ? ['equal' as const] : [])];
}

/** A model ORT refused to load or run: a validation failure to report, not a crash. */
class RunFailure extends Error {}

function checkOptions(o: ValidateOptions) {
  const positive = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new SeInjectError('usage', `${name} must be an integer of at least ${min}, got ${v}`);
    return v;
  };
  const dims = o.dims ?? {};
  for (const [name, v] of Object.entries(dims)) positive(`--dims ${name}`, v, 1);
  return {
    ep: o.ep ?? 'auto',
    batch: positive('--batch', o.batch ?? DEFAULT_BATCH, 1),
    dims,
    rtol: o.rtol,
    atol: o.atol,
    perOutput: o.perOutput,
    inputs: o.inputs,
    saveOutputs: o.saveOutputs,
    runs: positive('--runs', o.runs ?? 20, 0),
    seed: o.seed ?? 0,
    expectEqual: o.expectEqual ?? false,
    threads: positive('--threads', o.threads ?? 1, 1),
    probe: o.probe,
  };
}

/** `injected model out.onnx`, or just `injected model` for unlabelled bytes. */
function describeSource(src: ModelSource, role: string): string {
  const label = typeof src === 'string' ? src : src.label;
  return label ? `${role} model ${label}` : `${role} model`;
}

async function loadForChecks(src: ModelSource, role: string): Promise<Model> {
  return typeof src === 'string' ? loadModelFile(src) : loadModelBytes(src.bytes, { label: src.label ?? `${role} model bytes` });
}

/** The injected model is fed the original's inputs, so it must take the same names and types. */
function compareInputs(before: Model, after: Model): string[] {
  const describe = (m: Model) => inputSpecs(m).map((s) => `${s.name}: ${DataType[s.elemType] ?? s.elemType}`).join(', ');
  const a = describe(before), b = describe(after);
  return a === b ? [] : [`inputs differ: original takes (${a}), injected takes (${b}); a rewrite must keep the graph inputs`];
}

async function openSession(
  src: ModelSource, role: string, ep: ProviderName, threads: number, opened: ort.InferenceSession[], level?: 'disabled',
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3,
    ...(level ? { graphOptimizationLevel: level } : {}),
  };
  try {
    const session = typeof src === 'string'
      ? await ort.InferenceSession.create(src, options)
      : await ort.InferenceSession.create(src.bytes, options);
    opened.push(session);
    return session;
  } catch (e) {
    throw new RunFailure(`${describeSource(src, role)}: onnxruntime (${ep}) cannot load it: ${explainOrtError(describeCause(e))}`);
  }
}

/**
 * Both models run again with ONNX Runtime's graph optimizations off: its fused kernels (Conv+Add+Relu
 * in the original, not across an SE Mul) round the two graphs differently, by ~1e-7 of an output's scale
 * per layer, which deep detection models carry past any tolerance; as written, a preserved injection
 * computes the original's values exactly.
 */
async function runUnoptimized(
  original: ModelSource, injected: ModelSource, feeds: Record<string, ort.Tensor>, ep: ProviderName, threads: number, opened: ort.InferenceSession[],
): Promise<[Outputs, Outputs]> {
  const a = await openSession(original, 'original', ep, threads, opened, 'disabled');
  const b = await openSession(injected, 'injected', ep, threads, opened, 'disabled');
  return [await runOnce(a, feeds, 'original', ep), await runOnce(b, feeds, 'injected', ep)];
}

async function runOnce(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, role: string, ep: ProviderName): Promise<Outputs> {
  try {
    const values = await session.run(feeds);
    return { names: session.outputNames, values: values as Record<string, ort.Tensor> };
  } catch (e) {
    throw new RunFailure(`${role} model: onnxruntime (${ep}) failed to run it: ${explainOrtError(describeCause(e))}`);
  }
}

async function measureLatency(a: ort.InferenceSession, b: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<Latency> {
  for (let i = 0; i < WARMUP_RUNS; i++) {
    await a.run(feeds);
    await b.run(feeds);
  }
  const originalMs: number[] = [], injectedMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    originalMs.push(await timedRun(a, feeds));
    injectedMs.push(await timedRun(b, feeds));
  }
  return summarizeLatency(originalMs, injectedMs);
}

async function timedRun(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const start = performance.now();
  await s.run(feeds);
  return performance.now() - start;
}

export { median, summarizeLatency } from './latency.js';
