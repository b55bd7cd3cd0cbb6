// Node-count bench: generated residual chains of 10k–100k nodes (bench/make_chain.py, onnx.helper),
// se-inject's whole process (inject + save, --init preserve) against Python's onnx.load + onnx.save of
// the same file, interleaved in one run; medians of REPS rounds, the ratio per round. The last columns
// time Python's load + save of se-inject's output: the same bytes out as se-inject writes (its 2×BLOCKS
// inserted SE blocks are 8 nodes each), a reference for the work of writing them alone.
//   node bench/node_count.mjs [REPS] [BLOCKS...]      (default 3 rounds; 5000 20000 50000 blocks)

import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { OUT, PYTHON, ROOT, machine, median, mustRun, removeOutputs } from './lib.mjs';

const [reps = 3, ...sizes] = process.argv.slice(2).map(Number);
const blocks = sizes.length ? sizes : [5000, 20000, 50000];
const dir = path.join(OUT, 'node-count');
mkdirSync(dir, { recursive: true });
const cli = path.join(ROOT, 'dist/src/cli/se-inject.js'); // the bin
const py = 'import onnx,sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])';

console.log(JSON.stringify(machine()));
console.log('| nodes | MB | se-inject ms | Python ms | ratio | se-inject RSS MB | Python RSS MB | output MB | Python on the output ms | ratio | its RSS MB |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const b of blocks) {
  const model = path.join(dir, `chain_${b}.onnx`);
  mustRun('make_chain', PYTHON, [path.join(ROOT, 'bench/make_chain.py'), 'chain', String(b), model]);
  const se = [], pyRuns = [], ratio = [], pyOut = [], outRatio = [];
  for (let i = 0; i < reps; i++) {
    const out = path.join(dir, `se_${b}.onnx`), pout = path.join(dir, `py_${b}.onnx`);
    removeOutputs(out); removeOutputs(pout);
    const s = mustRun('se-inject', process.execPath, [cli, model, '-o', out, '--init', 'preserve', '-q']);
    const p = mustRun('python', PYTHON, ['-c', py, model, pout]);
    const qout = path.join(dir, `py_se_${b}.onnx`);
    removeOutputs(qout);
    const q = mustRun('python on the output', PYTHON, ['-c', py, out, qout]);
    se.push(s); pyRuns.push(p); ratio.push(s.ms / p.ms); pyOut.push(q); outRatio.push(s.ms / q.ms);
  }
  const outSize = (await import('node:fs')).statSync(path.join(dir, `se_${b}.onnx`)).size;
  const { size } = await import('node:fs').then((fs) => fs.statSync(model));
  const m = (xs, k) => median(xs.map((x) => x[k]));
  console.log(`| ${2 * b + 1} | ${(size / 1e6).toFixed(1)} | ${m(se, 'ms').toFixed(0)} | ${m(pyRuns, 'ms').toFixed(0)} | ×${median(ratio).toFixed(2)} | ${m(se, 'rssMB').toFixed(0)} | ${m(pyRuns, 'rssMB').toFixed(0)} | ${(outSize / 1e6).toFixed(1)} | ${m(pyOut, 'ms').toFixed(0)} | ×${median(outRatio).toFixed(2)} | ${m(pyOut, 'rssMB').toFixed(0)} |`);
}
