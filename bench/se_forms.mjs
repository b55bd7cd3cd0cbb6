// What the SE graph se-inject emits costs at run time: SE-ResNet-50 against ResNet-50 on
// onnxruntime-node's CPU provider, one intra-op thread, for several equivalent SE forms.
//
//   node bench/se_forms.mjs [--rounds 30] [--levels all,extended,basic] [--no-profile] [--wait-idle 300] [--keep]
//
// Forms (bench/se_variants.py makes ii–v from i, weights unchanged):
//   i    emitted      GlobalAveragePool → Conv1x1 → Relu → Conv1x1 → Sigmoid → Mul (what se-inject writes)
//   ii   reducemean   ReduceMean(axes [2,3], keepdims 1) instead of GlobalAveragePool
//   iii  gemm         Flatten → Gemm → Relu → Gemm → Sigmoid → Unsqueeze → Mul
//   iv   hardsigmoid  HardSigmoid gate
//   v    reducemean_gemm  ii and iii together
//   vi   resize       `--form resize`: the gate repeated to H×W by a nearest Resize, then an equal-shape Mul
//   vii  post         not an equivalent form: `--placement post` (SE after the residual Add+Relu, the
//                     paper's Table 14 POST-SE), to see what the residual Conv+Add+Relu fusion is worth
// Timing: warm-up runs first, then rounds; in each round every session runs once, in an order rotated
// per round, and each form's ratio is taken against the original's time of the same round (machines
// drift; a ratio within one round does not). The median over rounds is reported.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { OUT, PYTHON, ROOT, machine, median, mustRun, quantile, waitIdle } from './lib.mjs';
import { profileOps } from './ort_profile.mjs';
import { writeReport } from './report.mjs';

const ORIGINAL = path.join(ROOT, 'fixtures/cache/resnet50_op13.onnx');
const DIR = path.join(OUT, 'forms');
const DIMS = [1, 3, 224, 224];
const FORMS = ['emitted', 'reducemean', 'gemm', 'hardsigmoid', 'reducemean_gemm', 'resize', 'post'];
/** Forms that compute the emitted model's function exactly (the others change the gate or the placement). */
const EQUIVALENT = ['reducemean', 'gemm', 'reducemean_gemm', 'resize'];

function options() {
  const { values } = parseArgs({ options: {
    rounds: { type: 'string', default: '30' }, warmup: { type: 'string', default: '3' },
    levels: { type: 'string', default: 'all,extended,basic' }, 'no-profile': { type: 'boolean', default: false },
    'wait-idle': { type: 'string', default: '0' }, keep: { type: 'boolean', default: false },
  } });
  return { rounds: Number(values.rounds), warmup: Number(values.warmup), levels: values.levels.split(','), profile: !values['no-profile'], waitIdle: Number(values['wait-idle']), keep: values.keep };
}

/** SE-ResNet-50 from the CLI (form i), then the other forms from it. */
function makeModels() {
  mkdirSync(DIR, { recursive: true });
  const emitted = path.join(DIR, 'emitted.onnx');
  mustRun('se-inject', process.execPath, ['dist/src/cli/main.js', ORIGINAL, '-o', emitted, '--force', '--quiet']);
  mustRun('se_variants.py', PYTHON, ['bench/se_variants.py', emitted, DIR]);
  mustRun('se-inject --form resize', process.execPath, ['dist/src/cli/main.js', ORIGINAL, '-o', path.join(DIR, 'resize.onnx'), '--form', 'resize', '--force', '--quiet']);
  mustRun('se-inject --placement post', process.execPath, ['dist/src/cli/main.js', ORIGINAL, '-o', path.join(DIR, 'post.onnx'), '--placement', 'post', '--force', '--quiet']);
  return { original: ORIGINAL, ...Object.fromEntries(FORMS.map((f) => [f, path.join(DIR, `${f}.onnx`)])) };
}

async function openSessions(files, levels) {
  mkdirSync(path.join(DIR, 'optimized'), { recursive: true });
  const sessions = [];
  for (const level of levels) {
    for (const [form, file] of Object.entries(files)) {
      // The graph ORT actually runs after its rewrites, kept for the op counts below.
      const saveOptimized = level === 'all' ? { optimizedModelFilePath: path.join(DIR, 'optimized', `${form}.onnx`) } : {};
      const session = await ort.InferenceSession.create(file, {
        executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
        graphOptimizationLevel: level, logSeverityLevel: 3, ...saveOptimized, // the NCHWc-serialisation warning is expected
      });
      sessions.push({ form, level, session, times: [] });
    }
  }
  return sessions;
}

async function timeOnce(s, feeds) {
  const t = process.hrtime.bigint();
  const out = await s.session.run(feeds);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, out: out[s.session.outputNames[0]].data };
}

/** Forms ii, iii, v compute the same function as i: a wrong rewrite would time a different model. */
function checkEquivalence(outputs) {
  const ref = outputs.emitted;
  return Object.fromEntries(EQUIVALENT.map((f) => {
    let d = 0;
    for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ref[i] - outputs[f][i]));
    return [f, d];
  }));
}

async function measure(sessions, o) {
  const input = Float32Array.from({ length: DIMS.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 0.5);
  const feeds = { input: new ort.Tensor('float32', input, DIMS) };
  const outputs = {};
  for (const s of sessions) {
    for (let i = 0; i < o.warmup; i++) {
      const { out } = await timeOnce(s, feeds);
      if (s.level === o.levels[0]) outputs[s.form] = out;
    }
  }
  for (let r = 0; r < o.rounds; r++) {
    for (let i = 0; i < sessions.length; i++) {
      const s = sessions[(i + r) % sessions.length];
      s.times.push((await timeOnce(s, feeds)).ms);
    }
    if ((r + 1) % 5 === 0) process.stdout.write(`  round ${r + 1}/${o.rounds}\n`);
  }
  return { input, maxAbsDiff: checkEquivalence(outputs) };
}

function ratios(sessions, levels) {
  const results = [];
  for (const level of levels) {
    const base = sessions.find((s) => s.level === level && s.form === 'original');
    for (const s of sessions.filter((x) => x.level === level && x.form !== 'original')) {
      const perRound = s.times.map((t, i) => t / base.times[i]);
      results.push({
        form: s.form, level, rounds: s.times.length, originalMs: median(base.times), seMs: median(s.times),
        ratio: median(perRound), ratioQ1: quantile(perRound, 0.25), ratioQ3: quantile(perRound, 0.75),
        ratioOfMedians: median(s.times) / median(base.times),
      });
    }
  }
  return results;
}

/** Op-type counts of the graphs ORT ran (level all): which fusions the SE blocks cost. */
function optimizedOps() {
  const files = ['original', ...FORMS].map((f) => path.join(DIR, 'optimized', `${f}.onnx`));
  return JSON.parse(mustRun('op counts', PYTHON, ['bench/se_variants.py', '--count', ...files]).stdout);
}

function profileNote(profiles) {
  if (!profiles) return '';
  const [a, b] = [profiles.original, profiles.emitted];
  const ops = [...new Set([...Object.keys(a.byOp), ...Object.keys(b.byOp)])].sort((x, y) => (b.byOp[y] ?? 0) - (b.byOp[x] ?? 0));
  const rows = ops.map((op) => `| ${op} | ${(a.byOp[op] ?? 0).toFixed(2)} | ${(b.byOp[op] ?? 0).toFixed(2)} | ${((b.byOp[op] ?? 0) - (a.byOp[op] ?? 0)).toFixed(2)} |`);
  return ['ORT profiler, level all, ms per inference by op type (kernel time, mean of 20 alternating runs):', '',
    '| op | ResNet-50 | SE-ResNet-50 (emitted) | difference |', '| --- | --- | --- | --- |', ...rows,
    `| (model_run) | ${a.runMs.toFixed(2)} | ${b.runMs.toFixed(2)} | ${(b.runMs - a.runMs).toFixed(2)} |`].join('\n');
}

function opsNote(ops) {
  const all = [...new Set(Object.values(ops).flatMap((o) => Object.keys(o)))].sort();
  const names = Object.keys(ops);
  return ['Op counts of the graphs ORT runs at level all (optimizedModelFilePath):', '',
    `| op | ${names.map((n) => n.replace('.onnx', '')).join(' | ')} |`, `| --- | ${names.map(() => '---').join(' | ')} |`,
    ...all.map((op) => `| ${op} | ${names.map((n) => ops[n][op] ?? 0).join(' | ')} |`)].join('\n');
}

async function main() {
  const o = options();
  console.log(`SE forms on onnxruntime-node ${ort.env.versions?.node ?? ''} CPU: ${o.rounds} rounds, levels ${o.levels.join(', ')}`);
  const files = makeModels();
  const sessions = await openSessions(files, o.levels);
  const idle = waitIdle(o.waitIdle);
  const { input, maxAbsDiff } = await measure(sessions, o);
  await Promise.all(sessions.map((s) => s.session.release()));
  const results = ratios(sessions, o.levels);
  const ops = o.levels.includes('all') ? optimizedOps() : undefined;
  const profiles = o.profile
    ? await profileOps({ original: files.original, emitted: files.emitted }, { input, dims: DIMS, runs: 20, dir: path.join(DIR, 'profile') })
    : undefined;
  const note = `SE-ResNet-50 = se-inject's output for fixtures/cache/resnet50_op13.onnx (r = 16, 16 blocks). ${o.rounds} interleaved rounds after ${o.warmup} warm-up runs per session; intraOpNumThreads 1. ` +
    `Equivalent forms agree with the emitted one to max |Δ| ${Object.entries(maxAbsDiff).map(([f, d]) => `${f} ${d.toExponential(1)}`).join(', ')}. ` +
    "Reference: the paper reports ×1.018 (SE-ResNet-50 167 ms vs ResNet-50 164 ms); a plain insertion measured ×1.06 here earlier.";
  const extra = [ops ? opsNote(ops) : '', '', profileNote(profiles)].join('\n');
  writeFileSync(path.join(OUT, 'forms.json'), JSON.stringify({ date: new Date().toISOString(), machine: machine(), idle, ...o, results, maxAbsDiff, ops, profiles, note, extra }, null, 2) + '\n');
  // ~1.4 GB of variants and ORT-optimized graphs: regenerated in seconds, so not kept unless asked.
  if (!o.keep) rmSync(DIR, { recursive: true, force: true });
  for (const r of results) console.log(`  ${r.level.padEnd(5)} ${r.form.padEnd(16)} original ${r.originalMs.toFixed(1)} ms, SE ${r.seMs.toFixed(1)} ms, ×${r.ratio.toFixed(3)}`);
}

await main();
if (import.meta.url === `file://${process.argv[1]}`) writeReport();
