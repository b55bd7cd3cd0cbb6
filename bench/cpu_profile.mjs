// Where one CLI run's time goes, function by function: V8's sampling profiler (node --cpu-prof) over
// `se-inject MODEL -o OUT --force --quiet`, reduced to self time per function and per source group.
// "(idle)" is the main thread waiting, here on file reads, writes and fsync in libuv's thread pool.
//
//   node bench/cpu_profile.mjs fixtures/cache/resnet50_op13.onnx     # prints the tables
//   (run.mjs calls profileCli() for resnet50 and puts the result in results.json)

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, mustRun } from './lib.mjs';

/** `file:///…/node_modules/yargs/…` → `node_modules/yargs`, `…/dist/src/se/build.js` → `dist/src/se/build.js`. */
function where(url) {
  if (!url) return '';
  const m = /\/(node_modules\/(?:@[^/]+\/)?[^/]+)\/|\/(dist\/(?:src|passes)\/.*)$/.exec(url);
  if (m) return m[1] ?? m[2];
  return url.startsWith('node:') ? url.replace(/^node:internal\/([^/]+).*/, 'node:internal/$1') : url;
}

export function summarizeProfile(profile, top = 20) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMs = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfMs.set(id, (selfMs.get(id) ?? 0) + profile.timeDeltas[i] / 1000);
  }
  const byFunction = new Map();
  const byGroup = new Map();
  const add = (map, key, ms) => map.set(key, (map.get(key) ?? 0) + ms);
  for (const [id, ms] of selfMs) {
    const f = nodes.get(id).callFrame;
    const file = where(f.url);
    add(byFunction, `${f.functionName || '(anonymous)'} ${file}${file ? `:${f.lineNumber + 1}` : ''}`.trim(), ms);
    add(byGroup, file.startsWith('dist/') ? path.dirname(file) : file || f.functionName, ms);
  }
  const sorted = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([what, ms]) => ({ what, ms: +ms.toFixed(1) }));
  const totalMs = [...selfMs.values()].reduce((a, b) => a + b, 0);
  return { totalMs: +totalMs.toFixed(1), functions: sorted(byFunction, top), groups: sorted(byGroup, 15) };
}

export function profileCli(model) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'se-cpuprof-'));
  try {
    mustRun('se-inject --cpu-prof', process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250',
      'dist/src/cli/se-inject.js', model, '-o', path.join(dir, 'out.onnx'), '--force', '--quiet']);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    return { model, ...summarizeProfile(JSON.parse(readFileSync(path.join(dir, file), 'utf8'))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function profileMarkdown(p) {
  const rows = (list) => list.map((x) => `| ${x.what.replace(/\|/g, '\\|')} | ${x.ms} |`).join('\n');
  return [`CPU profile of one CLI run on ${p.model} (node --cpu-prof, 250 µs sampling; ${p.totalMs} ms sampled), self time:`, '',
    '| function | ms |', '| --- | --- |', rows(p.functions), '', '| group (folder or package) | ms |', '| --- | --- |', rows(p.groups)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const model = process.argv[2] ?? path.join(ROOT, 'fixtures/cache/resnet50_op13.onnx');
  console.log(profileMarkdown(profileCli(model)));
}
