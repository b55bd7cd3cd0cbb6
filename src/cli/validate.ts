// --validate and `se-inject validate`: options, running, printing. The work is in src/validate/.

import { DEFAULT_BATCH } from '../analysis/input-dims.js';
import { VALIDATION_DEFAULTS } from './defaults.js';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Argv } from 'yargs';
import type { InjectOptions } from '../inject.js';
import type { Model } from '../ir/model.js';
import { saveModel, serializeModel } from '../onnx/save.js';
import { validateModels } from '../validate/lazy.js';
import { readNpy } from '../validate/npy.js';
import type { NpyArray } from '../validate/npy.js';
import { SeInjectError, describeCause } from '../errors.js';
import type { ValidationResult } from '../validate/runtime.js';
import { validationLines } from '../validate/format.js';
import type { EqualityHint } from '../validate/format.js';
import type { Progress } from './progress.js';

export interface ValidationArgs {
  ep: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  rtol?: string[];
  atol?: string[];
  inputs?: string;
  saveOutputs?: string;
  runs: number;
  threads: number;
  expectEqual?: boolean;
  json: boolean;
  quiet: boolean;
}

export function validationOptions<T>(y: Argv<T>) {
  const g = 'Validation:';
  return y
    .option('ep', { choices: ['auto', 'cpu', 'webgpu', 'cuda'] as const, default: VALIDATION_DEFAULTS.ep, describe: 'ONNX Runtime execution provider; auto tries cuda, webgpu, then cpu and says why each was passed over', group: g })
    .option('rtol', { type: 'string', array: true, describe: 'Relative tolerance for equal outputs (default 1e-4 float32, 1e-2 float16); NAME:VALUE for one output, e.g. --rtol 1e-3 logits:1e-2', group: g })
    .option('atol', { type: 'string', array: true, describe: 'Absolute tolerance for equal outputs (default 1e-5 float32, 1e-3 float16); NAME:VALUE for one output', group: g })
    .option('inputs', { type: 'string', describe: 'Real inputs instead of seeded random ones: a .npy file (a one-input model), or a JSON file mapping input names to .npy files', group: g })
    .option('save-outputs', { type: 'string', describe: "Write both models' outputs into this folder as NAME.original.npy and NAME.injected.npy", group: g })
    .option('runs', { type: 'number', default: VALIDATION_DEFAULTS.runs, describe: 'Interleaved timed runs of each model for the latency ratio (0 skips timing)', group: g })
    .option('threads', { type: 'number', default: VALIDATION_DEFAULTS.threads, describe: 'Intra-op threads for ONNX Runtime (1 makes latency comparable to the paper)', group: g });
}

/** `--atol 1e-4 logits:1e-3`: a value for every output, and NAME:VALUE for one (the last colon splits). */
export function parseTolerances(flag: string, list: readonly string[] | undefined): { all?: number; perOutput: Record<string, number> } {
  const out: { all?: number; perOutput: Record<string, number> } = { perOutput: {} };
  for (const item of list ?? []) {
    const at = item.lastIndexOf(':');
    const [name, text] = at < 0 ? [undefined, item] : [item.slice(0, at), item.slice(at + 1)];
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v) || v < 0) {
      throw new SeInjectError('usage', `--${flag} takes a non-negative number or NAME:NUMBER, got ${JSON.stringify(item)}`);
    }
    if (name === undefined) out.all = v;
    else out.perOutput[name] = v;
  }
  return out;
}

/** --inputs: one .npy (the model's only input), or a JSON map of input name → .npy path (relative to the JSON). */
export async function readInputs(file: string): Promise<Record<string, NpyArray>> {
  const read = async (f: string) => {
    const bytes = await fsp.readFile(f).catch((e) => {
      throw new SeInjectError('input', `--inputs: cannot read ${f}: ${describeCause(e)}`, { cause: e });
    });
    return bytes;
  };
  if (!/\.json$/i.test(file)) return { '': readNpy(await read(file), file) };
  let map: unknown;
  try {
    map = JSON.parse((await read(file)).toString('utf8'));
  } catch (e) {
    if (e instanceof SeInjectError) throw e;
    throw new SeInjectError('usage', `--inputs ${file} is not JSON: ${describeCause(e)}; give {"input name": "file.npy", ...}`);
  }
  if (!map || typeof map !== 'object' || Array.isArray(map) || !Object.values(map).every((v) => typeof v === 'string')) {
    throw new SeInjectError('usage', `--inputs ${file} must map input names to .npy paths, like {"input": "x.npy"}`);
  }
  const out: Record<string, NpyArray> = {};
  for (const [name, f] of Object.entries(map as Record<string, string>)) {
    const full = path.resolve(path.dirname(file), f);
    out[name] = readNpy(await read(full), full);
  }
  return out;
}

/** Validates `injected` (a written file, or a model still in memory) against the file `original`. */
export async function runValidation(
  original: string, injected: string | Model, a: ValidationArgs, o: Partial<InjectOptions>, progress: Progress,
): Promise<ValidationResult> {
  progress.note(`validating on ONNX Runtime (--ep ${a.ep})`);
  const rtol = parseTolerances('rtol', a.rtol), atol = parseTolerances('atol', a.atol);
  const perOutput: Record<string, { rtol?: number; atol?: number }> = {};
  for (const [name, v] of Object.entries(rtol.perOutput)) perOutput[name] = { ...perOutput[name], rtol: v };
  for (const [name, v] of Object.entries(atol.perOutput)) perOutput[name] = { ...perOutput[name], atol: v };
  const options = {
    ep: a.ep, batch: o.batch ?? DEFAULT_BATCH, dims: o.dims ?? {}, rtol: rtol.all, atol: atol.all, perOutput, runs: a.runs, seed: 0,
    inputs: a.inputs ? await readInputs(a.inputs) : undefined, saveOutputs: a.saveOutputs,
    threads: a.threads, expectEqual: a.expectEqual ?? o.init === 'preserve',
  };
  if (typeof injected === 'string') return validateModels(original, injected, options);
  if (injected.source.external.size === 0) return validateModels(original, { bytes: serializeModel(injected) }, options);
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'se-inject-validate-'));
  try {
    const saved = await saveModel(injected, path.join(dir, 'model.onnx'));
    return await validateModels(original, saved.path, options);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

export function printValidation(v: ValidationResult, a: ValidationArgs, hint: EqualityHint = 'inject'): void {
  if (a.quiet && v.passed) return;
  process.stderr.write(validationLines(v, hint).join('\n') + '\n');
}
