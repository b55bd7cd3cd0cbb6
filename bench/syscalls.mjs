// Time the CLI spends inside the file-system calls that move the model: strace -f -T over
// `se-inject MODEL -o OUT --force --quiet`, summed per call. strace adds its own cost per call (a few
// tens of µs), so the totals are upper bounds; what matters is which call holds the time: `read`
// (includes first-touch page faults of the destination buffer), `writev`, `fsync`, and `rename`
// (which frees the replaced output's blocks when --force overwrites an existing file).
//
//   node bench/syscalls.mjs fixtures/cache/resnet50_op13.onnx [runs]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, median } from './lib.mjs';

const CALLS = 'read,pread64,writev,pwritev,pwritev2,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,openat,close,unlink';

function once(model, dir) {
  const log = path.join(dir, 'strace.txt');
  const out = path.join(dir, 'out.onnx');
  const r = spawnSync('strace', ['-f', '-T', '-e', `trace=${CALLS}`, '-o', log, process.execPath, 'dist/src/cli/se-inject.js', model, '-o', out, '--force', '--quiet'],
    { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`strace run failed (exit ${r.status}): ${r.stderr.slice(-1000)}`);
  const totals = {};
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    // "1234  writev(18, [...], 1024) = 67108864 <0.021043>"
    const m = /^\d+\s+(\w+)\(.*<([\d.]+)>$/.exec(line.trim());
    if (!m) continue;
    const t = (totals[m[1]] ??= { ms: 0, calls: 0 });
    t.ms += Number(m[2]) * 1000;
    t.calls += 1;
  }
  return totals;
}

/** Medians over `runs` runs; the output is overwritten from the second run on, as with --force in run.mjs. */
export function traceCli(model, runs = 3) {
  if (spawnSync('strace', ['-V']).status !== 0) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'se-strace-'));
  try {
    const all = Array.from({ length: runs }, () => once(model, dir));
    const names = [...new Set(all.flatMap((t) => Object.keys(t)))];
    const calls = Object.fromEntries(names.map((n) => [n, {
      ms: +median(all.map((t) => t[n]?.ms ?? 0)).toFixed(1), calls: median(all.map((t) => t[n]?.calls ?? 0)),
    }]).sort((a, b) => b[1].ms - a[1].ms));
    return { model, runs, calls };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function syscallMarkdown(s) {
  const rows = Object.entries(s.calls).filter(([, v]) => v.ms >= 0.5).map(([n, v]) => `| ${n} | ${v.ms} | ${v.calls} |`);
  return [`File-system calls of the CLI on ${path.basename(s.model)} (strace -f -T, median of ${s.runs} runs; strace inflates each call a little):`, '',
    '| call | ms | calls |', '| --- | --- | --- |', ...rows].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = traceCli(process.argv[2] ?? 'fixtures/cache/resnet50_op13.onnx', Number(process.argv[3] ?? 3));
  console.log(s ? syscallMarkdown(s) : 'strace is not installed');
}
