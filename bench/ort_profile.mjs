// Where an ONNX Runtime inference spends its time, by op type: ORT's own profiler (one event per kernel
// call), summed per op type and divided by the number of runs. Used by se_forms.mjs to show which ops
// the SE blocks add and which fusions of the original graph they break. Kernels of nodes se-inject
// wrote (names under `se/`) are counted apart, as "SE Conv" etc.

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

const WARM = 2;

/**
 * Profiles several models at once, alternating one inference of each per round so that a noisy machine
 * slows them alike. `files` maps a name to a model path; returns, per name, ms per run per op type.
 */
export async function profileOps(files, { input, dims, runs = 10, level = 'all', dir }) {
  mkdirSync(dir, { recursive: true });
  const entries = [];
  for (const [name, file] of Object.entries(files)) {
    const session = await ort.InferenceSession.create(file, {
      executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: level,
      enableProfiling: true, profileFilePrefix: path.join(dir, `profile-${name}`), logSeverityLevel: 3,
    });
    entries.push({ name, session, feeds: { [session.inputNames[0]]: new ort.Tensor('float32', input, dims) } });
  }
  for (let i = 0; i < WARM + runs; i++) for (const e of entries) await e.session.run(e.feeds);
  const out = {};
  for (const e of entries) {
    e.session.endProfiling();
    await e.session.release();
    const file = readdirSync(dir).filter((f) => f.startsWith(`profile-${e.name}_`) && f.endsWith('.json')).sort().pop();
    out[e.name] = summarize(JSON.parse(readFileSync(path.join(dir, file), 'utf8')), runs);
    rmSync(path.join(dir, file));
  }
  return out;
}

function summarize(events, runs) {
  // Model-run events mark each inference; kernel events belong to the run whose interval holds them.
  const counted = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts).slice(WARM);
  const inCounted = (e) => counted.some((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
  const byOp = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !inCounted(e)) continue;
    const op = (e.name.startsWith('se/') ? 'SE ' : '') + (e.args?.op_name ?? '?');
    byOp[op] = (byOp[op] ?? 0) + e.dur / 1000 / runs;
  }
  const runMs = counted.reduce((s, r) => s + r.dur, 0) / 1000 / counted.length;
  return { runMs, byOp: Object.fromEntries(Object.entries(byOp).sort((a, b) => b[1] - a[1])) };
}
