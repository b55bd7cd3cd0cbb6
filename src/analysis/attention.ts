// Attention a block already holds, in the forms exporters write it: the questions every pass asks
// before it adds a block, so that no block gets a second one.

import type { NodeProto } from '../onnx/proto.js';
import { dataInputs, dimsOf, isConstant, isPassThrough, producerOf } from './blocks.js';
import type { Ctx } from './blocks.js';

/** Constant arithmetic a gate may pass through on its way to the Mul (--init preserve's ×2). */
const ARITHMETIC = new Set(['Mul', 'Div', 'Add', 'Sub']);

const POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax']);

/** Ops that lay a vector out anew (a softmax across paths included): their output has no spatial axes of its own. */
const RELAYOUTS = new Set(['Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Softmax']);

/**
 * Is `gate` an excitation: a per-channel tensor (spatial size 1) computed from a global pool? Average
 * or max pooling, as SE, eSE, ECA and CBAM's channel half write it (timm's x.mean/x.amax are ReduceMean/
 * ReduceMax), broadcast to the map's shape or not (timm's ECA expands its gate before the Mul); per path
 * and channel, N×M×C×1×1 after a softmax across the M paths, as SKNet's selective kernel and ResNeSt's
 * split attention write it.
 */
export function isExcitationGate(ctx: Ctx, gate: string): boolean {
  return searchUp(ctx, [gate], (t, p) => {
    if (p.opType === 'Expand' || p.opType === 'Tile') return p.inputs[0] ? [p.inputs[0]] : [];
    const dims = dimsOf(ctx, t);
    // A per-channel vector: N×C×1×1 (N×M×C×1×1), or N×1×C while ECA's 1-D conv runs across the channels;
    // a relayout's input is asked in turn.
    if (dims && dims.length >= 4 && !RELAYOUTS.has(p.opType) && dims.slice(-2).some((d) => d !== 1)) return [];
    return isGlobalPool(ctx, p) || dataInputs(ctx, p);
  });
}

/**
 * A pool over the spatial axes: a global pool op, or a ReduceMean/ReduceMax whose input has a spatial
 * extent (H×W > 1). A mean over the channels of an N×C×1×1 vector pools nothing spatial: ConvNeXt-V2's
 * GRN divides its per-channel L2 norms by their mean over C, a normalization with no learned gate.
 */
function isGlobalPool(ctx: Ctx, p: NodeProto): boolean {
  if (!POOLS.has(p.opType)) return false;
  if (p.opType.startsWith('Global')) return true;
  const d = dimsOf(ctx, dataInputs(ctx, p)[0] ?? '');
  return !d || d.length < 3 || d.slice(-2).some((n) => n !== 1);
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
    return ((CHANNEL_REDUCTIONS.has(q.opType) || q.opType === 'Conv') && dimsOf(ctx, t)?.[1] === 1 && inputChannels > 1) || dataInputs(ctx, q);
  });
}

/**
 * A Mul that scales a feature map by an attention gate: the heart of every SE block (a per-channel
 * excitation), and of CBAM's spatial half (a per-position map).
 */
export function isSEScale(ctx: Ctx, n: NodeProto): boolean {
  if (n.opType !== 'Mul' || n.inputs.length !== 2) return false;
  const [a, b] = n.inputs as [string, string];
  // N×C×H×W, or N×M×C×H×W: the M paths of a selective-kernel unit stacked before their weighted sum.
  const full = (t: string) => {
    const d = dimsOf(ctx, t);
    const r = d?.length ?? 0;
    return (r === 4 || r === 5) && (d![r - 2]! > 1 || d![r - 1]! > 1) && d![r - 3]! > 1;
  };
  const gates = (x: string, g: string) => full(x) && (isExcitationGate(ctx, g) || isSpatialGate(ctx, g, x));
  return gates(a, b) || gates(b, a);
}

/**
 * The first self-attention product in a region: a MatMul (or Einsum) of two computed tensors, as q·kᵀ and
 * softmax(q·kᵀ)·v over tokens (a feature map reshaped to N×L×d). A MatMul by weights is a Linear layer,
 * as a channels-last MLP writes its 1×1 convs (ConvNeXt); undefined where the region has no attention.
 */
export function attentionIn(ctx: Ctx, region: Iterable<NodeProto>): NodeProto | undefined {
  for (const n of region) {
    if (n.opType !== 'MatMul' && n.opType !== 'Einsum') continue;
    const data = dataInputs(ctx, n);
    if (data.length === 2 && !isConstant(ctx, data[0]!) && !isConstant(ctx, data[1]!)) return n;
  }
  return undefined;
}

export function findSE(ctx: Ctx, region: Iterable<NodeProto>): NodeProto | undefined {
  for (const n of region) if (isSEScale(ctx, n)) return n;
  return undefined;
}

