// The attention subgraphs se-inject writes. SE (Hu et al., SENet, Eq. 2–4):
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
//
// The others reuse these parts: eSE is one C→C conv and a hard-sigmoid; ECA a k-tap 1-D conv across the
// pooled channels; CBAM the SE excitation run on the average- and the max-pooled vector with one set
// of weights, summed, then a spatial gate from a 7×7 conv over [mean; max] across the channels. Every
// layer before a gate is zero with --init preserve, so every gate is exactly 1.

import { AttrType, DataType, elementBytes } from '../onnx/proto.js';
import type { NodeProto, TensorProto } from '../onnx/proto.js';
import { encodeFloats } from '../numeric.js';
import { UniformStream } from '../random.js';

/** The attention blocks se-inject writes (--block); the one list the options, the CLI and the report read. */
export const BLOCK_KINDS = ['se', 'ese', 'eca', 'cbam', 'cbam-channel'] as const;
/** SE (Hu et al.), eSE (Lee & Park, CenterMask/VoVNetV2), ECA (Wang et al.), CBAM and its channel half (Woo et al.). */
export type BlockKind = (typeof BLOCK_KINDS)[number];
/** The inner activation of the excitation MLP (--act). */
export const ACTIVATIONS = ['relu', 'silu', 'hardswish'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
/** What the squeeze width is computed from (--reduce-from): the scaled tensor's channels, or the block input's. */
export const REDUCE_FROM = ['tensor', 'input'] as const;
export type ReduceFrom = (typeof REDUCE_FROM)[number];

/**
 * How a channel gate reaches the map (--form): `mul` multiplies the N×C×1×1 gate into the map with the
 * Mul's broadcast (the SE graph every tool writes); `resize` first broadcasts the gate to the map's
 * H×W with a nearest Resize, so the Mul reads two tensors of one shape — the form ONNX Runtime's CPU
 * NCHWc layout (optimization level `all`) has a kernel for, at the cost of a full-size gate per block.
 */
export const FORMS = ['mul', 'resize'] as const;
export type GateForm = (typeof FORMS)[number];
/** The first opset whose Resize takes (X, roi, scales) with the attributes the resize form sets. */
export const RESIZE_FORM_MIN_OPSET = 11;

/** CBAM's spatial kernel (the paper's 7×7; its Table 2 compares it with 3×3). */
export const CBAM_SPATIAL_KERNEL = 7;

export interface SEOptions {
  block: BlockKind;
  ratio: number;
  divisor: number;
  minChannels: number;
  bias: boolean;
  gate: 'sigmoid' | 'hardsigmoid';
  init: 'he' | 'preserve';
  seed: number;
  act: Activation;
  reduceFrom: ReduceFrom;
  form: GateForm;
}

export interface SEBlockPlan {
  /** Deterministic prefix derived from the site, e.g. `se/stage2.block3`. */
  prefix: string;
  tensor: string;
  channels: number;
  /** The channels the squeeze width is computed from (the block input's with --reduce-from input). */
  reduceChannels?: number;
  /** The ratio for this block (a per-stage ratio, or --ratio). */
  ratio?: number;
  dtype: number;
  gate: 'sigmoid' | 'hardsigmoid';
  /** The model's default-domain opset: which form an op takes (ReduceMean's axes, HardSwish). */
  opset: number;
  /** The scaled map's spatial axes (2: N×C×H×W; 1: N×C×L; 3: N×C×D×H×W): the rank of the pooled vector's 1×1 convs. */
  spatialAxes: number;
  /** The scaled map's dims after the channels (H, W): what the resize form broadcasts each channel gate to. */
  spatialDims: readonly number[];
}

export interface BuiltSE {
  nodes: NodeProto[];
  initializers: TensorProto[];
  /** How each initializer started, in the same order. */
  recipes: WeightInit[];
  output: string;
  squeezeChannels: number;
  params: number;
}

/** Blocks with an excitation MLP C→C/r→C, whose width the ratio, divisor and minimum set. */
export function usesSqueeze(kind: BlockKind): boolean {
  return kind === 'se' || kind === 'cbam' || kind === 'cbam-channel';
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

/**
 * Parameters one block of this kind adds at C channels, squeezing from C_r (C unless --reduce-from input):
 * what the report's formula sums. SE's is the paper's 2/r·C² (weights only, so biases make the exact
 * count larger); the others' are their exact counts when r divides C_r.
 */
export function blockFormula(kind: BlockKind, channels: number, o: { ratio: number; bias: boolean }, reduceChannels = channels, spatialAxes = 2): number {
  const c = channels, mlp = (2 * c * reduceChannels) / o.ratio, bias = o.bias ? reduceChannels / o.ratio + c : 0;
  if (kind === 'ese') return c * c + c;
  if (kind === 'eca') return ecaKernel(c);
  if (kind === 'se') return mlp;
  const spatial = 2 * CBAM_SPATIAL_KERNEL ** spatialAxes + 1;
  return mlp + bias + (kind === 'cbam' ? spatial : 0);
}

/**
 * How a weight starts: He-uniform draws from the block's stream, zeros, or fixed bytes. Kept with each
 * built weight, so that a block of the same shape can be made again from its recipe (sealed.ts).
 */
export type WeightInit = { kind: 'he'; fanIn: number } | { kind: 'zeros' } | { kind: 'fixed'; bytes: Uint8Array };

/**
 * A weight's bytes for `count` elements of `dtype`. He (Kaiming) uniform: U(±√(6/fan_in)) has the variance
 * 2/fan_in of He et al.'s normal form, and is what PyTorch's Conv and Linear layers start from. float32
 * models get the draws rounded straight into their buffer (the same bytes as drawing in float64 and
 * converting); zeros are zero bytes in every float type.
 */
export function initialBytes(init: WeightInit, count: number, dtype: number, rng: UniformStream): Uint8Array {
  if (init.kind === 'fixed') return init.bytes;
  if (init.kind === 'zeros') return new Uint8Array(count * (elementBytes(dtype) ?? 4));
  const out = dtype === DataType.FLOAT ? new Float32Array(count) : new Float64Array(count);
  heUniform(init.fanIn, rng, out);
  return out instanceof Float32Array ? new Uint8Array(out.buffer) : encodeFloats(out, dtype);
}

/** He-uniform draws U(±√(6/fan_in)) into `out`, continuing the stream. */
export function heUniform(fanIn: number, rng: UniformStream, out: Float32Array | Float64Array): void {
  rng.fillSymmetric(out, Math.sqrt(6 / fanIn));
}

/** The stream a block's weights are drawn from, in the order its weights are made. */
export function blockStream(seed: number, prefix: string): UniformStream {
  return new UniformStream(seed, prefix);
}

/** An undrawn He weight: zero bytes of its size. */
const UNDRAWN: WeightInit = { kind: 'zeros' };

/** A small writer of one block's nodes and weights, all named under the block's prefix and tagged with it. */
function blockWriter(plan: SEBlockPlan, o: SEOptions, names: { value(base: string): string; node(base: string): string }, drawn: boolean) {
  const p = plan.prefix;
  const tag = [{ key: 'se-inject.block', value: p }];
  const nodes: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const recipes: WeightInit[] = [];
  const rng = blockStream(o.seed, p);
  const tensor = (suffix: string, dims: number[], dataType: number, rawData: Uint8Array): TensorProto => ({
    name: names.value(`${p}/${suffix}`), dataType, dims, rawData, externalData: [], dataLocation: 0, extras: [],
  });
  const weight = (suffix: string, dims: number[], init: WeightInit): TensorProto => {
    const made = drawn || init.kind !== 'he' ? init : UNDRAWN;
    const t = tensor(suffix, dims, plan.dtype, initialBytes(made, dims.reduce((a, b) => a * b, 1), plan.dtype, rng));
    inits.push(t);
    recipes.push(init);
    return t;
  };
  const int64s = (suffix: string, v: number[]): string => {
    const bytes = new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer);
    const t = tensor(suffix, [v.length], DataType.INT64, bytes);
    inits.push(t);
    recipes.push({ kind: 'fixed', bytes });
    return t.name;
  };
  const node = (suffix: string, opType: string, inputs: string[], attributes: NodeProto['attributes'] = []): string => {
    const out = names.value(`${p}/${suffix}`);
    nodes.push({
      name: names.node(`${p}/${suffix}`), opType, domain: '', inputs, outputs: [out], attributes, metadataProps: tag,
      extras: [], src: undefined,
    });
    return out;
  };
  const zeros: WeightInit = { kind: 'zeros' };
  /** Resize's float32 inputs as Constant nodes: layout, not trainable weights (the parameter counts leave them out). */
  const floats = (suffix: string, v: readonly number[]): string => {
    const t: TensorProto = { name: '', dataType: DataType.FLOAT, dims: [v.length], rawData: new Uint8Array(Float32Array.from(v).buffer), externalData: [], dataLocation: 0, extras: [] };
    return node(suffix, 'Constant', [], [{ name: 'value', type: AttrType.TENSOR, t }]);
  };
  /**
   * The N×C×1×1 gate repeated over the map's positions: a nearest Resize by the scales [1, 1, H, W]. With
   * asymmetric coordinates and floor rounding every output position reads the gate's one position, so
   * the values are the gate's exactly. Opsets 11 and 12 require the roi input (unused: an empty list).
   */
  const broadcastToMap = (s: string, at: string): string => {
    const roi = plan.opset < 13 ? floats(`${at}gate.roi`, []) : '';
    const scales = floats(`${at}gate.scales`, [1, 1, ...plan.spatialDims]);
    return node(`${at}gate.broadcast`, 'Resize', [s, roi, scales], [
      { name: 'mode', type: AttrType.STRING, s: 'nearest' },
      { name: 'coordinate_transformation_mode', type: AttrType.STRING, s: 'asymmetric' },
      { name: 'nearest_mode', type: AttrType.STRING, s: 'floor' },
    ]);
  };
  return {
    nodes, inits, recipes, weight, int64s, node, zeros,
    he: (fanIn: number): WeightInit => ({ kind: 'he', fanIn }),
    /** The layer that feeds a gate: zero with --init preserve (every gate is then gate(0) = 0.5), He otherwise. */
    last: (fanIn: number): WeightInit => (o.init === 'preserve' ? zeros : { kind: 'he', fanIn }),
    /**
     * gate(e), times a constant 2 with --init preserve (then exactly 1), and `x` scaled by it; a channel
     * gate is first broadcast to the map's size in the resize form (a spatial gate broadcasts across the
     * channels, which a Resize of the spatial axes cannot).
     */
    scale(x: string, e: string, gate: 'sigmoid' | 'hardsigmoid', at = '', perChannel = true): string {
      let s = gate === 'hardsigmoid'
        ? node(`${at}gate`, 'HardSigmoid', [e], [{ name: 'alpha', type: AttrType.FLOAT, f: 1 / 6 }])
        : node(`${at}gate`, 'Sigmoid', [e]);
      if (o.init === 'preserve') {
        // A Constant, not an initializer: the factor 2 is part of the gate's form, not a trainable weight.
        const two = { ...tensor(`${at}gate.scale`, [], plan.dtype, encodeFloats(Float64Array.of(2), plan.dtype)), name: '' };
        const k = node(`${at}gate.scale`, 'Constant', [], [{ name: 'value', type: AttrType.TENSOR, t: two }]);
        s = node(`${at}gate_x2`, 'Mul', [s, k]);
      }
      if (o.form === 'resize' && perChannel) s = broadcastToMap(s, at);
      return node(`${at}scale`, 'Mul', [x, s]);
    },
  };
}

type Writer = ReturnType<typeof blockWriter>;

/** `n` ones: the trailing dims of a pooled vector (N×C×1×1 for an N×C×H×W map) and of the 1×1 convs' weights over it. */
const ones = (n: number): number[] => new Array<number>(n).fill(1);
/** A conv of kernel 1 on every spatial axis. */
const pointwise = (plan: SEBlockPlan) => [{ name: 'kernel_shape', type: AttrType.INTS, ints: ones(plan.spatialAxes) }];

/** The inner activation of the excitation MLP: ReLU (the paper's), SiLU as x·σ(x), or hard-swish. */
function activation(w: Writer, x: string, act: Activation, opset: number, suffix: string): string {
  if (act === 'relu') return w.node(suffix, 'Relu', [x]);
  if (act === 'hardswish' && opset >= 14) return w.node(suffix, 'HardSwish', [x]);
  // SiLU has no ONNX op; hard-swish has one from opset 14: below it, x·HardSigmoid(x) with alpha 1/6.
  const g = act === 'silu'
    ? w.node(`${suffix}.gate`, 'Sigmoid', [x])
    : w.node(`${suffix}.gate`, 'HardSigmoid', [x], [{ name: 'alpha', type: AttrType.FLOAT, f: 1 / 6 }]);
  return w.node(suffix, 'Mul', [x, g]);
}

/**
 * The excitation MLP C→C/r→C as two 1×1 Convs, applied to each pooled input with one set of weights
 * (CBAM shares its MLP between the average- and the max-pooled vector); returns one output per input.
 */
function excitation(w: Writer, plan: SEBlockPlan, o: SEOptions, cr: number, pooled: { at: string; z: string }[]): string[] {
  const c = plan.channels;
  const w1 = w.weight('fc1.weight', [cr, c, ...ones(plan.spatialAxes)], w.he(c));
  const w2 = w.weight('fc2.weight', [c, cr, ...ones(plan.spatialAxes)], w.last(cr));
  const b1 = o.bias ? w.weight('fc1.bias', [cr], w.zeros).name : undefined;
  const b2 = o.bias ? w.weight('fc2.bias', [c], w.zeros).name : undefined;
  return pooled.map(({ at, z }) => {
    const h = w.node(`${at}fc1`, 'Conv', b1 ? [z, w1.name, b1] : [z, w1.name], pointwise(plan));
    const r = activation(w, h, o.act, plan.opset, `${at}${o.act}`);
    return w.node(`${at}fc2`, 'Conv', b2 ? [r, w2.name, b2] : [r, w2.name], pointwise(plan));
  });
}

/** Reduce over the channel axis, keeping it: axes an attribute before opset 18, an input from it. */
function reduceChannels(w: Writer, op: 'ReduceMean' | 'ReduceMax', x: string, opset: number, suffix: string): string {
  if (opset >= 18) return w.node(suffix, op, [x, w.int64s(`${suffix}.axes`, [1])]);
  return w.node(suffix, op, [x], [{ name: 'axes', type: AttrType.INTS, ints: [1] }]);
}

/**
 * One block's nodes and weights. `weights: 'undrawn'` leaves He weights zero, of their size: for a
 * template that is checked and counted, whose blocks each draw their own (sealed.ts).
 */
export function buildSE(plan: SEBlockPlan, o: SEOptions, names: { value(base: string): string; node(base: string): string }, weights: 'drawn' | 'undrawn' = 'drawn'): BuiltSE {
  const c = plan.channels;
  const w = blockWriter(plan, o, names, weights === 'drawn');
  const cr = usesSqueeze(o.block) ? squeezeWidth(plan.reduceChannels ?? c, { ...o, ratio: plan.ratio ?? o.ratio }) : 0;
  let out: string;
  if (o.block === 'se') {
    const [e] = excitation(w, plan, o, cr, [{ at: '', z: w.node('squeeze', 'GlobalAveragePool', [plan.tensor]) }]);
    out = w.scale(plan.tensor, e!, plan.gate);
  } else if (o.block === 'ese') {
    // eSE: one 1×1 conv C→C with bias on the pooled map, hard-sigmoid gate.
    const z = w.node('squeeze', 'GlobalAveragePool', [plan.tensor]);
    const wt = w.weight('fc.weight', [c, c, ...ones(plan.spatialAxes)], w.last(c));
    const b = w.weight('fc.bias', [c], w.zeros);
    out = w.scale(plan.tensor, w.node('fc', 'Conv', [z, wt.name, b.name], pointwise(plan)), 'hardsigmoid');
  } else if (o.block === 'eca') {
    // ECA: a 1-D conv of odd kernel k across the channels of the pooled vector, no bias. N×C×1×1 is read
    // as N×1×C (Reshape with 0 = keep the batch), convolved with zero padding, and read back.
    const k = ecaKernel(c);
    const z = w.node('squeeze', 'GlobalAveragePool', [plan.tensor]);
    const wt = w.weight('conv.weight', [1, 1, k], w.last(k));
    const row = w.node('as_row', 'Reshape', [z, w.int64s('as_row', [0, 1, -1])]);
    const conv = w.node('conv', 'Conv', [row, wt.name], [
      { name: 'kernel_shape', type: AttrType.INTS, ints: [k] }, { name: 'pads', type: AttrType.INTS, ints: [(k - 1) / 2, (k - 1) / 2] },
    ]);
    out = w.scale(plan.tensor, w.node('as_map', 'Reshape', [conv, w.int64s('as_map', [0, -1, ...ones(plan.spatialAxes)])]), plan.gate);
  } else {
    // CBAM (Woo et al., ECCV 2018, Eq. 2): Mc = σ(MLP(AvgPool(U)) + MLP(MaxPool(U))), one shared MLP.
    const avg = w.node('channel/avg', 'GlobalAveragePool', [plan.tensor]);
    const max = w.node('channel/max', 'GlobalMaxPool', [plan.tensor]);
    const [ea, em] = excitation(w, plan, o, cr, [{ at: 'channel/avg/', z: avg }, { at: 'channel/max/', z: max }]);
    out = w.scale(plan.tensor, w.node('channel/sum', 'Add', [ea!, em!]), plan.gate, 'channel/');
    if (o.block === 'cbam') out = spatialAttention(w, plan, out);
  }
  const params = w.inits.filter((t) => t.dataType === plan.dtype).reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
  return { nodes: w.nodes, initializers: w.inits, recipes: w.recipes, output: out, squeezeChannels: cr, params };
}

/**
 * CBAM's spatial half (Eq. 3): Ms = σ(conv7×7([mean over C; max over C])) (7 on each axis of a 1-D or 3-D map), scaling the channel-refined
 * map. The reference implementation's conv has no bias and a BatchNormalization after it; in inference
 * form (as torch.onnx.export writes it) that BN is folded into the conv, which then has one bias.
 */
function spatialAttention(w: Writer, plan: SEBlockPlan, x: string): string {
  const mean = reduceChannels(w, 'ReduceMean', x, plan.opset, 'spatial/mean');
  const max = reduceChannels(w, 'ReduceMax', x, plan.opset, 'spatial/max');
  const both = w.node('spatial/pool', 'Concat', [mean, max], [{ name: 'axis', type: AttrType.INT, i: 1 }]);
  const k = CBAM_SPATIAL_KERNEL, pad = (k - 1) / 2, axes = plan.spatialAxes;
  const kernel = new Array<number>(axes).fill(k);
  const wt = w.weight('spatial/conv.weight', [1, 2, ...kernel], w.last(2 * k ** axes));
  const b = w.weight('spatial/conv.bias', [1], w.zeros);
  const e = w.node('spatial/conv', 'Conv', [both, wt.name, b.name], [
    { name: 'kernel_shape', type: AttrType.INTS, ints: kernel }, { name: 'pads', type: AttrType.INTS, ints: new Array<number>(2 * axes).fill(pad) },
  ]);
  return w.scale(x, e, plan.gate, 'spatial/', false);
}

export const SUPPORTED_SE_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16]);
