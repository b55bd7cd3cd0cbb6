// Every bad input of fixtures/bad/manifest.json through the built CLI: the documented exit code, exactly
// one line on stderr with the expected message and no stack trace (one with --debug), nothing written
// anywhere, and every input file byte-identical afterwards.

import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs, { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SeInjectError } from '../../src/errors.js';
import { loadModelBytes, loadModelFile } from '../../src/onnx/load.js';
import { fields } from '../../src/onnx/wire.js';
import { FUTURE_FIELDS, ROOT, tempDir } from '../support/fixtures.js';
import { badFiles } from './bad-models.js';

interface Case {
  name: string;
  input: string;
  make?: string;
  preload?: 'disk-full';
  args: string[];
  exit: number;
  error: string;
}

const BAD = path.join(ROOT, 'fixtures/bad');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const PRELOADS = { 'disk-full': path.join(ROOT, 'test/reliability/disk-full.mjs') };
const { cases } = JSON.parse(readFileSync(path.join(BAD, 'manifest.json'), 'utf8')) as { cases: Case[] };
const tmp = tempDir('se-inject-bad-');
afterAll(() => tmp.cleanup());

let runs = 0;

/** A fresh folder per run; `make` builds the input there. Returns the argv and the folders to watch. */
function prepare(c: Case): { argv: string[]; watch: string[] } {
  const dir = path.join(tmp.dir, String(runs++));
  mkdirSync(dir);
  let input = path.join(ROOT, c.input);
  const [recipe, arg] = (c.make ?? '').split(':');
  if (recipe === 'copy' || recipe === 'existing-output') {
    input = path.join(dir, path.basename(c.input));
    copyFileSync(path.join(ROOT, c.input), input);
    if (recipe === 'existing-output') writeFileSync(path.join(dir, 'out.onnx'), 'keep me');
  } else if (recipe === 'truncate') {
    input = path.join(dir, `cut-${arg}.onnx`);
    writeFileSync(input, readFileSync(path.join(ROOT, c.input)).subarray(0, Number(arg)));
  } else if (recipe === 'symlink-escape') {
    mkdirSync(path.join(dir, 'model'));
    input = path.join(dir, 'model', 'model.onnx');
    copyFileSync(path.join(ROOT, c.input), input);
    writeFileSync(path.join(dir, 'outside.bin'), new Uint8Array(1024));
    symlinkSync(path.join(dir, 'outside.bin'), path.join(dir, 'model', 'weights.bin'));
  } else if (recipe === 'ext-fifo') {
    mkdirSync(path.join(dir, 'model'));
    input = path.join(dir, 'model', 'model.onnx');
    copyFileSync(path.join(ROOT, c.input), input);
    execFileSync('mkfifo', [path.join(dir, 'model', 'weights.bin')]);
  } else if (recipe === 'fifo') {
    input = path.join(dir, 'pipe.onnx');
    execFileSync('mkfifo', [input]);
  } else if (recipe === 'symlink-loop') {
    input = path.join(dir, 'loop.onnx');
    symlinkSync(path.join(dir, 'loop2.onnx'), input);
    symlinkSync(input, path.join(dir, 'loop2.onnx'));
  }
  const fill = (a: string) => a.replaceAll('{input}', input).replaceAll('{out}', path.join(dir, 'out.onnx')).replaceAll('{tmp}', dir);
  const args = c.args.map(fill).map((a) => (path.isAbsolute(a) && a.startsWith(ROOT + path.sep) ? path.relative(ROOT, a) : a));
  const preload = c.preload ? ['--import', PRELOADS[c.preload]] : [];
  const watch = [dir];
  if (existsSync(input) && !input.startsWith(dir + path.sep)) watch.push(statSync(input).isDirectory() ? input : path.dirname(input));
  return { argv: [...preload, CLI, ...args], watch };
}

/** Every file under the folders, by path, with its hash (a symlink: its target). */
function snapshot(dirs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isSymbolicLink()) out[p] = `-> ${readlinkSync(p)}`;
      else out[p] = st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : `special ${st.mode}`;
    }
  };
  dirs.forEach(walk);
  return out;
}

function run(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

describe.concurrent('bad inputs (fixtures/bad/manifest.json) through the built CLI', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { argv, watch } = prepare(c);
    const before = snapshot(watch);
    const { code, stderr, stdout } = await run(argv);
    expect(stderr).toMatch(/^se-inject: error: [^\n]*\n$/);
    expect(stderr.slice('se-inject: error: '.length, -1)).toMatch(new RegExp(c.error, 'u'));
    expect(code).toBe(c.exit);
    expect(stdout).toBe('');
    expect(snapshot(watch)).toEqual(before);

    const debug = await run([...prepare(c).argv, '--debug']);
    expect(debug.code).toBe(c.exit);
    expect(debug.stderr.split('\n')[0]).toMatch(new RegExp(`^se-inject: error: .*${c.error}`, 'u'));
    expect(debug.stderr).toMatch(/\n\s+at .+\(.+:\d+:\d+\)/);
  });
});

describe('fixtures/bad', () => {
  it('every manifest input exists, except the one that must be missing', () => {
    for (const c of cases) expect(existsSync(path.join(ROOT, c.input)), c.name).toBe(c.name !== 'missing path');
  });

  it('holds exactly what test/reliability/bad-models.ts builds (SE_INJECT_WRITE_BAD=1 rewrites it)', () => {
    for (const [name, bytes] of Object.entries(badFiles())) {
      const file = path.join(BAD, name);
      if (process.env.SE_INJECT_WRITE_BAD) {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, bytes);
      }
      expect(Buffer.from(bytes).equals(readFileSync(file)), name).toBe(true);
    }
  });
});

describe('--in-place', () => {
  it('replaces the input atomically: new content, a new inode, no temporary file left', async () => {
    const dir = path.join(tmp.dir, 'in-place');
    mkdirSync(dir);
    const file = path.join(dir, 'model.onnx');
    copyFileSync(FUTURE_FIELDS, file);
    const [bytes, inode] = [readFileSync(file), statSync(file).ino];
    const { code, stderr } = await run([CLI, file, '-o', file, '--in-place']);
    expect(code, stderr).toBe(0);
    expect(readFileSync(file).equals(bytes)).toBe(false);
    expect((await loadModelFile(file)).proto.metadataProps.map((p) => p.key)).toContain('se-inject');
    expect(statSync(file).ino).not.toBe(inode);
    expect(readdirSync(dir)).toEqual(['model.onnx']);
  });

  it('with --validate compares against the original, before the write replaces it', async () => {
    const dir = path.join(tmp.dir, 'in-place-validate');
    mkdirSync(dir);
    const file = path.join(dir, 'model.onnx');
    copyFileSync(path.join(ROOT, 'fixtures/small/tiny_resnet.onnx'), file);
    const { code, stdout, stderr } = await run([CLI, file, '-o', file, '--in-place', '--validate', '--runs', '0', '--json', '--quiet']);
    expect(code, stderr).toBe(0);
    const { validation } = JSON.parse(stdout) as { validation: { passed: boolean; outputs: Array<{ maxAbsDiff: number }> } };
    expect(validation.passed).toBe(true);
    // He-initialised SE changes the outputs; a comparison of the output with itself would give 0.
    expect(validation.outputs[0]!.maxAbsDiff).toBeGreaterThan(0);
    expect((await loadModelFile(file)).proto.metadataProps.map((p) => p.key)).toContain('se-inject');
  });
});

describe('through the library', () => {
  it('a model cut off at any byte is refused as input, unless the cut falls between top-level fields', () => {
    const bytes = new Uint8Array(readFileSync(FUTURE_FIELDS));
    const boundaries = new Set([...fields(bytes)].map((f) => f.bytes.byteOffset - bytes.byteOffset + f.bytes.length));
    for (let n = 0; n < bytes.length; n++) {
      try {
        loadModelBytes(bytes.subarray(0, n), { label: `cut at ${n}` });
        expect(boundaries.has(n), `cut at ${n} loaded`).toBe(true);
      } catch (e) {
        expect(e, `cut at ${n}`).toBeInstanceOf(SeInjectError);
        expect((e as SeInjectError).kind).toBe('input');
      }
    }
  });

  it('external data outside the model folder is refused before the file system is asked about it', async () => {
    const touched: string[] = [];
    const spied = ['statSync', 'lstatSync', 'realpathSync', 'openSync', 'readFileSync', 'existsSync'] as const;
    const originals = spied.map((k) => fs[k]);
    spied.forEach((k, i) => {
      (fs as unknown as Record<string, unknown>)[k] = (p: fs.PathLike, ...rest: unknown[]) => {
        touched.push(String(p));
        return (originals[i] as (...a: unknown[]) => unknown)(p, ...rest);
      };
    });
    syncBuiltinESMExports();
    try {
      for (const dir of ['ext-escape', 'ext-absolute']) {
        await expect(loadModelFile(path.join(BAD, dir, 'model.onnx'))).rejects.toThrow(/refused/);
      }
    } finally {
      spied.forEach((k, i) => ((fs as unknown as Record<string, unknown>)[k] = originals[i]));
      syncBuiltinESMExports();
    }
    expect(touched.length).toBeGreaterThan(0);
    expect(touched.filter((p) => p.includes('passwd'))).toEqual([]);
  });
});
