// The command line's option values in the library's terms: the parsing of --stages, --ratio-per-stage,
// --dims and --arch, shared by the CLI (src/cli/options.ts, which adds --config) and the web page. No
// Node module here: the page bundles this file.

import { SeInjectError } from '../errors.js';
import type { InjectOptions } from '../inject.js';
import { MAX_STAGE } from '../options.js';
import { FAMILIES, familyNamed } from '../../passes/index.js';

/** The flags as yargs parsed them: undefined where not typed (the defaults are the library's). */
export interface ParsedArgs {
  config?: string;
  block?: InjectOptions['block']; act?: InjectOptions['act']; reduceFrom?: InjectOptions['reduceFrom']; form?: InjectOptions['form']; ratio?: number; ratioPerStage?: string; divisor?: number; minChannels?: number; bias?: boolean; gate?: 'sigmoid' | 'hardsigmoid';
  init?: 'he' | 'preserve'; seed?: number; arch?: string[]; stages?: string; placement?: InjectOptions['placement'];
  mobilenetPlacement?: InjectOptions['mobilenetPlacement']; batch?: number; dims?: string[]; inputShapes?: string[]; at?: string[]; exclude?: string[];
}

/** The typed flags as the library's option record (undefined where not typed); resolveOptions checks it. */
export function flagOptions(a: ParsedArgs): Record<string, unknown> {
  return {
    block: a.block, act: a.act, reduceFrom: a.reduceFrom, form: a.form, ratio: a.ratio, ratioPerStage: parseRatioPerStage(a.ratioPerStage), divisor: a.divisor, minChannels: a.minChannels, bias: a.bias, gate: a.gate, init: a.init, seed: a.seed,
    families: families(a.arch), stages: parseStages(a.stages), placement: a.placement, mobilenetPlacement: a.mobilenetPlacement,
    batch: a.batch, dims: parseDims(a.dims), at: a.at, exclude: a.exclude,
  };
}

export function parseStages(text: string | undefined): number[] | undefined {
  if (text === undefined || text === 'all') return undefined;
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new SeInjectError('usage', `--stages "${text}" is not a list of stage numbers like 1,2,3 or 1-3`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (a < 1 || b < a) throw new SeInjectError('usage', `--stages "${part}": stages count from 1 and ranges go up`);
    // Bounds the loop below: "1-999999999" would otherwise fill memory before any model is read.
    if (b > MAX_STAGE) throw new SeInjectError('usage', `--stages "${part}": no model has more than ${MAX_STAGE} stages; run se-inject report to see them`);
    for (let s = a; s <= b; s++) out.add(s);
  }
  if (!out.size) throw new SeInjectError('usage', '--stages is empty; give stage numbers like 1,2,3');
  return [...out].sort((x, y) => x - y);
}

/** `8,16,-,32` → [8, 16, null, 32]: one ratio per stage, `-` leaving a stage out (resolveOptions checks the values). */
export function parseRatioPerStage(text: string | undefined): (number | null)[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((part) => {
    const t = part.trim();
    if (t === '-') return null;
    if (!/^\d+(\.\d+)?$/.test(t)) throw new SeInjectError('usage', `--ratio-per-stage "${text}": "${t}" is not a ratio; give one positive number (or - to leave the stage out) per stage, like 8,16,-,32`);
    return Number(t);
  });
}

export function parseDims(list: string[] | undefined): Record<string, number> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, number> = {};
  for (const item of list) {
    const m = /^([^=]+)=(\d+)$/.exec(item);
    if (!m || Number(m[2]) < 1) throw new SeInjectError('usage', `--dims "${item}" must look like name=value with a positive integer value`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Untyped: the library's default (or a --config file's list). A typed `auto` is every family, so it overrides a file. */
function families(arch: readonly string[] | undefined): string[] | undefined {
  if (!arch?.length) return undefined;
  if (arch.includes('auto')) return [...FAMILIES];
  return [...new Set(arch.map((a) => familyNamed(a) ?? a))];
}

