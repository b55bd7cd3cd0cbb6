// Output names the file system accepts are written, whatever se-inject's own files next to them are
// called: a name near the 255-byte limit (its temporaries, lock and interim data file are cut to fit),
// in UTF-8, with spaces, or starting with a dash. A name past the limit — the output's or its data
// file's — is refused in one line before anything is written, and so is `-o -`: models go to files only.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../src/api.js';
import { isTempName } from '../../src/onnx/commit.js';
import { loadModelFile } from '../../src/onnx/load.js';
import { ROOT, small, tempDir } from '../support/fixtures.js';

const tmp = tempDir('se-inject-names-');
afterAll(() => tmp.cleanup());
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
let runs = 0;

function folder(): { dir: string; input: string } {
  const dir = path.join(tmp.dir, `run-${runs++}`);
  mkdirSync(dir);
  const input = path.join(dir, 'in.onnx');
  cpSync(small('tiny_resnet.onnx'), input);
  return { dir, input };
}

/** A name of `bytes` UTF-8 bytes ending in .onnx, made of `char`. */
const longName = (bytes: number, char = 'm') => char.repeat((bytes - 5) / Buffer.byteLength(char)) + '.onnx';

const files = (dir: string) => readdirSync(dir).sort();

describe('names near the limit', () => {
  it('a 255-byte output name: written, and replaced with overwrite; no temporary or lock is left', async () => {
    const { dir, input } = folder();
    const out = path.join(dir, longName(255));
    await convertFile(input, out, { seed: 1 });
    await convertFile(input, out, { seed: 2, overwrite: true });
    expect(files(dir)).toEqual([path.basename(out), 'in.onnx'].sort());
    expect((await loadModelFile(out)).graph.nodes.length).toBeGreaterThan(0);
  });

  it('a 255-byte name in two-byte characters', async () => {
    const { dir, input } = folder();
    const out = path.join(dir, longName(255, 'é'));
    expect(Buffer.byteLength(path.basename(out))).toBe(255);
    await convertFile(input, out);
    expect(existsSync(out)).toBe(true);
    expect(readdirSync(dir).filter(isTempName)).toEqual([]);
  });

  it('a 250-byte name with external data (its data file 255 bytes), replacing an earlier pair', async () => {
    const { dir, input } = folder();
    const out = path.join(dir, longName(250));
    await convertFile(input, out, { seed: 1, externalData: true });
    // The data file is replaced through an interim name, which must fit too.
    const { saved } = await convertFile(input, out, { seed: 2, externalData: true, overwrite: true });
    expect(saved!.dataFile).toBe(`${out}.data`);
    expect(files(dir)).toEqual([path.basename(out), `${path.basename(out)}.data`, 'in.onnx'].sort());
  });

  it('names past the limit are refused in one line, exit 7, nothing written', () => {
    const { dir, input } = folder();
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, input, ...args, '-q'], { encoding: 'utf8' });
    const tooLong = run('-o', path.join(dir, longName(256)));
    expect(tooLong.status).toBe(7);
    expect(tooLong.stderr).toMatch(/^se-inject: error: output .*: its file name is 256 bytes, past the file system's 255; choose a shorter name\n$/);
    const dataTooLong = run('-o', path.join(dir, longName(252)), '--external-data');
    expect(dataTooLong.status).toBe(7);
    expect(dataTooLong.stderr).toMatch(/^se-inject: error: .*: its data file .*\.onnx\.data would be a name of 257 bytes, past the file system's 255; nothing was written — choose an output name of at most 250 bytes\n$/);
    expect(files(dir)).toEqual(['in.onnx']);
  });
});

describe('names a shell makes awkward', () => {
  it('-o - is refused (exit 2): no model goes to stdout, and no file named "-" appears; ./- names one', () => {
    const { dir, input } = folder();
    const run = (...args: string[]) => spawnSync(process.execPath, [CLI, input, ...args, '-q'], { cwd: dir, encoding: 'utf8' });
    const dash = run('-o', '-');
    expect(dash.status).toBe(2);
    expect(dash.stderr).toBe('se-inject: error: -o - would write a file named "-": se-inject writes models to files, not to stdout (a model may need OUT.onnx.data beside it); give a file path, or ./- for a file of that name\n');
    expect(dash.stdout).toBe('');
    for (const outDir of [['--out-dir', '-'], ['--out-dir=-'], ['--out-dir', '']]) {
      const batch = run(small('tiny_mobilenet_v2.onnx'), ...outDir);
      expect(batch.status, outDir.join(' ')).toBe(2);
      expect(batch.stderr).toBe('se-inject: error: --out-dir needs the path of a folder (se-inject writes models to files, never to stdout); give --out-dir DIR\n');
    }
    expect(files(dir)).toEqual(['in.onnx']);
    expect(run('-o', './-').status).toBe(0);
    expect(files(dir)).toEqual(['-', 'in.onnx']);
  });

  it.each([['spaces and UTF-8', 'my model — é.onnx'], ['a leading dash (--output=)', '-model.onnx']])('%s', (_what, name) => {
    const { dir, input } = folder();
    execFileSync(process.execPath, [CLI, input, `--output=${name}`, '-q'], { cwd: dir, stdio: 'pipe' });
    expect(files(dir)).toEqual([name, 'in.onnx'].sort());
  });
});
