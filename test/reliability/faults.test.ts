// Faults during a save, one at a time: every open, read, write, writev, sync, close, chmod, chown,
// rename, link and unlink a conversion makes fails in turn. After each, the input and every file that
// was in the folders is byte-identical — or the conversion stood, with the output complete and the
// files it replaces replaced — and no temporary is left. Then: an append-only folder, an input written
// to while its weights are copied, and the output paths that must be refused.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile, inject, loadModel, saveModel } from '../../src/api.js';
import type { ConvertFileOptions } from '../../src/api.js';
import { SeInjectError } from '../../src/errors.js';
import { isTempName } from '../../src/onnx/commit.js';
import { loadModelFile } from '../../src/onnx/load.js';
import { small, tempDir } from '../support/fixtures.js';
import { withFaults } from './fs-faults.js';

const tmp = tempDir('se-inject-faults-');
afterAll(() => tmp.cleanup());
let runs = 0;

/** Every file under `dir`, as relative path → sha256 (links and special files by kind). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.isFile()) out.set(path.relative(dir, p), e.isSymbolicLink() ? 'symlink' : 'special');
      else out.set(path.relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** What a model computes with, wherever its weights are stored: nodes and every initializer's bytes. */
async function logical(file: string): Promise<string> {
  const m = await loadModelFile(file, { defer: false });
  const h = createHash('sha256');
  for (const n of m.graph.nodes) h.update(`${n.opType}(${n.inputs.join()})->${n.outputs.join()};`);
  for (const t of m.proto.graph.initializers) h.update(t.name).update(m.tensorBytes(t));
  return h.digest('hex');
}

interface Scenario {
  name: string;
  /** Builds the folders the run starts from. */
  make(dir: string): Promise<void>;
  input: string;
  output: string;
  options: ConvertFileOptions;
  /** Files the conversion is allowed to replace (relative to the run's folder). */
  replaces: string[];
}

/**
 * A model with its weights in `model.onnx.data`, written by onnx's own save (tensors back to back, no
 * alignment: another layout than se-inject's, so a data file replaced too early shows).
 */
async function externalInput(dir: string): Promise<void> {
  mkdirSync(path.join(dir, 'in'));
  mkdirSync(path.join(dir, 'out'));
  execFileSync('/usr/bin/python3', ['-c', [
    'import onnx, sys',
    'm = onnx.load(sys.argv[1])',
    "onnx.save_model(m, sys.argv[2], save_as_external_data=True, all_tensors_to_one_file=True, location='model.onnx.data', size_threshold=0)",
  ].join('\n'), small('tiny_resnet.onnx'), path.join(dir, 'in/model.onnx')]);
  writeFileSync(path.join(dir, 'out/notes.txt'), "the user's own file");
}

const SCENARIOS: Scenario[] = [
  {
    name: 'a new output with external data',
    make: externalInput,
    input: 'in/model.onnx', output: 'out/se.onnx', options: { seed: 1 }, replaces: [],
  },
  {
    name: 'replacing an earlier output and its data file (overwrite)',
    async make(dir) {
      await externalInput(dir);
      await convertFile(path.join(dir, 'in/model.onnx'), path.join(dir, 'out/se.onnx'), { seed: 2, ratio: 4, externalData: true });
    },
    input: 'in/model.onnx', output: 'out/se.onnx', options: { seed: 1, overwrite: true }, replaces: ['out/se.onnx', 'out/se.onnx.data'],
  },
  {
    name: 'in place, external data',
    make: externalInput,
    input: 'in/model.onnx', output: 'in/model.onnx', options: { seed: 1, inPlace: true }, replaces: ['in/model.onnx', 'in/model.onnx.data'],
  },
  {
    name: 'a new output in one file',
    async make(dir) {
      mkdirSync(path.join(dir, 'in'));
      mkdirSync(path.join(dir, 'out'));
      cpSync(small('tiny_resnet.onnx'), path.join(dir, 'in/model.onnx'));
      writeFileSync(path.join(dir, 'out/se.onnx.data'), 'not ours: the output has no data file, so this stays');
    },
    input: 'in/model.onnx', output: 'out/se.onnx', options: { seed: 1 }, replaces: [],
  },
];

function fresh(template: string): string {
  const dir = path.join(tmp.dir, `run-${runs++}`);
  cpSync(template, dir, { recursive: true });
  return dir;
}

describe.each(SCENARIOS)('a fault at every file operation: $name', (s) => {
  it('leaves the input and every existing file as they were, or the whole new output; never a temporary', async () => {
    const template = path.join(tmp.dir, `template-${runs++}`);
    mkdirSync(template);
    await s.make(template);
    const before = snapshot(template);

    // A run without faults: how many operations there are, and what the output holds.
    const clean = fresh(template);
    const counted = await withFaults({ root: clean }, () => convertFile(path.join(clean, s.input), path.join(clean, s.output), s.options));
    expect(counted.error).toBeUndefined();
    const expected = await logical(path.join(clean, s.output));
    const total = counted.log.calls.length;
    expect(total).toBeGreaterThan(5);
    // A replacement takes the replaced file's mode: that step fails in turn too.
    if (s.replaces.length) expect(counted.log.calls.map((c) => c.op)).toContain('chmod');

    const outcomes = { refused: 0, written: 0 };
    for (let k = 1; k <= total; k++) {
      const dir = fresh(template);
      const { result, error, log } = await withFaults({ root: dir, failAt: k }, () => convertFile(path.join(dir, s.input), path.join(dir, s.output), s.options));
      const where = `fault at call ${k} of ${total} (${log.calls[k - 1]?.op} ${path.relative(dir, log.calls[k - 1]?.target ?? '')})`;
      const after = snapshot(dir);
      expect([...after.keys()].filter((f) => isTempName(path.basename(f))), where).toEqual([]);
      if (error) {
        expect(error, where).toBeInstanceOf(SeInjectError);
        expect((error as Error).message, where).not.toMatch(/\n/);
        expect(after, where).toEqual(before);
        outcomes.refused++;
        continue;
      }
      // It stood: the output is complete, and nothing but what it replaces changed.
      expect(await logical(path.join(dir, s.output)), where).toBe(expected);
      for (const [f, hash] of before) if (!s.replaces.includes(f)) expect(after.get(f), `${where}: ${f}`).toBe(hash);
      const added = [...after.keys()].filter((f) => !before.has(f) && f !== s.output && f !== `${s.output}.data`);
      for (const f of added) expect(result!.saved!.notes.join(' '), `${where}: ${f} is explained`).toContain(path.basename(f));
      outcomes.written++;
    }
    // Most faults come before the commit and are refused; the later ones leave a complete output.
    expect(outcomes.refused).toBeGreaterThan(total / 2);
  });
});

describe('folders and inputs that fight back', () => {
  it('an append-only folder (no rename, no unlink): refused before any weight is written, naming the real cause', async () => {
    const dir = path.join(tmp.dir, `append-${runs++}`);
    mkdirSync(dir);
    await externalInput(dir);
    const before = snapshot(dir);
    const { error } = await withFaults({ root: path.join(dir, 'out'), always: { rename: 'EPERM', unlink: 'EPERM' } },
      () => convertFile(path.join(dir, 'in/model.onnx'), path.join(dir, 'out/se.onnx')));
    expect(error).toBeInstanceOf(SeInjectError);
    const message = (error as Error).message;
    expect(message).toMatch(/^cannot write .*se\.onnx: .*EPERM.*; nothing was written .*did not allow removing the temporary .*: remove it yourself$/);
    const left = [...snapshot(dir).keys()].filter((f) => !before.has(f));
    // What the folder does not let us remove is an empty file, never a copy of the weights.
    expect(left.length).toBe(1);
    expect(statSync(path.join(dir, left[0]!)).size).toBe(0);
    expect(message).toContain(path.basename(left[0]!));
  });

  it('an input written to in place (same size) while its weights are copied is refused; nothing is written', async () => {
    const dir = path.join(tmp.dir, `changed-${runs++}`);
    mkdirSync(dir);
    await externalInput(dir);
    const data = path.join(dir, 'in/model.onnx.data');
    let changed = false;
    const { error } = await withFaults({
      root: dir,
      before: (op) => {
        if ((op !== 'write' && op !== 'writev') || changed) return;
        changed = true;
        const fd = openSync(data, 'r+'); // `dd conv=notrunc`: new bytes, same size
        writeSync(fd, new Uint8Array(64).fill(7), 0, 64, 128);
        closeSync(fd);
      },
    }, () => convertFile(path.join(dir, 'in/model.onnx'), path.join(dir, 'out/se.onnx')));
    expect(changed).toBe(true);
    expect((error as Error).message).toMatch(/model\.onnx\.data changed while se-inject was working on it; nothing was written/);
    expect(readdirSync(path.join(dir, 'out'))).toEqual(['notes.txt']);
  });

  it('an input data file replaced by a FIFO between the load and the save is refused; the save does not wait on it', async () => {
    const dir = path.join(tmp.dir, `fifo-${runs++}`);
    mkdirSync(dir);
    await externalInput(dir);
    const model = await loadModel(path.join(dir, 'in/model.onnx'));
    inject(model);
    const data = path.join(dir, 'in/model.onnx.data');
    unlinkSync(data);
    execFileSync('mkfifo', [data]);
    const error = await saveModel(model, path.join(dir, 'out/se.onnx')).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(SeInjectError);
    expect((error as Error).message).toMatch(/model\.onnx\.data changed while se-inject was working on it; nothing was written/);
    expect(readdirSync(path.join(dir, 'out'))).toEqual(['notes.txt']);
  }, 20_000);

  it('refuses outputs that would overwrite what the input reads, or what is not a regular file', async () => {
    const dir = path.join(tmp.dir, `paths-${runs++}`);
    mkdirSync(dir);
    await externalInput(dir);
    const input = path.join(dir, 'in/model.onnx');
    symlinkSync(path.join(dir, 'in'), path.join(dir, 'alias'));
    const before = snapshot(dir);
    const refuse = async (output: string, options: ConvertFileOptions, message: RegExp) => {
      await expect(convertFile(input, output, options)).rejects.toThrow(message);
      expect(snapshot(dir)).toEqual(before);
    };
    // The input reached through a symbolic link to its folder is still the input.
    await refuse(path.join(dir, 'alias/model.onnx'), { overwrite: true }, /is the input file \(.*in\/model\.onnx\); choose another output, or pass --in-place/);
    // The input's own data file.
    await refuse(path.join(dir, 'in/model.onnx.data'), { overwrite: true }, /is the external data file of the input model/);
    // An output whose data file would be the input's data.
    cpSync(input, path.join(dir, 'in/copy.onnx'));
    await expect(convertFile(path.join(dir, 'in/copy.onnx'), input, { overwrite: true })).rejects.toThrow(/model\.onnx\.data, where the output's weights would go, is the input's external data file/);
    expect(snapshot(dir).get('in/model.onnx.data')).toBe(before.get('in/model.onnx.data'));
    expect(snapshot(dir).get('in/model.onnx')).toBe(before.get('in/model.onnx'));
    // An existing data file is replaced only with overwrite.
    writeFileSync(path.join(dir, 'out/x.onnx.data'), 'keep');
    await expect(convertFile(input, path.join(dir, 'out/x.onnx'))).rejects.toThrow(/x\.onnx\.data already exists; pass --force to overwrite it/);
    expect(readFileSync(path.join(dir, 'out/x.onnx.data'), 'utf8')).toBe('keep');
    expect(existsSync(path.join(dir, 'out/x.onnx'))).toBe(false);
    // Devices, FIFOs and folders are never replaced.
    await expect(convertFile(input, '/dev/null', { overwrite: true })).rejects.toThrow(/\/dev\/null is not a regular file/);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    execFileSync('mkfifo', [path.join(dir, 'out/fifo.onnx')]);
    await expect(convertFile(input, path.join(dir, 'out/fifo.onnx'), { overwrite: true })).rejects.toThrow(/fifo\.onnx is not a regular file/);
    expect(statSync(path.join(dir, 'out/fifo.onnx')).isFIFO()).toBe(true);
    for (const overwrite of [false, true]) {
      await expect(convertFile(input, path.join(dir, 'out'), { overwrite })).rejects.toThrow(/out is a folder; give the output file's path, e\.g\. .*out\/model_se\.onnx$/);
    }
    await expect(convertFile(input, path.join(dir, 'newdir') + '/')).rejects.toThrow(/names a folder; give the output file's path/);
    expect(existsSync(path.join(dir, 'newdir'))).toBe(false);
  });
});
