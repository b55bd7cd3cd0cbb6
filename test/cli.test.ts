// The command line as a user meets it: --help answers, --json is one document, reports match the
// library, nothing-to-insert has its own exit code, a dry run writes nothing.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelFile } from '../src/onnx/load.js';
import { ROOT, onnxCheck, small, tempDir } from './support/fixtures.js';

const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('se-inject CLI', () => {
  it('--help names every option and the exit codes', () => {
    const { code, stdout } = cli('--help');
    expect(code).toBe(0);
    for (const opt of ['--output', '--force', '--in-place', '--ratio', '--divisor', '--min-channels', '--bias', '--gate', '--stages',
      '--placement', '--mobilenet-placement', '--init', '--seed', '--arch', '--batch', '--dims', '--json', '--markdown', '--explain',
      '--validate', '--strict', '--ep', '--rtol', '--atol', '--runs', '--external-data', '--debug']) {
      expect(stdout, opt).toContain(opt);
    }
    expect(stdout).toMatch(/Exit codes: 0 ok.*5 nothing to insert/s);
  });

  it('injects, writes a model the checker accepts, and prints one JSON document on stdout', () => {
    const out = path.join(tmp.dir, 'r.onnx');
    const { code, stdout, stderr } = cli(small('tiny_resnet.onnx'), '-o', out, '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ inserted: 6, ratio: 16, dryRun: false, output: out, params: { added: 1582, formula: 1344 } });
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['blocks', 'skipped', 'stages', 'params', 'macs']));
    expect(report.macs.byOp.after.GlobalAveragePool).toBeGreaterThan(report.macs.byOp.before.GlobalAveragePool);
    expect(stderr).toMatch(/wrote .*r\.onnx \(6 SE blocks/);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
  });

  it('report is a dry run with the same numbers, and writes nothing', () => {
    const dry = JSON.parse(cli('report', small('tiny_resnet.onnx'), '--json').stdout);
    const real = JSON.parse(cli(small('tiny_resnet.onnx'), '-o', path.join(tmp.dir, 'same.onnx'), '--json').stdout);
    expect(dry.dryRun).toBe(true);
    expect(dry.stages).toEqual(real.stages);
    expect(dry.params).toEqual(real.params);
    expect(dry.macs).toEqual(real.macs);
  });

  it('--markdown prints tables, --explain lists every candidate with its reason', () => {
    const md = cli('report', small('tiny_mobilenet_v2.onnx'), '--markdown', '--explain').stdout;
    expect(md).toMatch(/^\| stage \| N_s \| C_s \|/m);
    expect(md).toMatch(/same block as the residual SE/);
    expect(md).toMatch(/inserted \(insertSEAfterDepthwiseBlock\)/);
  });

  it('nothing to insert: exit 5, one message, no file', () => {
    const out = path.join(tmp.dir, 'dense.onnx');
    const { code, stderr } = cli(small('tiny_densenet.onnx'), '-o', out, '-q');
    expect(code).toBe(5);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/nothing to insert: .*supports residual networks/);
    expect(existsSync(out)).toBe(false);
  });

  it('--validate with --init preserve passes on CPU and reports equivalence and latency', () => {
    const out = path.join(tmp.dir, 'v.onnx');
    const { code, stdout } = cli(small('tiny_shufflenet_dynbatch.onnx'), '-o', out, '--init', 'preserve', '--validate', '--ep', 'cpu', '--runs', '5', '--json', '--batch', '2');
    expect(code).toBe(0);
    const v = JSON.parse(stdout).validation;
    expect(v).toMatchObject({ ep: 'cpu', passed: true });
    expect(v.outputs[0].shape).toEqual([2, 10]);
    expect(v.outputs[0].maxRelDiff).toBeLessThanOrEqual(1e-5);
    expect(v.latency.runs).toBe(5);
  });

  it('an explicitly requested provider that cannot start is one clear line, exit 4', () => {
    const { code, stderr } = cli('validate', small('tiny_resnet.onnx'), small('tiny_resnet.onnx'), '--ep', 'cuda');
    expect(code).toBe(4);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/cuda/);
  });

  it('the same input, options and seed give byte-identical files', () => {
    const [a, b] = ['a.onnx', 'b.onnx'].map((f) => path.join(tmp.dir, f));
    cli(small('tiny_inception.onnx'), '-o', a, '--seed', '5', '-q');
    cli(small('tiny_inception.onnx'), '-o', b, '--seed', '5', '-q');
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('--version prints se-inject\'s version, and every model written records it', async () => {
    const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    expect(cli('--version').stdout.trim()).toBe(version);
    const out = path.join(tmp.dir, 'version.onnx');
    expect(cli(small('tiny_resnet.onnx'), '-o', out, '-q').code).toBe(0);
    const meta = (await loadModelFile(out)).proto.metadataProps.find((p) => p.key === 'se-inject')!;
    expect(JSON.parse(meta.value)).toMatchObject({ version, ratio: 16 });
  });

  it('--help wraps between words at 80 columns when not on a terminal', () => {
    const { stdout } = cli('--help');
    const lines = stdout.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    // A description longer than its column comes back whole once the wrapping whitespace is joined.
    const flat = stdout.replace(/\s+/g, ' ');
    expect(flat).toContain('preserve: the output computes the original function exactly until trained');
    expect(flat).toContain('(8 as in MobileNetV3/EfficientNet)');
  });

  it('typical command-line mistakes say what was meant', () => {
    const typo = cli(small('tiny_resnet.onnx'), '-o', path.join(tmp.dir, 't.onnx'), '--ration', '8');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown option --ration; did you mean --ratio\?/);
    const second = cli(small('tiny_resnet.onnx'), path.join(tmp.dir, 'out.onnx'));
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/out\.onnx is a second model path: give the output with -o .*out\.onnx/);
    // The model typed twice is no output to suggest; with -o given, a second model needs --out-dir.
    const twice = cli(small('tiny_resnet.onnx'), small('tiny_resnet.onnx'), '-o', path.join(tmp.dir, 'o.onnx'));
    expect([twice.code, twice.stderr.trim()]).toEqual([2, `se-inject: error: ${small('tiny_resnet.onnx')} is given twice; give the model once`]);
    const withOut = cli(small('tiny_resnet.onnx'), small('tiny_mobilenet_v2.onnx'), '-o', path.join(tmp.dir, 'o.onnx'));
    expect(withOut.stderr).toMatch(/tiny_mobilenet_v2\.onnx is a second model path, and -o names one output; convert several models with --out-dir DIR/);
    for (const args of [['--ratio=eight'], ['--ratio', 'eight'], ['-r', 'eight']]) {
      const nan = cli('report', small('tiny_resnet.onnx'), ...args);
      expect(nan.code, args.join(' ')).toBe(2);
      expect(nan.stderr.trim()).toBe('se-inject: error: --ratio takes a number, got "eight"');
    }
  });

  it('an option that takes one value, given twice, is refused in one line and nothing is written', () => {
    const a = path.join(tmp.dir, 'twice-a.onnx'), b = path.join(tmp.dir, 'twice-b.onnx');
    const twice = cli(small('tiny_resnet.onnx'), '-o', a, '-o', b);
    expect(twice.code).toBe(2);
    expect(twice.stderr.trim()).toBe(`se-inject: error: --output is given 2 times (${JSON.stringify(a)}, ${JSON.stringify(b)}); give it once (see se-inject --help)`);
    expect(existsSync(a) || existsSync(b)).toBe(false);
    const stages = cli('report', small('tiny_resnet.onnx'), '--stages', '1', '--stages', '2');
    expect(stages.code).toBe(2);
    expect(stages.stderr).toMatch(/--stages is given 2 times \("1", "2"\); give it once/);
    // Options that take lists keep every value.
    const lists = cli('report', small('tiny_resnet.onnx'), '--exclude', 'nothing-a', '--exclude', 'nothing-b', '-q');
    expect(lists.code).toBe(0);
  });

  it('--json with an error prints {"error": {kind, exitCode, message}} on stdout', () => {
    const missing = cli(path.join(tmp.dir, 'missing.onnx'), '-o', path.join(tmp.dir, 'm.onnx'), '--json');
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toEqual({ error: { kind: 'input', exitCode: 3, message: expect.stringContaining('missing.onnx') } });
    const usage = cli('report', small('tiny_resnet.onnx'), '--json', '--ration', '8');
    expect(JSON.parse(usage.stdout).error).toMatchObject({ kind: 'usage', exitCode: 2, message: expect.stringContaining('--ratio') });
  });

  it('validation says what it checked: with the random init, outputs differ and that is expected', () => {
    const out = path.join(tmp.dir, 'he.onnx');
    const { code, stdout, stderr } = cli(small('tiny_resnet.onnx'), '-o', out, '--validate', '--ep', 'cpu', '--runs', '0', '--json');
    expect(code).toBe(0);
    const v = JSON.parse(stdout).validation;
    expect(v).toMatchObject({ passed: true, checks: ['structure', 'runs', 'finite', 'shapes'], outputsEqual: false });
    expect(v.outputs[0].scale).toBeGreaterThan(0);
    expect(stderr).toMatch(/passed \(checked: both run, outputs finite, output shapes match; outputs differ \(expected with the random SE init: pass --init preserve/);
    expect(stderr).toMatch(/max \|diff\| \S+ at output scale \(max \|original\|\) \S+, relative/);
    const strict = cli('validate', small('tiny_resnet.onnx'), out, '--ep', 'cpu', '--runs', '0', '--expect-equal', '--json');
    expect(strict.code).toBe(6);
    expect(JSON.parse(strict.stdout).validation).toMatchObject({ passed: false, checks: ['structure', 'runs', 'finite', 'shapes', 'equal'] });
    const two = cli('validate', small('tiny_resnet.onnx'), out, '--ep', 'cpu', '--runs', '0');
    expect(two.stderr).toMatch(/outputs differ \(not required: pass --expect-equal/);
  });

  it('--input-shapes takes Polygraphy\'s x:[1,3,224,224] and onnxsim\'s x:1,3,224,224 beside --dims', () => {
    const model = small('tiny_shufflenet_dynbatch.onnx');
    for (const spec of ['input:[4,3,64,64]', 'input:4,3,64,64']) {
      const r = cli('report', model, '--input-shapes', spec, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).model.boundDims).toEqual({ batch: 4 });
    }
    const v = cli('validate', model, model, '--input-shapes', 'input:2,3,64,64', '--ep', 'cpu', '--runs', '0', '--json');
    expect(JSON.parse(v.stdout).validation.outputs[0].shape).toEqual([2, 10]);
    expect(cli('report', model, '--input-shapes', 'input:4,3,32,32').stderr).toMatch(/input: dimension 2 is fixed at 64 in the model, not 32$/m);
    expect(cli('report', model, '--input-shapes', 'x:1,3,64,64').stderr).toMatch(/has no input of that name; its inputs are input$/m);
    expect(cli('report', model, '--input-shapes', 'input:1,3,a').code).toBe(2);
  });

  it('several models in one call: --out-dir, one summary table or one JSON document', () => {
    const dir = path.join(tmp.dir, 'many');
    const models = ['tiny_resnet.onnx', 'tiny_inception.onnx', 'tiny_densenet.onnx'].map(small);
    const table = cli(...models, '--out-dir', dir, '--ratio', '8');
    expect(table.code).toBe(5); // the first failure's code: DenseNet has nothing to insert
    expect(table.stdout).toMatch(/^model\s+blocks\s+params added\s+validation\s+output$/m);
    expect(table.stdout).toMatch(/tiny_resnet\.onnx\s+6\s+\+2,940\s+—\s+.*many\/tiny_resnet\.onnx$/m);
    expect(table.stdout).toMatch(/tiny_densenet\.onnx\s+0\s+\+0\s+—\s+nothing written \(exit 5\)$/m);
    expect(onnxCheck([path.join(dir, 'tiny_resnet.onnx'), path.join(dir, 'tiny_inception.onnx')]).map((c) => c.ok)).toEqual([true, true]);
    const doc = JSON.parse(cli(...models.slice(0, 2), '--out-dir', dir, '--force', '--json').stdout);
    expect(doc.models.map((m: { inserted: number; exitCode: number }) => [m.inserted, m.exitCode])).toEqual([[6, 0], [2, 0]]);
    expect(doc.models[0].report.ratio).toBe(16);
    const clash = cli(small('tiny_resnet.onnx'), small('tiny_resnet.onnx'), '--out-dir', dir);
    expect(clash.stderr).toMatch(/two models would both be written to .*tiny_resnet\.onnx/);
    expect(cli(...models.slice(0, 2), '--out-dir', dir, '-o', 'x.onnx').code).toBe(2);
  });

  it('a before/after op-count table, as onnxsim prints, and opCounts in JSON', () => {
    const doc = JSON.parse(cli('report', small('tiny_resnet.onnx'), '--json').stdout);
    expect(doc.opCounts.before).toEqual(doc.model.opCounts);
    // Each SE block: GlobalAveragePool, 2 Conv, Relu, Sigmoid, Mul.
    const added = (op: string) => (doc.opCounts.after[op] ?? 0) - (doc.opCounts.before[op] ?? 0);
    expect(['GlobalAveragePool', 'Conv', 'Relu', 'Sigmoid', 'Mul'].map(added)).toEqual([6, 12, 6, 6, 6]);
    const text = cli('report', small('tiny_resnet.onnx')).stdout;
    expect(text).toMatch(/^Ops\nop\s+before\s+after\s+change$/m);
    expect(text).toMatch(/^Sigmoid\s+0\s+6\s+\+6$/m);
    expect(text).toMatch(/^total\s+37\s+73\s+\+36$/m);
  });
});

