// One se-inject run split into phases, in a fresh process (run.mjs starts it; peak RSS is this process's).
//
//   node bench/phases.mjs MODEL OUT [--diag]
//
// Prints one JSON object: ms per phase, memory after each phase, and with --diag how the write phase
// splits into writev and fsync. The library is imported dynamically, after the clock starts, so that
// the time Node itself needs to boot and the time to load se-inject's modules are reported apart.

const bootMs = performance.now(); // since the process started (performance.timeOrigin)

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

const [modelPath, outPath] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const diag = process.argv.includes('--diag');
if (!modelPath || !outPath) {
  process.stderr.write('usage: node bench/phases.mjs MODEL OUT [--diag]\n');
  process.exit(2);
}

const dist = new URL('../dist/src/', import.meta.url);
const lib = (p) => import(new URL(p, dist).href);

const phases = {};
const memory = {};
/** Runs one phase, records its wall time and the memory it leaves behind (and the peak so far). */
async function phase(name, fn) {
  const t = performance.now();
  const result = await fn();
  phases[name] = performance.now() - t;
  const m = process.memoryUsage();
  const mb = (x) => +(x / 2 ** 20).toFixed(1);
  memory[name] = { rss: mb(m.rss), heapUsed: mb(m.heapUsed), arrayBuffers: mb(m.arrayBuffers), maxRss: mb(process.resourceUsage().maxRSS * 1024) };
  return result;
}

const mods = await phase('import', async () => ({
  load: await lib('onnx/load.js'),
  deferred: await lib('onnx/deferred.js'),
  api: await lib('api.js'),
  save: await lib('onnx/save.js'),
  proto: await lib('onnx/proto.js'),
  shapes: await lib('analysis/shapes.js'),
  cost: await lib('analysis/cost.js'),
}));

// read: what loadModelFile reads (a big file: its structure, not its large weights, which stay in the
// file until the save); decode: the decoder over those bytes. The model the later phases use is
// loaded again untimed, so that it knows where its deferred weights are.
let read = await phase('read', () => mods.deferred.readModelFile(modelPath));
await phase('decode', () => mods.load.loadModelBytes(read.bytes, { baseDir: path.dirname(path.resolve(modelPath)), label: modelPath }));
// The timed phases' bytes and model are dropped before the reload: the memory figures below are one model's.
const fileBytes = read.bytes.byteLength;
read = undefined;
const model = await mods.load.loadModelFile(modelPath);
const analysis = await phase('analyse', () => {
  const shapes = mods.shapes.inferShapes(model.graph, model.opset);
  return { shapes: shapes.size, macs: mods.cost.countMacs(model.graph, shapes).total };
});
// inject() runs its own shape inference again (report summary + pass context): part of this phase.
const report = await phase('rewrite', () => mods.api.inject(model, {}));
const encodedBytes = await phase('encode', () => {
  const w = mods.proto.encodeModel(model.proto);
  const chunks = w.finish();
  return chunks.reduce((n, c) => n + c.byteLength, 0);
});
// saveModel encodes once more (its own plan), writes with writev to a temp file, fsyncs, renames.
const saved = await phase('write', () => mods.save.saveModel(model, outPath, { overwrite: true }));

const extra = diag && !saved.dataFile ? await writeDiagnostics() : undefined;

/** The write phase again, by parts: encode, write into the page cache (views gathered, weights copied
 *  from the input file as saveModel does), fsync to the disk. */
async function writeDiagnostics() {
  const file = `${outPath}.diag.tmp`;
  const t0 = performance.now();
  const chunks = mods.proto.encodeModel(model.proto).finish();
  const pieces = mods.deferred.resolvePieces(chunks, model.source.bytes, model.source.deferred);
  const t1 = performance.now();
  const fh = await fsp.open(file, 'w');
  const src = model.source.deferred ? await fsp.open(model.source.deferred.file, 'r') : undefined;
  const buffer = new Uint8Array(8 << 20);
  let views = [];
  const flush = async () => {
    for (let i = 0; i < views.length; i += 1024) await fh.writev(views.slice(i, i + 1024));
    views = [];
  };
  for (const p of pieces) {
    if (p instanceof Uint8Array) {
      views.push(p);
      continue;
    }
    await flush();
    for (let done = 0; done < p.length; ) {
      const { bytesRead } = await src.read(buffer, 0, Math.min(buffer.length, p.length - done), p.offset + done);
      await fh.write(buffer.subarray(0, bytesRead));
      done += bytesRead;
    }
  }
  await flush();
  const t2 = performance.now();
  await fh.sync();
  const t3 = performance.now();
  await fh.close();
  await src?.close();
  await fsp.rm(file);
  return { encodeMs: t1 - t0, writevMs: t2 - t1, fsyncMs: t3 - t2, chunks: chunks.length, pieces: pieces.length };
}

const total = Object.entries(phases).filter(([k]) => k !== 'import').reduce((s, [, v]) => s + v, 0);
process.stdout.write(JSON.stringify({
  model: modelPath, fileBytes, encodedBytes, outBytes: saved.bytes, dataBytes: saved.dataBytes ?? 0,
  inserted: report.inserted, paramsAdded: report.params.added, macs: analysis.macs,
  bootMs, phases, totalMs: total, memory, maxRssMB: memory.write.maxRss, writeParts: extra,
}) + '\n');
