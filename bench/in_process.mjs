// A pipeline converting many models in one process: se-inject's library (convertFile) against a Python
// loop of onnx.load + onnx.save, N models each, in one process per tool, so start-up is paid once.
//
//   npm run build && node bench/in_process.mjs                      # resnet50 ×20, 3 rounds
//   node bench/in_process.mjs --model fixtures/cache/mobilenet_v2_op13.onnx --count 20 --rounds 3
//
// Per model: wall time of each conversion after the first (the first pays module loading and JIT) and
// the process's peak RSS at the end (GNU time). Rounds alternate which tool goes first.

import { writeFileSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OUT, PYTHON, ROOT, machine, median, mustRun } from './lib.mjs';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'fixtures/cache/resnet50_op13.onnx' },
    count: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
    // The library's default: a new output is not fsync'd (--fsync: durable: true, as a pipeline may ask).
    fsync: { type: 'boolean', default: false },
  },
  allowNegative: true,
});
const count = Number(values.count);
const model = path.resolve(ROOT, values.model);
const dir = path.join(OUT, 'in_process');

// Each tool prints one JSON line: per-conversion milliseconds.
const NODE_LOOP = `
const { convertFile } = await import(${JSON.stringify(path.join(ROOT, 'dist/src/api.js'))});
const [model, dir, n, durable] = process.argv.slice(1);
const ms = [];
for (let i = 0; i < Number(n); i++) {
  const t = process.hrtime.bigint();
  await convertFile(model, dir + '/node-' + i + '.onnx', { overwrite: true, durable: durable === 'true' });
  ms.push(Number(process.hrtime.bigint() - t) / 1e6);
}
console.log(JSON.stringify(ms));
`;
const PY_LOOP = `
import json, sys, time, onnx
model, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ms = []
for i in range(n):
    t = time.perf_counter()
    onnx.save(onnx.load(model), f"{out}/py-{i}.onnx")
    ms.append((time.perf_counter() - t) * 1000)
print(json.dumps(ms))
`;

const tools = {
  'se-inject (library)': () => mustRun('node loop', process.execPath, ['--input-type=module', '-e', NODE_LOOP, model, dir, String(count), String(values.fsync)]),
  'python onnx.load+save': () => mustRun('python loop', PYTHON, ['-c', PY_LOOP, model, dir, String(count)]),
};

const results = Object.fromEntries(Object.keys(tools).map((k) => [k, { perModel: [], rssMB: [] }]));
for (let round = 0; round < Number(values.rounds); round++) {
  const order = Object.keys(tools);
  if (round % 2) order.reverse();
  for (const name of order) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const r = tools[name]();
    const ms = JSON.parse(r.stdout.trim().split('\n').pop());
    results[name].perModel.push(median(ms.slice(1)));
    results[name].rssMB.push(r.rssMB);
  }
}
rmSync(dir, { recursive: true, force: true });

const [se, py] = Object.values(results);
const summary = {
  model: path.relative(ROOT, model), count, rounds: Number(values.rounds), fsync: values.fsync, machine: machine(),
  tools: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { perModelMs: +median(v.perModel).toFixed(1), peakRssMB: +median(v.rssMB).toFixed(0) }])),
  ratio: { perModel: +(median(se.perModel) / median(py.perModel)).toFixed(2), peakRss: +(median(se.rssMB) / median(py.rssMB)).toFixed(2) },
};
mkdirSync(OUT, { recursive: true });
writeFileSync(path.join(OUT, 'in_process.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(`${summary.model} ×${count} in one process, median of ${summary.rounds} rounds (per model after the first):`);
for (const [k, v] of Object.entries(summary.tools)) console.log(`  ${k.padEnd(24)} ${String(v.perModelMs).padStart(8)} ms/model  peak RSS ${v.peakRssMB} MB`);
console.log(`  ratio se-inject/python: time ×${summary.ratio.perModel}, peak RSS ×${summary.ratio.peakRss}`);
