// Detection and segmentation exports as conversion pipelines bring them (torchvision's Faster R-CNN,
// RetinaNet, SSDlite, Mask R-CNN): the backbone sits behind a transform that computes its resize and
// padding sizes from the image's size in scalar arithmetic, and behind heads and NMS. Small graphs
// written the way torch.onnx writes those parts.

import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile, loadModel } from '../src/api.js';
import { inferShapes } from '../src/analysis/shapes.js';
import { AttrType, DataType } from '../src/onnx/proto.js';
import type { NodeProto, TensorProto } from '../src/onnx/proto.js';
import { validateModels } from '../src/validate/runtime.js';
import { buildModelBytes, conv, int64s, node } from './support/models.js';
import { onnxCheck, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-detection-');
afterAll(() => tmp.cleanup());

function floats(name: string, v: number[], dims = [v.length]): TensorProto {
  return { name, dataType: DataType.FLOAT, dims, rawData: new Uint8Array(Float32Array.from(v).buffer), externalData: [], dataLocation: 0, extras: [] };
}

/**
 * GeneralizedRCNNTransform as torch.onnx writes it, on a 3×8×8 image: scale = min_size / max(H, W)
 * (ReduceMax → Reciprocal → Mul), resize to Floor(8·scale) (Cast, Unsqueeze, Concat into Resize's
 * sizes), pad H and W up to a multiple of 32 (Div → Ceil → Mul → Sub, the pads put together with a
 * zero-length ConstantOfShape as F.pad does), stack to a batch; then one residual block.
 */
function transformThenBlock(): Uint8Array {
  const c = 4;
  const emptyI64: NodeProto = {
    ...node('ConstantOfShape', ['zero1'], ['empty']),
    attributes: [{ name: 'value', type: AttrType.TENSOR, t: int64s('v', [0]) }],
  };
  const stem = conv('img', 'stem', 3, c, 3), c1 = conv('s', 'c1', c, c), c2 = conv('r1', 'c2', c, c);
  const nodes: NodeProto[] = [
    node('ReduceMax', ['hw'], ['m'], { keepdims: 0 }),
    node('Reciprocal', ['m'], ['rm']),
    node('Mul', ['rm', 'min_size'], ['scale']),
    node('Mul', ['eight', 'scale'], ['h']),
    node('Floor', ['h'], ['hf']),
    node('Cast', ['hf'], ['hi'], { to: DataType.INT64 }),
    node('Unsqueeze', ['hi', 'ax0'], ['hu']),
    node('Concat', ['nc', 'hu', 'hu'], ['sizes'], { axis: 0 }),
    node('Unsqueeze', ['image', 'ax0'], ['x4']),
    { ...node('Resize', ['x4', '', '', 'sizes'], ['resized']), attributes: [{ name: 'mode', type: AttrType.STRING, s: 'linear' }] },
    node('Cast', ['hi'], ['hfl'], { to: DataType.FLOAT }),
    node('Div', ['hfl', 'stride'], ['q']),
    node('Ceil', ['q'], ['qc']),
    node('Mul', ['qc', 'stride'], ['padded']),
    node('Cast', ['padded'], ['pi'], { to: DataType.INT64 }),
    node('Sub', ['pi', 'hi'], ['ph']),
    node('Unsqueeze', ['ph', 'ax0'], ['phu']),
    emptyI64,
    node('Concat', ['zeros6', 'empty', 'phu', 'phu'], ['pads'], { axis: 0 }),
    node('Pad', ['resized', 'pads'], ['img']),
    stem.node, node('Relu', ['stem'], ['s']),
    c1.node, node('Relu', ['c1'], ['r1']), c2.node, node('Add', ['c2', 's'], ['sum']), node('Relu', ['sum'], ['y']),
  ];
  const inits = [
    floats('hw', [8, 8]), floats('min_size', [], []), floats('eight', [], []), floats('stride', [], []),
    int64s('ax0', [0]), int64s('nc', [1, 3]), int64s('zero1', [0]), int64s('zeros6', [0, 0, 0, 0, 0, 0]),
    ...stem.inits, ...c1.inits, ...c2.inits,
  ];
  // Scalars: min_size 20 → scale 2.5 → 20×20, padded to 32×32.
  inits[1] = floats('min_size', [20], []);
  inits[2] = floats('eight', [8], []);
  inits[3] = floats('stride', [32], []);
  return buildModelBytes({ nodes, inits, input: { name: 'image', dims: [3, 8, 8] }, output: { name: 'y', dims: [1, c, 32, 32] } });
}

describe('a detection transform in front of the backbone', () => {
  const file = path.join(tmp.dir, 'transform.onnx');
  writeFileSync(file, transformThenBlock());

  it('folds the scalar arithmetic that sizes the resize and the padding, so the backbone has shapes', async () => {
    const model = await loadModel(file);
    const shapes = inferShapes(model.graph, model.opset);
    expect(shapes.get('scale')?.values).toEqual([2.5]);
    expect(shapes.get('sizes')?.values).toEqual([1, 3, 20, 20]);
    expect(shapes.get('resized')?.dims).toEqual([1, 3, 20, 20]);
    expect(shapes.get('pads')?.values).toEqual([0, 0, 0, 0, 0, 0, 12, 12]);
    expect(shapes.get('img')?.dims).toEqual([1, 3, 32, 32]);
  });

  it('gives the block behind it SE, and the model computes the same function', async () => {
    const out = path.join(tmp.dir, 'transform_se.onnx');
    const { report } = await convertFile(file, out, { init: 'preserve' });
    expect(report.blocks.map((b) => [b.kind, b.tensor, b.channels])).toEqual([['residual', 'c2', 4]]);
    expect(onnxCheck([file, out]).map((r) => r.ok)).toEqual([true, true]);
    const v = await validateModels(file, out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
  });
});

/**
 * A feature pyramid's top-down sum over a depthwise-separable block: x at 16×16 → expand 1×1 →
 * depthwise 3×3 stride 2 → project 1×1 (8×8) → Resize ×2 → Add with a lateral 1×1 of x. The sum
 * merges two resolutions; the block inside the coarse path is a block of its own.
 */
function pyramidSum(): Uint8Array {
  const e = conv('x', 'e', 8, 16, 1), p = conv('d', 'p', 16, 8, 1), lat = conv('x', 'lat', 8, 8, 1);
  const dw = conv('er', 'dw', 16, 16, 3, 16);
  dw.node.attributes.push({ name: 'strides', type: AttrType.INTS, ints: [2, 2] });
  const nodes: NodeProto[] = [
    e.node, node('Relu', ['e'], ['er']), dw.node, node('Relu', ['dw'], ['d']), p.node,
    { ...node('Resize', ['p', '', 'up_scales'], ['up']), attributes: [{ name: 'mode', type: AttrType.STRING, s: 'nearest' }] },
    lat.node, node('Add', ['lat', 'up'], ['y']),
  ];
  const inits = [...e.inits, ...p.inits, ...lat.inits, ...dw.inits, floats('up_scales', [1, 1, 2, 2])];
  return buildModelBytes({ nodes, inits, input: { name: 'x', dims: [1, 8, 16, 16] }, output: { name: 'y', dims: [1, 8, 16, 16] } });
}

describe('a feature pyramid is no residual unit', () => {
  const file = path.join(tmp.dir, 'pyramid.onnx');
  writeFileSync(file, pyramidSum());

  it('leaves the top-down sum alone as multi-scale, and the block in its coarse path gets its SE', async () => {
    const out = path.join(tmp.dir, 'pyramid_se.onnx');
    const { report } = await convertFile(file, out, { init: 'preserve' });
    expect(report.blocks.map((b) => [b.kind, b.tensor])).toEqual([['mobilenet', 'p']]);
    const sum = report.skipped.find((s) => s.node === 'y');
    expect(sum).toMatchObject({ code: 'multi-scale' });
    expect(sum!.reason).toContain('up upsamples');
    const v = await validateModels(file, out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
  });
});
