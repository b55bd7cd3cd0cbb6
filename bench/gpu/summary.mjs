#!/usr/bin/env node
// summary.mjs OUT — reads run.sh's index (OUT/runs.tsv: model, label, exit code, seconds) and each run's
// captured stdout (the CLI's --json report) and stderr, and prints one row per run: whether --init
// preserve validation passed, the largest relative difference over the outputs, the latency of the
// original and the injected model, or the one line that says why the run gave no report. The same table
// goes to OUT/summary.md and the rows to OUT/summary.json.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const out = process.argv[2];
if (!out || !existsSync(path.join(out, 'runs.tsv'))) {
  process.stderr.write('summary.mjs: error: usage: node summary.mjs OUT (a folder holding run.sh\'s runs.tsv)\n');
  process.exit(2);
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The line of stderr that explains a run without a report: the CLI's error, else the last line. */
function reason(file, code) {
  if (code === 'skip') return 'skipped: the time budget (BUDGET_S) was spent';
  if (code === '124' || code === '137') return `timed out (STEP_TIMEOUT_S) and was killed (exit ${code})`;
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
  const error = lines.find((l) => l.startsWith('se-inject: error:') || l.startsWith('se-inject: internal error:'));
  return `exit ${code}: ${(error ?? lines.at(-1) ?? 'no output').replace(/^se-inject: /, '')}`;
}

function row(model, label, code, seconds) {
  const base = path.join(out, `${model}.${label}`);
  const v = readJson(`${base}.json`)?.validation;
  const r = { model, label, exit: code === 'skip' ? null : Number(code), seconds: Number(seconds) };
  if (!v) return { ...r, ep: null, passed: null, note: reason(`${base}.stderr`, code) };
  const notes = [...v.tried.filter((t) => !t.ok).map((t) => `${t.ep} not used: ${t.reason}`), ...v.problems];
  if (v.outputs.some((o) => !o.finite)) notes.push('an output is not finite');
  return {
    ...r, ep: v.ep, passed: v.passed,
    maxRelDiff: Math.max(...v.outputs.map((o) => o.maxRelDiff)),
    maxAbsDiff: Math.max(...v.outputs.map((o) => o.maxAbsDiff)),
    latency: v.latency ?? null,
    note: notes.join('; '),
  };
}

function cells(r) {
  const ms = (x) => (x === undefined ? '-' : x.toFixed(2));
  return [
    r.model, r.label, r.passed === null ? '-' : r.passed ? 'yes' : 'NO',
    r.maxRelDiff === undefined ? '-' : r.maxRelDiff.toExponential(2),
    ms(r.latency?.original), ms(r.latency?.injected), r.latency ? r.latency.ratio.toFixed(3) : '-',
    String(r.seconds), r.note || '',
  ];
}

const header = ['model', 'run', 'passed', 'max rel diff', 'orig ms', 'SE ms', 'ratio', 's', 'note'];
const rows = readFileSync(path.join(out, 'runs.tsv'), 'utf8').split('\n').filter(Boolean)
  .map((line) => row(...line.split('\t')));
const table = [header, ...rows.map(cells)];
const widths = header.map((_, i) => Math.max(...table.map((c) => (i === header.length - 1 ? 0 : c[i].length))));
const text = table.map((c) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
const markdown = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${cells(r).join(' | ')} |`)].join('\n');

writeFileSync(path.join(out, 'summary.md'), markdown + '\n');
writeFileSync(path.join(out, 'summary.json'), JSON.stringify(rows, null, 2) + '\n');
process.stdout.write(text + '\n');
