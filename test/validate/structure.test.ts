import { describe, expect, it } from 'vitest';
import { loadModelFile } from '../../src/onnx/load.js';
import { AttrType } from '../../src/onnx/proto.js';
import { checkStructure } from '../../src/validate/structure.js';
import { FUTURE_FIELDS } from '../support/fixtures.js';
import { buildModel, convReluSpec, floatAttr, floatInit, intAttr, intsAttr, node, tensorInfo } from './build-model.js';


/** y = op(x) over [1,4] floats, for checks on one node. */
function oneNode(opType: string, options: { domain?: string; opset?: number; inputs?: string[] } = {}) {
  return buildModel({
    nodes: [node(opType, options.inputs ?? ['x'], ['y'], [], options.domain)],
    inputs: [tensorInfo('x', [1, 4])],
    outputs: [tensorInfo('y', [1, 4])],
    opset: options.opset,
  });
}

describe('checkStructure', () => {
  it('finds nothing in a valid residual block (future-fields.onnx)', async () => {
    expect(checkStructure(await loadModelFile(FUTURE_FIELDS))).toEqual([]);
  });

  it('finds nothing in a hand-built Conv → Relu', () => {
    expect(checkStructure(buildModel(convReluSpec()))).toEqual([]);
  });

  it('IR 3: reports initializers that are not graph inputs, and accepts them once declared', () => {
    const model = buildModel(convReluSpec());
    model.proto.irVersion = 3;
    expect(checkStructure(model)).toEqual([expect.stringMatching(/IR version 3 requires every initializer to be a graph input; .* are not/)]);
    for (const t of model.graph.proto.initializers) model.graph.addInitializerInput(t);
    expect(checkStructure(model)).toEqual([]);
  });

  it('reports an op that ONNX does not define, naming the node', () => {
    const problems = checkStructure(oneNode('Frobnicate'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/node frobnicate_y uses Frobnicate, which is not an ONNX operator/);
  });

  it('leaves ops of custom domains alone (negative case)', () => {
    expect(checkStructure(oneNode('Frobnicate', { domain: 'com.example' }))).toEqual([]);
  });

  it('reports an op newer than the model opset', () => {
    const problems = checkStructure(oneNode('HardSwish', { opset: 13 }));
    expect(problems).toEqual([expect.stringMatching(/HardSwish, which ONNX added in opset 14, but the model imports opset 13/)]);
    expect(checkStructure(oneNode('HardSwish', { opset: 14 }))).toEqual([]);
  });

  it('reports a deprecated op at an opset that rejects it', () => {
    expect(checkStructure(oneNode('Upsample', { opset: 13 }))[0]).toMatch(/deprecated since opset 10.*Resize/);
  });

  it('reports a node that reads an undefined tensor (through lintGraph)', () => {
    const problems = checkStructure(oneNode('Relu', { inputs: ['ghost'] }));
    expect(problems).toEqual([expect.stringMatching(/reads ghost, which no node, graph input or initializer defines/)]);
  });

  it('reports a Conv whose weight does not match the input channels', () => {
    const spec = convReluSpec();
    spec.initializers![0] = floatInit('w', [8, 3, 3, 3]);
    const problems = checkStructure(buildModel(spec));
    expect(problems).toEqual([expect.stringMatching(/Conv weight w \[8,3,3,3\] takes 3×1 \(group\) = 3 input channels but x has 4/)]);
  });

  it('accepts a grouped Conv whose weight has channels / group (negative case)', () => {
    const spec = convReluSpec();
    spec.initializers![0] = floatInit('w', [8, 2, 3, 3]);
    spec.nodes[0]!.attributes.push(intAttr('group', 2));
    expect(checkStructure(buildModel(spec))).toEqual([]);
  });

  it('reports a Conv weight of the wrong rank and a bias of the wrong length', () => {
    const spec = convReluSpec();
    spec.initializers = [floatInit('w', [8, 4, 3]), floatInit('b', [8])];
    expect(checkStructure(buildModel(spec))[0]).toMatch(/has rank 3 but input x \[1,4,8,8\] has rank 4/);
    spec.initializers = [floatInit('w', [8, 4, 3, 3]), floatInit('b', [6])];
    expect(checkStructure(buildModel(spec))[0]).toMatch(/Conv bias b \[6\] must be \[8\]/);
  });

  it('reports attributes of the wrong type and attributes later opsets made inputs', () => {
    const spec = convReluSpec();
    spec.nodes[0]!.attributes.push(floatAttr('group', 1));
    expect(checkStructure(buildModel(spec))).toEqual([
      expect.stringMatching(/attribute group of Conv is FLOAT, but ONNX defines it as INT/),
    ]);
    const clip = (opset: number) => buildModel({
      nodes: [node('Clip', ['x'], ['y'], [floatAttr('min', 0), floatAttr('max', 6)])],
      inputs: [tensorInfo('x', [1, 4])], outputs: [tensorInfo('y', [1, 4])], opset,
    });
    expect(checkStructure(clip(9))).toEqual([]);
    expect(checkStructure(clip(13))).toHaveLength(2);
    expect(checkStructure(clip(13))[0]).toMatch(/attribute min, which Clip takes as an input from opset 11/);
  });

  it('checks elementwise broadcasting and Gemm inner dimensions', () => {
    const binary = (op: string, a: number[], b: number[], attributes = [] as ReturnType<typeof intAttr>[]) => buildModel({
      nodes: [node(op, ['a', 'b'], ['y'], attributes)],
      inputs: [tensorInfo('a', a), tensorInfo('b', b)], outputs: [tensorInfo('y', [])],
    });
    expect(checkStructure(binary('Mul', [1, 8, 4, 4], [1, 3, 1, 1]))[0]).toMatch(/Mul cannot broadcast a \[1,8,4,4\] with b \[1,3,1,1\] \(8 vs 3/);
    expect(checkStructure(binary('Mul', [1, 8, 4, 4], [1, 8, 1, 1]))).toEqual([]);
    expect(checkStructure(binary('Add', [8, 4, 4], [4]))).toEqual([]);
    expect(checkStructure(binary('Gemm', [1, 16], [10, 16])))
      .toEqual([expect.stringMatching(/Gemm inner dimensions disagree: a \[1,16\] gives K=16, b \[10,16\] gives K=10/)]);
    expect(checkStructure(binary('Gemm', [1, 16], [10, 16], [intAttr('transB', 1)]))).toEqual([]);
    expect(checkStructure(binary('MatMul', [2, 3, 5], [4, 6]))[0]).toMatch(/MatMul inner dimensions disagree/);
  });

  it('infers the type of attributes written without one (IR 1)', () => {
    const spec = convReluSpec();
    spec.nodes[0]!.attributes.push({ name: 'group', type: AttrType.UNDEFINED, f: 1 });
    expect(checkStructure(buildModel(spec))[0]).toMatch(/attribute group of Conv is FLOAT/);
  });
});
