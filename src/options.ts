// The library's options: one home for their defaults and their validation. Every entry point of the
// library (api.ts) passes what it was given through resolveOptions once; the CLI maps its flags onto
// the same keys, so a rule lives here and nowhere else. Messages name an option through a
// Vocabulary: the library says "option ratio", the CLI says "--ratio" (OptionError.render).

import { SeInjectError, escapeControls } from './errors.js';
import type { InjectOptions } from './inject.js';
import type { Model } from './ir/model.js';
import { FAMILIES } from '../passes/index.js';
import type { Family } from './se/site.js';
import { ACTIVATIONS, BLOCK_KINDS, FORMS, REDUCE_FROM, RESIZE_FORM_MIN_OPSET, usesSqueeze } from './se/build.js';
import { unnamedDimKey } from './analysis/input-dims.js';

export type OptionKey = keyof InjectOptions;

export const DEFAULT_OPTIONS: InjectOptions = {
  block: 'se', ratio: 16, divisor: 1, minChannels: 1, bias: true, gate: 'sigmoid', init: 'he', seed: 0,
  act: 'relu', reduceFrom: 'tensor', form: 'mul', placement: 'standard', mobilenetPlacement: 'output',
};

/** How messages name options and tell the user where to look. */
export interface Vocabulary {
  name(key: OptionKey): string;
  /** How to bind dynamic dimensions, for a message: `--dims h=VALUE w=VALUE`, `dims: { "h": VALUE, "w": VALUE }`. */
  bind(dims: readonly string[]): string;
  /** Where the user sees a model's stages. */
  seeStages: string;
}

export const LIBRARY_WORDS: Vocabulary = {
  name: (key) => `option ${key}`,
  bind: (dims) => `dims: { ${dims.map((d) => `${JSON.stringify(d)}: VALUE`).join(', ')} }`,
  seeStages: 'analyze(model) lists them in report.stages',
};

/** A usage error about an option, worded for whoever reads it (library caller or CLI user). */
export class OptionError extends SeInjectError {
  constructor(readonly key: OptionKey | 'options', readonly render: (words: Vocabulary) => string) {
    super('usage', render(LIBRARY_WORDS));
    this.name = 'SeInjectError';
  }

  /** The message in another vocabulary (the CLI's flags), kept to one line as every message is. */
  messageIn(words: Vocabulary): string {
    return escapeControls(this.render(words));
  }
}

export const CHOICES = {
  block: BLOCK_KINDS,
  act: ACTIVATIONS,
  reduceFrom: REDUCE_FROM,
  form: FORMS,
  gate: ['sigmoid', 'hardsigmoid'],
  init: ['he', 'preserve'],
  placement: ['standard', 'pre', 'post', 'identity'],
  mobilenetPlacement: ['output', 'v3'],
} as const;

// Every key of InjectOptions, as a record so that a key added there and not here fails to compile.
const KEYS: Record<OptionKey, true> = {
  ratio: true, divisor: true, minChannels: true, bias: true, gate: true, init: true, seed: true, placement: true,
  mobilenetPlacement: true, families: true, stages: true, gateExplicit: true, batch: true, dims: true, at: true,
  exclude: true, block: true, act: true, reduceFrom: true, form: true, ratioPerStage: true,
};
const INJECT_KEYS = Object.keys(KEYS) as OptionKey[];

/** No model has more stages than this; a larger number is a mistake, and bounds the work it causes. */
export const MAX_STAGE = 1000;
const MAX_DIM = 2 ** 31;

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

const positiveInt = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;

/**
 * Checks what a caller passed and fills in the defaults. `extraKeys` are the other options the calling
 * function takes (a loader's `label`, a save's `overwrite`): accepted here, checked where they are used.
 */
export function resolveOptions(given: unknown, extraKeys: readonly string[] = []): InjectOptions {
  if (given === undefined) given = {};
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new OptionError('options', () => `options must be an object such as { ratio: 16 } (or left out), got ${show(given)}`);
  }
  const raw = given as Record<string, unknown>;
  const known = new Set<string>([...INJECT_KEYS, ...extraKeys]);
  for (const key of Object.keys(raw)) {
    if (known.has(key)) continue;
    const near = closest(key, [...known]);
    throw new OptionError('options', () => `unknown option ${JSON.stringify(key)}${near ? `; did you mean ${near}?` : ''} (options: ${[...known].join(', ')})`);
  }
  const v = (key: OptionKey) => raw[key];
  const bad = (key: OptionKey, what: string) => new OptionError(key, (w) => `${w.name(key)} must be ${what}, got ${show(v(key))}`);
  const o: InjectOptions = { ...DEFAULT_OPTIONS };

  if (v('ratio') !== undefined) {
    const r = v('ratio');
    if (typeof r !== 'number' || !Number.isFinite(r) || r <= 0) throw bad('ratio', 'a positive number (the paper uses 16)');
    o.ratio = r;
  }
  if (v('ratioPerStage') !== undefined) {
    const list = v('ratioPerStage');
    const ok = (r: unknown) => r === null || (typeof r === 'number' && Number.isFinite(r) && r > 0);
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_STAGE || !list.every(ok) || list.every((r) => r === null)) {
      throw bad('ratioPerStage', 'a list with one positive ratio per stage, null leaving a stage out, like [8, 16, null, 32]');
    }
    o.ratioPerStage = [...(list as (number | null)[])];
  }
  for (const key of ['divisor', 'minChannels'] as const) {
    if (v(key) === undefined) continue;
    if (!positiveInt(v(key))) throw bad(key, 'a positive integer');
    o[key] = v(key) as number;
  }
  if (v('seed') !== undefined) {
    const s = v('seed');
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) throw bad('seed', 'a non-negative integer');
    o.seed = s;
  }
  for (const key of ['bias', 'gateExplicit'] as const) {
    if (v(key) === undefined) continue;
    if (typeof v(key) !== 'boolean') throw bad(key, 'true or false');
    o[key] = v(key) as boolean;
  }
  for (const key of Object.keys(CHOICES) as (keyof typeof CHOICES)[]) {
    if (v(key) === undefined) continue;
    const choices: readonly string[] = CHOICES[key];
    if (!choices.includes(v(key) as string)) throw bad(key, `one of ${choices.join(', ')}`);
    (o as unknown as Record<string, unknown>)[key] = v(key);
  }
  // The MobileNetV3 placement implies its hard-sigmoid gate unless a gate is asked for: one default, set here.
  const gateGiven = v('gate') !== undefined;
  if (!gateGiven && o.mobilenetPlacement === 'v3') o.gate = 'hardsigmoid';
  o.gateExplicit = (v('gateExplicit') as boolean | undefined) ?? gateGiven;

  if (v('families') !== undefined) {
    const f = v('families');
    if (!Array.isArray(f) || f.length === 0) throw bad('families', `a non-empty list of pass families (${FAMILIES.join(', ')})`);
    const wrong = f.find((x) => !(FAMILIES as readonly unknown[]).includes(x));
    if (wrong !== undefined) {
      throw new OptionError('families', (w) => `${w.name('families')}: ${show(wrong)} is not a pass family; choose from ${FAMILIES.join(', ')}`);
    }
    o.families = [...new Set(f as Family[])];
  }
  if (v('stages') !== undefined) {
    const s = v('stages');
    if (!Array.isArray(s) || s.length === 0 || !s.every((x) => positiveInt(x, MAX_STAGE))) {
      throw bad('stages', `a non-empty list of stage numbers from 1 to ${MAX_STAGE}, like [1, 2, 3]`);
    }
    o.stages = [...new Set(s as number[])].sort((a, b) => a - b);
  }
  for (const key of ['at', 'exclude'] as const) {
    if (v(key) === undefined) continue;
    const list = v(key);
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) {
      throw bad(key, key === 'at' ? 'a non-empty list of tensor names' : 'a non-empty list of names or glob patterns (se/stage2.*, a tensor, a node)');
    }
    o[key] = [...new Set(list as string[])];
  }
  if (v('batch') !== undefined) {
    if (!positiveInt(v('batch'), MAX_DIM)) throw bad('batch', 'a positive integer');
    o.batch = v('batch') as number;
  }
  if (v('dims') !== undefined) {
    const d = v('dims');
    if (d === null || typeof d !== 'object' || Array.isArray(d)) throw bad('dims', 'an object of dimension name → positive integer, like { height: 224 }');
    const wrong = Object.entries(d).find(([, x]) => !positiveInt(x, MAX_DIM));
    if (wrong) throw new OptionError('dims', (w) => `${w.name('dims')}: dimension ${JSON.stringify(wrong[0])} must be bound to a positive integer, got ${show(wrong[1])}`);
    o.dims = { ...(d as Record<string, number>) };
  }
  return o;
}

/** How messages name the keys of a config file. */
const FILE_WORDS: Vocabulary = { ...LIBRARY_WORDS, name: (key) => `"${key}"` };

/**
 * Options from a config file (the keys of the JSON report's `options`, so a report's options pin a run)
 * under the ones given directly, which win: the file is checked on its own first, so a mistake in it is
 * said with the file's name and its key, then the merge is checked as any options are.
 */
export function resolveWithConfig(file: unknown, label: string, given: Record<string, unknown>): InjectOptions {
  const typed = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  if (file === undefined) return resolveOptions(typed);
  try {
    resolveOptions(file);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    throw new SeInjectError('usage', `${label}: ${e.messageIn(FILE_WORDS).replace(/^options must be an object/, 'the file must hold an object')}`);
  }
  const merged: Record<string, unknown> = { ...(file as Record<string, unknown>), ...typed };
  // A gate typed now is explicit, whatever the file recorded.
  if (typed.gate !== undefined && typed.gateExplicit === undefined) delete merged.gateExplicit;
  return resolveOptions(merged);
}

/** The dynamic dimensions of a model's inputs, by name (unnamedDimKey where the model gives none): what `dims` may bind. */
export function dimensionNames(model: Model): string[] {
  const names = new Set<string>();
  for (const input of model.graph.proto.inputs) {
    (input.type?.shape ?? []).forEach((d, axis) => {
      if (d.value !== undefined && d.param === undefined) return;
      names.add(d.param ?? unnamedDimKey(input.name, axis));
    });
  }
  return [...names];
}

/** `dims` that bind nothing in this model are a mistake (a typo, or another model's names). */
export function checkDimsFor(model: Model, o: InjectOptions): void {
  if (!o.dims) return;
  const have = dimensionNames(model);
  const unknown = Object.keys(o.dims).filter((k) => !have.includes(k));
  if (!unknown.length) return;
  const list = have.length ? `its dynamic dimensions are ${have.join(', ')}` : 'it has no named dynamic dimensions';
  throw new OptionError('dims', (w) => `${w.name('dims')} binds ${unknown.join(', ')}, but ${model.label} has no dimension of that name; ${list}`);
}

/**
 * The resize form repeats each gate to a size fixed in the graph: it needs a Resize that takes scales
 * (opset 11 on) and maps whose H×W no input leaves open (a model analysed at a bound or default size
 * would get gates of that size only). Only the batch may be dynamic.
 */
export function checkFormFor(model: Model, o: InjectOptions): void {
  if (o.form !== 'resize') return;
  const opset = model.opset ?? 0;
  if (opset < RESIZE_FORM_MIN_OPSET) {
    throw new OptionError('form', (w) => `${w.name('form')} resize needs opset ${RESIZE_FORM_MIN_OPSET} or newer (a Resize with scales), but ${model.label} uses opset ${opset}; leave ${w.name('form')} at mul, or convert the model first (onnx.version_converter.convert_version(model, 13))`);
  }
  for (const input of model.graph.proto.inputs) {
    const open = (input.type?.shape ?? []).map((d, axis) => ({ d, axis })).filter(({ d, axis }) => axis > 0 && (d.value === undefined || d.param !== undefined));
    if (!open.length) continue;
    const names = open.map(({ d, axis }) => d.param ?? unnamedDimKey(input.name, axis)).join(', ');
    throw new OptionError('form', (w) => `${w.name('form')} resize repeats each gate to a fixed H×W, but ${model.label}'s input ${input.name} has dynamic dimensions (${names}); leave ${w.name('form')} at mul (it broadcasts to any size), or export the model at a fixed input size`);
  }
}

/**
 * A note for the report when the ratio is so large that the squeeze width of every block (or of some)
 * is the minimum rather than C/r: the model is then not what the ratio asked for.
 */
export function clampNote(o: InjectOptions, blocks: readonly { squeezeFrom: number; ratio: number; squeezeChannels: number }[]): string | undefined {
  if (!usesSqueeze(o.block)) return undefined; // only blocks with an MLP have a squeeze width
  const clamped = blocks.filter((b) => b.squeezeFrom / b.ratio < o.minChannels);
  if (!clamped.length) return undefined;
  const widest = clamped.reduce((a, b) => (b.squeezeFrom > a.squeezeFrom ? b : a));
  const which = clamped.length === blocks.length ? `every block's (${blocks.length})` : `${clamped.length} of ${blocks.length} blocks'`;
  return `ratio ${widest.ratio} clamps ${which} squeeze width to the minimum ${widest.squeezeChannels} (e.g. ${widest.squeezeFrom} channels / ${widest.ratio} = ${(widest.squeezeFrom / widest.ratio).toPrecision(3)}); choose a smaller ratio, or raise the minimum squeeze width if that is what you mean`;
}

/** The option name nearest to a misspelt one (edit distance at most 2, or a different case), if any. */
export function closest(key: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of names) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** Levenshtein distance: how far a mistyped name is from a real one. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
