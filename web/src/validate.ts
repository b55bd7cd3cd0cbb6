// Validation in the page, on onnxruntime-web: the same checks, inputs and comparison as the CLI's
// `se-inject validate` (src/validate/), on WebGPU where the browser has an adapter, WebAssembly
// otherwise. `auto` never takes a software (fallback) adapter such as SwiftShader: on a machine without
// a GPU it would be slower than WebAssembly; asked for by name, WebGPU runs on it and says so.

import * as ort from 'onnxruntime-web';
import type { Model } from '../../src/ir/model.js';
import { compareOutputs } from '../../src/validate/compare.js';
import type { OutputComparison, Outputs } from '../../src/validate/compare.js';
import { summarizeLatency } from '../../src/validate/latency.js';
import type { Latency } from '../../src/validate/latency.js';
import type { ValidationCheck, ValidationResult } from '../../src/validate/runtime.js';
import { checkStructure } from '../../src/validate/structure.js';
import { inputSpecs, randomFeeds } from '../../src/validate/tensors.js';

export type PageProvider = 'webgpu' | 'wasm';
export interface PageAttempt { ep: PageProvider; ok: boolean; reason?: string; software?: string }

/** The CLI's ValidationResult (same checks, comparisons and problems), on the page's providers. */
export interface PageValidation extends Omit<ValidationResult, 'ep' | 'tried'> {
  ep: PageProvider;
  tried: PageAttempt[];
  /** What the WebGPU adapter said it is (GPUAdapterInfo), when WebGPU ran. */
  adapter?: { vendor: string; architecture: string; device: string; description: string; fallback: boolean };
}

export interface PageValidateOptions {
  ep: 'auto' | PageProvider;
  runs: number;
  expectEqual: boolean;
  rtol?: number;
  atol?: number;
  batch: number;
  dims: Record<string, number>;
}


const WARMUP_RUNS = 2;

// The little of WebGPU the page uses (TypeScript's DOM library has no WebGPU types).
interface GPUAdapterInfo { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean }
interface GPUAdapter { info: GPUAdapterInfo; isFallbackAdapter?: boolean }
interface GPU { requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GPUAdapter | null> }

/** Where the runtime's WebAssembly lives: served next to the page by `se-inject serve` (see build.mjs). */
export function configureRuntime(wasmBase: string): void {
  ort.env.wasm.wasmPaths = wasmBase;
  // One thread, as the CLI's --threads 1; threads would also need a cross-origin-isolated page.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
}

async function webgpuAdapter(): Promise<{ adapter?: GPUAdapter; reason?: string }> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { reason: 'this browser has no WebGPU (navigator.gpu is missing; Chromium needs a secure context such as http://localhost)' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter) return { reason: 'no WebGPU adapter (the browser found no usable GPU)' };
  return { adapter };
}

function describeAdapter(a: GPUAdapter): NonNullable<PageValidation['adapter']> {
  const info = a.info;
  const fallback = !!(info.isFallbackAdapter ?? a.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.description}`);
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, fallback };
}

async function chooseProvider(requested: PageValidateOptions['ep']): Promise<{ ep: PageProvider; tried: PageAttempt[]; adapter?: PageValidation['adapter'] }> {
  const tried: PageAttempt[] = [];
  if (requested !== 'wasm') {
    const { adapter, reason } = await webgpuAdapter();
    if (adapter) {
      const info = describeAdapter(adapter);
      const software = info.fallback ? `${info.vendor || 'unknown vendor'} ${info.architecture || ''}`.trim() + ', a fallback adapter' : undefined;
      if (!software || requested === 'webgpu') {
        (ort.env.webgpu as { adapter?: unknown }).adapter = adapter;
        tried.push({ ep: 'webgpu', ok: true, ...(software ? { software } : {}) });
        return { ep: 'webgpu', tried, adapter: info };
      }
      tried.push({ ep: 'webgpu', ok: false, reason: `software adapter only (${software}); slower than WebAssembly, so auto passes it over (choose webgpu to run on it anyway)` });
    } else if (requested === 'webgpu') {
      throw new Error(`WebGPU cannot start: ${reason}; choose auto or wasm`);
    } else {
      tried.push({ ep: 'webgpu', ok: false, reason: reason! });
    }
  }
  tried.push({ ep: 'wasm', ok: true });
  return { ep: 'wasm', tried };
}

/** Runs both models on one provider with the CLI's seeded inputs and compares them. */
export async function validateInPage(original: { model: Model; bytes: Uint8Array }, injected: { model: Model; bytes: Uint8Array }, o: PageValidateOptions): Promise<PageValidation> {
  const problems = [
    ...checkStructure(original.model).map((p) => `original model: ${p}`),
    ...checkStructure(injected.model).map((p) => `injected model: ${p}`),
  ];
  const checks: ValidationCheck[] = ['structure', 'runs', 'finite', 'shapes', ...(o.expectEqual ? ['equal' as const] : [])];
  const feeds = randomFeeds(inputSpecs(original.model), { batch: o.batch, dims: o.dims }, 0) as unknown as Record<string, ort.Tensor>;
  const { ep, tried, adapter } = await chooseProvider(o.ep);
  const options: ort.InferenceSession.SessionOptions = { executionProviders: [ep], graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  const sessions: ort.InferenceSession[] = [];
  try {
    const a = await open(original.bytes, 'original', ep, options, sessions);
    const b = await open(injected.bytes, 'injected', ep, options, sessions);
    const outA = await runOnce(a, feeds, 'original', ep);
    const outB = await runOnce(b, feeds, 'injected', ep);
    const compared = compareOutputs(outA as unknown as Outputs, outB as unknown as Outputs, { rtol: o.rtol, atol: o.atol }, o.expectEqual);
    problems.push(...compared.problems);
    const latency = o.runs > 0 ? await measureLatency(a, b, feeds, o.runs) : undefined;
    const outputsEqual = compared.outputs.length > 0 && compared.outputs.every((c) => c.withinTolerance);
    return { ep, tried, adapter, outputs: compared.outputs, latency, passed: problems.length === 0, checks, outputsEqual, problems };
  } catch (e) {
    if (!(e instanceof RunFailure)) throw e;
    problems.push(e.message);
    return { ep, tried, adapter, outputs: [], passed: false, checks, outputsEqual: false, problems };
  } finally {
    await Promise.all(sessions.map((s) => s.release()));
  }
}

class RunFailure extends Error {}

async function open(bytes: Uint8Array, role: string, ep: PageProvider, options: ort.InferenceSession.SessionOptions, opened: ort.InferenceSession[]) {
  try {
    const s = await ort.InferenceSession.create(bytes, options);
    opened.push(s);
    return s;
  } catch (e) {
    throw new RunFailure(`${role} model: onnxruntime-web (${ep}) cannot load it: ${(e as Error).message ?? e}`);
  }
}

async function runOnce(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, role: string, ep: PageProvider) {
  try {
    return { names: s.outputNames, values: await s.run(feeds) };
  } catch (e) {
    throw new RunFailure(`${role} model: onnxruntime-web (${ep}) failed to run it: ${(e as Error).message ?? e}`);
  }
}

async function measureLatency(a: ort.InferenceSession, b: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number): Promise<Latency> {
  for (let i = 0; i < WARMUP_RUNS; i++) {
    await a.run(feeds);
    await b.run(feeds);
  }
  const originalMs: number[] = [], injectedMs: number[] = [];
  const timed = async (s: ort.InferenceSession) => {
    const start = performance.now();
    await s.run(feeds);
    return performance.now() - start;
  };
  for (let i = 0; i < runs; i++) {
    originalMs.push(await timed(a));
    injectedMs.push(await timed(b));
  }
  return summarizeLatency(originalMs, injectedMs);
}
