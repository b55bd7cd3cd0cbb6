// Small graphs built in code, for rules that need a named positive and a named negative case.

import { loadModelBytes } from '../../src/onnx/load.js';
import { AttrType, DataType, encodeModel } from '../../src/onnx/proto.js';
import type { AttributeProto, NodeProto, TensorProto, ValueInfoProto } from '../../src/onnx/proto.js';
import type { Model } from '../../src/ir/model.js';

let seed = 1;
function values(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out[i] = (seed / 2147483648 - 0.5) * 0.2;
  }
  return out;
}

export function weight(name: string, dims: number[], dataType = DataType.FLOAT): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const raw = dataType === DataType.INT64
    ? new Uint8Array(new BigInt64Array(n).buffer)
    : new Uint8Array(values(n).buffer);
  return { name, dataType, dims, rawData: raw, externalData: [], dataLocation: 0, extras: [] };
}

export function int64s(name: string, v: number[]): TensorProto {
  return { name, dataType: DataType.INT64, dims: [v.length], rawData: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer), externalData: [], dataLocation: 0, extras: [] };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, number | number[]> = {}, name = outputs[0]!): NodeProto {
  const attributes: AttributeProto[] = Object.entries(attrs).map(([k, v]) =>
    Array.isArray(v) ? { name: k, type: AttrType.INTS, ints: v } : { name: k, type: AttrType.INT, i: v });
  return { name, opType, domain: '', inputs, outputs, attributes, metadataProps: [], extras: [] };
}

export function conv(x: string, out: string, cin: number, cout: number, k = 3, group = 1): { node: NodeProto; inits: TensorProto[] } {
  const w = weight(`${out}.w`, [cout, cin / group, k, k]);
  const b = weight(`${out}.b`, [cout]);
  const pad = (k - 1) / 2;
  return { node: node('Conv', [x, w.name, b.name], [out], { kernel_shape: [k, k], pads: [pad, pad, pad, pad], group }), inits: [w, b] };
}

function tensorInfo(name: string, dims: (number | string)[], elemType = DataType.FLOAT): ValueInfoProto {
  return { name, type: { elemType, shape: dims.map((d) => (typeof d === 'number' ? { value: d } : { param: d })) } };
}

export interface GraphSpec {
  nodes: NodeProto[];
  inits: TensorProto[];
  input: { name: string; dims: (number | string)[] };
  output: { name: string; dims: (number | string)[] };
  opset?: number;
}

export function buildModelBytes(spec: GraphSpec): Uint8Array {
  return encodeModel({
    irVersion: 8, opsetImport: [{ domain: '', version: spec.opset ?? 13 }], producerName: 'se-inject-tests', producerVersion: '1',
    metadataProps: [], extras: [], hasGraph: true,
    graph: {
      name: 'g', nodes: spec.nodes, initializers: spec.inits, inputs: [tensorInfo(spec.input.name, spec.input.dims)],
      outputs: [tensorInfo(spec.output.name, spec.output.dims)], valueInfo: [], sparseInitializerNames: [], extras: [],
    },
  }).toBytes();
}

export function buildModel(spec: GraphSpec): Model {
  return loadModelBytes(buildModelBytes(spec), { label: 'test model' });
}

/** x → Conv → Relu → Conv → Add(x) → Relu → GlobalAveragePool: one identity residual block of `c` channels. */
export function residualBlock(c = 16, hw = 8): GraphSpec {
  const c1 = conv('x', 'c1', c, c), c2 = conv('r1', 'c2', c, c);
  return {
    nodes: [c1.node, node('Relu', ['c1'], ['r1']), c2.node, node('Add', ['c2', 'x'], ['sum']), node('Relu', ['sum'], ['out']), node('GlobalAveragePool', ['out'], ['y'])],
    inits: [...c1.inits, ...c2.inits],
    input: { name: 'x', dims: [1, c, hw, hw] },
    output: { name: 'y', dims: [1, c, 1, 1] },
  };
}
