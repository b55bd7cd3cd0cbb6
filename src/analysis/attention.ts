// Attention a block already holds, in the forms exporters write it: the questions every pass asks
// before it adds a block, so that no block gets a second one.

import type { NodeProto } from '../onnx/proto.js';
import { dataInputs, dimsOf, isConstant, isConv, isFeatureMap, isPassThrough, producerOf, shapeOf } from './blocks.js';
import type { Ctx } from './blocks.js';
import { attrInts } from './shapes.js';

/** Constant arithmetic a gate may pass through on its way to the Mul (--init preserve's ×2). */
const ARITHMETIC = new Set(['Mul', 'Div', 'Add', 'Sub']);

const POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax']);

/** Ops that only lay a tensor's elements out anew. */
const REARRANGES = new Set(['Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze']);

/** Ops that lay a vector out anew (a softmax across paths included): their output has no spatial axes of its own. */
const RELAYOUTS = new Set([...REARRANGES, 'Softmax']);

/**
 * Is `gate` an excitation: a per-channel tensor (spatial size 1) computed from a global pool? Average
 * or max pooling, as SE, eSE, ECA and CBAM's channel half write it (timm's x.mean/x.amax are ReduceMean/
 * ReduceMax), broadcast to the map's shape or not (timm's ECA expands its gate before the Mul); per path
 * and channel, N×M×C×1×1 after a softmax across the M paths, as SKNet's selective kernel and ResNeSt's
 * split attention write it; or a softmax-weighted mean over the positions (GCNet's attention pooling).
 */
export function isExcitationGate(ctx: Ctx, gate: string): boolean {
  return searchUp(ctx, [gate], (t, p) => {
    const from = broadcastOf(ctx, p);
    if (from !== undefined) return from ? [from] : [];
    const dims = dimsOf(ctx, t);
    // A per-channel vector: N×C×1×1 (N×M×C×1×1), or N×1×C while ECA's 1-D conv runs across the channels;
    // a relayout's input is asked in turn.
    // GCNet's context is a softmax-weighted mean over the positions, N×1×C×1 before it is viewed as N×C×1×1.
    if (isAttentionPooling(ctx, p)) return true;
    if (dims && !RELAYOUTS.has(p.opType) && hasExtent(ctx, t, dims)) return [];
    return isGlobalPool(ctx, p) || dataInputs(ctx, p);
  });
}

const RESAMPLES = new Set(['Resize', 'Upsample']);

/**
 * What a broadcast node repeats ('' where it reads nothing), undefined for any other node: an Expand or a
 * Tile (timm's ECA expands its gate before the Mul), or a Resize/Upsample of a tensor with no positions of
 * its own — an N×C×1×1 gate repeated over H×W, as se-inject's resize form writes it — which copies one
 * value to every position and merges no resolutions.
 */
export function broadcastOf(ctx: Ctx, p: NodeProto): string | undefined {
  if (p.opType === 'Expand' || p.opType === 'Tile') return p.inputs[0] ?? '';
  if (!RESAMPLES.has(p.opType) || !p.inputs[0]) return undefined;
  const d = dimsOf(ctx, p.inputs[0]);
  return d && d.length >= 3 && d.slice(2).every((k) => k === 1) ? p.inputs[0] : undefined;
}

/**
 * A tensor with positions of its own, which no gate computed from a global pool is: a rank-4 (or rank-5)
 * tensor whose last two axes are not 1, or a 1-D feature map N×C×L of more than one channel and
 * position (a gated activation's σ(conv(x)) in WaveNet-style blocks). ECA's N×1×C row is none.
 */
function hasExtent(ctx: Ctx, t: string, dims: readonly number[]): boolean {
  if (dims.length >= 4) return dims.slice(-2).some((d) => d !== 1);
  return dims.length === 3 && dims[2]! > 1 && isOtherRankMap(ctx, t, dims);
}

/**
 * A pool over the spatial axes: a global pool op, or a ReduceMean/ReduceMax over the spatial axes alone
 * (timm's x.mean((2, 3)), at any H×W, 1×1 included), or, its axes unknown, one whose input has a spatial
 * extent (H×W > 1); or an AveragePool/MaxPool whose one window spans the map (CBAM's authors' code pools
 * with F.avg_pool2d(x, x.size()[2:]), as Caffe models write global pooling). A mean over the channels of
 * an N×C×1×1 vector pools nothing spatial: ConvNeXt-V2's GRN divides its per-channel L2 norms by their
 * mean over C, a normalization with no learned gate.
 */
function isGlobalPool(ctx: Ctx, p: NodeProto): boolean {
  if (WINDOW_POOLS.has(p.opType)) return spansMap(ctx, p);
  if (!POOLS.has(p.opType)) return false;
  if (p.opType.startsWith('Global')) return true;
  const d = dimsOf(ctx, dataInputs(ctx, p)[0] ?? '');
  const axes = p.attributes.find((a) => a.name === 'axes')?.ints ?? (p.inputs[1] ? shapeOf(ctx, p.inputs[1])?.values : undefined);
  if (d && d.length >= 3 && axes?.length) return axes.every((a) => (a < 0 ? a + d.length : a) >= 2);
  return !d || d.length < 3 || d.slice(-2).some((n) => n !== 1);
}

const WINDOW_POOLS = new Set(['AveragePool', 'MaxPool', 'LpPool']);

/** A windowed pool of a map (N×C×H×W, N×C×L, N×C×D×H×W) whose kernel, without padding, covers every spatial axis: one window, a global pool. */
function spansMap(ctx: Ctx, p: NodeProto): boolean {
  const d = dimsOf(ctx, dataInputs(ctx, p)[0] ?? ''), k = attrInts(p, 'kernel_shape');
  const pads = attrInts(p, 'pads') ?? [];
  return !!d && d.length >= 3 && k?.length === d.length - 2 && k.every((v, i) => v >= d[i + 2]!) && pads.every((v) => v === 0);
}

/**
 * Attention pooling: a MatMul (or Einsum) of a map's values by softmax weights over its positions, with
 * one query, so that each channel gets one weighted mean (N×1×C×1, N×C×1 or N×C): GCNet's and
 * non-local-simplified context modelling, softmax(conv1×1(x) over H·W)·x. Self-attention keeps its tokens.
 */
function isAttentionPooling(ctx: Ctx, n: NodeProto): boolean {
  if (n.opType !== 'MatMul' && n.opType !== 'Einsum') return false;
  const data = dataInputs(ctx, n);
  if (data.length !== 2 || isConstant(ctx, data[0]!) || isConstant(ctx, data[1]!)) return false;
  const d = dimsOf(ctx, n.outputs[0] ?? '');
  if (!d || !(d.length <= 2 || d.slice(-2).includes(1))) return false;
  return data.some((t) => fromSoftmax(ctx, t));
}

/** The tensor `t` lays out anew (GCNet's attention pooling reads x viewed as N×C×HW), or `t` itself. */
function laidOutFrom(ctx: Ctx, t: string): string {
  for (let i = 0; i < 6; i++) {
    const p = producerOf(ctx, t);
    if (!p || !REARRANGES.has(p.opType) || !p.inputs[0]) return t;
    t = p.inputs[0];
  }
  return t;
}

/** Is `t` a Softmax's output, laid out anew or not? */
function fromSoftmax(ctx: Ctx, t: string): boolean {
  return producerOf(ctx, laidOutFrom(ctx, t))?.opType === 'Softmax';
}

/**
 * Breadth-first up the producers from `starts`, over at most 24 tensors (a gate's computation is short):
 * `visit` answers true (found), or the tensors to look at next ([] ends this path).
 */
function searchUp(ctx: Ctx, starts: readonly string[], visit: (t: string, producer: NodeProto) => true | readonly string[]): boolean {
  const queue = [...starts];
  const seen = new Set<string>();
  while (queue.length && seen.size < 24) {
    const t = queue.shift()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const p = producerOf(ctx, t);
    if (!p) continue;
    const next = visit(t, p);
    if (next === true) return true;
    queue.push(...next);
  }
  return false;
}

const CHANNEL_REDUCTIONS = new Set(['ReduceMean', 'ReduceMax', 'ReduceSum', 'ReduceL2']);

/**
 * Is `gate` a spatial attention map for `x`: N×1×H×W at x's resolution, out of a sigmoid (times a
 * constant, as --init preserve writes it), computed from a reduction across x's channels or a conv down
 * to one channel? CBAM's spatial half (conv over [mean; max] across C) and scSE's spatial squeeze (a 1×1
 * conv C→1) are such maps.
 */
export function isSpatialGate(ctx: Ctx, gate: string, x: string): boolean {
  const d = dimsOf(ctx, gate), dx = dimsOf(ctx, x);
  if (!d || !dx || d.length !== 4 || d[1] !== 1 || !(dx[1]! > 1) || d[2] !== dx[2] || d[3] !== dx[3]) return false;
  let p = producerOf(ctx, gate);
  for (let i = 0; i < 4 && p && ARITHMETIC.has(p.opType) && isPassThrough(ctx, p); i++) p = producerOf(ctx, dataInputs(ctx, p)[0] ?? '');
  if (!p || (p.opType !== 'Sigmoid' && p.opType !== 'HardSigmoid')) return false;
  return searchUp(ctx, dataInputs(ctx, p), (t, q) => {
    const inputChannels = dimsOf(ctx, dataInputs(ctx, q)[0] ?? '')?.[1] ?? 0;
    return ((CHANNEL_REDUCTIONS.has(q.opType) || isConv(q)) && dimsOf(ctx, t)?.[1] === 1 && inputChannels > 1) || dataInputs(ctx, q);
  });
}

/** Reductions that pool a map over its positions when their output keeps the channels. */
const REDUCING = new Set([...POOLS, 'ReduceSum', 'AveragePool', 'MaxPool']);

/**
 * Does `p` pool `x` along H, W or both, keeping its channels: a mean, max or sum over a whole spatial
 * axis (Coordinate Attention's pools along each, adaptive pooling exported as an AveragePool whose kernel
 * spans the axis; SimAM's per-channel mean)?
 */
function poolsAlongSpace(ctx: Ctx, p: NodeProto, x: string): boolean {
  if (!REDUCING.has(p.opType) || dataInputs(ctx, p)[0] !== x) return false;
  const dx = dimsOf(ctx, x), d = dimsOf(ctx, p.outputs[0] ?? '');
  if (!dx || !d || dx.length !== 4 || d[1] !== dx[1]) return false;
  // keepdims = 0: the pooled axes are gone.
  if (d.length < 4) return true;
  return d.length === 4 && ((d[2] === 1 && dx[2]! > 1) || (d[3] === 1 && dx[3]! > 1));
}

/**
 * Is `gate` a context gate for `x`: out of a sigmoid (through a broadcast and constant arithmetic: BAM's
 * 1 + σ, --init preserve's ×2) whose input is computed from a pooling of x over its positions, and is
 * not x itself (SiLU's x·σ(x) is an activation)? Coordinate Attention (N×C×H×1 and N×C×1×W gates from
 * pools along W and along H), SimAM (a full-size gate from each channel's mean and variance, no weights),
 * BAM (a channel term from a global pool and a spatial term, added before one sigmoid).
 */
export function isContextGate(ctx: Ctx, gate: string, x: string): boolean {
  let p = producerOf(ctx, gate);
  for (let i = 0; i < 6 && p; i++) {
    const from = broadcastOf(ctx, p);
    if (from) p = producerOf(ctx, from);
    else if (ARITHMETIC.has(p.opType) && isPassThrough(ctx, p)) p = producerOf(ctx, dataInputs(ctx, p)[0] ?? '');
    else break;
  }
  if (!p || (p.opType !== 'Sigmoid' && p.opType !== 'HardSigmoid')) return false;
  const h = dataInputs(ctx, p)[0];
  if (!h || h === x) return false;
  return searchUp(ctx, [h], (t, q) => (t === x ? [] : poolsAlongSpace(ctx, q, x) || dataInputs(ctx, q)));
}

/** N×C×H×W, or N×M×C×H×W (the M paths of a selective-kernel unit stacked before their weighted sum), or a 1-D or 3-D map: with positions to pool. */
function isFullMap(ctx: Ctx, t: string): boolean {
  const d = dimsOf(ctx, t);
  const r = d?.length ?? 0;
  if ((r === 4 || r === 5) && (d![r - 2]! > 1 || d![r - 1]! > 1) && d![r - 3]! > 1) return true;
  return isOtherRankMap(ctx, t, d) && d!.slice(2).some((k) => k > 1);
}

/** A 1-D or 3-D feature map (N×C×L, N×C×D×H×W) of more than one channel. */
function isOtherRankMap(ctx: Ctx, t: string, d: readonly number[] | undefined): boolean {
  return !!d && (d.length === 3 || d.length === 5) && d[1]! > 1 && isFeatureMap(ctx, t);
}

/**
 * The map a gate scales: a full map, or at 1×1, where a map and its per-channel gate have one shape (the
 * last stages of a network fed a CIFAR-sized 32×32 image), the map the gate's own global pool reads,
 * as it is or laid out anew.
 * SiLU's x·σ(x) at 1×1 is no such product: no pool reads x on the way to σ(x).
 */
function isScaledMap(ctx: Ctx, x: string, gate: string): boolean {
  if (isFullMap(ctx, x)) return true;
  const d = dimsOf(ctx, x);
  const r = d?.length ?? 0;
  if (!(((r === 4 || r === 5) && d![r - 3]! > 1) || isOtherRankMap(ctx, x, d))) return false;
  return searchUp(ctx, [gate], (t, p) => {
    if (t === x) return [];
    if (POOLS.has(p.opType) || isAttentionPooling(ctx, p)) return dataInputs(ctx, p).some((i) => laidOutFrom(ctx, i) === x) || [];
    return dataInputs(ctx, p);
  });
}

/**
 * A Mul that scales a feature map by an attention gate: the heart of every SE block (a per-channel
 * excitation), of CBAM's spatial half (a per-position map), and of the context gates above.
 */
export function isSEScale(ctx: Ctx, n: NodeProto): boolean {
  if (n.opType !== 'Mul' || n.inputs.length !== 2) return false;
  const a = n.inputs[0]!, b = n.inputs[1]!;
  const gates = (x: string, g: string) => isScaledMap(ctx, x, g) && (isExcitationGate(ctx, g) || isSpatialGate(ctx, g, x) || isContextGate(ctx, g, x));
  return gates(a, b) || gates(b, a);
}

/** Layers with weights: what turns a pooled context into a learned term. */
const LEARNED = new Set(['Conv', 'FusedConv', 'Gemm', 'MatMul']);

/**
 * An Add of a feature map and a per-channel term learned from its global context: GCNet's channel-add
 * fusion, x + conv(relu(LN(conv(attention-pool(x))))), attention added rather than multiplied.
 */
export function isContextAdd(ctx: Ctx, n: NodeProto): boolean {
  if (n.opType !== 'Add' || n.inputs.length !== 2) return false;
  const a = n.inputs[0]!, b = n.inputs[1]!;
  const perChannel = (t: string) => {
    const d = dimsOf(ctx, t);
    return !d || d.length < 4 || d.slice(-2).every((k) => k === 1);
  };
  const learned = (t: string) => searchUp(ctx, [t], (u, p) => LEARNED.has(p.opType) || (perChannel(u) ? dataInputs(ctx, p) : []));
  const adds = (x: string, t: string) => isScaledMap(ctx, x, t) && !isConstant(ctx, t) && perChannel(t) && isExcitationGate(ctx, t) && learned(t);
  return adds(a, b) || adds(b, a);
}

/**
 * The first self-attention product in a region: a MatMul (or Einsum) of two computed tensors, as q·kᵀ and
 * softmax(q·kᵀ)·v over tokens (a feature map reshaped to N×L×d). A MatMul by weights is a Linear layer,
 * as a channels-last MLP writes its 1×1 convs (ConvNeXt), and one softmax-weighted mean per channel is
 * attention pooling (GCNet), channel attention; undefined where the region has no self-attention.
 */
export function attentionIn(ctx: Ctx, region: Iterable<NodeProto>): NodeProto | undefined {
  for (const n of region) {
    if (n.opType !== 'MatMul' && n.opType !== 'Einsum') continue;
    const data = dataInputs(ctx, n);
    if (data.length === 2 && !isConstant(ctx, data[0]!) && !isConstant(ctx, data[1]!) && !isAttentionPooling(ctx, n)) return n;
  }
  return undefined;
}

/** The first node of a region that applies attention to a map: a gate's Mul, or a context Add. */
export function findSE(ctx: Ctx, region: Iterable<NodeProto>): NodeProto | undefined {
  for (const n of region) if (isSEScale(ctx, n) || isContextAdd(ctx, n)) return n;
  return undefined;
}

