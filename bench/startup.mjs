// Fixed costs every CLI run pays before it reads a byte: booting Node, loading the CLI's modules
// (yargs, se-inject itself), and for comparison booting Python and importing onnx. On a small model
// these dominate; the per-model tables only make sense next to them. Also what reading a model into
// one fresh buffer costs: the copy from the page cache, and the page faults of memory never touched.

import { PYTHON, median, mustRun } from './lib.mjs';

const CLI = new URL('../dist/src/cli/main.js', import.meta.url).href;
/** The bin: the CLI bundled into one file, run from V8's code cache (scripts/bundle-cli.mjs). */
const BIN = new URL('../dist/src/cli/se-inject.js', import.meta.url).href;
const API = new URL('../dist/src/api.js', import.meta.url).href;

// Runs inside a child: when does user code start, and how long does each import take, in order.
// yargs first, then the CLI (whose own yargs import is then cached), so the two are apart.
const IMPORTS = `
const boot = performance.now();
let t = performance.now();
const lap = async (p) => { await import(p); const now = performance.now(); const d = now - t; t = now; return d; };
const api = await lap(${JSON.stringify(API)});
const yargs = await lap('yargs');
const cliRest = await lap(${JSON.stringify(CLI)});
console.log(JSON.stringify({ boot, api, yargs, cliRest }));
`;

function repeat(reps, fn) {
  const runs = Array.from({ length: reps }, fn);
  return { ms: median(runs.map((r) => r.ms)), rssMB: median(runs.map((r) => r.rssMB)), runs: runs.map((r) => +r.ms.toFixed(1)) };
}

export function probeStartup(reps) {
  const node = process.execPath;
  const inProcess = Array.from({ length: reps }, () => JSON.parse(mustRun('import timing', node, ['--input-type=module', '-e', IMPORTS]).stdout));
  const medianOf = (k) => median(inProcess.map((r) => r[k]));
  return {
    nodeEmpty: repeat(reps, () => mustRun('node -e 0', node, ['-e', '0'])),
    cliImport: repeat(reps, () => mustRun('CLI import', node, ['--input-type=module', '-e', `await import(${JSON.stringify(CLI)})`])),
    cliHelp: repeat(reps, () => mustRun('se-inject --help', node, ['dist/src/cli/main.js', '--help'])),
    binImport: repeat(reps, () => mustRun('bin import', node, ['--input-type=module', '-e', `await import(${JSON.stringify(BIN)})`])),
    binVersion: repeat(reps, () => mustRun('se-inject --version (bin)', node, ['dist/src/cli/se-inject.js', '--version'])),
    importMs: { bootToUserCode: medianOf('boot'), api: medianOf('api'), yargs: medianOf('yargs'), cliRest: medianOf('cliRest') },
    pythonEmpty: repeat(reps, () => mustRun('python -c 0', PYTHON, ['-c', '0'])),
    pythonImport: repeat(reps, () => mustRun('python import onnx', PYTHON, ['-c', 'import onnx'])),
  };
}

// Runs inside a child: touch a fresh buffer of the file's size (page faults only), read the file into
// it (copy only), then readFileSync into another fresh buffer (both, as loadModelFile does).
const READ = `
import fs from 'node:fs';
const f = process.argv[1];
const size = fs.statSync(f).size;
let t = performance.now();
const b = Buffer.allocUnsafeSlow(size);
b.fill(1);
const firstTouch = performance.now() - t;
t = performance.now();
const fd = fs.openSync(f, 'r');
for (let o = 0; o < size; ) o += fs.readSync(fd, b, o, Math.min(size - o, 1 << 30), o);
fs.closeSync(fd);
const copyOnly = performance.now() - t;
t = performance.now();
fs.readFileSync(f);
const freshRead = performance.now() - t;
console.log(JSON.stringify({ firstTouch, copyOnly, freshRead }));
`;

export function probeRead(file, reps) {
  const runs = Array.from({ length: reps }, () => JSON.parse(mustRun('read cost', process.execPath, ['--input-type=module', '-e', READ, file]).stdout));
  const m = (k) => median(runs.map((r) => r[k]));
  return { file, firstTouchMs: m('firstTouch'), copyFromPageCacheMs: m('copyOnly'), readFileSyncFreshMs: m('freshRead') };
}
