// What a replaced file keeps (--force, --in-place): its permission bits and owner, for the model and its
// data file; a symbolic link given as the output stays a link, its target replaced; other hard links of
// a replaced file keep the old contents, and a note says so. Without these, a private model (0600)
// became world-readable (0644) when replaced, and a model root rewrote became root's.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile } from '../../src/api.js';
import { ROOT, small, tempDir } from '../support/fixtures.js';
import { withFaults } from './fs-faults.js';

const tmp = tempDir('se-inject-replacing-');
afterAll(() => tmp.cleanup());
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
let runs = 0;

const mode = (file: string) => statSync(file).mode & 0o777;

function folder(): string {
  const dir = path.join(tmp.dir, `run-${runs++}`);
  mkdirSync(dir);
  cpSync(small('tiny_resnet.onnx'), path.join(dir, 'in.onnx'));
  return dir;
}

/** tiny_resnet with its weights in model.onnx.data, written by onnx's own save. */
function externalModel(dir: string): string {
  const file = path.join(dir, 'model.onnx');
  execFileSync('/usr/bin/python3', ['-c', [
    'import onnx, sys',
    "onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=True, location='model.onnx.data', size_threshold=0)",
  ].join('\n'), small('tiny_resnet.onnx'), file]);
  return file;
}

describe('a replaced file keeps its permission bits', () => {
  it.each(['600', '640', '444', '664'])('--force over a %s model: the new model has that mode', async (octal) => {
    const bits = parseInt(octal, 8);
    const dir = folder();
    const out = path.join(dir, 'out.onnx');
    writeFileSync(out, 'an earlier output');
    chmodSync(out, bits);
    await convertFile(path.join(dir, 'in.onnx'), out, { overwrite: true });
    expect(mode(out).toString(8)).toBe(octal);
    expect(readFileSync(out).length).toBeGreaterThan(1000);
  });

  it('--in-place with external data: the model and its data keep their modes', async () => {
    const dir = folder();
    const input = externalModel(dir);
    chmodSync(input, 0o600);
    chmodSync(`${input}.data`, 0o640);
    const { saved } = await convertFile(input, input, { inPlace: true });
    expect(saved!.dataFile).toBe(`${input}.data`);
    expect([mode(input), mode(`${input}.data`)].map((m) => m.toString(8))).toEqual(['600', '640']);
  });

  it('a data file new beside a replaced model takes the model\'s mode, never a wider one', async () => {
    const dir = folder();
    const out = path.join(dir, 'out.onnx');
    writeFileSync(out, 'an earlier output, without data');
    chmodSync(out, 0o600);
    await convertFile(path.join(dir, 'in.onnx'), out, { overwrite: true, externalData: true });
    expect([mode(out), mode(`${out}.data`)].map((m) => m.toString(8))).toEqual(['600', '600']);
  });

  it('a new output gets the usual mode (the umask\'s), whatever the input\'s', async () => {
    const dir = folder();
    chmodSync(path.join(dir, 'in.onnx'), 0o600);
    const out = path.join(dir, 'new.onnx');
    await convertFile(path.join(dir, 'in.onnx'), out);
    const umask = process.umask();
    expect(mode(out).toString(8)).toBe((0o666 & ~umask).toString(8));
  });

  it.runIf(process.getuid?.() === 0)('root replacing another user\'s model leaves it theirs', async () => {
    const dir = folder();
    const input = externalModel(dir);
    chownSync(input, 65534, 65534);
    chownSync(`${input}.data`, 65534, 65534);
    chmodSync(input, 0o600);
    chmodSync(`${input}.data`, 0o640);
    await convertFile(input, input, { inPlace: true });
    const owner = (f: string) => [statSync(f).uid, statSync(f).gid, mode(f).toString(8)];
    expect([owner(input), owner(`${input}.data`)]).toEqual([[65534, 65534, '600'], [65534, 65534, '640']]);
  });

  it('a file system that refuses chmod (FAT, some shares): the file is still replaced, owner-only, never wider', async () => {
    const dir = folder();
    const out = path.join(dir, 'out.onnx');
    writeFileSync(out, 'an earlier output');
    chmodSync(out, 0o644);
    const { error } = await withFaults({ root: dir, always: { chmod: 'EPERM' } }, () => convertFile(path.join(dir, 'in.onnx'), out, { overwrite: true }));
    expect(error).toBeUndefined();
    expect(readFileSync(out).length).toBeGreaterThan(1000);
    expect(mode(out) & ~0o600).toBe(0);
  });

  it('a chmod that fails otherwise (EIO) fails the save, and the old file stays', async () => {
    const dir = folder();
    const out = path.join(dir, 'out.onnx');
    writeFileSync(out, 'an earlier output');
    const { error } = await withFaults({ root: dir, always: { chmod: 'EIO' } }, () => convertFile(path.join(dir, 'in.onnx'), out, { overwrite: true }));
    expect((error as Error).message).toMatch(/^cannot write .*out\.onnx: .*EIO.*; nothing was written/);
    expect(readFileSync(out, 'utf8')).toBe('an earlier output');
    expect(readdirSync(dir).sort()).toEqual(['in.onnx', 'out.onnx']);
  });

  it('the CLI: --force over a 0600 output keeps 0600', () => {
    const dir = folder();
    const out = path.join(dir, 'out.onnx');
    writeFileSync(out, 'old');
    chmodSync(out, 0o600);
    execFileSync(process.execPath, [CLI, path.join(dir, 'in.onnx'), '-o', out, '--force', '-q'], { stdio: 'pipe' });
    expect(mode(out).toString(8)).toBe('600');
  });
});

describe('links', () => {
  it('-o a symbolic link with --force: the link stays, its target is replaced', async () => {
    const dir = folder();
    mkdirSync(path.join(dir, 'store'));
    const real = path.join(dir, 'store/model.onnx');
    writeFileSync(real, 'old');
    chmodSync(real, 0o640);
    symlinkSync('store/model.onnx', path.join(dir, 'link.onnx'));
    const { saved } = await convertFile(path.join(dir, 'in.onnx'), path.join(dir, 'link.onnx'), { overwrite: true });
    expect(saved!.path).toBe(real);
    expect(lstatSync(path.join(dir, 'link.onnx')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(dir, 'link.onnx'))).toBe('store/model.onnx');
    expect(readFileSync(real).length).toBeGreaterThan(1000);
    expect(mode(real).toString(8)).toBe('640');
  });

  it('--in-place on a file with another hard link: that name keeps the old model, and a note says so', async () => {
    const dir = folder();
    const input = path.join(dir, 'in.onnx');
    linkSync(input, path.join(dir, 'backup.onnx'));
    const before = readFileSync(input);
    const { saved } = await convertFile(input, input, { inPlace: true });
    expect(readFileSync(path.join(dir, 'backup.onnx')).equals(before)).toBe(true);
    expect(readFileSync(input).equals(before)).toBe(false);
    expect(saved!.notes.join('\n')).toMatch(/in\.onnx had another name \(hard links\), which still hold the old model/);
  });
});
