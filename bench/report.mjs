// Renders bench/out/results.json (run.mjs) and bench/out/forms.json (se_forms.mjs) as Markdown in
// bench/out/results.md, with the issue's targets checked. Either file may be missing.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { OUT, fmt } from './lib.mjs';
import { profileMarkdown } from './cpu_profile.mjs';
import { syscallMarkdown } from './syscalls.mjs';

const MB = 2 ** 20;
const read = (name) => (existsSync(path.join(OUT, name)) ? JSON.parse(readFileSync(path.join(OUT, name), 'utf8')) : undefined);
const row = (cells) => `| ${cells.join(' | ')} |`;
const table = (head, rows) => [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');

/** Least squares y = a + b·x: the fixed cost a and the cost per megabyte b, and how straight the line is. */
function fit(points) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const syy = points.reduce((s, [, y]) => s + (y - my) ** 2, 0);
  const b = sxy / sxx;
  return { a: my - b * mx, b, r2: (sxy * sxy) / (sxx * syy) };
}

function wholeProcess(results) {
  return table(
    ['model', 'size MB', 'se-inject ms', 'python ms', 'cp ms', 'se-inject / python', 'RSS se-inject MB', 'RSS python MB', 'RSS se-inject / python', 'runs', 'CPU pressure at start %'],
    results.map((r) => [r.name + (r.external ? ' (ext. data)' : '') + (r.cliWrote === false ? ' (no SE site: CLI writes nothing)' : ''), fmt(r.bytes / MB), fmt(r.ms.seInject), fmt(r.ms.python), fmt(r.ms.cp),
      `×${fmt(r.ratio.seInjectOverPython, 2)}`, fmt(r.rssMB.seInject), fmt(r.rssMB.python), `×${fmt(r.ratio.rssSeInjectOverPython, 2)}`, r.reps, fmt(r.idle?.cpuPressureAvg10)]));
}

function phaseTable(results) {
  const names = ['import', 'read', 'decode', 'analyse', 'rewrite', 'encode', 'write'];
  return table(
    ['model', 'boot', ...names, 'sum (no boot/import)', '--diag on a scratch file: encode + write (views, copies) + an fsync (which a new output does not pay)', 'child RSS MB'],
    results.map((r) => [r.name, fmt(r.bootMs), ...names.map((p) => fmt(r.phases[p])), fmt(names.slice(1).reduce((s, p) => s + r.phases[p], 0)),
      r.writeParts ? `${fmt(r.writeParts.encodeMs)} + ${fmt(r.writeParts.writevMs)} + ${fmt(r.writeParts.fsyncMs)}` : '(external: streamed)',
      fmt(r.rssMB.phasesChild)]));
}

function startupTable(s) {
  const i = s.importMs;
  return table(['what', 'ms (median)', 'peak RSS MB'], [
    ['`node -e 0` (whole process)', fmt(s.nodeEmpty.ms), fmt(s.nodeEmpty.rssMB)],
    ['`node -e "await import(cli/main.js)"` (whole process)', fmt(s.cliImport.ms), fmt(s.cliImport.rssMB)],
    ...(s.binImport ? [['`node -e "await import(cli/se-inject.js)"` (the bin: one bundled file; whole process)', fmt(s.binImport.ms), fmt(s.binImport.rssMB)],
      ['`se-inject --version` (the bin, whole process)', fmt(s.binVersion.ms), fmt(s.binVersion.rssMB)]] : []),
    ['`se-inject --help` (whole process)', fmt(s.cliHelp.ms), fmt(s.cliHelp.rssMB)],
    ['in-process: boot to first user statement', fmt(i.bootToUserCode), ''],
    ['in-process: import dist/src/api.js (library)', fmt(i.api), ''],
    ['in-process: then import yargs', fmt(i.yargs), ''],
    ['in-process: then the rest of cli/main.js', fmt(i.cliRest), ''],
    ...(s.read ? [
      [`read ${path.basename(s.read.file)}: page faults of a fresh buffer of its size (fill)`, fmt(s.read.firstTouchMs), ''],
      ['  then copy from the page cache into that touched buffer (readSync)', fmt(s.read.copyFromPageCacheMs), ''],
      ['  `readFileSync` into a fresh buffer (both)', fmt(s.read.readFileSyncFreshMs), ''],
    ] : []),
    ['`python3 -c 0`', fmt(s.pythonEmpty.ms), fmt(s.pythonEmpty.rssMB)],
    ['`python3 -c "import onnx"`', fmt(s.pythonImport.ms), fmt(s.pythonImport.rssMB)],
  ]);
}

function linearity(results) {
  const plain = results.filter((r) => !r.external && r.cliWrote !== false);
  if (plain.length < 3) return '';
  const line = (what, pts, unit) => {
    const f = fit(pts);
    return `- ${what}: ${fmt(f.a)} ${unit} + ${fmt(f.b, 2)} ${unit}/MB × size (R² ${fmt(f.r2, 3)})`;
  };
  return ['Least-squares lines over the models without external data (size in MB):',
    line('se-inject wall time', plain.map((r) => [r.bytes / MB, r.ms.seInject]), 'ms'),
    line('python wall time', plain.map((r) => [r.bytes / MB, r.ms.python]), 'ms'),
    line('se-inject peak RSS', plain.map((r) => [r.bytes / MB, r.rssMB.seInject]), 'MB'),
    line('python peak RSS', plain.map((r) => [r.bytes / MB, r.rssMB.python]), 'MB')].join('\n');
}

function targets(doc, forms) {
  const out = [];
  const r50 = doc?.results.find((r) => r.name === 'resnet50');
  if (r50) {
    const limit = 0.5 * r50.ms.python;
    out.push(`- resnet50 wall time ≤ 0.5 × python: ${fmt(r50.ms.seInject)} ms vs limit ${fmt(limit)} ms (python ${fmt(r50.ms.python)} ms) → ` +
      (r50.ms.seInject <= limit ? 'holds' : `MISSES by ${fmt(r50.ms.seInject - limit)} ms (×${fmt(r50.ratio.seInjectOverPython, 2)} of python, target ×0.50)`));
    const p = r50.phases;
    const s = doc.startup;
    const fsync = r50.writeParts ? ` (a new output is not fsync'd; --fsync would add ≈ ${fmt(r50.writeParts.fsyncMs)})` : '';
    out.push(`  - where the CLI's time goes (phases child medians, ms): Node boot ${fmt(r50.bootMs)} (\`node -e 0\` whole process ${fmt(s.nodeEmpty.ms)}), ` +
      `imports ${fmt(s.importMs.api + s.importMs.yargs + s.importMs.cliRest)} (library ${fmt(s.importMs.api)}, yargs ${fmt(s.importMs.yargs)}, rest of CLI ${fmt(s.importMs.cliRest)}), ` +
      `read ${fmt(p.read)}, decode ${fmt(p.decode)}, analyse + rewrite ${fmt(p.analyse + p.rewrite)}, write ${fmt(p.write)}${fsync}; ` +
      `cp of the same file takes ${fmt(r50.ms.cp)}, Python's \`import onnx\` alone ${fmt(s.pythonImport.ms)}`);
    out.push(`- resnet50 peak RSS ≤ python: ${fmt(r50.rssMB.seInject)} MB vs ${fmt(r50.rssMB.python)} MB → ` +
      (r50.rssMB.seInject <= r50.rssMB.python ? `holds (${fmt(r50.rssMB.python - r50.rssMB.seInject)} MB below)` : `MISSES by ${fmt(r50.rssMB.seInject - r50.rssMB.python)} MB`));
  }
  const mnv2 = doc?.results.find((r) => r.name === 'mobilenet_v2');
  if (mnv2) {
    out.push(`- mobilenet_v2 wall time ≤ 1 × python: ${fmt(mnv2.ms.seInject)} ms vs python ${fmt(mnv2.ms.python)} ms → ` +
      (mnv2.ratio.seInjectOverPython <= 1 ? `holds (×${fmt(mnv2.ratio.seInjectOverPython, 2)})` : `MISSES (×${fmt(mnv2.ratio.seInjectOverPython, 2)} of python, target ×1.00)`));
  }
  const [b8, big] = ['big8', 'big'].map((n) => doc?.results.find((r) => r.name === n));
  if (big) {
    const vs = b8 ? `; ${fmt(b8.bytes / MB)} MB version: ${fmt(b8.rssMB.seInject)} MB (difference ${fmt(big.rssMB.seInject - b8.rssMB.seInject)} MB for ${fmt((big.bytes - b8.bytes) / MB)} MB more weights)` : '';
    out.push(`- >2 GiB model: peak RSS ${fmt(big.rssMB.seInject)} MB for ${fmt(big.bytes / MB)} MB of model${vs}; python ${fmt(big.rssMB.python)} MB`);
    if (big.ort) out.push(`- >2 GiB output in onnxruntime-node: ${big.ort.ok ? 'loads and runs' : 'FAILS'} (load ${fmt(big.ort.loadMs)} ms, run ${fmt(big.ort.runMs)} ms, output ${big.ort.outputDims.join('×')}, finite ${big.ort.finite}, ORT process RSS ${fmt(big.ort.processRssMB)} MB)`);
  }
  for (const f of forms?.results.filter((x) => x.level === 'all') ?? []) {
    out.push(`- SE-ResNet-50 / ResNet-50 latency ≤ 1.05, form ${f.form}: ×${fmt(f.ratio, 3)} → ${f.ratio <= 1.05 ? 'holds' : `MISSES by ${fmt((f.ratio - 1.05) * 100, 1)} points`}`);
  }
  return out.join('\n');
}

function formsTable(forms) {
  return table(['form', 'graph optimization', 'original ms', 'SE ms', 'ratio (median of per-round ratios)', 'ratio IQR', 'rounds'],
    forms.results.map((f) => [f.form, f.level, fmt(f.originalMs, 1), fmt(f.seMs, 1), `×${fmt(f.ratio, 3)}`,
      f.ratioQ1 ? `${fmt(f.ratioQ1, 3)}–${fmt(f.ratioQ3, 3)}` : '', f.rounds]));
}

export function renderMarkdown(doc, forms) {
  const parts = ['# se-inject benchmark results', ''];
  const m = doc?.machine ?? forms?.machine;
  if (m) parts.push(`Machine: ${m.cpu}, ${m.nproc} cores (nproc), ${m.memGiB} GiB RAM; Node ${m.node}; Python/onnx ${m.pythonOnnx}; Linux ${m.kernel}; load average at start ${m.loadavg?.join(' ') ?? '?'} (other work on the machine adds noise). Run ${doc?.date ?? forms?.date}.`, '',
    '`free -h` at the start:', '', '```', m.free, '```', '');
  if (doc) {
    parts.push(`## Whole process: inject + save (se-inject CLI, no validation) vs Python onnx.load+onnx.save vs cp`, '',
      `Median of ${doc.reps} interleaved runs (external-data models: fewer); ratios are medians of per-repetition ratios.`, '',
      wholeProcess(doc.results), '', linearity(doc.results), '',
      '## Where se-inject spends it (phases child, median ms)', '',
      'boot: Node start to the first statement; import: se-inject modules (no yargs); write: saveModel (encodes again, writev, rename; no fsync for a new output).', '',
      phaseTable(doc.results), '', '## Fixed start-up costs', '', startupTable(doc.startup), '');
    if (doc.cpuProfile) parts.push('## CPU profile of the CLI', '', profileMarkdown(doc.cpuProfile), '');
    if (doc.syscalls) parts.push('## File-system calls of the CLI', '', syscallMarkdown(doc.syscalls), '');
  }
  if (forms) parts.push('## Runtime cost of the emitted SE graph (onnxruntime-node CPU, 1 intra-op thread)', '', forms.note ?? '', '', formsTable(forms), '', forms.extra ?? '', '');
  parts.push('## Targets', '', targets(doc, forms), '');
  return parts.join('\n');
}

export function writeReport() {
  const md = renderMarkdown(read('results.json'), read('forms.json'));
  writeFileSync(path.join(OUT, 'results.md'), md);
  return md;
}

/** `node bench/report.mjs --readme`: replaces bench/README.md's results section with the latest run. */
function updateReadme(md) {
  const file = path.join(OUT, '..', 'README.md');
  const marker = '<!-- results -->';
  const head = readFileSync(file, 'utf8').split(marker)[0];
  const body = md.replace(/^# .*\n/, '').replace(/^## /gm, '### ');
  writeFileSync(file, `${head}${marker}\n${body}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const md = writeReport();
  if (process.argv.includes('--readme')) updateReadme(md);
  console.log(md);
}
