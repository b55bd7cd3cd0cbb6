// Small ONNX models built in code for the validate tests: each test states its graph in a few lines,
// encoded with the project's own writer and loaded back through the loader.

import type { Model } from '../../src/ir/model.js';
import { loadModelBytes } from '../../src/onnx/load.js';
import { AttrType, DataType, encodeModel } from '../../src/onnx/proto.js';
import type { AttributeProto, NodeProto, TensorProto, ValueInfoProto } from '../../src/onnx/proto.js';

export function node(opType: string, inputs: string[], outputs: string[], attributes: AttributeProto[] = [], domain = ''): NodeProto {
  return { name: `${opType.toLowerCase()}_${outputs[0]}`, opType, domain, inputs, outputs, attributes, metadataProps: [], extras: [] };
}

export const intAttr = (name: string, i: number): AttributeProto => ({ name, type: AttrType.INT, i });
export const floatAttr = (name: string, f: number): AttributeProto => ({ name, type: AttrType.FLOAT, f });
export const intsAttr = (name: string, ints: number[]): AttributeProto => ({ name, type: AttrType.INTS, ints });

/** A tensor's type and shape; strings are dim_params. */
export function tensorInfo(name: string, dims: (number | string)[], elemType: number = DataType.FLOAT): ValueInfoProto {
  return { name, type: { elemType, shape: dims.map((d) => (typeof d === 'number' ? { value: d } : { param: d })) } };
}

/** A float32 initializer; values default to a fixed, non-trivial pattern. */
export function floatInit(name: string, dims: number[], values?: number[]): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from(values ?? Array.from({ length: n }, (_, i) => ((i * 7) % 11) / 11 - 0.5));
  return { name, dataType: DataType.FLOAT, dims, rawData: new Uint8Array(data.buffer), externalData: [], dataLocation: 0, extras: [] };
}

export interface GraphSpec {
  nodes: NodeProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  initializers?: TensorProto[];
  valueInfo?: ValueInfoProto[];
  opset?: number;
}

export function buildModelBytes(spec: GraphSpec): Uint8Array {
  return encodeModel({
    irVersion: 8, producerName: 'se-inject tests', producerVersion: '', hasGraph: true,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }], metadataProps: [], extras: [],
    graph: {
      name: 'test', nodes: spec.nodes, initializers: spec.initializers ?? [], inputs: spec.inputs, outputs: spec.outputs,
      valueInfo: spec.valueInfo ?? [], sparseInitializerNames: [], extras: [],
    },
  }).toBytes();
}

export function buildModel(spec: GraphSpec): Model {
  return loadModelBytes(buildModelBytes(spec), { label: 'test model' });
}

/** x [N,4,8,8] → Conv 3×3 (8 filters, pad 1) → Relu → y [N,8,8,8]; `weightScale` changes the function. */
export function convReluSpec(options: { inputDims?: (number | string)[]; weightScale?: number } = {}): GraphSpec {
  const w = floatInit('w', [8, 4, 3, 3]);
  const scale = options.weightScale ?? 1;
  if (scale !== 1) {
    const values = new Float32Array(w.rawData!.buffer.slice(0)).map((v) => v * scale);
    w.rawData = new Uint8Array(values.buffer);
  }
  return {
    nodes: [
      node('Conv', ['x', 'w', 'b'], ['c'], [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1])]),
      node('Relu', ['c'], ['y']),
    ],
    inputs: [tensorInfo('x', options.inputDims ?? [1, 4, 8, 8])],
    outputs: [tensorInfo('y', [options.inputDims?.[0] ?? 1, 8, 8, 8])],
    initializers: [w, floatInit('b', [8])],
  };
}
