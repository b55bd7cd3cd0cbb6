import { describe, expect, it } from 'vitest';
import { SeInjectError } from '../../src/errors.js';
import { loadModelFile } from '../../src/onnx/load.js';
import { DataType, decodeModel, encodeModel } from '../../src/onnx/proto.js';
import { residualBlockBytes } from '../reliability/bad-models.js';
import { serializeModel } from '../../src/onnx/save.js';
import { median, summarizeLatency, validateModels } from '../../src/validate/runtime.js';
import type { ValidateOptions } from '../../src/validate/runtime.js';
import { FUTURE_FIELDS, small } from '../support/fixtures.js';
import { convertBytes } from '../../src/api.js';
import { readFileSync } from 'node:fs';
import { buildModelBytes, convReluSpec, intAttr, node, tensorInfo } from './build-model.js';

// No latency runs: these tests check what is compared, never how fast.
const CPU: ValidateOptions = { ep: 'cpu', runs: 0 };

/** future-fields.onnx with the first Conv's weights scaled by 1.5: same graph, another function. */
async function futureFieldsWithScaledWeights(): Promise<Uint8Array> {
  const model = await loadModelFile(FUTURE_FIELDS);
  const w = model.graph.initializer('w1')!;
  // A copy: the loaded bytes may be a Buffer view into a shared pool.
  const values = new Float32Array(new Uint8Array(w.rawData!).buffer).map((v) => v * 1.5);
  Object.assign(w, { rawData: new Uint8Array(values.buffer), src: undefined });
  return serializeModel(model);
}

describe('validateModels', () => {
  it('passes a model compared with itself, with zero differences', async () => {
    const result = await validateModels(FUTURE_FIELDS, FUTURE_FIELDS, { ...CPU, expectEqual: true });
    expect(result).toEqual({
      ep: 'cpu',
      tried: [{ ep: 'cpu', ok: true }],
      outputs: [{ name: 'y', shape: [1, 32, 16, 16], elemType: 'float32', maxAbsDiff: 0, maxRelDiff: 0, scale: expect.any(Number), finite: true, withinTolerance: true }],
      latency: undefined,
      passed: true,
      checks: ['structure', 'runs', 'finite', 'shapes', 'equal'],
      outputsEqual: true,
      problems: [],
    });
  });

  it('binds the leading dynamic dimension to the batch size', async () => {
    const result = await validateModels(FUTURE_FIELDS, FUTURE_FIELDS, { ...CPU, batch: 3 });
    expect(result.outputs[0]!.shape).toEqual([3, 32, 16, 16]);
  });

  it('takes model bytes as well as paths', async () => {
    const bytes = buildModelBytes(convReluSpec());
    const result = await validateModels({ bytes }, { bytes, label: 'copy' }, { ...CPU, expectEqual: true });
    expect(result.passed).toBe(true);
    expect(result.outputs.map((o) => [o.name, o.shape, o.maxAbsDiff])).toEqual([['y', [1, 8, 8, 8], 0]]);
  });

  it('reports differences of a modified copy and fails only when equal outputs are expected', async () => {
    const modified = { bytes: await futureFieldsWithScaledWeights() };
    const loose = await validateModels(FUTURE_FIELDS, modified, CPU);
    expect(loose.outputs[0]!.maxAbsDiff).toBeGreaterThan(1e-3);
    expect(loose.outputs[0]!.maxRelDiff).toBeGreaterThan(1e-3);
    expect(loose.passed).toBe(true);
    const strict = await validateModels(FUTURE_FIELDS, modified, { ...CPU, expectEqual: true });
    expect(strict.passed).toBe(false);
    expect(strict.outputs[0]!.withinTolerance).toBe(false);
    expect(strict.problems).toEqual([expect.stringMatching(/^output y differs beyond tolerance/)]);
  });

  it('a preserved injection passes a zero tolerance: where fused kernels round the two graphs apart, the graphs as written are equal', async () => {
    const original = small('tiny_resnet.onnx');
    const { bytes } = convertBytes(new Uint8Array(readFileSync(original)), { init: 'preserve' });
    const r = await validateModels(original, { bytes: bytes! }, { ...CPU, expectEqual: true, rtol: 0, atol: 0 });
    expect(r.problems).toEqual([]);
    expect(r.passed).toBe(true);
    // Compared again only where the optimized runs differed; as written, not a bit apart.
    expect(r.unoptimized !== undefined).toBe(r.outputs.some((o) => o.maxAbsDiff > 0));
    expect((r.unoptimized ?? r.outputs).map((o) => o.maxAbsDiff)).toEqual([0]);
    // A model that computes something else fails the second comparison too.
    const scaled = await validateModels(FUTURE_FIELDS, { bytes: await futureFieldsWithScaledWeights() }, { ...CPU, expectEqual: true });
    expect(scaled.unoptimized?.[0]?.withinTolerance).toBe(false);
    expect(scaled.passed).toBe(false);
  });

  it('gives the same inputs for the same seed', async () => {
    const original = buildModelBytes(convReluSpec());
    const scaled = { bytes: buildModelBytes(convReluSpec({ weightScale: 1.01 })) };
    const run = (seed: number) => validateModels({ bytes: original }, scaled, { ...CPU, seed });
    const [a, b, c] = await Promise.all([run(5), run(5), run(6)]);
    expect(a.outputs[0]!.maxAbsDiff).toBe(b.outputs[0]!.maxAbsDiff);
    expect(a.outputs[0]!.maxAbsDiff).not.toBe(c.outputs[0]!.maxAbsDiff);
  });

  it('runs a dynamic image at 224×224 unless --dims says otherwise, and asks for any other dynamic dimension', async () => {
    const bytes = buildModelBytes(convReluSpec({ inputDims: ['N', 4, 'H', 'W'] }));
    const defaulted = await validateModels({ bytes }, { bytes }, CPU);
    expect(defaulted.outputs[0]!.shape).toEqual([1, 8, 224, 224]);
    const bound = await validateModels({ bytes }, { bytes }, { ...CPU, batch: 2, dims: { H: 6, W: 5 } });
    expect(bound.outputs[0]!.shape).toEqual([2, 8, 6, 5]);
    // Channels dynamic too: not an image whose H and W se-inject can tell apart.
    const open = buildModelBytes(convReluSpec({ inputDims: ['N', 'C', 'H', 'W'] }));
    const error = await validateModels({ bytes: open }, { bytes: open }, CPU).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeInjectError);
    expect((error as SeInjectError).kind).toBe('usage');
    expect((error as SeInjectError).message).toMatch(/input x has a dynamic dimension 1 \(C\); give its size with --dims C=N/);
  });

  it('passes float16 inputs and compares float16 outputs', async () => {
    const bytes = buildModelBytes({
      nodes: [node('Identity', ['x'], ['half']), node('Cast', ['x'], ['single'], [intAttr('to', DataType.FLOAT)])],
      inputs: [tensorInfo('x', [2, 3], DataType.FLOAT16)],
      outputs: [tensorInfo('half', [2, 3], DataType.FLOAT16), tensorInfo('single', [2, 3])],
    });
    const result = await validateModels({ bytes }, { bytes }, { ...CPU, expectEqual: true });
    expect(result.passed).toBe(true);
    expect(result.outputs.map((o) => [o.name, o.elemType, o.maxAbsDiff])).toEqual([['half', 'float16', 0], ['single', 'float32', 0]]);
  });

  it('duplicate node names: onnxruntime refuses the original, with no structure problem per node; a name the rewrite duplicated is said once', async () => {
    const input = decodeModel(residualBlockBytes());
    input.graph.nodes.forEach((n) => { n.name = 'layer'; });
    const bytes = encodeModel(input).toBytes();
    const injected = convertBytes(bytes, { init: 'preserve' }).bytes!;
    const shared = await validateModels({ bytes }, { bytes: injected }, { ...CPU, expectEqual: true });
    expect(shared.problems).toEqual([expect.stringMatching(/^original model: onnxruntime \(cpu\) cannot load it: .*two nodes with same node name \(layer\)/)]);

    const unique = residualBlockBytes();
    const clash = decodeModel(convertBytes(unique, { init: 'preserve' }).bytes!);
    clash.graph.nodes.filter((n) => n.name.startsWith('se/')).forEach((n) => { n.name = 'se'; });
    const result = await validateModels({ bytes: unique }, { bytes: encodeModel(clash).toBytes() }, { ...CPU, expectEqual: true });
    expect(result.problems[0]).toBe('injected model: two nodes are named se: give each node a unique name');
    expect(result.problems.filter((p) => p.includes('two nodes are named'))).toHaveLength(1);
  });

  it('fails on a changed output shape, a renamed output and non-finite values', async () => {
    const original = { bytes: buildModelBytes(convReluSpec()) };
    const padded = convReluSpec();
    padded.nodes[0]!.attributes[1] = { ...padded.nodes[0]!.attributes[1]!, ints: [0, 0, 0, 0] };
    padded.outputs = [tensorInfo('y', [1, 8, 6, 6])];
    const shape = await validateModels(original, { bytes: buildModelBytes(padded) }, CPU);
    expect(shape.problems).toEqual(['output y has shape [1, 8, 8, 8] in the original but [1, 8, 6, 6] in the injected model']);

    const renamed = convReluSpec();
    renamed.nodes[1]!.outputs = ['z'];
    renamed.outputs = [tensorInfo('z', [1, 8, 8, 8])];
    const names = await validateModels(original, { bytes: buildModelBytes(renamed) }, CPU);
    expect(names.problems).toEqual(['output names differ: original has y, injected has z; a rewrite must keep the graph outputs']);

    const logOf = (op: string) => ({ bytes: buildModelBytes({
      nodes: [node(op, ['x'], ['y'])], inputs: [tensorInfo('x', [64])], outputs: [tensorInfo('y', [64])],
    }) });
    const nan = await validateModels(logOf('Abs'), logOf('Log'), CPU);
    expect(nan.passed).toBe(false);
    expect(nan.outputs[0]!.finite).toBe(false);
    expect(nan.problems).toEqual([expect.stringMatching(/^output y has NaN or infinite values/)]);
    // NaN in the original already (the log of the random inputs below zero): said so, not blamed on the rewrite.
    const already = await validateModels(logOf('Log'), logOf('Log'), CPU);
    expect(already.passed).toBe(false);
    expect(already.problems).toEqual([expect.stringMatching(/^output y is NaN or infinite in the original model already \([1-9]\d* of 64 values\) on these inputs, so the rewrite cannot be judged on them: validate with inputs the model is meant for \(--inputs\)$/)]);
  });

  it('reports a model onnxruntime refuses to load as a failure, not a crash', async () => {
    const original = { bytes: buildModelBytes(convReluSpec()) };
    const broken = convReluSpec();
    broken.nodes[1]!.opType = 'Frobnicate';
    const result = await validateModels(original, { bytes: buildModelBytes(broken) }, CPU);
    expect(result.passed).toBe(false);
    expect(result.outputs).toEqual([]);
    expect(result.problems[0]).toMatch(/^injected model: node relu_y uses Frobnicate, which is not an ONNX operator/);
    expect(result.problems[1]).toMatch(/^injected model: onnxruntime \(cpu\) cannot load it: /);
    expect(result.problems[1]).not.toContain('\n');
  });

  it('rejects options that make no sense before running anything', async () => {
    await expect(validateModels(FUTURE_FIELDS, FUTURE_FIELDS, { ...CPU, batch: 0 })).rejects.toThrow(/--batch must be an integer of at least 1/);
    await expect(validateModels(FUTURE_FIELDS, FUTURE_FIELDS, { ...CPU, runs: -1 })).rejects.toThrow(/--runs/);
  });
});

describe('latency summary', () => {
  it('takes medians of interleaved runs and their ratio', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(summarizeLatency([10, 12, 11], [13, 11, 12])).toEqual({ original: 11, injected: 12, ratio: 12 / 11, runs: 3 });
  });
});
