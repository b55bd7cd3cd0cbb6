// Signals mid-write, a process killed outright, and two writers racing for one output: the input and the
// user's files stay as they were, no temporary outlives a signal, a later run removes what a killed one
// left, and "never overwrite" holds against a second writer. A signal to a batch (--out-dir) stops every
// model's process with it.

import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../src/api.js';
import { isTempName } from '../../src/onnx/commit.js';
import { loadModelFile } from '../../src/onnx/load.js';
import { ROOT, small, tempDir } from '../support/fixtures.js';

const tmp = tempDir('se-inject-signals-');
afterAll(() => tmp.cleanup());
const SLOW = path.join(ROOT, 'test/reliability/slow-save.mjs');
const SLOW_WRITES = pathToFileURL(path.join(ROOT, 'test/reliability/slow-writes.mjs')).href;
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
let runs = 0;

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const listing = (dir: string) => readdirSync(dir).sort();
const temps = (dir: string) => readdirSync(dir).filter(isTempName);

/** The input: tiny_resnet with its weights in model.onnx.data (written by onnx's own save). */
let input = '';
let inputHashes: string[] = [];
beforeAll(() => {
  const dir = path.join(tmp.dir, 'in');
  mkdirSync(dir);
  input = path.join(dir, 'model.onnx');
  execFileSync('/usr/bin/python3', ['-c', [
    'import onnx, sys',
    "onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=True, location='model.onnx.data', size_threshold=0)",
  ].join('\n'), small('tiny_resnet.onnx'), input]);
  inputHashes = [sha(input), sha(`${input}.data`)];
});

function outDir(): string {
  const dir = path.join(tmp.dir, `out-${runs++}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'notes.txt'), "the user's own file");
  return dir;
}

/** Starts a slow conversion and resolves once it is writing (or has printed `word`). */
function slowConversion(output: string, options: object = {}, env: Record<string, string> = {}, word = 'writing') {
  const child = spawn(process.execPath, [SLOW, input, output, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const writing = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes(word) && resolve());
    void exited.then(() => reject(new Error('the conversion ended before it wrote')));
  });
  return { child, writing, exited };
}

describe('signals mid-write', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s: the process ends by the signal, leaving no temporary and no output', async (signal) => {
    const dir = outDir();
    const run = slowConversion(path.join(dir, 'se.onnx'));
    await run.writing;
    expect(temps(dir).length).toBeGreaterThan(0);
    run.child.kill(signal);
    expect((await run.exited).signal).toBe(signal);
    expect(listing(dir)).toEqual(['notes.txt']);
    expect([sha(input), sha(`${input}.data`)]).toEqual(inputHashes);
  });

  it('SIGTERM while the first temporary is being created (it exists, its open has not returned): no temporary is left', async () => {
    const dir = outDir();
    const run = slowConversion(path.join(dir, 'se.onnx'), {}, { SE_INJECT_SLOW_OPEN_MS: '2000' }, 'opened');
    await run.writing;
    expect(temps(dir).length).toBe(1);
    run.child.kill('SIGTERM');
    expect((await run.exited).signal).toBe('SIGTERM');
    expect(listing(dir)).toEqual(['notes.txt']);
  });

  it('SIGKILL leaves its temporaries; the next run in that folder removes them and says so', async () => {
    const dir = outDir();
    const run = slowConversion(path.join(dir, 'se.onnx'));
    await run.writing;
    run.child.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');
    const left = temps(dir);
    expect(left.length).toBeGreaterThan(0);
    // A temporary of a process still running (this one's parent) is never touched.
    const living = `.other.onnx.se-inject-${left[0]!.split('.se-inject-')[1]!.split('-').slice(0, -2).join('-')}-${process.ppid}-0badc0de.tmp`;
    writeFileSync(path.join(dir, living), '');
    const { saved } = await convertFile(input, path.join(dir, 'se.onnx'));
    for (const t of left) expect(saved!.notes.join('\n')).toContain(t);
    expect(temps(dir)).toEqual([living]);
    expect(listing(dir)).toEqual([living, 'notes.txt', 'se.onnx', 'se.onnx.data'].sort());
  });
});

describe('signals to a batch', () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const until = async (done: () => boolean, what: string) => {
    for (const started = Date.now(); !done(); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() - started > 20_000) throw new Error(`waited 20 s for ${what}`);
    }
  };

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('%s to se-inject --out-dir stops every model\'s process; nothing is written after it ended', async (signal) => {
    const models = path.join(tmp.dir, `batch-in-${runs++}`);
    mkdirSync(models);
    const inputs = ['a', 'b', 'c', 'd'].map((n) => path.join(models, `${n}.onnx`));
    for (const f of inputs) cpSync(small('tiny_resnet.onnx'), f);
    const dir = outDir();
    const env = { ...process.env, NODE_OPTIONS: `--import=${SLOW_WRITES}`, SE_INJECT_SLOW_WRITE_MS: '3000' };
    const child = spawn(process.execPath, [CLI, ...inputs, '--out-dir', dir, '-q'], { env, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    await until(() => temps(dir).length > 0, 'a model to be written');
    const writers = temps(dir).map((t) => Number(/-(\d+)-[0-9a-f]{8}\.tmp$/.exec(t)![1]));
    const written = listing(dir).filter((f) => !isTempName(f));
    child.kill(signal);
    expect(await exited).toBe(signal);
    // The model that was being written ends with the batch, leaving no temporary and no output.
    await until(() => !writers.some(alive), 'the models\' processes to end');
    expect(listing(dir)).toEqual(written);
    for (const f of inputs) expect(sha(f)).toBe(sha(small('tiny_resnet.onnx')));
  });
});

describe('two writers, one output', () => {
  it('library: four saves at once without overwrite — exactly one writes, the others are refused', async () => {
    const dir = outDir();
    const out = path.join(dir, 'se.onnx');
    const results = await Promise.allSettled([1, 2, 3, 4].map((seed) => convertFile(input, out, { seed })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won.length).toBe(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(String(r.reason.message)).toMatch(/(was created by another program while se-inject was writing|already exists); .*--force/);
    }
    expect(listing(dir)).toEqual(['notes.txt', 'se.onnx', 'se.onnx.data']);
    expect((await loadModelFile(out)).graph.nodes.length).toBeGreaterThan(0);
  });

  const cli = (args: string[]) => new Promise<number>((resolve) => execFile(process.execPath, [CLI, ...args], (e) => resolve(e ? Number(e.code) : 0)));

  it('CLI: two processes without --force — one exits 0, the other 7 and replaces nothing', async () => {
    const dir = outDir();
    const out = path.join(dir, 'se.onnx');
    const codes = await Promise.all([cli([input, '-o', out, '-q', '--seed', '1']), cli([input, '-o', out, '-q', '--seed', '2'])]);
    expect(codes.sort()).toEqual([0, 7]);
    expect(listing(dir)).toEqual(['notes.txt', 'se.onnx', 'se.onnx.data']);
  });

  it('CLI: two processes with --force — the output is one of them whole, its model and data together', async () => {
    const dir = outDir();
    const out = path.join(dir, 'se.onnx');
    const codes = await Promise.all([1, 2].map((seed) => cli([input, '-o', out, '-q', '--force', '--seed', String(seed), '--external-data'])));
    expect(codes).toEqual([0, 0]);
    expect(temps(dir)).toEqual([]);
    // Each alone, for comparison: the pair left must be byte-identical to one of these pairs.
    const pairs = [];
    for (const seed of [1, 2]) {
      const alone = path.join(outDir(), 'se.onnx');
      expect(await cli([input, '-o', alone, '-q', '--seed', String(seed), '--external-data'])).toBe(0);
      pairs.push([sha(alone), sha(`${alone}.data`)]);
    }
    const left = listing(dir).filter((f) => f.endsWith('.data'));
    const dataName = left.length === 1 ? left[0]! : 'se.onnx.data';
    const model = await loadModelFile(out);
    expect(model.source.inputs.map((i) => path.basename(i.file))).toContain(dataName);
    expect(pairs).toContainEqual([sha(out), sha(path.join(dir, dataName))]);
  });
});

describe('a lock left behind', () => {
  // The lock se-inject holds while it commits an output, next to it: `.NAME.se-inject.lock`.
  const lockOf = (out: string) => path.join(path.dirname(out), `.${path.basename(out)}.se-inject.lock`);

  const host = hostname().replace(/[^A-Za-z0-9_.]/g, '_');

  /** A save to a folder holding a lock with `text` (last changed `age` seconds ago) succeeds: the lock was taken over. */
  async function takenOver(text: string, age = 0): Promise<void> {
    const dir = outDir();
    const out = path.join(dir, 'se.onnx');
    writeFileSync(lockOf(out), text);
    if (age) utimesSync(lockOf(out), Date.now() / 1000 - age, Date.now() / 1000 - age);
    await convertFile(input, out, { seed: 1 });
    expect(listing(dir)).toEqual(['notes.txt', 'se.onnx', 'se.onnx.data']);
  }

  it('an empty lock (its writer died between creating it and writing its owner: a crash, a power loss) is taken over', async () => {
    await takenOver('', 3600);
    await takenOver('');
  }, 30_000);

  it('a lock naming a process of this host that has ended is taken over', () => takenOver(`${host} ${spawnSync(process.execPath, ['-e', '0']).pid!}\n`), 30_000);

  // This test's own process is alive: only the boot the lock names says its writer has ended.
  it('a lock written before the machine last booted is taken over, whatever process has its number now', () =>
    takenOver(`${host} ${process.pid} 00000000-0000-0000-0000-000000000000\n`), 30_000);
});
