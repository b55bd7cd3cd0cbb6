// Command-line options: yargs definitions shared by the commands, and their translation into the
// library's options. Parsing only; no work happens here.

import { DEFAULT_BATCH } from '../analysis/input-dims.js';
import type { Argv } from 'yargs';
import { SeInjectError } from '../errors.js';
import type { InjectOptions } from '../inject.js';
import { CHOICES, DEFAULT_OPTIONS, resolveWithConfig } from '../options.js';
import { readFileSync } from 'node:fs';
import { ARCH_CHOICES as PASS_CHOICES } from '../../passes/index.js';
import { flagOptions } from './flags.js';
import type { ParsedArgs } from './flags.js';
import type { Vocabulary } from '../options.js';

export { parseDims, parseRatioPerStage, parseStages } from './flags.js';
export type { ParsedArgs } from './flags.js';

/** --arch takes the pass families of the registry (passes/index.ts), their aliases, and `auto`. */
export const ARCH_CHOICES: readonly string[] = PASS_CHOICES;

export function analysisOptions<T>(y: Argv<T>) {
  return y
    .option('batch', { type: 'number', defaultDescription: String(DEFAULT_BATCH), describe: 'Value bound to a dynamic batch (first) dimension for analysis; never written into the model', group: 'Analysis:' })
    .option('input-shapes', { type: 'string', array: true, describe: "Bind whole input shapes, as Polygraphy and onnxsim take them: --input-shapes x:[1,3,224,224] (or x:1,3,224,224); fixed dimensions must match", group: 'Analysis:' })
    .option('dims', { type: 'string', array: true, describe: 'Bind other dynamic dimensions, e.g. --dims height=512 width=512 (an image\'s dynamic H and W default to 224)', group: 'Analysis:' })
    .option('json', { type: 'boolean', default: false, describe: 'Print exactly one JSON document on stdout (messages go to stderr)', group: 'Output:' })
    .option('markdown', { type: 'boolean', default: false, describe: 'Print the report as Markdown', group: 'Output:' })
    .option('explain', { type: 'boolean', default: false, describe: 'List every candidate site each pass looked at, and why each one left alone was skipped', group: 'Output:' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress or notes on stderr (errors still print)', group: 'Output:' })
    .option('debug', { type: 'boolean', default: false, describe: 'Show stack traces for errors', group: 'Output:' });
}

/** Defaults live in DEFAULT_OPTIONS: --help shows them, and a flag not typed stays undefined (a --config file may set it). */
const shown = (key: keyof typeof DEFAULT_OPTIONS) => String(DEFAULT_OPTIONS[key]);

export function seOptions<T>(y: Argv<T>) {
  const g = 'Attention block:';
  return y
    .option('config', { type: 'string', describe: "Options from a JSON file with the keys of the JSON report's options ({\"block\": \"cbam\", \"ratio\": 8, ...}); flags given on the command line override it", group: g })
    .option('block', { choices: CHOICES.block, defaultDescription: shown('block'), describe: 'Attention written: se (Hu et al.), ese (VoVNetV2: one C→C conv, hard-sigmoid), eca (Wang et al.: a k-tap 1-D conv across channels), cbam (Woo et al.: channel attention from average and max pooling through one shared MLP, then a 7×7 spatial attention), cbam-channel (its channel half)', group: g })
    .option('act', { choices: CHOICES.act, defaultDescription: shown('act'), describe: 'Inner activation of the SE/CBAM MLP: relu (the paper), silu (EfficientNet, RegNetY), hardswish', group: g })
    .option('reduce-from', { choices: CHOICES.reduceFrom, defaultDescription: shown('reduceFrom'), describe: "Squeeze width C/r from the scaled tensor's channels (tensor) or the block input's (input: RegNetY/EfficientNet)", group: g })
    .option('form', { choices: CHOICES.form, defaultDescription: shown('form'), describe: "How a channel gate scales the map: mul (the SE graph: the N×C×1×1 gate broadcast by the Mul) or resize (the gate repeated to H×W by a nearest Resize first: faster on ONNX Runtime's CPU provider at its default optimization level, slower elsewhere; needs opset 11+ and a fixed H×W)", group: g })
    .option('ratio', { alias: 'r', type: 'number', defaultDescription: shown('ratio'), describe: 'Reduction ratio r: the squeeze width is C/r (paper default 16)', group: g })
    .option('ratio-per-stage', { type: 'string', describe: 'A ratio for each stage in order, - leaving a stage out: 8,16,-,32 (the paper varies r per stage; se-inject report lists the stages)', group: g })
    .option('divisor', { type: 'number', defaultDescription: shown('divisor'), describe: 'Round the squeeze width to a multiple of this (8 as in MobileNetV3/EfficientNet); 1 gives exactly C/r when r divides C', group: g })
    .option('min-channels', { type: 'number', defaultDescription: shown('minChannels'), describe: 'Smallest squeeze width', group: g })
    .option('bias', { type: 'boolean', defaultDescription: shown('bias'), describe: 'Give both FC layers biases, as the original SENet models do (--no-bias to omit)', group: g })
    .option('gate', { choices: ['sigmoid', 'hardsigmoid'] as const, describe: 'Excitation gate (default sigmoid; hardsigmoid for --mobilenet-placement v3)', group: g })
    .option('init', { choices: ['he', 'preserve'] as const, defaultDescription: shown('init'), describe: 'he: seeded random init for fine-tuning. preserve: the output computes the original function exactly until trained', group: g })
    .option('seed', { type: 'number', defaultDescription: shown('seed'), describe: 'Seed of the random init; same model, options and seed give byte-identical output', group: g })
    .option('arch', { choices: ARCH_CHOICES, array: true, describe: 'Only run these passes (default auto: every pass that matches)', group: 'Where:' })
    .option('stages', { type: 'string', describe: 'Only these stages, e.g. 1,2,3 or 1-3 (leaving out the last stage saves most added parameters)', group: 'Where:' })
    .option('at', { type: 'string', array: true, describe: 'Put attention on these tensors instead of the blocks the passes find (any architecture: detection backbones, UNet encoders); each a float feature map (N×C×H×W; N×C×L or N×C×D×H×W laid out by a conv); a graph output keeps its name (se-inject report --sites lists them)', group: 'Where:' })
    .option('exclude', { type: 'string', array: true, describe: 'Leave out sites by block name (se/stage2.block3), scaled tensor or node; * and ? are wildcards', group: 'Where:' })
    .option('placement', { choices: ['standard', 'pre', 'post', 'identity'] as const, defaultDescription: shown('placement'), describe: "Residual units: the paper's Table 14 variants (standard: on the branch before the sum)", group: 'Where:' })
    .option('mobilenet-placement', { choices: ['output', 'v3'] as const, defaultDescription: shown('mobilenetPlacement'), describe: 'Depthwise blocks: output (after the projection) or v3 (after the depthwise activation, hard-sigmoid gate)', group: 'Where:' });
}

/** The library's option names as this CLI's flags, for its messages (src/options.ts validates both). */
export const CLI_WORDS: Vocabulary = {
  name: (key) => ({ families: '--arch', minChannels: '--min-channels', mobilenetPlacement: '--mobilenet-placement', gateExplicit: '--gate', reduceFrom: '--reduce-from', ratioPerStage: '--ratio-per-stage' } as Record<string, string>)[key] ?? `--${key}`,
  bind: (dims) => `--dims ${dims.map((d) => `${d}=VALUE`).join(' ')}`,
  seeStages: 'run se-inject report to see them',
};

/** The flags mapped onto the library's options over a --config file's, checked by the library's one validation. */
export function toInjectOptions(a: ParsedArgs): InjectOptions {
  return resolveWithConfig(a.config === undefined ? undefined : readConfig(a.config), a.config ?? '', flagOptions(a));
}

function readConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SeInjectError('usage', `--config ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SeInjectError('usage', `--config ${file} is not JSON (${(e as Error).message}); write an object such as {"block": "cbam", "ratio": 8}`);
  }
}
