// --config FILE.json: every option in one file, with the keys of the JSON report's `options`, so a
// pipeline can pin a run by saving a report's options; flags typed on the command line override the file;
// the file is checked by the library's one validation, and its mistakes name the file and the key.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, small, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-config-');
afterAll(() => tmp.cleanup());
const MODEL = small('tiny_resnet.onnx');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/src/cli/main.js'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const file = (name: string, content: unknown) => {
  const p = path.join(tmp.dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};

describe('--config', () => {
  it("a report's options, saved as a config file, reproduce the run byte for byte", () => {
    const first = path.join(tmp.dir, 'first.onnx');
    const flags = ['--block', 'cbam', '-r', '8', '--act', 'silu', '--init', 'preserve', '--seed', '7', '--stages', '1,3', '--no-bias', '--divisor', '2', '--arch', 'residual'];
    const a = cli(MODEL, '-o', first, '--json', ...flags);
    expect(a.code).toBe(0);
    const options = JSON.parse(a.stdout).options;
    const second = path.join(tmp.dir, 'second.onnx');
    const b = cli(MODEL, '-o', second, '--json', '--config', file('pinned.json', options));
    expect(b.code).toBe(0);
    expect(JSON.parse(b.stdout).options).toEqual(options);
    expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
  });

  it('flags typed on the command line override the file; what neither sets takes the library default', () => {
    const config = file('base.json', { block: 'cbam', ratio: 8, stages: [1, 2], act: 'hardswish' });
    const r = JSON.parse(cli('report', MODEL, '--json', '--config', config, '-r', '4', '--block', 'se').stdout);
    expect(r.options).toMatchObject({ block: 'se', ratio: 4, stages: [1, 2], act: 'hardswish', init: 'he', seed: 0, bias: true });
    expect(r.blocks.every((b: { stage: number }) => b.stage <= 2)).toBe(true);
    const gate = JSON.parse(cli('report', MODEL, '--json', '--config', file('gate.json', { gate: 'sigmoid', gateExplicit: false, mobilenetPlacement: 'v3' }), '--gate', 'sigmoid').stdout);
    expect(gate.options).toMatchObject({ gate: 'sigmoid', gateExplicit: true });
    // A typed --arch auto runs every pass even where the file names one family.
    const only = file('only.json', { families: ['inception'] });
    expect(JSON.parse(cli('report', small('tiny_resnet.onnx'), '--json', '--config', only).stdout).inserted).toBe(0);
    expect(JSON.parse(cli('report', small('tiny_resnet.onnx'), '--json', '--config', only, '--arch', 'auto').stdout).inserted).toBe(6);
  });

  it("mistakes in the file are one line naming the file and the key; an unknown key gets the closest one", () => {
    const cases: [unknown, RegExp][] = [
      [{ ratoi: 8 }, /unknown option "ratoi"; did you mean ratio\?/],
      [{ ratio: 'eight' }, /"ratio" must be a positive number/],
      [{ block: 'cbam2' }, /"block" must be one of se, ese, eca, cbam, cbam-channel, got "cbam2"/],
      [{ ratioPerStage: [8, 'x'] }, /"ratioPerStage" must be a list with one positive ratio per stage/],
      [[16], /the file must hold an object/],
      ['{"ratio": 8,', /is not JSON/],
    ];
    cases.forEach(([content, message], i) => {
      const p = file(`bad${i}.json`, content);
      const r = cli('report', MODEL, '--config', p);
      expect(r.code, String(content)).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(p);
      expect(r.stderr).toMatch(message);
    });
    expect(cli('report', MODEL, '--config', path.join(tmp.dir, 'missing.json')).stderr).toMatch(/--config .*missing\.json: cannot read it \(ENOENT\)/);
  });
});
