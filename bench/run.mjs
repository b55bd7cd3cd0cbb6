// se-inject against the floor of any Python tool (onnx.load + onnx.save) and against cp.
//
//   npm run bench                                # build, then every default model, 5 repetitions
//   node bench/run.mjs --models resnet50 --reps 9
//   node bench/run.mjs --big                     # also the synthetic >2 GiB model (made if missing)
//   node bench/run.mjs --forms                   # also bench/se_forms.mjs (SE graph latency in ORT)
//   node bench/run.mjs --all                     # also se_forms, in_process (library loop) and node_count (10k–100k nodes)
//   node bench/run.mjs --wait-idle 300           # before each model, wait up to 300 s for a quiet CPU
//
// Every measurement is its own child process. Per model, each repetition runs the four tools one after
// another in an order rotated per repetition (phases, CLI, Python, cp), so slow drifts of a noisy
// machine hit all of them alike; ratios are taken within a repetition, then the median is reported.

import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { OUT, PYTHON, ROOT, exists, externalFiles, machine, median, modelBytes, mustRun, removeOutputs, timed, waitIdle } from './lib.mjs';
import { probeRead, probeStartup } from './startup.mjs';
import { profileCli } from './cpu_profile.mjs';
import { traceCli } from './syscalls.mjs';
import { writeReport } from './report.mjs';

const MODELS = {
  mobilenet_v2: 'fixtures/cache/mobilenet_v2_op13.onnx',
  resnet50: 'fixtures/cache/resnet50_op13.onnx',
  resnet101: 'fixtures/cache/resnet101_op13.onnx',
  wide_resnet50_2: 'fixtures/cache/wide_resnet50_2_op13.onnx',
  vgg16: 'fixtures/cache/vgg16_op13.onnx',
  // Same graph at two weight sizes: peak RSS that does not move between them does not hold weights.
  big8: 'bench/out/big8/model.onnx',
  big: 'bench/out/big/model.onnx',
};
const BIG = { big: ['--blocks', '30', '--out', 'bench/out/big'], big8: ['--blocks', '8', '--out', 'bench/out/big8'] };
const BIG_INPUT = '1,1024,7,7';
const NOTHING_TO_INSERT = 5;

// The Python floor. A model with external data cannot go through one >2 GiB protobuf, so it is saved
// back with its weights in an external file, as any Python tool would have to.
const PY_SAVE = [
  'import onnx, os, sys',
  'm = onnx.load(sys.argv[1])',
  'ext = any(t.data_location == onnx.TensorProto.EXTERNAL for t in onnx.load(sys.argv[1], load_external_data=False).graph.initializer)',
  'onnx.save(m, sys.argv[2], save_as_external_data=ext, location=os.path.basename(sys.argv[2]) + ".data")',
].join('\n');
const PY_PLAIN = 'import onnx,sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])';

function options() {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' }, reps: { type: 'string', default: '5' }, 'big-reps': { type: 'string', default: '2' },
      big: { type: 'boolean', default: false }, forms: { type: 'boolean', default: false }, 'wait-idle': { type: 'string', default: '0' },
      'node-count': { type: 'boolean', default: false }, 'in-process': { type: 'boolean', default: false }, all: { type: 'boolean', default: false },
    },
  });
  const wanted = values.models?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of wanted ?? []) if (!(m in MODELS)) throw new Error(`unknown model ${m}; choose from ${Object.keys(MODELS).join(', ')}`);
  const useBig = values.big || (!wanted && exists(path.join(ROOT, MODELS.big)));
  const models = wanted ?? ['mobilenet_v2', 'resnet50', 'resnet101', 'wide_resnet50_2', 'vgg16', ...(useBig ? ['big8', 'big'] : [])]
    .filter((m) => m in BIG || exists(path.join(ROOT, MODELS[m])));
  return {
    models, reps: Number(values.reps), bigReps: Number(values['big-reps']), forms: values.forms || values.all, waitIdle: Number(values['wait-idle']),
    nodeCount: values['node-count'] || values.all, inProcess: values['in-process'] || values.all,
  };
}

/** The synthetic models are made on demand: two minutes of disk writes nobody wants by surprise. */
function ensureBig(name) {
  if (exists(path.join(ROOT, MODELS[name]))) return;
  console.log(`making ${MODELS[name]} (bench/make_big_model.py)`);
  mustRun('make_big_model.py', PYTHON, ['bench/make_big_model.py', ...BIG[name]]);
}

/** One measurement of one tool; each writes to its own output so none reads another's file. */
function measure(tool, model, dir, external) {
  const out = (name) => path.join(dir, name);
  switch (tool) {
    case 'phases': {
      const r = mustRun('phases.mjs', process.execPath, ['bench/phases.mjs', model, out('phases.onnx'), '--diag']);
      return { ms: r.ms, rssMB: r.rssMB, detail: JSON.parse(r.stdout) };
    }
    case 'cli': {
      // Exit 5 (nothing to insert, e.g. VGG: no residual/Inception/depthwise block) writes no file.
      const r = timed(process.execPath, ['dist/src/cli/se-inject.js', model, '-o', out('cli.onnx'), '--force', '--quiet']);
      if (r.code !== 0 && r.code !== NOTHING_TO_INSERT) throw new Error(`se-inject CLI failed (exit ${r.code}) on ${model}\n${r.stderr.slice(-2000)}`);
      return { ...r, wrote: r.code === 0 };
    }
    case 'python':
      return mustRun('python load+save', PYTHON, ['-c', external ? PY_SAVE : PY_PLAIN, model, out('python.onnx')]);
    case 'cp':
      return mustRun('cp', 'cp', [model, ...externalFiles(model), path.join(dir, 'cp')]);
  }
}

function benchModel(name, o) {
  if (name in BIG) ensureBig(name);
  const model = MODELS[name];
  const bytes = modelBytes(path.join(ROOT, model));
  const external = externalFiles(path.join(ROOT, model)).length > 0;
  const reps = external ? Math.min(o.reps, o.bigReps) : o.reps;
  const idle = waitIdle(o.waitIdle);
  const dir = path.join(OUT, 'tmp', name);
  mkdirSync(path.join(dir, 'cp'), { recursive: true });
  const tools = ['phases', 'cli', 'python', 'cp'];
  const runs = Object.fromEntries(tools.map((t) => [t, []]));
  for (let rep = 0; rep < reps; rep++) {
    const order = tools.map((_, i) => tools[(i + rep) % tools.length]);
    for (const tool of order) {
      // Untimed: every tool writes a new file, as a user's run does (se-inject refuses to replace one
      // without --force); replacing the last repetition's output would add the kernel's freeing of
      // ~100 MB of page cache to whichever tool replaced it.
      if (tool === 'cp') {
        rmSync(path.join(dir, 'cp'), { recursive: true, force: true });
        mkdirSync(path.join(dir, 'cp'));
      } else removeOutputs(path.join(dir, `${tool}.onnx`));
      // Untimed: flush the previous tool's dirty pages, or se-inject's fsync (ext4 commits the journal,
      // writing back other files' data too) would pay for Python's and cp's writes.
      spawnSync('sync');
      runs[tool].push(measure(tool, model, dir, external));
    }
    const last = (t) => runs[t].at(-1).ms.toFixed(0);
    console.log(`  ${name} rep ${rep + 1}/${reps}: se-inject ${last('cli')} ms, python ${last('python')} ms, cp ${last('cp')} ms, phases child ${last('phases')} ms`);
  }
  const ort = external ? ortCheck(path.join(dir, 'cli.onnx')) : undefined;
  for (const f of ['phases.onnx', 'cli.onnx', 'python.onnx']) removeOutputs(path.join(dir, f));
  rmSync(dir, { recursive: true, force: true });
  return { ...summarize(name, model, bytes, external, runs, ort), idle };
}

function ortCheck(file) {
  const r = mustRun('ort_check.mjs', process.execPath, ['bench/ort_check.mjs', file, BIG_INPUT]);
  return { ...JSON.parse(r.stdout), processRssMB: r.rssMB };
}

function summarize(name, model, bytes, external, runs, ort) {
  const med = (tool, key = 'ms') => median(runs[tool].map((r) => r[key]));
  const perRep = (a, b, key = 'ms') => median(runs[a].map((r, i) => r[key] / runs[b][i][key]));
  const details = runs.phases.map((r) => r.detail);
  const phaseNames = Object.keys(details[0].phases);
  const phases = Object.fromEntries(phaseNames.map((p) => [p, median(details.map((d) => d.phases[p]))]));
  const writeParts = details[0].writeParts
    ? Object.fromEntries(['encodeMs', 'writevMs', 'fsyncMs'].map((k) => [k, median(details.map((d) => d.writeParts[k]))]))
    : undefined;
  return {
    name, model, bytes, external, reps: runs.cli.length, inserted: details[0].inserted, cliWrote: runs.cli.every((r) => r.wrote),
    ms: { seInject: med('cli'), python: med('python'), cp: med('cp'), phasesChild: med('phases') },
    ratio: { seInjectOverPython: perRep('cli', 'python'), rssSeInjectOverPython: perRep('cli', 'python', 'rssMB') },
    rssMB: { seInject: med('cli', 'rssMB'), python: med('python', 'rssMB'), cp: med('cp', 'rssMB'), phasesChild: med('phases', 'rssMB') },
    phases, bootMs: median(details.map((d) => d.bootMs)), writeParts,
    memoryAfterPhase: details[0].memory,
    raw: Object.fromEntries(Object.entries(runs).map(([t, rs]) => [t, rs.map((r) => ({ ms: +r.ms.toFixed(1), rssMB: +r.rssMB.toFixed(1) }))])),
    ort,
  };
}

function main() {
  const o = options();
  console.log(`se-inject bench: ${o.models.join(', ')}; ${o.reps} repetitions (external-data models ${Math.min(o.reps, o.bigReps)})`);
  const startup = probeStartup(o.reps);
  console.log(`  node -e 0 ${startup.nodeEmpty.ms.toFixed(0)} ms; CLI import ${startup.cliImport.ms.toFixed(0)} ms; python import onnx ${startup.pythonImport.ms.toFixed(0)} ms`);
  const results = [];
  for (const name of o.models) {
    console.log(`${name} (${MODELS[name]})`);
    results.push(benchModel(name, o));
  }
  // One sampled CLI run on resnet50, the model the targets are about: which functions the time is in.
  const cpuProfile = o.models.includes('resnet50') ? profileCli(MODELS.resnet50) : undefined;
  if (o.models.includes('resnet50')) startup.read = probeRead(MODELS.resnet50, o.reps);
  const syscalls = o.models.includes('resnet50') ? traceCli(MODELS.resnet50) : undefined;
  const file = path.join(OUT, 'results.json');
  const doc = { date: new Date().toISOString(), machine: machine(), reps: o.reps, startup, results, cpuProfile, syscalls };
  writeFileSync(file, JSON.stringify(doc, null, 2) + '\n');
  console.log(`wrote ${path.relative(ROOT, file)}`);
  const child = (script, args) => {
    const r = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status})`);
  };
  if (o.forms) child('bench/se_forms.mjs', ['--wait-idle', String(o.waitIdle)]);
  // Each prints its own table with its ratios against Python, measured in the same run.
  if (o.inProcess) child('bench/in_process.mjs', []);
  if (o.nodeCount) child('bench/node_count.mjs', [String(Math.min(o.reps, 3))]);
  console.log(writeReport());
}

main();
