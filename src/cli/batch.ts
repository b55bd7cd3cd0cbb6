// Several models in one call: `se-inject a.onnx b.onnx --out-dir DIR`. Each model is converted by its
// own se-inject process (conversions are CPU-bound; processes use every core, and one model's failure
// cannot touch another's), as many at once as the machine has cores; the results come back as one
// summary table, or one JSON document with --json. A signal to this process (SIGINT, SIGTERM, SIGHUP)
// goes to every model's process, which removes its temporaries and ends; no further model is started,
// and this process ends by the same signal once they have: nothing is written after a run was stopped.

import type { ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES, SeInjectError } from '../errors.js';
import { n } from '../report/format.js';

export interface BatchResult {
  file: string;
  output?: string;
  exitCode: number;
  inserted?: number;
  paramsAdded?: number;
  validation?: { passed: boolean };
  /** The report se-inject printed for this model, or the error it gave. */
  report?: Record<string, unknown>;
  error?: { kind: string; exitCode: number; message: string };
}

/** The options given for every model: the command line without the model paths and the batch flags. */
export function sharedArgs(argv: readonly string[], models: readonly string[]): string[] {
  const left = [...models];
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--out-dir') { i++; continue; }
    if (arg.startsWith('--out-dir=') || arg === '--json' || arg === '--markdown') continue;
    const m = left.indexOf(arg);
    if (m >= 0) { left.splice(m, 1); continue; }
    out.push(arg);
  }
  return out;
}

/** `cli`: the command line's own file, run once per model (the bundle when the bin runs, else main.js). */
export async function convertMany(models: string[], outDir: string, argv: readonly string[], cli = fileURLToPath(new URL('./main.js', import.meta.url))): Promise<BatchResult[]> {
  const outputs = models.map((m) => path.join(outDir, path.basename(m)));
  const clash = outputs.find((o, i) => outputs.indexOf(o) !== i);
  if (clash) throw new SeInjectError('usage', `two models would both be written to ${clash}; give models with different file names, or convert them in separate calls`);
  await fsp.mkdir(outDir, { recursive: true }).catch((e: unknown) => {
    throw new SeInjectError('output', `cannot create --out-dir ${outDir}: ${(e as Error).message}`, { cause: e });
  });
  const shared = sharedArgs(argv, models);
  const results: BatchResult[] = new Array(models.length);
  const batch: Batch = { running: new Set() };
  const onSignal = (signal: NodeJS.Signals) => {
    batch.stopped ??= signal;
    for (const child of batch.running) child.kill(signal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < models.length && !batch.stopped; i = next++) results[i] = await convertOne(cli, models[i]!, outputs[i]!, shared, batch);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(models.length, availableParallelism()) }, worker));
  } finally {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  }
  const stopped = batch.stopped;
  if (stopped) {
    // Every model's process has ended: end the way the signal would have ended this one, unless a host
    // program handles the signal itself.
    if (process.listenerCount(stopped) === 0) {
      process.kill(process.pid, stopped);
      await new Promise(() => {}); // the signal ends the process; nothing more is printed
    }
    throw new SeInjectError('output', `stopped by ${stopped}: the models not yet converted were not started`);
  }
  return results;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The models' processes running now, and the signal that stopped the batch, once one came. */
interface Batch {
  running: Set<ChildProcess>;
  stopped?: NodeJS.Signals;
}

// node:child_process is loaded when a batch runs, not by every run of the command line.
async function convertOne(cli: string, model: string, output: string, shared: string[], batch: Batch): Promise<BatchResult> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, model, '-o', output, '--json', '-q', ...shared], { maxBuffer: 1 << 28 }, (err, stdout, stderr) => {
      batch.running.delete(child);
      const exitCode = err ? (typeof err.code === 'number' ? err.code : EXIT_CODES.internal) : 0;
      let doc: Record<string, unknown> | undefined;
      try {
        doc = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        doc = undefined;
      }
      const error = (doc?.error as BatchResult['error']) ?? (exitCode && !doc ? { kind: 'internal', exitCode, message: stderr.trim().split('\n').pop() ?? 'no output' } : undefined);
      if (error) return resolve({ file: model, exitCode, error });
      const params = doc!.params as { added?: number } | undefined;
      resolve({
        file: model, exitCode, output: doc!.output as string | undefined, inserted: doc!.inserted as number,
        paramsAdded: params?.added, validation: doc!.validation as { passed: boolean } | undefined, report: doc,
      });
    });
    batch.running.add(child);
    if (batch.stopped) child.kill(batch.stopped); // the signal came while this one was being started
  });
}

/** One row per model: what was added, where it went, or why not. */
export function formatBatch(results: BatchResult[]): string {
  const rows = results.map((r) => [
    r.file, r.inserted === undefined ? '—' : String(r.inserted), r.paramsAdded === undefined ? '—' : `+${n(r.paramsAdded)}`,
    r.validation ? (r.validation.passed ? 'passed' : 'FAILED') : '—',
    r.error ? `error (exit ${r.exitCode}): ${r.error.message}` : r.output ?? `nothing written (exit ${r.exitCode})`,
  ]);
  const head = ['model', 'blocks', 'params added', 'validation', 'output'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (c === 4 ? 0 : r[c]!.length))));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 4 ? cell : c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(head), line(widths.map((w, c) => '-'.repeat(c === 4 ? 6 : w))), ...rows.map(line)].join('\n') + '\n';
}

/** The first failure's exit code, 0 when every model converted. */
export function batchExitCode(results: BatchResult[]): number {
  return results.find((r) => r.exitCode !== 0)?.exitCode ?? EXIT_CODES.ok;
}
