// The SE subgraph se-inject writes (Hu et al., SENet, Eq. 2–4):
//   squeeze  z = GlobalAveragePool(U)                 N×C×1×1
//   excite   s = gate(W2 · ReLU(W1 · z + b1) + b2)    W1: C→C/r, W2: C/r→C, as 1×1 Convs
//   scale    out = U · s                              Mul with channel broadcast
// 1×1 Convs on the pooled N×C×1×1 tensor need no Flatten/Reshape around a Gemm, so the block is six
// nodes, all valid from opset 7 (numpy-style broadcasting in Mul).
//
// --init preserve makes the rewritten model compute the original function exactly: W2 = 0 and b2 = 0
// make the gate the constant σ(0) = 0.5 (HardSigmoid(0) = 0.5 too), and a Mul by 2 after the gate
// brings it to exactly 1.0 — powers of two are exact in floating point, and a gate of 2σ(·) is the
// NF-ResNet form of SE. W1 keeps its random init, so W2 receives gradients from the first step.

import { AttrType, DataType } from '../onnx/proto.js';
import type { NodeProto, TensorProto } from '../onnx/proto.js';
import { encodeFloats } from '../numeric.js';
import { UniformStream } from '../random.js';

/** The channel-attention block written: SE (Hu et al.), eSE (Lee & Park, CenterMask/VoVNetV2), ECA (Wang et al.). */
export type BlockKind = 'se' | 'ese' | 'eca';

export interface SEOptions {
  block: BlockKind;
  ratio: number;
  divisor: number;
  minChannels: number;
  bias: boolean;
  gate: 'sigmoid' | 'hardsigmoid';
  init: 'he' | 'preserve';
  seed: number;
}

export interface SEBlockPlan {
  /** Deterministic prefix derived from the site, e.g. `se/stage2.block3`. */
  prefix: string;
  tensor: string;
  channels: number;
  dtype: number;
  gate: 'sigmoid' | 'hardsigmoid';
}

export interface BuiltSE {
  nodes: NodeProto[];
  initializers: TensorProto[];
  output: string;
  squeezeChannels: number;
  params: number;
}

/** The squeeze width: C/r rounded to a multiple of `divisor`, at least `minChannels` (make_divisible). */
export function squeezeWidth(channels: number, o: Pick<SEOptions, 'ratio' | 'divisor' | 'minChannels'>): number {
  const exact = channels / o.ratio;
  let w = Math.max(o.minChannels, Math.floor(exact / o.divisor + 0.5) * o.divisor);
  if (w < 0.9 * exact) w += o.divisor;
  return Math.max(1, w);
}

/**
 * ECA's kernel size for C channels (Wang et al., Eq. 12, γ = 2, b = 1): t = ⌊|log2(C) + b| / γ⌋, made odd
 * (t + 1 when even), floored at 3 as timm's EcaModule does.
 */
export function ecaKernel(channels: number): number {
  const t = Math.floor(Math.abs(Math.log2(channels) + 1) / 2);
  return Math.max(t % 2 ? t : t + 1, 3);
}

/** Parameters one block of this kind adds at C channels: what the report's per-block formula sums. */
export function blockFormula(kind: BlockKind, channels: number, ratio: number): number {
  if (kind === 'ese') return channels * channels + channels;
  if (kind === 'eca') return ecaKernel(channels);
  return (2 / ratio) * channels * channels;
}

export function buildSE(plan: SEBlockPlan, o: SEOptions, names: { value(base: string): string; node(base: string): string }): BuiltSE {
  const c = plan.channels;
  const cr = o.block === 'se' ? squeezeWidth(c, o) : 0;
  const p = plan.prefix;
  const tag = [{ key: 'se-inject.block', value: p }];
  const weight = (suffix: string, dims: number[], values: Float32Array | Float64Array): TensorProto => ({
    name: names.value(`${p}/${suffix}`), dataType: plan.dtype, dims,
    rawData: values instanceof Float32Array ? new Uint8Array(values.buffer) : encodeFloats(values, plan.dtype),
    externalData: [], dataLocation: 0, extras: [],
  });
  // He (Kaiming) uniform: U(±√(6/fan_in)) has the variance 2/fan_in of He et al.'s normal form, and is
  // what PyTorch's Conv and Linear layers start from. float32 models get the draws rounded straight
  // into their buffer (the same bytes as drawing in float64 and converting).
  const rng = new UniformStream(o.seed, p);
  const he = (fanIn: number, n: number) => {
    const out = plan.dtype === DataType.FLOAT ? new Float32Array(n) : new Float64Array(n);
    rng.fillSymmetric(out, Math.sqrt(6 / fanIn));
    return out;
  };
  const nodes: NodeProto[] = [];
  const node = (suffix: string, opType: string, inputs: string[], attributes: NodeProto['attributes'] = []): string => {
    const out = names.value(`${p}/${suffix}`);
    nodes.push({
      name: names.node(`${p}/${suffix}`), opType, domain: '', inputs, outputs: [out], attributes, metadataProps: tag,
      extras: [], src: undefined,
    });
    return out;
  };
  const conv1x1 = [{ name: 'kernel_shape', type: AttrType.INTS, ints: [1, 1] }];
  // With --init preserve the last layer is zero: every gate is gate(0) = 0.5, and a ×2 makes it exactly 1.
  const last = (n: number, fanIn: number) => (o.init === 'preserve' ? new Float64Array(n) : he(fanIn, n));
  const inits: TensorProto[] = [];
  const z = node('squeeze', 'GlobalAveragePool', [plan.tensor]);
  let e: string;
  if (o.block === 'se') {
    const w1 = weight('fc1.weight', [cr, c, 1, 1], he(c, cr * c));
    const w2 = weight('fc2.weight', [c, cr, 1, 1], last(c * cr, cr));
    inits.push(w1, w2);
    const b1 = o.bias ? weight('fc1.bias', [cr], new Float64Array(cr)) : undefined;
    const b2 = o.bias ? weight('fc2.bias', [c], new Float64Array(c)) : undefined;
    if (b1 && b2) inits.push(b1, b2);
    const h = node('fc1', 'Conv', b1 ? [z, w1.name, b1.name] : [z, w1.name], conv1x1);
    const r = node('relu', 'Relu', [h]);
    e = node('fc2', 'Conv', b2 ? [r, w2.name, b2.name] : [r, w2.name], conv1x1);
  } else if (o.block === 'ese') {
    // eSE: one 1×1 conv C→C with bias on the pooled map.
    const w = weight('fc.weight', [c, c, 1, 1], last(c * c, c));
    const b = weight('fc.bias', [c], new Float64Array(c));
    inits.push(w, b);
    e = node('fc', 'Conv', [z, w.name, b.name], conv1x1);
  } else {
    // ECA: a 1-D conv of odd kernel k across the channels of the pooled vector, no bias. N×C×1×1 is read
    // as N×1×C (Reshape with 0 = keep the batch), convolved with zero padding, and read back.
    const k = ecaKernel(c);
    const w = weight('conv.weight', [1, 1, k], last(k, k));
    inits.push(w);
    const shape = (suffix: string, dims: number[]): TensorProto => ({
      name: names.value(`${p}/${suffix}`), dataType: DataType.INT64, dims: [dims.length],
      rawData: new Uint8Array(BigInt64Array.from(dims.map(BigInt)).buffer), externalData: [], dataLocation: 0, extras: [],
    });
    const toRow = shape('as_row', [0, 1, -1]);
    const toMap = shape('as_map', [0, -1, 1, 1]);
    inits.push(toRow, toMap);
    const row = node('as_row', 'Reshape', [z, toRow.name]);
    const conv = node('conv', 'Conv', [row, w.name], [
      { name: 'kernel_shape', type: AttrType.INTS, ints: [k] }, { name: 'pads', type: AttrType.INTS, ints: [(k - 1) / 2, (k - 1) / 2] },
    ]);
    e = node('as_map', 'Reshape', [conv, toMap.name]);
  }
  const gate = o.block === 'ese' ? 'hardsigmoid' : plan.gate;
  let s = gate === 'hardsigmoid'
    ? node('gate', 'HardSigmoid', [e], [{ name: 'alpha', type: AttrType.FLOAT, f: 1 / 6 }])
    : node('gate', 'Sigmoid', [e]);
  if (o.init === 'preserve') {
    // A Constant, not an initializer: the factor 2 is part of the gate's form, not a trainable weight.
    const two = { ...weight('gate.scale', [], Float64Array.of(2)), name: '' };
    const k = node('gate.scale', 'Constant', [], [{ name: 'value', type: AttrType.TENSOR, t: two }]);
    s = node('gate_x2', 'Mul', [s, k]);
  }
  const out = node('scale', 'Mul', [plan.tensor, s]);
  const params = inits.filter((t) => t.dataType === plan.dtype).reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
  return { nodes, initializers: inits, output: out, squeezeChannels: cr, params };
}

export const SUPPORTED_SE_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);
