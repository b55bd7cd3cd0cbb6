// Inputs for a validation run and the numbers that come back. Inputs are seeded and deterministic, so
// two runs of one comparison feed the same values. Float16 travels as IEEE half bits in a Uint16Array:
// that is what onnxruntime-node 1.30 takes and returns for 'float16' on Node 20, which has no
// Float16Array (where a runtime has one, ORT accepts the Uint16Array too and returns Float16Array).

import * as ort from 'onnxruntime-node';
import { SeInjectError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { DataType } from '../onnx/proto.js';
import type { Dim } from '../onnx/proto.js';
import { floatToHalfBits, halfBitsToFloat } from '../numeric.js';
import { mulberry32 } from '../random.js';
import { inputDimSize, unnamedDimKey } from '../analysis/input-dims.js';
import type { NpyArray } from './npy.js';

export interface InputSpec {
  name: string;
  elemType: number;
  shape: Dim[];
}

export interface Binding {
  batch: number;
  dims: Record<string, number>;
}

const ORT_TYPES: Partial<Record<number, ort.Tensor.Type>> = {
  [DataType.FLOAT]: 'float32', [DataType.FLOAT16]: 'float16', [DataType.DOUBLE]: 'float64',
  [DataType.INT8]: 'int8', [DataType.UINT8]: 'uint8', [DataType.INT16]: 'int16', [DataType.UINT16]: 'uint16',
  [DataType.INT32]: 'int32', [DataType.UINT32]: 'uint32', [DataType.INT64]: 'int64', [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool',
};

/** The inputs a caller feeds: graph inputs that no initializer backs (IR < 4 lists initializers as inputs). */
export function inputSpecs(model: Model): InputSpec[] {
  return model.graph.proto.inputs
    .filter((v) => !model.graph.initializer(v.name))
    .map((v) => {
      if (!v.type?.shape) {
        throw new SeInjectError('input', `${model.label}: input ${v.name} declares no tensor shape; validation needs one to make test inputs`);
      }
      return { name: v.name, elemType: v.type.elemType, shape: v.type.shape };
    });
}

/**
 * Fixed dims stay; a dynamic dim takes its --dims value (keyed by its dim_param, or `<input>_dim<i>` when
 * unnamed), else the batch size when it leads, else an image's default H×W (input-dims.ts); any other is asked for.
 */
export function bindShape(spec: InputSpec, bind: Binding): number[] {
  return spec.shape.map((d, i) => {
    const key = d.param ?? unnamedDimKey(spec.name, i);
    const { size } = inputDimSize(spec.shape, i, bind, key);
    if (size !== undefined) return size;
    throw new SeInjectError('usage', `input ${spec.name} has a dynamic dimension ${i} (${d.param ?? 'unnamed'}); give its size with --dims ${key}=N`);
  });
}

/**
 * The arrays given (--inputs) for the inputs they name; for the others, floats uniform in [-1, 1] and
 * integer and bool zeros, which are valid indices and shapes.
 */
export function randomFeeds(specs: InputSpec[], bind: Binding, seed: number, given: Record<string, NpyArray> = {}): Record<string, ort.Tensor> {
  const next = mulberry32(seed);
  const uniform = () => next() * 2 - 1;
  const feeds: Record<string, ort.Tensor> = {};
  if (given[''] !== undefined) {
    // One .npy without a name: the model's only input.
    if (specs.length !== 1) throw new SeInjectError('usage', `--inputs gives one unnamed array, but the model takes ${specs.length} inputs (${specs.map((s) => s.name).join(', ')}); give a JSON file mapping each input name to a .npy file`);
    given = { [specs[0]!.name]: given['']! };
  }
  for (const name of Object.keys(given)) {
    if (!specs.some((s) => s.name === name)) {
      throw new SeInjectError('usage', `--inputs gives ${name}, but the model has no input of that name; its inputs are ${specs.map((s) => s.name).join(', ')}`);
    }
  }
  for (const spec of specs) {
    const type = ORT_TYPES[spec.elemType];
    if (!type) {
      throw new SeInjectError('unsupported', `input ${spec.name} has element type ${DataType[spec.elemType] ?? spec.elemType}; validation makes inputs of numeric and bool types only`);
    }
    const array = given[spec.name];
    if (array) {
      feeds[spec.name] = givenTensor(spec, type, array);
      continue;
    }
    const dims = bindShape(spec, bind);
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[spec.name] = new ort.Tensor(type, inputData(type, n, uniform), dims);
  }
  return feeds;
}

function givenTensor(spec: InputSpec, type: ort.Tensor.Type, a: NpyArray): ort.Tensor {
  if (a.type !== type) throw new SeInjectError('usage', `--inputs ${spec.name} holds ${a.type} values, but the input takes ${type}`);
  const fits = a.shape.length === spec.shape.length && spec.shape.every((d, i) => d.value === undefined || d.value === a.shape[i]);
  if (!fits) {
    const want = spec.shape.map((d) => d.value ?? d.param ?? '?').join(', ');
    throw new SeInjectError('usage', `--inputs ${spec.name} has shape [${a.shape.join(', ')}], but the input takes [${want}]`);
  }
  return new ort.Tensor(type, a.data as ort.Tensor.DataType, a.shape);
}

function inputData(type: ort.Tensor.Type, n: number, uniform: () => number): ort.Tensor.DataType {
  switch (type) {
    case 'float32': return Float32Array.from({ length: n }, uniform);
    case 'float64': return Float64Array.from({ length: n }, uniform);
    case 'float16': return Uint16Array.from({ length: n }, () => floatToHalfBits(uniform()));
    case 'int64': return new BigInt64Array(n);
    case 'uint64': return new BigUint64Array(n);
    case 'int8': return new Int8Array(n);
    case 'int16': return new Int16Array(n);
    case 'int32': return new Int32Array(n);
    case 'uint16': return new Uint16Array(n);
    case 'uint32': return new Uint32Array(n);
    default: return new Uint8Array(n); // uint8, bool
  }
}

/** Tensor values as float64 for comparison; float16 bits are decoded, 64-bit ints converted. */
export function tensorNumbers(t: ort.Tensor): Float64Array {
  const data = t.data;
  if (t.type === 'float16' && data instanceof Uint16Array) return Float64Array.from(data, halfBitsToFloat);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float64Array.from(data, Number);
  if (Array.isArray(data)) throw new SeInjectError('unsupported', `output of type ${t.type} cannot be compared numerically`);
  return Float64Array.from(data as ArrayLike<number>);
}
