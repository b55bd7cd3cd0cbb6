// One shape rule per op (or family of ops). Each takes the node and its input shapes and returns the
// output shapes; integer values are folded alongside so that Reshape targets computed from Shape are
// known. A rule that cannot tell returns dims undefined; it never guesses.

import { DataType, elementCount, tensorValues } from '../onnx/proto.js';
import type { NodeProto } from '../onnx/proto.js';
import type { ValueShape } from './shapes.js';
import { attr, attrInt, attrInts, constantShape } from './shapes.js';

type In = (ValueShape | undefined)[];
type Rule = (n: NodeProto, ins: In, opset: number) => ValueShape[];

const same: Rule = (_n, ins) => [{ dtype: ins[0]?.dtype ?? 0, dims: ins[0]?.dims }];

/** Dropout's output, and its mask (training exports write it): a bool of the input's shape. */
const dropout: Rule = (_n, ins) => [{ dtype: ins[0]?.dtype ?? 0, dims: ins[0]?.dims }, { dtype: DataType.BOOL, dims: ins[0]?.dims }];

/**
 * A folded value as the op computes it in its element type: float32 rounds every step (so that a Floor
 * or Ceil after it sees what the runtime sees), integers and doubles are exact here; undefined for the
 * narrow float types, which are not folded.
 */
function inType(dtype: number, v: number): number | undefined {
  if (dtype === DataType.FLOAT) return Math.fround(v);
  if (dtype === DataType.FLOAT16 || dtype === DataType.BFLOAT16) return undefined;
  return v;
}

function foldAll(dtype: number, values: number[], f: (v: number, i: number) => number): number[] | undefined {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = inType(dtype, f(values[i]!, i));
    if (v === undefined) return undefined;
    out[i] = v;
  }
  return out;
}

/** ONNX's Round: half to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Unary ops whose values are folded: the scalar arithmetic detection and segmentation exports compute
 * their resize and padding sizes with (torchvision's GeneralizedRCNNTransform: a scale from the image's
 * size, Floor, Ceil to a multiple of 32).
 */
const UNARY_FOLD: Record<string, (v: number) => number> = {
  Identity: (v) => v, Neg: (v) => -v, Abs: Math.abs, Reciprocal: (v) => 1 / v, Floor: Math.floor, Ceil: Math.ceil,
  Round: roundHalfEven, Sqrt: Math.sqrt, Relu: (v) => Math.max(0, v), Sign: Math.sign,
};

const unaryFolded: Rule = (n, ins) => {
  const x = ins[0];
  const fold = UNARY_FOLD[n.opType]!;
  const values = x?.values && foldAll(x.dtype, x.values, (v) => fold(v));
  return [{ dtype: x?.dtype ?? 0, dims: x?.dims, values }];
};

const UNARY = [
  'Relu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip', 'LeakyRelu', 'Identity', 'Erf', 'Exp', 'Log',
  'Neg', 'Abs', 'Sqrt', 'Reciprocal', 'Softplus', 'Softsign', 'Elu', 'Selu', 'Celu', 'PRelu', 'LRN', 'Softmax',
  'LogSoftmax', 'InstanceNormalization', 'LayerNormalization', 'GroupNormalization', 'Floor', 'Ceil', 'Round',
  'Not', 'Sign', 'Mish', 'Gelu', 'ThresholdedRelu', 'BatchNormalization', 'Dropout', 'Shrink', 'Sin', 'Cos',
];

/**
 * The numpy broadcast of two dims. Equal dims give `a` itself: a shape's dims are never edited once a
 * shape holds them, and most elementwise ops of a CNN (a residual Add, an SE scale) meet equal shapes.
 */
function broadcast(a: number[], b: number[]): number[] | undefined {
  if (a === b || sameDims(a, b)) return a;
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out[i] = x === 1 ? y : x;
  }
  return out;
}

const FOLD: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Max: Math.max, Min: Math.min,
  Equal: (a, b) => Number(a === b), Less: (a, b) => Number(a < b), Greater: (a, b) => Number(a > b),
  Div: (a, b) => a / b, Mod: (a, b) => a % b, Pow: (a, b) => a ** b,
};
const INTEGER = new Set<number>([DataType.INT64, DataType.INT32, DataType.INT16, DataType.INT8, DataType.UINT8, DataType.UINT32, DataType.UINT64, DataType.BOOL]);

const COMPARISONS = new Set(['Equal', 'Less', 'Greater', 'And', 'Or', 'Not']);

/** Two known shapes of the same dims (false where either is unknown). */
export function sameDims(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The numpy broadcast of every input's dims: [] with no inputs, undefined when one is missing, unknown or
 * does not broadcast.
 */
function broadcastAll(ins: In): number[] | undefined {
  if (ins.length <= 1) return ins.length ? ins[0]?.dims : [];
  let dims = ins[0]?.dims;
  for (let i = 1; i < ins.length && dims; i++) {
    const other = ins[i]?.dims;
    dims = other ? broadcast(dims, other) : undefined;
  }
  return dims;
}

const elementwise: Rule = (n, ins) => {
  const dims = broadcastAll(ins);
  const compare = COMPARISONS.has(n.opType);
  const dtype = compare ? DataType.BOOL : (n.opType === 'Where' ? ins[1]?.dtype : ins[0]?.dtype) ?? 0;
  const out: ValueShape = { dtype, dims };
  const a = ins[0]?.values, b = ins[1]?.values;
  const fold = a && b && ins.length === 2 ? FOLD[n.opType] : undefined;
  if (fold && dims) {
    const count = elementCount(dims);
    const isInt = INTEGER.has(dtype);
    out.values = foldAll(dtype, new Array<number>(count).fill(0), (_, i) => {
      const v = fold(a![a!.length === 1 ? 0 : i]!, b![b!.length === 1 ? 0 : i]!);
      return isInt && n.opType === 'Div' ? Math.trunc(v) : v;
    });
  }
  return [out];
};

function norm(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** windowedDims' dims before they are kept: most convs of a CNN keep their input's shape, which is kept instead. */
const windowed: number[] = [];

/**
 * The output dims of a conv or pool: [batch, `channels`, spatial...]; strides and dilations default to 1,
 * pads to 0. Dims equal to x's are x itself.
 */
function windowedDims(n: NodeProto, x: number[], channels: number, kernel: readonly number[], isPool: boolean): number[] {
  const k = kernel.length;
  const strides = attrInts(n, 'strides');
  const dil = attrInts(n, 'dilations');
  const pads = attrInts(n, 'pads');
  const autoPad = attr(n, 'auto_pad')?.s ?? 'NOTSET';
  const same = autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER';
  const ceil = isPool && attrInt(n, 'ceil_mode', 0) === 1;
  const dims = windowed;
  if (dims.length !== 2 + k) dims.length = 2 + k;
  dims[0] = x[0]!;
  dims[1] = channels;
  for (let i = 0; i < k; i++) {
    const inDim = x[2 + i]!;
    const stride = strides ? strides[i]! : 1;
    if (same) {
      dims[2 + i] = Math.ceil(inDim / stride);
      continue;
    }
    const eff = (kernel[i]! - 1) * (dil ? dil[i]! : 1) + 1;
    const begin = pads ? pads[i]! : 0;
    const padded = inDim + (autoPad === 'VALID' ? 0 : begin + (pads ? pads[i + k]! : 0));
    const span = (padded - eff) / stride;
    let out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
    // ONNX (like PyTorch) drops a last ceil-mode window that would start inside the end padding.
    if (ceil && (out - 1) * stride >= inDim + begin) out--;
    dims[2 + i] = out;
  }
  return sameDims(dims, x) ? x : dims.slice();
}

const conv: Rule = (n, ins) => {
  const x = ins[0]?.dims, w = ins[1]?.dims;
  if (!x || !w) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
  return [{ dtype: ins[0]!.dtype, dims: windowedDims(n, x, w[0]!, kernel, false) }];
};

const convTranspose: Rule = (n, ins) => {
  const x = ins[0]?.dims, w = ins[1]?.dims;
  if (!x || !w) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const k = w.length - 2;
  const kernel = attrInts(n, 'kernel_shape') ?? w.slice(2);
  const strides = attrInts(n, 'strides') ?? Array(k).fill(1);
  const dil = attrInts(n, 'dilations') ?? Array(k).fill(1);
  const pads = attrInts(n, 'pads') ?? Array(2 * k).fill(0);
  const outPad = attrInts(n, 'output_padding') ?? Array(k).fill(0);
  const group = attrInt(n, 'group', 1);
  const explicit = attrInts(n, 'output_shape');
  const spatial = explicit ?? kernel.map((kk, i) =>
    strides[i]! * (x[2 + i]! - 1) + outPad[i]! + (kk - 1) * dil[i]! + 1 - pads[i]! - pads[i + k]!);
  return [{ dtype: ins[0]!.dtype, dims: [x[0]!, w[1]! * group, ...spatial] }];
};

const pool: Rule = (n, ins) => {
  const x = ins[0]?.dims;
  const kernel = attrInts(n, 'kernel_shape');
  if (!x || !kernel) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const dims = windowedDims(n, x, x[1]!, kernel, true);
  return [{ dtype: ins[0]!.dtype, dims }, { dtype: DataType.INT64, dims }];
};

const globalPool: Rule = (_n, ins) => {
  const x = ins[0]?.dims;
  return [{ dtype: ins[0]?.dtype ?? 0, dims: x ? [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] : undefined }];
};

const gemm: Rule = (n, ins) => {
  const a = ins[0]?.dims, b = ins[1]?.dims;
  if (!a || !b) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const m = attrInt(n, 'transA', 0) ? a[1]! : a[0]!;
  const nn = attrInt(n, 'transB', 0) ? b[0]! : b[1]!;
  return [{ dtype: ins[0]!.dtype, dims: [m, nn] }];
};

const matmul: Rule = (_n, ins) => {
  let a = ins[0]?.dims, b = ins[1]?.dims;
  if (!a || !b) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const aVec = a.length === 1, bVec = b.length === 1;
  if (aVec) a = [1, a[0]!];
  if (bVec) b = [b[0]!, 1];
  const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
  if (!batch) return [{ dtype: ins[0]!.dtype }];
  const dims = [...batch, ...(aVec ? [] : [a[a.length - 2]!]), ...(bVec ? [] : [b[b.length - 1]!])];
  return [{ dtype: ins[0]!.dtype, dims }];
};

const flatten: Rule = (n, ins) => {
  const x = ins[0]?.dims;
  if (!x) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const axis = norm(attrInt(n, 'axis', 1), x.length);
  return [{ dtype: ins[0]!.dtype, dims: [elementCount(x.slice(0, axis)), elementCount(x.slice(axis))], values: ins[0]!.values }];
};

const reshape: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  const target = opset < 5 ? attrInts(n, 'shape') : ins[1]?.values;
  if (!x || !target) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const allowZero = attrInt(n, 'allowzero', 0) === 1;
  const dims = target.map((d, i) => (d === 0 && !allowZero ? x[i]! : d));
  const minus = dims.indexOf(-1);
  if (minus >= 0) dims[minus] = elementCount(x) / elementCount(dims.filter((_, i) => i !== minus));
  return [{ dtype: ins[0]!.dtype, dims, values: ins[0]!.values }];
};

const transpose: Rule = (n, ins) => {
  const x = ins[0]?.dims;
  if (!x) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const perm = attrInts(n, 'perm') ?? x.map((_, i) => x.length - 1 - i);
  const dims = perm.map((p) => x[p]!);
  const v = ins[0]!.values;
  // Small folded tensors keep their values: torch's F.pad writes its pads as Reshape → Slice → Transpose.
  const values = v && v.length === elementCount(x) && v.length <= 64 ? dims.length ? gatherInto(dims, (o) => {
    const at = new Array<number>(x.length);
    for (let i = 0; i < perm.length; i++) at[perm[i]!] = o[i]!;
    return at;
  }, x, v) : v : undefined;
  return [{ dtype: ins[0]!.dtype, dims, values }];
};

/** The values of a `dims`-shaped tensor whose element at each index `o` is `from`'s element at `source(o)` (row-major). */
function gatherInto(dims: readonly number[], source: (o: readonly number[]) => readonly number[], fromDims: readonly number[], from: readonly number[]): number[] {
  const out: number[] = [];
  const o = dims.map(() => 0);
  for (let k = 0; k < elementCount(dims as number[]); k++) {
    const at = source(o);
    let flat = 0;
    for (let i = 0; i < fromDims.length; i++) flat = flat * fromDims[i]! + at[i]!;
    out.push(from[flat]!);
    for (let i = dims.length - 1; i >= 0 && ++o[i]! === dims[i]!; i--) o[i] = 0;
  }
  return out;
}

function axesOf(n: NodeProto, ins: In, opset: number, since: number): number[] | undefined {
  return opset >= since ? ins[1]?.values : attrInts(n, 'axes')?.slice();
}

const squeeze: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  if (!x) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const axes = (axesOf(n, ins, opset, 13) ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => norm(a, x.length));
  return [{ dtype: ins[0]!.dtype, dims: x.filter((_, i) => !axes.includes(i)), values: ins[0]!.values }];
};

const unsqueeze: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  const axes = axesOf(n, ins, opset, 13);
  if (!x || !axes) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const rank = x.length + axes.length;
  const set = new Set(axes.map((a) => norm(a, rank)));
  const dims: number[] = [];
  for (let i = 0, j = 0; i < rank; i++) dims.push(set.has(i) ? 1 : x[j++]!);
  return [{ dtype: ins[0]!.dtype, dims, values: ins[0]!.values }];
};

const concat: Rule = (n, ins) => {
  // Every input must be known; an empty 1-D input (torch's F.pad concatenates its pads with a
  // ConstantOfShape of zero length) adds nothing, whatever the rank of the others.
  if (!ins.length || !ins.every((s) => s?.dims)) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const all = ins.filter((s) => !(s!.dims!.length === 1 && s!.dims![0] === 0));
  if (!all.length) return [{ dtype: ins[0]!.dtype, dims: [0], values: [] }];
  const first = all[0]!.dims!;
  const axis = norm(attrInt(n, 'axis', 0), first.length);
  const dims = first.slice();
  dims[axis] = all.reduce((s, x) => s + x!.dims![axis]!, 0);
  const values = all.every((s) => s!.values) && first.length === 1 ? all.flatMap((s) => s!.values!) : undefined;
  return [{ dtype: ins[0]!.dtype, dims, values }];
};

const split: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  if (!x) return n.outputs.map(() => ({ dtype: ins[0]?.dtype ?? 0 }));
  const axis = norm(attrInt(n, 'axis', 0), x.length);
  const parts = (opset >= 13 ? ins[1]?.values : attrInts(n, 'split')) ?? n.outputs.map(() => Math.ceil(x[axis]! / n.outputs.length));
  return parts.map((p) => {
    const dims = x.slice();
    dims[axis] = p;
    return { dtype: ins[0]!.dtype, dims };
  });
};

function clampIndex(v: number, dim: number, isEnd: boolean): number {
  const i = v < 0 ? v + dim : v;
  return Math.max(0, Math.min(isEnd ? dim : dim - 1, i));
}

const slice: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  const starts = opset >= 10 ? ins[1]?.values : attrInts(n, 'starts');
  const ends = opset >= 10 ? ins[2]?.values : attrInts(n, 'ends');
  if (!x || !starts || !ends) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const axes = (opset >= 10 ? ins[3]?.values : attrInts(n, 'axes')) ?? starts.map((_, i) => i);
  const steps = (opset >= 10 ? ins[4]?.values : undefined) ?? starts.map(() => 1);
  // ONNX forbids step 0; a bad axis or step would make the folding loop below run forever.
  const bad = axes.some((a) => !Number.isInteger(a) || norm(a, x.length) < 0 || norm(a, x.length) >= x.length);
  if (bad || steps.some((st) => !Number.isInteger(st) || st === 0)) return [{ dtype: ins[0]!.dtype }];
  const dims = x.slice();
  const ranges = x.map((d) => [0, d, 1]);
  axes.forEach((a0, i) => {
    const a = norm(a0, x.length);
    const d = x[a]!, step = steps[i]!;
    const s = step > 0 ? clampIndex(starts[i]!, d, true) : Math.max(-1, Math.min(d - 1, starts[i]! < 0 ? starts[i]! + d : starts[i]!));
    const e = step > 0 ? clampIndex(ends[i]!, d, true) : Math.max(-1, Math.min(d - 1, ends[i]! < 0 ? ends[i]! + d : ends[i]!));
    dims[a] = Math.max(0, Math.ceil((e - s) / step));
    ranges[a] = [s, e, step];
  });
  let values: number[] | undefined;
  const v = ins[0]!.values;
  if (v && v.length === elementCount(x) && (x.length === 1 || v.length <= 64)) {
    values = gatherInto(dims, (o) => o.map((j, a) => ranges[a]![0]! + j * ranges[a]![2]!), x, v);
  }
  return [{ dtype: ins[0]!.dtype, dims, values }];
};

const gather: Rule = (n, ins) => {
  const x = ins[0]?.dims, idx = ins[1]?.dims;
  if (!x || !idx) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const axis = norm(attrInt(n, 'axis', 0), x.length);
  const dims = [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)];
  let values: number[] | undefined;
  if (x.length === 1 && ins[0]!.values && ins[1]!.values) {
    values = ins[1]!.values.map((i) => ins[0]!.values![i < 0 ? i + x[0]! : i]!);
  }
  return [{ dtype: ins[0]!.dtype, dims, values }];
};

const shape: Rule = (n, ins) => {
  const x = ins[0]?.dims;
  if (!x) return [{ dtype: DataType.INT64 }];
  const start = norm(attrInt(n, 'start', 0), x.length);
  const end = Math.min(x.length, norm(attrInt(n, 'end', x.length), x.length));
  const values = x.slice(start, end);
  return [{ dtype: DataType.INT64, dims: [values.length], values }];
};

const constant: Rule = (n) => {
  const a = n.attributes[0];
  if (!a) return [{ dtype: 0 }];
  if (a.t) return [constantShape(a.t)];
  if (a.name === 'value_int') return [{ dtype: DataType.INT64, dims: [], values: [a.i ?? 0] }];
  if (a.name === 'value_ints') return [{ dtype: DataType.INT64, dims: [a.ints?.length ?? 0], values: a.ints?.slice() }];
  if (a.name === 'value_float') return [{ dtype: DataType.FLOAT, dims: [], values: [a.f ?? 0] }];
  if (a.name === 'value_floats') return [{ dtype: DataType.FLOAT, dims: [a.floats?.length ?? 0], values: a.floats?.slice() }];
  return [{ dtype: 0 }];
};

const constantOfShape: Rule = (n, ins) => {
  const target = ins[0]?.values;
  const t = attr(n, 'value')?.t;
  const fill = t ? tensorValues(t)?.[0] ?? 0 : 0;
  const dims = target;
  return [{ dtype: t?.dataType ?? DataType.FLOAT, dims, values: dims && elementCount(dims) <= 64 ? Array(elementCount(dims)).fill(fill) : undefined }];
};

const cast: Rule = (n, ins) => {
  const to = attrInt(n, 'to', 0);
  const v = ins[0]?.values;
  return [{ dtype: to, dims: ins[0]?.dims, values: v && foldAll(to, v, INTEGER.has(to) ? Math.trunc : (x) => x) }];
};

const reduce: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  if (!x) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const since = n.opType === 'ReduceSum' ? 13 : 18;
  const given = axesOf(n, ins, opset, since);
  // An empty axes input reduces every axis, unless noop_with_empty_axes says to reduce none.
  const all = !given || (given.length === 0 && attrInt(n, 'noop_with_empty_axes', 0) === 0);
  const axes = (all ? x.map((_, i) => i) : given).map((a) => norm(a, x.length));
  const keep = attrInt(n, 'keepdims', 1) === 1;
  const dims = keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
  return [{ dtype: ins[0]!.dtype, dims, values: reducedValues(n.opType, ins[0]!, x, axes) }];
};

const REDUCE_FOLD: Record<string, [number, (acc: number, v: number) => number]> = {
  ReduceMin: [Infinity, Math.min], ReduceMax: [-Infinity, Math.max], ReduceSum: [0, (a, v) => a + v],
  ReduceMean: [0, (a, v) => a + v], ReduceProd: [1, (a, v) => a * v],
};

/** The values of a reduction of a small tensor whose values are known (the max of two image sizes). */
function reducedValues(op: string, s: ValueShape, x: number[], axes: number[]): number[] | undefined {
  const fold = REDUCE_FOLD[op];
  const v = s.values;
  if (!fold || !v || v.length !== elementCount(x) || v.length === 0) return undefined;
  const outDims = x.map((d, i) => (axes.includes(i) ? 1 : d));
  const acc = new Array<number>(elementCount(outDims)).fill(fold[0]);
  const index = x.map(() => 0);
  for (let k = 0; k < v.length; k++) {
    let o = 0;
    for (let i = 0; i < x.length; i++) o = o * outDims[i]! + (axes.includes(i) ? 0 : index[i]!);
    acc[o] = fold[1](acc[o]!, v[k]!);
    for (let i = x.length - 1; i >= 0 && ++index[i]! === x[i]!; i--) index[i] = 0;
  }
  const count = v.length / acc.length;
  return foldAll(s.dtype, acc, (a) => (op === 'ReduceMean' ? a / count : a));
}

const expand: Rule = (_n, ins) => {
  const x = ins[0]?.dims, s = ins[1]?.values;
  return [{ dtype: ins[0]?.dtype ?? 0, dims: x && s ? broadcast(x, s) : undefined }];
};

const pad: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  const pads = opset >= 11 ? ins[1]?.values : attrInts(n, 'pads') ?? attrInts(n, 'paddings');
  if (!x || !pads || pads.length !== 2 * x.length) return [{ dtype: ins[0]?.dtype ?? 0 }];
  return [{ dtype: ins[0]!.dtype, dims: x.map((d, i) => d + pads[i]! + pads[i + x.length]!) }];
};

const resize: Rule = (n, ins, opset) => {
  const x = ins[0]?.dims;
  if (!x) return [{ dtype: ins[0]?.dtype ?? 0 }];
  const scales = n.opType === 'Upsample' && opset < 9 ? attr(n, 'scales')?.floats
    : ins[n.opType === 'Upsample' || opset < 11 ? 1 : 2]?.values;
  const sizes = opset >= 11 ? ins[3]?.values : undefined;
  if (sizes?.length === x.length) return [{ dtype: ins[0]!.dtype, dims: sizes }];
  if (scales?.length === x.length) return [{ dtype: ins[0]!.dtype, dims: x.map((d, i) => Math.floor(d * scales[i]!)) }];
  return [{ dtype: ins[0]!.dtype }];
};

/**
 * QuantizeLinear keeps x's shape in the zero point's type (uint8 without one; opset 21's output_dtype
 * when set); DequantizeLinear gives it back in the scale's type (float before opset 19).
 */
const quantize: Rule = (n, ins) => [{ dtype: attrInt(n, 'output_dtype', 0) || ins[2]?.dtype || DataType.UINT8, dims: ins[0]?.dims }];
const dequantize: Rule = (_n, ins) => [{ dtype: ins[1]?.dtype ?? DataType.FLOAT, dims: ins[0]?.dims }];

/**
 * An op on quantized integers in QOperator form, as the float op it stands for: `pick` says which of its
 * inputs are the float op's (QLinearConv's x and w are inputs 0 and 3: scales and zero points sit
 * between), and its output is in the type of the output zero point at `zeroPoint` (uint8 without one),
 * or int32 for the *Integer ops, which accumulate without requantizing.
 */
function quantized(rule: Rule, pick: readonly number[], zeroPoint: number | 'int32'): Rule {
  return (n, ins, opset) => {
    const out = rule(n, pick.map((i) => ins[i]), opset);
    const dtype = zeroPoint === 'int32' ? DataType.INT32 : ins[zeroPoint]?.dtype ?? DataType.UINT8;
    return out.map((o) => ({ dtype, dims: o.dims }));
  };
}

const RULES: Record<string, Rule> = {
  QuantizeLinear: quantize, DequantizeLinear: dequantize,
  Conv: conv, ConvTranspose: convTranspose, MaxPool: pool, AveragePool: pool, LpPool: pool,
  GlobalAveragePool: globalPool, GlobalMaxPool: globalPool, GlobalLpPool: globalPool,
  Gemm: gemm, MatMul: matmul, Flatten: flatten, Reshape: reshape, Transpose: transpose, Squeeze: squeeze,
  Unsqueeze: unsqueeze, Concat: concat, Split: split, Slice: slice, Gather: gather, Shape: shape,
  Constant: constant, ConstantOfShape: constantOfShape, Cast: cast, Expand: expand, Pad: pad, Resize: resize,
  Upsample: resize, ReduceMean: reduce, ReduceSum: reduce, ReduceMax: reduce, ReduceMin: reduce, ReduceL2: reduce, ReduceProd: reduce,
  Size: () => [{ dtype: DataType.INT64, dims: [] }],
  // The data with some elements overwritten (FasterNet's partial conv in its inference form: x[:, :c] = conv(x[:, :c])).
  ScatterND: same, ScatterElements: same, Scatter: same,
  QLinearConv: quantized(conv, [0, 3], 7), ConvInteger: quantized(conv, [0, 1], 'int32'),
  QLinearMatMul: quantized(matmul, [0, 3], 7), MatMulInteger: quantized(matmul, [0, 1], 'int32'),
};
for (const op of UNARY) RULES[op] = same;
RULES.Dropout = dropout;
for (const op of Object.keys(UNARY_FOLD)) RULES[op] = unaryFolded;
for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Sum', 'Mean', 'Equal', 'Less', 'Greater', 'And', 'Or', 'Where', 'Mod']) RULES[op] = elementwise;

/**
 * Rules that read fewer inputs than their op may have: a Conv's bias, a norm's scale and statistics, a
 * Clip's bounds, a Dropout's ratio. The inputs past these never change what the rule says.
 */
const READS: Record<string, number> = {
  Conv: 2, ConvTranspose: 2, Gemm: 2, MaxPool: 1, AveragePool: 1, LpPool: 1, GlobalAveragePool: 1, GlobalMaxPool: 1, GlobalLpPool: 1,
};
for (const op of [...UNARY, 'ScatterND', 'ScatterElements', 'Scatter']) READS[op] = 1;

/** A default-domain op's shape rule, and how many of its inputs the rule reads (all when undefined). */
export interface ShapeRule {
  readonly infer: Rule;
  readonly reads: number | undefined;
  /** Identity-like ops keep folded values (Identity, Dropout in eval; Cast folds its own). */
  readonly keepsValues: boolean;
}

/**
 * The rules by op type, in a Map: the decoder's op type strings are not V8-internalized, and each read
 * of a record by one would look it up in V8's string table, where a Map hashes the string once.
 */
const BY_OP = new Map<string, ShapeRule>(Object.entries(RULES).map(([op, infer]) => [op, { infer, reads: READS[op], keepsValues: op === 'Identity' || op === 'Dropout' }]));

/**
 * Ops ONNX Runtime writes in its own domain with the standard op's inputs, attributes and meaning (its
 * QDQ pair for 16-bit and 4-bit types, and with UseQDQContribOps).
 */
const CONTRIB_AS_STANDARD = new Set(['QuantizeLinear', 'DequantizeLinear']);

/**
 * ONNX Runtime's QOperator ops on quantized tensors (com.microsoft), by the float op each stands for:
 * enough to follow an integer model's shapes through its sums, concats and pools.
 */
const CONTRIB = new Map<string, ShapeRule>(Object.entries({
  QLinearAdd: quantized(elementwise, [0, 3], 7), QLinearMul: quantized(elementwise, [0, 3], 7),
  QLinearGlobalAveragePool: ((n, ins, opset) => attrInt(n, 'channels_last', 0) ? [{ dtype: ins[0]?.dtype ?? 0 }] : globalPool(n, ins, opset)) as Rule,
  QLinearAveragePool: ((n, ins, opset) => attrInt(n, 'channels_last', 0) ? [{ dtype: ins[0]?.dtype ?? 0 }] : [pool(n, ins, opset)[0]!]) as Rule,
  // Y's scale and zero point, then a (tensor, scale, zero point) triple per input.
  QLinearConcat: ((n, ins, opset) => quantized(concat, ins.map((_, i) => i).filter((i) => i >= 2 && (i - 2) % 3 === 0), 1)(n, ins, opset)) as Rule,
  QLinearSigmoid: same, QLinearLeakyRelu: same, QLinearSoftmax: same,
  // Without an output scale QGemm gives float.
  // A Conv with its activation fused in (the runtime's 'extended' optimizer); its sum input Z keeps the shape.
  FusedConv: conv,
  QGemm: ((n, ins, opset) => ins[7] ? quantized(gemm, [0, 3], 8)(n, ins, opset) : [{ dtype: DataType.FLOAT, dims: gemm(n, [ins[0], ins[3]], opset)[0]!.dims }]) as Rule,
}).map(([op, infer]) => [op, { infer, reads: op === 'FusedConv' ? 2 : undefined, keepsValues: false }]));

/** n's shape rule; undefined for an op of another domain, or one no rule knows (its outputs stay unknown). */
export function shapeRuleOf(n: NodeProto): ShapeRule | undefined {
  if (n.domain === 'com.microsoft') return CONTRIB_AS_STANDARD.has(n.opType) ? BY_OP.get(n.opType) : CONTRIB.get(n.opType);
  return n.domain && n.domain !== 'ai.onnx' ? undefined : BY_OP.get(n.opType);
}

/** How many of `n`'s inputs inferNode reads (from the first): the shapes of the others need not be looked up. */
export function inputsRead(n: NodeProto, rule: ShapeRule | undefined = shapeRuleOf(n)): number {
  return rule ? rule.reads ?? n.inputs.length : 0;
}

/** `ins`: the shapes of n's inputs, those past inputsRead(n) left undefined; `rule`: shapeRuleOf(n). */
export function inferNode(n: NodeProto, ins: In, opset: number, rule: ShapeRule | undefined = shapeRuleOf(n)): ValueShape[] {
  if (!rule) return [];
  const outs = rule.infer(n, ins, opset);
  if (rule.keepsValues && ins[0]?.values) outs[0]!.values = ins[0].values;
  return outs;
}
