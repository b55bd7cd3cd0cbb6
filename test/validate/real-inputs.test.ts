// Validation on real inputs (--inputs .npy or a JSON map), saved outputs (--save-outputs) and a
// tolerance per output (--atol NAME:VALUE), as Polygraphy users expect; .npy read and written as
// NumPy does.

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../src/validate/npy.js';
import { ROOT, small, tempDir } from '../support/fixtures.js';

const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const at = (f: string) => path.join(tmp.dir, f);
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const MODEL = small('tiny_resnet.onnx'); // input [1, 3, 32, 32], output [1, 10]
const CPU = ['--ep', 'cpu', '--runs', '0'];

describe('.npy', () => {
  it('reads what numpy.save writes and writes what numpy.load reads', () => {
    execFileSync('/usr/bin/python3', ['-c', `
import numpy as np
np.save(${JSON.stringify(at('f4.npy'))}, np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8)
np.save(${JSON.stringify(at('i8.npy'))}, np.array([-3, 5], dtype=np.int64))
np.save(${JSON.stringify(at('f2.npy'))}, np.array([[0.5, -2.0]], dtype=np.float16))`]);
    const f4 = readNpy(readFileSync(at('f4.npy')), 'f4.npy');
    expect([f4.type, f4.shape, f4.data[9]]).toEqual(['float32', [2, 3, 4], 9 / 8]);
    const i8 = readNpy(readFileSync(at('i8.npy')), 'i8.npy');
    expect([i8.type, [...i8.data]]).toEqual(['int64', [-3n, 5n]]);
    const f2 = readNpy(readFileSync(at('f2.npy')), 'f2.npy');
    expect([f2.type, f2.shape, [...f2.data]]).toEqual(['float16', [1, 2], [0x3800, 0xc000]]);
    writeFileSync(at('back.npy'), writeNpy(f4));
    writeFileSync(at('back1.npy'), writeNpy(i8));
    const check = execFileSync('/usr/bin/python3', ['-c', `
import numpy as np
a = np.load(${JSON.stringify(at('back.npy'))}); b = np.load(${JSON.stringify(at('back1.npy'))})
print(a.dtype, a.shape, a.sum(), b.dtype, b.shape, b.tolist())`], { encoding: 'utf8' });
    expect(check.trim()).toBe('float32 (2, 3, 4) 34.5 int64 (2,) [-3, 5]');
  });

  it('refuses what it cannot read, naming the file', () => {
    expect(() => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 'x.npy')).toThrow(/x\.npy is not a NumPy \.npy array/);
  });
});

describe('validation on real inputs', () => {
  const values = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i));
  writeFileSync(at('x.npy'), writeNpy({ type: 'float32', shape: [1, 3, 32, 32], data: values }));
  writeFileSync(at('inputs.json'), JSON.stringify({ input: 'x.npy' }));
  const injected = at('he.onnx');

  it('runs both models on the given inputs and saves their outputs', async () => {
    expect(cli(MODEL, '-o', injected, '-q').code).toBe(0);
    const r = cli('validate', MODEL, injected, ...CPU, '--inputs', at('inputs.json'), '--save-outputs', at('outs'));
    expect(r.code, r.stderr).toBe(0);
    const session = await ort.InferenceSession.create(MODEL);
    const want = (await session.run({ input: new ort.Tensor('float32', values, [1, 3, 32, 32]) }))[session.outputNames[0]!]!;
    await session.release();
    const saved = readNpy(readFileSync(at(`outs/${session.outputNames[0]}.original.npy`)), 'saved');
    expect(saved.shape).toEqual([1, 10]);
    expect([...saved.data]).toEqual([...(want.data as Float32Array)]);
    expect(readNpy(readFileSync(at(`outs/${session.outputNames[0]}.injected.npy`)), 'saved').shape).toEqual([1, 10]);
    // A bare .npy feeds a one-input model.
    expect(cli('validate', MODEL, injected, ...CPU, '--inputs', at('x.npy')).code).toBe(0);
  });

  it('an array that does not fit the input is one line naming both shapes', () => {
    writeFileSync(at('small.npy'), writeNpy({ type: 'float32', shape: [1, 3, 8, 8], data: new Float32Array(192) }));
    const r = cli('validate', MODEL, injected, ...CPU, '--inputs', at('small.npy'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('se-inject: error: --inputs input has shape [1, 3, 8, 8], but the input takes [1, 3, 32, 32]');
  });

  it('a tolerance per output: NAME:VALUE overrides the one for every output', () => {
    expect(cli('validate', MODEL, injected, ...CPU, '--expect-equal').code).toBe(6);
    expect(cli('validate', MODEL, injected, ...CPU, '--expect-equal', '--atol', 'output:10').code).toBe(0);
    expect(cli('validate', MODEL, injected, ...CPU, '--expect-equal', '--atol', '10', 'output:0').code).toBe(6);
    expect(cli('validate', MODEL, injected, ...CPU, '--atol', 'output:lots').stderr).toMatch(/--atol takes a non-negative number or NAME:NUMBER, got "output:lots"/);
  });
});
