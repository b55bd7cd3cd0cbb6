// Shared helpers for the benchmarks: running a child under /usr/bin/time, medians, the machine's
// description. Every measurement runs in its own process so that peak RSS belongs to one tool only.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT = path.join(ROOT, 'bench', 'out');
/** Debian's python with onnx 1.12; the `python3` first on PATH has no onnx. */
export const PYTHON = '/usr/bin/python3';
const TIME = '/usr/bin/time';
const timeDir = mkdtempSync(path.join(os.tmpdir(), 'se-bench-'));
process.on('exit', () => rmSync(timeDir, { recursive: true, force: true }));

/**
 * Runs a command to completion under GNU time. Wall time is taken here with hrtime (GNU time's %e has
 * 10 ms resolution, too coarse for cp); peak RSS is GNU time's "Maximum resident set size" (%M, KiB),
 * which covers the whole child, native allocations and mapped file pages it touched included.
 */
export function timed(cmd, args, { cwd = ROOT, env } = {}) {
  const rssFile = path.join(timeDir, 'rss');
  const start = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%M', '-o', rssFile, cmd, ...args], { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw r.error;
  const rssKiB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  return { ms, rssMB: rssKiB / 1024, code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like timed(), but fails loudly: a benchmark of a command that errored measures nothing. */
export function mustRun(what, cmd, args, options) {
  const r = timed(cmd, args, options);
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${cmd} ${args.join(' ')}\n${r.stderr.slice(-2000)}`);
  return r;
}

export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The q-quantile (0–1) by linear interpolation: the spread of per-round ratios next to their median. */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (i - lo);
}

/** Bytes of a model: the .onnx file plus every external data file in its folder that it names. */
export function modelBytes(file) {
  let total = statSync(file).size;
  for (const extra of externalFiles(file)) total += statSync(extra).size;
  return total;
}

/** Data files next to a model (weights.bin, *.data): what cp must copy along with it. */
export function externalFiles(file) {
  const dir = path.dirname(file);
  return readdirSync(dir)
    .filter((n) => n !== path.basename(file) && (n.endsWith('.bin') || n.endsWith('.data')))
    .map((n) => path.join(dir, n));
}

export function removeOutputs(file) {
  for (const f of [file, `${file}.data`]) rmSync(f, { force: true });
}

/** What the numbers were measured on: CPU model, core count, memory, versions. */
export function machine() {
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown';
  const free = spawnSync('free', ['-h'], { encoding: 'utf8' }).stdout.trimEnd();
  const python = spawnSync(PYTHON, ['-c', 'import onnx,sys; print(sys.version.split()[0], onnx.__version__)'], { encoding: 'utf8' }).stdout.trim();
  return { cpu, nproc: os.availableParallelism(), memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), free, node: process.version, pythonOnnx: python, kernel: os.release(), loadavg: os.loadavg().map((x) => +x.toFixed(2)), cpuPressureAvg10: cpuPressure() };
}

/** Share of the last 10 s in which some runnable task waited for a CPU (Linux PSI); 0–100. */
export function cpuPressure() {
  try {
    return Number(/avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/**
 * Other work on a 2-core machine swamps a benchmark. With --wait-idle, each model waits (up to
 * maxSeconds) until CPU pressure falls under `below` percent; what it found is recorded either way.
 */
export function waitIdle(maxSeconds, below = 20) {
  const start = Date.now();
  while (cpuPressure() >= below && Date.now() - start < maxSeconds * 1000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
  return { waitedS: Math.round((Date.now() - start) / 1000), cpuPressureAvg10: cpuPressure(), loadavg: os.loadavg().map((x) => +x.toFixed(2)) };
}

export const exists = existsSync;
export const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
