// The committed files of fixtures/bad/, built here so that each one is a few lines anyone can read.
// A test checks the committed bytes against this builder; SE_INJECT_WRITE_BAD=1 rewrites them.
// Every model is one residual block, x[1,4,4,4] → Conv → Relu → Conv → Add(x) → y, with one defect.

import { AttrType, DataType, decodeModel, encodeModel, encodeTensor } from '../../src/onnx/proto.js';
import type { ModelProto, NodeProto, TensorProto } from '../../src/onnx/proto.js';
import { WireWriter } from '../../src/onnx/wire.js';
import { buildModelBytes, floatInit, intsAttr, node, tensorInfo } from '../validate/build-model.js';
import type { GraphSpec } from '../validate/build-model.js';
import { rng } from './mutate.js';

function conv(x: string, out: string, w: TensorProto): NodeProto {
  const n = node('Conv', [x, w.name], [out], [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1])]);
  return { ...n, name: out };
}

/** The healthy block; `edit` breaks one thing in it. */
function block(edit: (s: GraphSpec & { initializers: TensorProto[] }) => void = () => {}, inputDims: number[] = [1, 4, 4, 4]): Uint8Array {
  const w1 = floatInit('c1.w', [4, 4, 3, 3]), w2 = floatInit('c2.w', [4, 4, 3, 3]);
  const spec = {
    nodes: [conv('x', 'c1', w1), { ...node('Relu', ['c1'], ['r1']), name: 'r1' }, conv('r1', 'c2', w2), { ...node('Add', ['c2', 'x'], ['y']), name: 'add' }],
    initializers: [w1, w2],
    inputs: [tensorInfo('x', inputDims)],
    outputs: [tensorInfo('y', inputDims)],
  };
  edit(spec);
  return buildModelBytes(spec);
}

/** The block with a defect at the model level (IR version, opset imports, graph fields the spec cannot state). */
function modelEdit(edit: (m: ModelProto) => void, bytes: Uint8Array = block()): Uint8Array {
  const m = decodeModel(bytes);
  edit(m);
  return encodeModel(m).toBytes();
}

/** c1's Conv reads a bias that only a sparse_initializer defines (values [1] at index 2 of [4]). */
function sparseConvBias(): Uint8Array {
  const withBias = block((s) => { s.nodes[0]!.inputs.push('c1.b'); });
  const values: TensorProto = { ...floatInit('c1.b', [1], [1]) };
  const indices = int64s('c1.b.indices', [2]);
  const sparse = new WireWriter();
  sparse.messageField(1, encodeTensor(values));
  sparse.messageField(2, encodeTensor(indices));
  sparse.packedInt64Field(3, [4]);
  const field = new WireWriter();
  field.messageField(15, sparse);
  return modelEdit((m) => m.graph.extras.push({ no: 15, bytes: field.toBytes() }), withBias);
}

/** The healthy block, a 1.4 KB model with one SE site: the fuzzer's smallest seed. */
export const residualBlockBytes = (): Uint8Array => block();

/** c1.w (576 bytes) moved to external data at `location`, `length` bytes from offset 0. */
function external(location: string, length = 576): Uint8Array {
  return block((s) => {
    s.initializers[0] = {
      ...s.initializers[0]!, rawData: undefined, dataLocation: 1,
      externalData: [{ key: 'location', value: location }, { key: 'offset', value: '0' }, { key: 'length', value: String(length) }],
    };
  });
}

/** `depth` If nodes, each the then_branch of the one outside it: more nesting than any exporter writes. */
function nestedIfs(depth: number): Uint8Array {
  let body = new WireWriter();
  for (let i = 0; i < depth; i++) {
    const attr = new WireWriter();
    attr.stringField(1, 'then_branch');
    attr.messageField(6, body);
    attr.varintField(20, AttrType.GRAPH);
    const ifNode = new WireWriter();
    ifNode.stringField(1, 'cond');
    ifNode.stringField(2, `y${i}`);
    ifNode.stringField(4, 'If');
    ifNode.messageField(5, attr);
    body = new WireWriter();
    body.messageField(1, ifNode);
  }
  const model = new WireWriter();
  model.varintField(1, 8);
  model.messageField(7, body);
  const opset = new WireWriter();
  opset.varintField(2, 13);
  model.messageField(8, opset);
  return model.toBytes();
}

function int64s(name: string, values: number[]): TensorProto {
  const raw = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
  return { name, dataType: DataType.INT64, dims: [values.length], rawData: raw, externalData: [], dataLocation: 0, extras: [] };
}

/** Slice with step 0 (which ONNX forbids) from 3 down to 0: once folded by a loop that never ended. */
function sliceStepZero(): Uint8Array {
  return buildModelBytes({
    nodes: [node('Slice', ['data', 'starts', 'ends', 'axes', 'steps'], ['y'])],
    initializers: [int64s('data', [10, 20, 30, 40]), int64s('starts', [3]), int64s('ends', [0]), int64s('axes', [0]), int64s('steps', [0])],
    inputs: [],
    outputs: [tensorInfo('y', [4], DataType.INT64)],
  });
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

const text = (s: string) => new TextEncoder().encode(s);

/** File name (relative to fixtures/bad) → bytes. */
export function badFiles(): Record<string, Uint8Array> {
  return {
    'empty.onnx': new Uint8Array(0),
    'random.onnx': randomBytes(256, 7),
    'text.onnx': text('ir_version: 8\nproducer_name: "pytorch"\ngraph {\n  node { op_type: "Conv" }\n}\n'),
    'tensor.onnx': encodeTensor(floatInit('weight', [4, 4, 3, 3])).toBytes(),
    'cycle.onnx': block((s) => { s.nodes[0]!.inputs[0] = 'y'; }),
    'undefined-input.onnx': block((s) => { s.nodes[1]!.inputs[0] = 'ghost'; }),
    'two-writers.onnx': block((s) => { s.nodes[2]!.outputs[0] = 'c1'; s.nodes[3]!.inputs[0] = 'c1'; }),
    'conv-weight-rank.onnx': block((s) => { s.initializers[0] = floatInit('c1.w', [4, 4, 9]); }),
    'conv-weight-channels.onnx': block((s) => { s.initializers[0] = floatInit('c1.w', [4, 2, 3, 3]); }),
    'negative-dim.onnx': block(() => {}, [1, 4, -3, 4]),
    'negative-initializer-dim.onnx': block((s) => { s.initializers[0] = { ...s.initializers[0]!, dims: [4, -4, 3, 3] }; }),
    'initializer-too-short.onnx': block((s) => { s.initializers[0] = { ...s.initializers[0]!, dims: [64, 4, 3, 3] }; }),
    'absurd-dims.onnx': block(() => {}, [1, 4, 1_000_000, 1_000_000]),
    'deep-subgraphs.onnx': nestedIfs(65),
    'opset-5.onnx': block((s) => { s.opset = 5; }),
    // Models that are invalid already: refused as input, never "converted" into an invalid output.
    'invalid/conv-weight-type-999.onnx': block((s) => { s.initializers[0] = { ...s.initializers[0]!, dataType: 999 }; }),
    'invalid/conv-weight-undefined.onnx': block((s) => { s.initializers[0] = { ...s.initializers[0]!, dataType: DataType.UNDEFINED }; }),
    'invalid/conv-weight-string.onnx': block((s) => { s.initializers[0] = { ...s.initializers[0]!, dataType: DataType.STRING }; }),
    'invalid/conv-weight-no-data.onnx': block((s) => { s.initializers[0] = { ...s.initializers[0]!, rawData: undefined }; }),
    'invalid/conv-five-inputs.onnx': block((s) => { s.nodes[0]!.inputs.push('', 'x', 'x'); }),
    'invalid/conv-two-outputs.onnx': block((s) => { s.nodes[0]!.outputs.push('c1.extra'); }),
    'invalid/two-default-opsets.onnx': modelEdit((m) => { m.opsetImport.push({ domain: '', version: 5 }); }),
    'invalid/graph-without-name.onnx': modelEdit((m) => { m.graph.name = ''; }),
    'invalid/ir-version-negative.onnx': modelEdit((m) => { m.irVersion = -1; }),
    'invalid/ir-version-2-62.onnx': modelEdit((m) => { m.irVersion = 2 ** 62; }),
    'invalid/sparse-conv-bias.onnx': sparseConvBias(),
    // value_info left stale by a tool that edited the graph: onnx's full check fails on it, input and output alike.
    'invalid/value-info-wrong-size.onnx': modelEdit((m) => { m.graph.valueInfo.push(tensorInfo('r1', [1, 4, 2, 2])); }),
    'invalid/value-info-wrong-type.onnx': modelEdit((m) => { m.graph.valueInfo.push(tensorInfo('r1', [1, 4, 4, 4], DataType.DOUBLE)); }),
    'invalid/output-wrong-shape.onnx': block((s) => { s.outputs = [tensorInfo('y', [1, 4, 2, 2])]; }),
    // Inputs that once gave an invalid output; they must convert into a valid one.
    'once-failed/value-info-named-like-se.onnx': modelEdit((m) => { m.graph.valueInfo.push(tensorInfo('se/stage1.block1/gate', [7], DataType.INT64)); }),
    'opset-99.onnx': block((s) => { s.opset = 99; }),
    'fuzz-regressions/slice-step-zero.onnx': sliceStepZero(),
    'ext-missing/model.onnx': external('weights.bin'),
    'ext-short/model.onnx': external('weights.bin'),
    'ext-short/weights.bin': randomBytes(100, 8),
    'ext-length-short/model.onnx': external('weights.bin', 100),
    'ext-length-short/weights.bin': randomBytes(1000, 9),
    'ext-escape/model.onnx': external('../../etc/passwd'),
    'ext-absolute/model.onnx': external('/etc/passwd'),
    // A location that would print a second, forged line and colour the terminal red if shown raw.
    'ext-control-chars/model.onnx': external('weights.bin\nse-inject: wrote out.onnx\u001b[31m'),
  };
}
