// Library options that are wrong: each is refused once, at the library boundary, with a SeInjectError
// in the library's words (option names, not CLI flags), before anything is written. And the options
// that are right but do not mean what the user likely thinks (a ratio that clamps every squeeze width).

import { inputDimSize } from '../../src/analysis/input-dims.js';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze, convertBytes, inject, loadModel } from '../../src/api.js';
import { SeInjectError } from '../../src/errors.js';
import { loadModelBytes } from '../../src/onnx/load.js';
import { resolveOptions } from '../../src/options.js';
import { ROOT, small } from '../support/fixtures.js';
import { buildModel, residualBlock } from '../support/models.js';

const BAD: Array<[string, unknown, RegExp]> = [
  ['stages as a string', { stages: 'x' }, /^option stages must be a non-empty list of stage numbers from 1 to 1000, like \[1, 2, 3\], got "x"$/],
  ['stages 0', { stages: [0, 1] }, /^option stages must be a non-empty list of stage numbers/],
  ['placement x', { placement: 'x' }, /^option placement must be one of standard, pre, post, identity, got "x"$/],
  ['options null', null, /^options must be an object such as \{ ratio: 16 \} \(or left out\), got null$/],
  ['options a number', 16, /^options must be an object/],
  ['gate relu', { gate: 'relu' }, /^option gate must be one of sigmoid, hardsigmoid, got "relu"$/],
  ['init zeros', { init: 'zeros' }, /^option init must be one of he, preserve, got "zeros"$/],
  ['bias "no"', { bias: 'no' }, /^option bias must be true or false, got "no"$/],
  ['mobilenetPlacement x', { mobilenetPlacement: 'x' }, /^option mobilenetPlacement must be one of output, v3, got "x"$/],
  ['families vgg', { families: ['vgg'] }, /^option families: "vgg" is not a pass family; choose from residual, inception, mobilenet, shufflenet$/],
  ['families empty', { families: [] }, /^option families must be a non-empty list of pass families/],
  ['batch NaN', { batch: NaN }, /^option batch must be a positive integer, got NaN$/],
  ['batch -1', { batch: -1 }, /^option batch must be a positive integer, got -1$/],
  ['batch 0', { batch: 0 }, /^option batch must be a positive integer, got 0$/],
  ['batch 1.5', { batch: 1.5 }, /^option batch must be a positive integer, got 1.5$/],
  ['ratio 0', { ratio: 0 }, /^option ratio must be a positive number \(the paper uses 16\), got 0$/],
  ['ratio as a string', { ratio: '16' }, /^option ratio must be a positive number \(the paper uses 16\), got "16"$/],
  ['ratio Infinity', { ratio: Infinity }, /^option ratio must be a positive number/],
  ['divisor 0', { divisor: 0 }, /^option divisor must be a positive integer, got 0$/],
  ['minChannels 2.5', { minChannels: 2.5 }, /^option minChannels must be a positive integer, got 2.5$/],
  ['seed -1', { seed: -1 }, /^option seed must be a non-negative integer, got -1$/],
  ['dims with a negative value', { dims: { batch: -2 } }, /^option dims: dimension "batch" must be bound to a positive integer, got -2$/],
  ['dims a list', { dims: ['batch=2'] }, /^option dims must be an object of dimension name → positive integer/],
  ['misspelt key raito', { raito: 8 }, /^unknown option "raito"; did you mean ratio\? \(options: ratio, divisor/],
  ['misspelt key Stages', { Stages: [1] }, /^unknown option "Stages"; did you mean stages\?/],
  ['unrelated key', { frobnicate: 1 }, /^unknown option "frobnicate" \(options: /],
];

const model = () => loadModel(small('tiny_resnet_dynbatch.onnx'));

describe('library options are checked at the boundary', () => {
  it.each(BAD)('%s is refused in library words', async (_name, options, message) => {
    const m = await model();
    for (const call of [() => analyze(m, options as never), () => inject(m, options as never)]) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SeInjectError);
      expect((error as SeInjectError).kind).toBe('usage');
      expect((error as SeInjectError).message).toMatch(message);
      expect((error as SeInjectError).message).not.toMatch(/--|se-inject report/);
    }
    // Refused before the model is touched: the inject call changed nothing.
    expect(m.proto.metadataProps.map((p) => p.key)).not.toContain('se-inject');
  });

  it('convertBytes refuses a bad option before it reads the bytes, and accepts its own keys', () => {
    const bytes = new Uint8Array(readFileSync(small('tiny_resnet.onnx')));
    expect(() => convertBytes(new Uint8Array([1, 2, 3]), { gate: 'relu' } as never)).toThrow(/^option gate must be one of/);
    expect(convertBytes(bytes, { label: 'tiny', ratio: 4 }).report.inserted).toBeGreaterThan(0);
  });

  it('dims naming a dimension the model lacks is refused, naming the ones it has', async () => {
    const m = await model();
    expect(() => analyze(m, { dims: { foo: 3 } })).toThrow(/^option dims binds foo, but .*tiny_resnet_dynbatch\.onnx has no dimension of that name; its dynamic dimensions are batch$/);
    expect(analyze(m, { dims: { batch: 2 } }).inserted).toBeGreaterThan(0);
    const fixed = loadModelBytes(new Uint8Array(readFileSync(small('tiny_resnet.onnx'))), { label: 'static' });
    expect(() => analyze(fixed, { dims: { batch: 2 } })).toThrow(/^option dims binds batch, but static has no dimension of that name; it has no named dynamic dimensions$/);
  });

  it('dynamic H and W of an image take 224 unless bound; other unbound dynamic dimensions are named together, with one binding for all', () => {
    const spec = residualBlock();
    const image = buildModel({ ...spec, input: { name: 'x', dims: ['batch', 16, 'h', 'w'] }, output: { name: 'y', dims: ['batch', 16, 1, 1] } });
    expect(analyze(image).model.boundDims).toEqual({ batch: 1, h: 224, w: 224 });
    expect(analyze(image, { dims: { h: 8 } }).model.boundDims).toEqual({ batch: 1, h: 8, w: 224 });
    // Channels dynamic as well: which axes are H and W is not declared.
    const open = buildModel({ ...spec, input: { name: 'x', dims: ['batch', 'c', 'h', 'w'] }, output: { name: 'y', dims: ['batch', 16, 1, 1] } });
    expect(() => analyze(open)).toThrow(/^test model: input x has dynamic dimensions "c" \(axis 1\) and "h" \(axis 2\) and "w" \(axis 3\); bind them for analysis with dims: \{ "c": VALUE, "h": VALUE, "w": VALUE \} \(the sizes the report's shapes and MACs are computed at; the model written keeps them dynamic\)$/);
    expect(() => analyze(open, { dims: { c: 16, h: 8 } })).toThrow(/input x has dynamic dimension "w" \(axis 3\); bind it for analysis with dims: \{ "w": VALUE \} \(/);
    expect(analyze(open, { dims: { c: 16, h: 8, w: 8 } }).inserted).toBe(1);
  });

  it('a dynamic dimension the model leaves unnamed is bound by <input>_dim<axis>, the key its message names', () => {
    const spec = residualBlock();
    const m = buildModel({ ...spec, input: { name: 'x', dims: ['batch', 'c', 'h', 'w'] }, output: { name: 'y', dims: ['batch', 16, 1, 1] } });
    m.graph.proto.inputs[0]!.type!.shape![1] = {}; // no dim_value, no dim_param
    expect(() => analyze(m, { dims: { h: 8, w: 8 } })).toThrow(/input x has dynamic dimension "x_dim1" \(axis 1\); bind it for analysis with dims: \{ "x_dim1": VALUE \}/);
    expect(analyze(m, { dims: { x_dim1: 16, h: 8, w: 8 } }).inserted).toBe(1);
  });

  it('an image is told by its declared channels: first (N×C×H×W) or last (N×H×W×C)', () => {
    const dims = (...ds: (number | string)[]) => ds.map((d) => (typeof d === 'number' ? { value: d } : { param: d }));
    const sources = (shape: ReturnType<typeof dims>) => shape.map((_, i) => inputDimSize(shape, i, {}).source);
    expect(sources(dims('n', 3, 'h', 'w'))).toEqual(['batch', 'fixed', 'image', 'image']);
    expect(sources(dims('n', 'h', 'w', 3))).toEqual(['batch', 'image', 'image', 'fixed']);
    expect(sources(dims('n', 'c', 'h', 'w'))).toEqual(['batch', 'unbound', 'unbound', 'unbound']);
    expect(sources(dims('n', 'seq', 64))).toEqual(['batch', 'unbound', 'fixed']);
    expect(inputDimSize(dims('n', 3, 'h', 'w'), 2, { dims: { h: 96 } })).toEqual({ size: 96, source: 'bound' });
  });

  it('stages the model lacks are named in library words', async () => {
    expect(() => analyze(loadModelBytes(new Uint8Array(readFileSync(small('tiny_resnet.onnx')))), { stages: [9] }))
      .toThrow(/^option stages names stage 9, but model bytes has stages 1, 2, 3; analyze\(model\) lists them in report\.stages$/);
  });

  it('the gate written is the gate recorded: the MobileNetV3 placement defaults to hard-sigmoid in one place', async () => {
    expect(resolveOptions({ mobilenetPlacement: 'v3' })).toMatchObject({ gate: 'hardsigmoid', gateExplicit: false });
    expect(resolveOptions({ mobilenetPlacement: 'v3', gate: 'sigmoid' })).toMatchObject({ gate: 'sigmoid', gateExplicit: true });
    expect(resolveOptions(undefined)).toMatchObject({ gate: 'sigmoid', gateExplicit: false, ratio: 16 });
    const m = await loadModel(small('tiny_mobilenet_v2.onnx'));
    const report = inject(m, { mobilenetPlacement: 'v3' });
    const gates = m.graph.nodes.filter((n) => n.name.endsWith('/gate')).map((n) => n.opType);
    expect(gates.length).toBe(report.inserted);
    expect(new Set(gates)).toEqual(new Set(['HardSigmoid']));
    expect(JSON.parse(m.proto.metadataProps.find((p) => p.key === 'se-inject')!.value).gate).toBe('hardsigmoid');
    expect(report.options.gate).toBe('hardsigmoid');
  });

  it('a ratio that clamps every squeeze width to the minimum says so in the report', async () => {
    const clamped = analyze(await model(), { ratio: 1000 });
    expect(clamped.notes).toEqual([expect.stringMatching(/^ratio 1000 clamps every block's \(\d+\) squeeze width to the minimum 1 \(e\.g\. \d+ channels \/ 1000 = [\d.]+\)/)]);
    expect(clamped.blocks.every((b) => b.squeezeChannels === 1)).toBe(true);
    expect(analyze(await model(), { ratio: 16 }).notes).toBeUndefined();
  });

  it('the CLI prints that note on stderr, and the JSON report carries it', () => {
    const cli = path.join(ROOT, 'dist/src/cli/main.js');
    const r = spawnSync(process.execPath, [cli, 'report', small('tiny_resnet.onnx'), '--ratio', '1000', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^se-inject: note: ratio 1000 clamps every block's \(\d+\) squeeze width to the minimum 1/m);
    expect((JSON.parse(r.stdout) as { notes: string[] }).notes).toHaveLength(1);
  });
});
