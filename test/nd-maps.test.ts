// Feature maps of other ranks: 1-D (N×C×L: speech and audio nets) and 3-D (N×C×D×H×W: video nets) take
// SE as images do, its squeeze a global pool over every spatial axis and its excitation 1×1 convs of
// the map's rank. Tokens (N×L×D), which no conv lays out channels first, take none.

import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import { formatText } from '../src/report/format.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, tempDir } from './support/fixtures.js';
import { buildModel, floatInit, intsAttr, node, tensorInfo } from './validate/build-model.js';

const AUDIO = path.join(ROOT, 'fixtures/families/audio_1d_op13.onnx');
const VIDEO = path.join(ROOT, 'fixtures/families/video_3d_op13.onnx');
const TOKENS = path.join(ROOT, 'fixtures/families/audio_transformer_1d_op13.onnx');
const tmp = tempDir('se-inject-nd-');
afterAll(() => tmp.cleanup());

/** The dims of every SE weight of the written model, by name. */
async function weightDims(file: string): Promise<Map<string, number[]>> {
  const m = await loadModel(file);
  return new Map(m.graph.proto.initializers.filter((t) => t.name.startsWith('se/')).map((t) => [t.name, [...t.dims]]));
}

describe('1-D and 3-D feature maps', () => {
  it.each([
    ['audio', AUDIO, 1, 'L', '64'],
    ['video', VIDEO, 3, 'D×H×W', '4×16×16'],
  ] as const)('%s: SE convs of the map rank, the size column named for it, parameters as for images', async (_, file, axes, column, firstSize) => {
    const out = path.join(tmp.dir, path.basename(file));
    const { report } = await convertFile(file, out, { overwrite: true });
    expect(report.inserted).toBeGreaterThan(3);
    const dims = await weightDims(out);
    const b = report.blocks[0]!;
    expect(dims.get(`${b.name}/fc1.weight`)).toEqual([b.squeezeChannels, b.channels, ...new Array(axes).fill(1)]);
    // Two FCs with biases: 2·C·C/r + C/r + C, whatever the rank.
    expect(b.params).toBe(2 * b.channels * b.squeezeChannels! + b.squeezeChannels! + b.channels);
    const text = formatText(report);
    expect(text).toMatch(new RegExp(`C_s  ${column} `));
    expect(report.stages[0]!.resolution).toBe(firstSize);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
  });

  it.each(['eca', 'cbam'] as const)('--block %s on 1-D and 3-D maps: a model the checker and ONNX Runtime accept, the formula its exact count (r dividing every width)', async (block) => {
    for (const file of [AUDIO, VIDEO]) {
      const out = path.join(tmp.dir, `${block}_${path.basename(file)}`);
      const { report } = await convertFile(file, out, { block, overwrite: true, bias: false, ratio: 2 });
      expect(report.params.added).toBe(report.params.formula);
      expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
      const v = await validateModels(file, out, { ep: 'cpu', runs: 0 });
      expect(v.problems).toEqual([]);
    }
  });

  it('a block holding SE already (ECAPA-TDNN\'s 1-D form, X3D\'s 3-D one) is left alone as has-se', async () => {
    for (const file of [AUDIO, VIDEO]) {
      const r = analyze(await loadModel(file));
      const held = r.candidates.filter((c) => c.code === 'has-se');
      expect(held.length, file).toBeGreaterThan(0);
    }
  });

  it('SE pooled by a window spanning the whole 1-D map (F.avg_pool1d(x, L)) is attention already: has-se', () => {
    const model = buildModel({
      nodes: [
        node('Conv', ['x', 'w0'], ['s'], [intsAttr('kernel_shape', [1])]),
        node('Conv', ['s', 'w'], ['c'], [intsAttr('kernel_shape', [3]), intsAttr('pads', [1, 1])]),
        node('AveragePool', ['c'], ['p'], [intsAttr('kernel_shape', [16])]),
        node('Conv', ['p', 'w1'], ['h'], [intsAttr('kernel_shape', [1])]), node('Relu', ['h'], ['r']),
        node('Conv', ['r', 'w2'], ['e'], [intsAttr('kernel_shape', [1])]), node('Sigmoid', ['e'], ['g']),
        node('Mul', ['c', 'g'], ['m']), node('Add', ['m', 's'], ['y']),
      ],
      inputs: [tensorInfo('x', [1, 8, 16])], outputs: [tensorInfo('y', [1, 8, 16])],
      initializers: [floatInit('w0', [8, 8, 1]), floatInit('w', [8, 8, 3]), floatInit('w1', [2, 8, 1]), floatInit('w2', [8, 2, 1])],
    });
    const r = analyze(model);
    expect(r.inserted).toBe(0);
    expect(r.candidates.map((c) => c.code)).toContain('has-se');
  });

  it.each([
    ['N×C×L', [1, 8, 16], [3]],
    ['N×C×D×H×W', [1, 8, 4, 6, 6], [3, 3, 3]],
  ] as const)('a graph input a conv reads (%s) is a map: the residual block it feeds gets SE', (_, dims, kernel) => {
    const k = [...kernel], pads = [...k.map(() => 1), ...k.map(() => 1)];
    const model = buildModel({
      nodes: [
        node('Conv', ['x', 'w1'], ['a'], [intsAttr('kernel_shape', k), intsAttr('pads', pads)]), node('Relu', ['a'], ['r']),
        node('Conv', ['r', 'w2'], ['c'], [intsAttr('kernel_shape', k), intsAttr('pads', pads)]), node('Add', ['c', 'x'], ['y']),
      ],
      inputs: [tensorInfo('x', [...dims])], outputs: [tensorInfo('y', [...dims])],
      initializers: [floatInit('w1', [8, 8, ...k]), floatInit('w2', [8, 8, ...k])],
    });
    const r = analyze(model, { ratio: 4 });
    expect(r.blocks.map((b) => [b.tensor, b.channels])).toEqual([['c', 8]]);
  });

  it('a rank-3 graph input no conv reads stays no map (tokens into a transformer block)', () => {
    const model = buildModel({
      nodes: [
        node('MatMul', ['x', 'w1'], ['a']), node('Relu', ['a'], ['r']), node('MatMul', ['r', 'w2'], ['c']), node('Add', ['c', 'x'], ['y']),
      ],
      inputs: [tensorInfo('x', [1, 16, 8])], outputs: [tensorInfo('y', [1, 16, 8])],
      initializers: [floatInit('w1', [8, 8]), floatInit('w2', [8, 8])],
    });
    expect(analyze(model).inserted).toBe(0);
  });

  it('tokens from a Conv1d patch embedding are no map: nothing to insert, and --at names why', async () => {
    const model = await loadModel(TOKENS);
    expect(analyze(model).inserted).toBe(0);
    expect(() => analyze(model, { at: ['/layers/layers.0/norm1/Add_1_output_0'] })).toThrow(/is 3-D 1×16×16 float, not a float N×C×H×W feature map \(nor an N×C×L or N×C×D×H×W one, laid out channels first by a conv or a pool\)/);
    // The embedding's own output is a 1-D map: a user may name it.
    expect(analyze(model, { at: ['/embed/Conv_output_0'] }).blocks.map((b) => [b.tensor, b.channels])).toEqual([['/embed/Conv_output_0', 16]]);
  });
});
