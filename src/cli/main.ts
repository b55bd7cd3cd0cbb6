#!/usr/bin/env node
// se-inject's command line: parses arguments, calls the library, prints. Every failure a user can cause
// ends in one line on stderr and a documented exit code (README, "Exit codes").

import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import { analyze, inject, listSites } from '../api.js';
import { EXIT_CODES, SeInjectError, describeCause, escapeControls, escapedStrings, quote } from '../errors.js';
import { loadModelFile } from '../onnx/load.js';
import { inputStampOf, planOutput } from '../onnx/commit.js';
import { saveModel } from '../onnx/save.js';
import { BLOCK_INFO } from '../report/build.js';
import { formatMarkdown, formatText, n } from '../report/format.js';
import { formatSitesMarkdown, formatSitesText } from '../report/sites.js';
import type { Report } from '../report/format.js';
import { CLI_WORDS, analysisOptions, seOptions, toInjectOptions } from './options.js';
import { OptionError } from '../options.js';
import type { ParsedArgs } from './options.js';
import { Progress } from './progress.js';
import { runValidation, validationOptions, printValidation } from './validate.js';
import type { ValidationArgs } from './validate.js';
import { checkNumbers, checkRepeated, unknownArguments } from './usage.js';
import { bindInputShapes, parseInputShapes } from './input-shapes.js';
import { batchExitCode, convertMany, formatBatch } from './batch.js';
import { plainInjectArgs } from './plain-args.js';
import type { DeclaredOptions } from './usage.js';
import { toolVersion } from '../version.js';

// yargs' ESM build lays out --help with a wrapper that cuts words at the column edge; its CommonJS build
// wraps between words (wrap-ansi). Same parser, same options. Loaded only for a command line that
// plainInjectArgs leaves to it.
const loadYargs = () => createRequire(import.meta.url)('yargs/yargs') as (argv: string[]) => Argv;

type Args = ParsedArgs & ValidationArgs & {
  model: string; output?: string; force: boolean; inPlace: boolean; fsync?: boolean; externalData: boolean; json: boolean;
  markdown: boolean; explain: boolean; quiet: boolean; debug: boolean; validate: boolean; strict: boolean; sites?: boolean;
};

function emit(report: Report, a: Args): void {
  if (a.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(a.markdown ? formatMarkdown(report, a.explain) : formatText(report, a.explain));
  if (!a.quiet) for (const note of report.notes ?? []) process.stderr.write(`se-inject: note: ${escapeControls(note)}\n`);
}

async function injectCommand(a: Args): Promise<number> {
  const given = toInjectOptions(a);
  const shapes = parseInputShapes(a.inputShapes);
  if (!a.output) throw new SeInjectError('usage', 'give the output path with -o OUT.onnx (or run se-inject report MODEL for a dry run)');
  if (a.output === '-') {
    throw new SeInjectError('usage', '-o - would write a file named "-": se-inject writes models to files, not to stdout (a model may need OUT.onnx.data beside it); give a file path, or ./- for a file of that name');
  }
  // Refused before anything is read; the save checks again against every file the model reads.
  const input = await inputStampOf(a.model);
  const target = await planOutput(a.output, input ? [input] : [], { overwrite: a.force, inPlace: a.inPlace });
  const same = target.replacesInput;
  const progress = new Progress(!a.quiet);
  progress.note(`reading ${a.model}`);
  const model = await loadModelFile(a.model);
  const options = bindInputShapes(model, shapes, given);
  progress.note('matching blocks and inserting SE');
  const report = inject(model, options);
  if (!report.inserted) {
    progress.done();
    emit(report, a);
    if (!a.quiet || !a.json) process.stderr.write(`se-inject: ${escapeControls(report.nothingToInsert ?? '')}; no file written\n`);
    return report.unsupported ? EXIT_CODES.unsupported : EXIT_CODES.nothingToInsert;
  }
  let validation;
  if (a.validate && (a.strict || same)) {
    // --strict, and --in-place (whose write replaces the original it must be compared with): validate
    // from memory before anything touches the disk.
    validation = await runValidation(a.model, model, a, options, progress);
    report.validation = validation;
    if (!validation.passed) {
      progress.done();
      emit(report, a);
      const kept = a.strict ? '--strict: nothing written' : '--in-place: the input is left as it was';
      process.stderr.write(`se-inject: validation failed (${escapeControls(validation.problems[0] ?? 'see report')}); ${kept}\n`);
      return EXIT_CODES.validationFailed;
    }
  }
  const saved = await saveModel(model, a.output, { overwrite: a.force, inPlace: a.inPlace, externalData: a.externalData, durable: a.fsync, onProgress: (d, t) => progress.bytes('writing', d, t) });
  for (const note of saved.notes) process.stderr.write(`se-inject: note: ${note}\n`);
  report.output = saved.path;
  if (a.validate && !validation) {
    validation = await runValidation(a.model, saved.path, a, options, progress);
    report.validation = validation;
  }
  progress.done();
  emit(report, a);
  if (validation) printValidation(validation, a);
  if (!a.quiet) process.stderr.write(`se-inject: wrote ${quote(saved.path)} (${report.inserted} ${BLOCK_INFO[options.block].title} blocks, +${n(report.params.added)} params)\n`);
  if (validation && !validation.passed) return EXIT_CODES.validationFailed;
  return EXIT_CODES.ok;
}

/** One model and -o, or several models and --out-dir. */
function injectOrBatch(argv: string[]) {
  return async (a: Args & { more?: string[]; outDir?: string }): Promise<number> => {
    const more = a.more ?? [];
    if (!more.length && a.outDir === undefined) return injectCommand(a);
    if (a.outDir === undefined) {
      const second = more[0]!;
      if (samePath(second, a.model)) throw new SeInjectError('usage', `${second} is given twice; give the model once${a.output === undefined ? ' and the output with -o OUT.onnx' : ''}`);
      if (a.output !== undefined) throw new SeInjectError('usage', `${second} is a second model path, and -o names one output; convert several models with --out-dir DIR`);
      throw new SeInjectError('usage', `${second} is a second model path: give the output with -o ${second}, or convert several models with --out-dir DIR`);
    }
    if (a.output !== undefined) throw new SeInjectError('usage', '-o names one output; with --out-dir each model is written as DIR/<its file name>');
    if (a.outDir === '' || a.outDir === '-') throw new SeInjectError('usage', '--out-dir needs the path of a folder (se-inject writes models to files, never to stdout); give --out-dir DIR');
    const results = await convertMany([a.model, ...more], a.outDir, argv, fileURLToPath(import.meta.url));
    if (a.json) process.stdout.write(JSON.stringify({ models: results }, null, 2) + '\n');
    else process.stdout.write(formatBatch(results));
    return batchExitCode(results);
  };
}

async function reportCommand(a: Args): Promise<number> {
  const given = toInjectOptions(a);
  const shapes = parseInputShapes(a.inputShapes);
  const model = await loadModelFile(a.model);
  const options = bindInputShapes(model, shapes, given);
  if (a.sites) {
    const sites = listSites(model, options);
    const shown = escapedStrings(sites);
    process.stdout.write(a.json ? JSON.stringify(sites, null, 2) + '\n' : a.markdown ? formatSitesMarkdown(shown) : formatSitesText(shown));
    return EXIT_CODES.ok;
  }
  emit(analyze(model, options), a);
  return EXIT_CODES.ok;
}

async function validateCommand(a: Args & { original: string; injected: string }): Promise<number> {
  const given = toInjectOptions(a);
  const shapes = parseInputShapes(a.inputShapes);
  const options = shapes.size ? bindInputShapes(await loadModelFile(a.original), shapes, given) : given;
  const progress = new Progress(!a.quiet);
  const result = await runValidation(a.original, a.injected, a, options, progress);
  progress.done();
  if (a.json) process.stdout.write(JSON.stringify({ validation: result }, null, 2) + '\n');
  printValidation(result, a, 'validate');
  return result.passed ? EXIT_CODES.ok : EXIT_CODES.validationFailed;
}

/** One line on stderr; with --json also {"error": {kind, exitCode, message}} on stdout, so that
 * `--json > report.json` never leaves an empty file. */
function fail(e: unknown, debug: boolean, json: boolean): number {
  const known = e instanceof SeInjectError;
  const message = known ? (e instanceof OptionError ? e.messageIn(CLI_WORDS) : e.message) : describeCause(e);
  const exitCode = known ? e.exitCode : EXIT_CODES.internal;
  if (json) process.stdout.write(JSON.stringify({ error: { kind: known ? e.kind : 'internal', exitCode, message } }, null, 2) + '\n');
  if (known) {
    process.stderr.write(`se-inject: error: ${message}\n`);
    if (debug) process.stderr.write(`${e.stack}\n${e.cause instanceof Error ? `caused by: ${e.cause.stack}\n` : ''}`);
    return exitCode;
  }
  process.stderr.write(`se-inject: internal error: ${message} (run with --debug for a stack trace, and please report it)\n`);
  if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  return exitCode;
}

function declaredOptions(y: Argv): DeclaredOptions {
  const o = (y as unknown as { getOptions(): unknown }).getOptions() as { key: Record<string, unknown>; number: string[]; array: string[]; alias: Record<string, string[]> };
  // `more` is the inject command's list of further models: a positional yargs does not count as an array.
  return { names: Object.keys(o.key), numbers: o.number, arrays: [...o.array, 'more'], aliases: o.alias };
}

/** The inject command's positionals and options (also what plain-args.ts must read the same way). */
export function injectOptions<T>(y: Argv<T>) {
  return validationOptions(seOptions(analysisOptions(y)))
    .positional('model', { type: 'string', describe: 'Input .onnx file (external data next to it is read)', demandOption: true })
    .positional('more', { type: 'string', array: true, describe: 'More input models, converted in parallel into --out-dir' })
    .option('out-dir', { type: 'string', describe: 'With several models: write each as DIR/<its file name>; one summary table (or JSON document) for all', group: 'Output:' })
    .option('output', { alias: 'o', type: 'string', describe: 'Output .onnx file (external data goes to OUT.onnx.data)', group: 'Output:' })
    .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'Overwrite an existing output', group: 'Output:' })
    .option('in-place', { type: 'boolean', default: false, describe: 'Allow -o to be the input file (replaced atomically; --validate then checks before the write)', group: 'Output:' })
    .option('fsync', { type: 'boolean', describe: 'Make a new output durable (fsync) before exiting; a replaced file is always synced first', group: 'Output:' })
    .option('external-data', { type: 'boolean', default: false, describe: 'Store weights in OUT.onnx.data (automatic past 2 GiB)', group: 'Output:' })
    .option('validate', { type: 'boolean', default: false, describe: 'Run original and output on ONNX Runtime and compare', group: 'Validation:' })
    .option('strict', { type: 'boolean', default: false, describe: 'With --validate: write nothing if validation fails', group: 'Validation:' });
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const json = argv.includes('--json');
  const plain = plainInjectArgs(argv);
  if (plain) {
    try {
      return await injectOrBatch(argv)(plain as never);
    } catch (e) {
      return fail(e, debug, json);
    }
  }
  let code: number = EXIT_CODES.ok;
  const handle = (fn: (a: never) => Promise<number>) => async (a: unknown) => {
    try {
      const declared = declaredOptions(parser);
      checkRepeated(a as Record<string, unknown>, declared);
      checkNumbers(a as Record<string, unknown>, argv, declared);
      code = await fn(a as never);
    } catch (e) {
      code = fail(e, debug, json);
    }
  };
  const parser = loadYargs()(argv)
    .scriptName('se-inject')
    .usage('se-inject MODEL.onnx -o OUT.onnx [options]')
    .command('$0 <model> [more..]', 'Insert SE blocks and write the result (several models: --out-dir)', injectOptions, handle(injectOrBatch(argv)))
    .command('report <model>', 'Dry run: analyse a model, show what would be added', (y) => seOptions(analysisOptions(y))
      .positional('model', { type: 'string', demandOption: true })
      .option('sites', { type: 'boolean', default: false, describe: 'List every tensor that could take attention (--at): shape, op, the stage and block holding it, and which ones the passes scale', group: 'Output:' }), handle(reportCommand))
    .command('validate <original> <injected>', 'Compare two models on ONNX Runtime (outputs, latency)', (y) => validationOptions(seOptions(analysisOptions(y)))
      .positional('original', { type: 'string', demandOption: true })
      .positional('injected', { type: 'string', demandOption: true })
      .option('expect-equal', { type: 'boolean', default: false, describe: 'Fail unless outputs agree within --rtol/--atol (what --init preserve promises)', group: 'Validation:' }), handle(validateCommand))
    .command('serve', 'Serve the web page (convert, report, validate in the browser) on http://127.0.0.1', (y) => y.option('port', { type: 'number', default: 8321, describe: 'Port (0: any free one)' }).option('host', { type: 'string', default: '127.0.0.1', describe: 'Local address to listen on' }).option('quiet', { alias: 'q', type: 'boolean', default: false }), handle(async (a: never) => (await import('./serve.js')).serveCommand(a)))
    .epilogue([
      'Inserts Squeeze-and-Excitation blocks (Hu et al., SENet) into an ONNX CNN: residual branches,',
      'Inception modules, depthwise-separable blocks and ShuffleNet units, or tensors named with --at;',
      'or eSE, ECA or CBAM (--block). Reports per stage N_s and C_s, the block\'s formula (SE: the',
      "paper's 2/r*sum(N_s*C_s^2)), the exact parameter count, and MACs before and after.",
      '',
      'Examples:',
      '  se-inject resnet50.onnx -o se_resnet50.onnx                 SE-ResNet-50, r = 16',
      '  se-inject model.onnx -o out.onnx --init preserve --validate  same outputs until fine-tuned, checked on ONNX Runtime',
      '  se-inject report model.onnx --explain                       what would be added, and why each other site is left alone',
      '  se-inject model.onnx -o out.onnx --stages 1-3 --json         skip the last stage; JSON report on stdout',
      '  se-inject resnet50.onnx -o cbam_resnet50.onnx --block cbam   CBAM-ResNet-50 (channel + spatial attention)',
      '  se-inject report model.onnx --sites                         every tensor --at can take, with stage and block',
      '  se-inject model.onnx -o out.onnx --config run.json           options from a file (keys of the JSON report\'s options)',
      '',
      'Exit codes: 0 ok, 1 internal error, 2 bad usage, 3 bad input model, 4 unsupported model,',
      '            5 nothing to insert, 6 validation failed, 7 cannot write output.',
      'Docs: README.md (options, JSON report keys, library API).',
    ].join('\n'))
    .strict()
    .help()
    .alias('h', 'help')
    .version(toolVersion())
    .wrap(process.stdout.isTTY ? process.stdout.columns : 80)
    .fail((msg, err) => {
      if (err) throw err;
      throw new SeInjectError('usage', unknownArguments(msg.replace(/\s*\n\s*/g, ' '), declaredOptions(parser)));
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    return fail(e, debug, json);
  }
  return code;
}

function isEntryPoint(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // A reader that went away (`| head`) is not an error of the conversion: stop quietly. Output files are
  // committed before anything is printed, so nothing is left half-written.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/** Two paths of one file (through links too), or the same text where neither exists. */
function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return path.resolve(a) === path.resolve(b);
  }
}
