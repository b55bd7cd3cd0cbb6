// Tables that checkStructure reads: which default-domain ops exist at which opset, which attribute
// types the CNN ops (and the ops se-inject emits) take, and which attributes later opsets turned into
// inputs. Versions up to opset 17 were read from the schemas of onnx 1.12 (`get_all_schemas_with_history`);
// later ones from the ONNX operator changelog.

import { AttrType } from '../onnx/proto.js';

/** Default-domain ops grouped by the opset that introduced them. */
const OPS_BY_SINCE: Record<number, string> = {
  1: `Abs Add And ArgMax ArgMin AveragePool BatchNormalization Cast Ceil Clip Concat Constant Conv ConvTranspose
      DepthToSpace Div Dropout Elu Equal Exp Flatten Floor GRU Gather Gemm GlobalAveragePool GlobalLpPool
      GlobalMaxPool Greater HardSigmoid Hardmax Identity If InstanceNormalization LRN LSTM LeakyRelu Less Log
      LogSoftmax Loop LpNormalization LpPool MatMul Max MaxPool MaxRoiPool Mean Min Mul Neg Not Or PRelu Pad Pow
      RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike Reciprocal ReduceL1 ReduceL2 ReduceLogSum
      ReduceLogSumExp ReduceMax ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare Relu Reshape Selu Shape
      Sigmoid Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze Sub Sum Tanh Tile TopK Transpose
      Unsqueeze Upsample Xor`,
  7: 'Acos Asin Atan Cos Multinomial Sin Tan',
  8: 'Expand Scan',
  9: `Acosh Asinh Atanh Compress ConstantOfShape Cosh Erf EyeLike IsNaN MaxUnpool MeanVarianceNormalization NonZero
      OneHot Scatter Shrink Sign Sinh TfIdfVectorizer Where`,
  10: `ConvInteger DequantizeLinear IsInf MatMulInteger Mod NonMaxSuppression QLinearConv QLinearMatMul QuantizeLinear
       Resize ReverseSequence RoiAlign StringNormalizer ThresholdedRelu`,
  11: `BitShift ConcatFromSequence CumSum Det DynamicQuantizeLinear GatherElements GatherND Range Round
       ScatterElements ScatterND SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert
       SequenceLength SplitToSequence Unique`,
  12: 'Celu Einsum GreaterOrEqual LessOrEqual NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss',
  14: 'HardSwish Trilu',
  15: 'Bernoulli CastLike Optional OptionalGetElement OptionalHasElement',
  16: 'GridSample',
  17: 'BlackmanWindow DFT HammingWindow HannWindow LayerNormalization MelWeightMatrix STFT SequenceMap',
  18: 'BitwiseAnd BitwiseNot BitwiseOr BitwiseXor CenterCropPad Col2Im GroupNormalization Mish',
  19: 'DeformConv',
  20: 'AffineGrid Gelu ImageDecoder RegexFullMatch StringConcat StringSplit',
  23: 'Attention RMSNormalization RotaryEmbedding',
  24: 'Swish TensorScatter',
};

export const OP_SINCE: ReadonlyMap<string, number> = new Map(
  Object.entries(OPS_BY_SINCE).flatMap(([since, ops]) => ops.split(/\s+/).filter(Boolean).map((op) => [op, Number(since)] as const)),
);

/** Ops the schema marks deprecated from an opset on; ONNX's checker rejects them there. */
export const DEPRECATED: Readonly<Record<string, { since: number; use: string }>> = {
  Upsample: { since: 10, use: 'Resize' },
  Scatter: { since: 11, use: 'ScatterElements' },
};

const { FLOAT, INT, STRING, TENSOR, FLOATS, INTS } = AttrType;
const CONV = { kernel_shape: INTS, strides: INTS, pads: INTS, dilations: INTS, group: INT, auto_pad: STRING };
const POOL = { kernel_shape: INTS, strides: INTS, pads: INTS, dilations: INTS, auto_pad: STRING, ceil_mode: INT };
const REDUCE = { axes: INTS, keepdims: INT, noop_with_empty_axes: INT };
const AXIS = { axis: INT };

/** Attribute types of the CNN ops and the ops se-inject emits; ops and attributes not listed are not checked. */
export const ATTR_TYPES: Readonly<Record<string, Readonly<Record<string, AttrType>>>> = {
  Conv: CONV,
  ConvTranspose: { ...CONV, output_padding: INTS, output_shape: INTS },
  MaxPool: { ...POOL, storage_order: INT },
  AveragePool: { ...POOL, count_include_pad: INT },
  BatchNormalization: { epsilon: FLOAT, momentum: FLOAT, training_mode: INT },
  Gemm: { alpha: FLOAT, beta: FLOAT, transA: INT, transB: INT },
  HardSigmoid: { alpha: FLOAT, beta: FLOAT },
  LeakyRelu: { alpha: FLOAT },
  Elu: { alpha: FLOAT },
  Clip: { min: FLOAT, max: FLOAT },
  Concat: AXIS, Flatten: AXIS, Gather: AXIS, Softmax: AXIS, LogSoftmax: AXIS,
  Split: { axis: INT, split: INTS },
  Squeeze: { axes: INTS }, Unsqueeze: { axes: INTS },
  ReduceMean: REDUCE, ReduceSum: REDUCE, ReduceMax: REDUCE,
  Transpose: { perm: INTS },
  Reshape: { allowzero: INT },
  Cast: { to: INT },
  Constant: { value: TENSOR, value_float: FLOAT, value_floats: FLOATS, value_int: INT, value_ints: INTS },
  Pad: { mode: STRING, pads: INTS, value: FLOAT },
  Resize: { mode: STRING, coordinate_transformation_mode: STRING, nearest_mode: STRING, cubic_coeff_a: FLOAT },
  Upsample: { mode: STRING, scales: FLOATS },
  Dropout: { ratio: FLOAT, seed: INT },
  LRN: { alpha: FLOAT, beta: FLOAT, bias: FLOAT, size: INT },
};

/** Attributes that an opset turned into inputs: from `since` on, the attribute is an error. */
export const MOVED_TO_INPUT: ReadonlyArray<{ ops: string[]; attrs: string[]; since: number }> = [
  { ops: ['Upsample'], attrs: ['scales'], since: 9 },
  { ops: ['Slice'], attrs: ['starts', 'ends', 'axes'], since: 10 },
  { ops: ['TopK'], attrs: ['k'], since: 10 },
  { ops: ['Clip'], attrs: ['min', 'max'], since: 11 },
  { ops: ['Pad'], attrs: ['pads', 'value'], since: 11 },
  { ops: ['Dropout'], attrs: ['ratio'], since: 12 },
  { ops: ['Squeeze', 'Unsqueeze', 'ReduceSum'], attrs: ['axes'], since: 13 },
  { ops: ['Split'], attrs: ['split'], since: 13 },
  {
    ops: ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'],
    attrs: ['axes'],
    since: 18,
  },
];

/**
 * How many inputs and outputs the common CNN ops take, over opsets 7–24: [min in, max in, min out, max out].
 * Where an opset changed the count (Clip's min/max became inputs in 11), the range covers both.
 */
export const ARITY: Readonly<Record<string, readonly [number, number, number, number]>> = (() => {
  const table: Record<string, readonly [number, number, number, number]> = {};
  const set = (ops: string, arity: readonly [number, number, number, number]) => {
    for (const op of ops.split(/\s+/).filter(Boolean)) table[op] = arity;
  };
  const many = Number.POSITIVE_INFINITY;
  set(`Relu Sigmoid Tanh HardSigmoid HardSwish LeakyRelu Elu Selu Softplus Softsign Exp Log Sqrt Neg Abs Identity
       Flatten GlobalAveragePool GlobalMaxPool AveragePool LpPool Transpose Softmax LogSoftmax Shape Erf Floor Ceil
       Reciprocal Not Cast LRN ConstantOfShape NonZero Size SpaceToDepth DepthToSpace`, [1, 1, 1, 1]);
  set('Add Sub Mul Div Pow MatMul Equal Greater Less And Or Xor PRelu Gather Expand Tile', [2, 2, 1, 1]);
  set('Conv ConvTranspose Gemm', [2, 3, 1, 1]);
  set('Concat Sum Max Min Mean', [1, many, 1, 1]);
  set('MaxPool', [1, 1, 1, 2]);
  set('BatchNormalization', [5, 5, 1, 5]);
  set('InstanceNormalization Where Range', [3, 3, 1, 1]);
  set('Reshape', [2, 2, 1, 1]);
  set('Squeeze Unsqueeze ReduceMean ReduceSum ReduceMax Upsample', [1, 2, 1, 1]);
  set('Clip', [1, 3, 1, 1]);
  set('Dropout', [1, 3, 1, 2]);
  set('Split', [1, 2, 1, many]);
  set('Slice', [1, 5, 1, 1]);
  set('Pad Resize', [1, 4, 1, 1]);
  set('Constant', [0, 0, 1, 1]);
  return table;
})();
