// Structural questions the passes ask about a block, answered without mutating anything:
// which tensors are feature maps, where parallel branches meet, which nodes form a block, and whether
// a block already holds a Squeeze-and-Excitation gate.

import type { Graph } from '../ir/graph.js';
import { FLOAT_TYPES } from '../onnx/proto.js';
import type { NodeProto } from '../onnx/proto.js';
import type { ShapeMap } from './shapes.js';

const WALK_LIMIT = 160;

export interface Ctx {
  graph: Graph;
  shapes: ShapeMap;
}

/** A float tensor of rank 4 (N, C, H, W) computed by a node: what SE can scale. */
export function isFeatureMap(ctx: Ctx, t: string): boolean {
  const s = ctx.shapes.get(t);
  return !!s && FLOAT_TYPES.has(s.dtype) && s.dims?.length === 4 && !ctx.graph.initializer(t) && (!!ctx.graph.producer(t) || ctx.graph.isGraphInput(t));
}

export function dimsOf(ctx: Ctx, t: string): number[] | undefined {
  return ctx.shapes.get(t)?.dims;
}

const constants = new WeakMap<Ctx, Map<string, boolean>>();

/**
 * Constant tensors, wherever an exporter put them: initializers, Constant and ConstantOfShape outputs,
 * and what is computed from constants alone (torch's Identity on a shared weight, a Cast, a Reshape).
 */
export function isConstant(ctx: Ctx, t: string, depth = 0): boolean {
  let memo = constants.get(ctx);
  if (!memo) constants.set(ctx, (memo = new Map()));
  const known = memo.get(t);
  if (known !== undefined) return known;
  let result = !!ctx.graph.initializer(t);
  if (!result) {
    const p = ctx.graph.producer(t);
    if (p?.opType === 'Constant' || p?.opType === 'ConstantOfShape') result = true;
    else if (p && depth < 16 && p.inputs.some((i) => i)) result = p.inputs.every((i) => !i || isConstant(ctx, i, depth + 1));
  }
  memo.set(t, result);
  return result;
}

/** Ops that map a feature map to one of its shape elementwise: activations in every written form, norms, no-ops. */
const ELEMENTWISE = new Set([
  'BatchNormalization', 'Relu', 'Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'LeakyRelu', 'PRelu', 'Elu', 'Selu',
  'Celu', 'Tanh', 'Softplus', 'Mish', 'Gelu', 'Identity', 'Dropout', 'InstanceNormalization',
]);
const ARITHMETIC = new Set(['Mul', 'Div', 'Add', 'Sub']);

/**
 * A step that keeps a block's feature map a feature map of the same shape, whoever wrote it: an activation
 * or a norm, or arithmetic with a scalar or per-channel constant (a folded BN as Mul+Add, the /6 and +3 of
 * hard-swish written out, a layer scale). x·f(x) forms (SiLU, hard-swish) are followed by the walkers.
 */
export function isPassThrough(ctx: Ctx, n: NodeProto): boolean {
  if (ELEMENTWISE.has(n.opType)) return true;
  if (!ARITHMETIC.has(n.opType) || n.inputs.length !== 2) return false;
  const data = n.inputs.filter((i) => !isConstant(ctx, i));
  if (data.length !== 1) return false;
  const other = n.inputs.find((i) => i !== data[0]);
  const dims = other ? dimsOf(ctx, other) : undefined;
  const channels = dimsOf(ctx, data[0]!)?.[1];
  if (!dims) return false;
  const size = dims.reduce((a, b) => a * b, 1);
  return size === 1 || (size === channels && dims.length >= 3 && dims[dims.length - 3] === channels);
}

/** Inputs of a node that carry activations: floating point, not weights, not folded constants. */
export function dataInputs(ctx: Ctx, n: NodeProto): string[] {
  return n.inputs.filter((i) => {
    if (!i || isConstant(ctx, i)) return false;
    const s = ctx.shapes.get(i);
    if (!s || !FLOAT_TYPES.has(s.dtype)) return false;
    const p = ctx.graph.producer(i);
    return !!p || ctx.graph.isGraphInput(i);
  });
}

/** Backward distances (in nodes) from `end` to every activation tensor above it, within a bound. */
export function ancestors(ctx: Ctx, end: string, limit = WALK_LIMIT): Map<string, number> {
  const dist = new Map<string, number>([[end, 0]]);
  const queue = [end];
  while (queue.length && dist.size < limit) {
    const t = queue.shift()!;
    const p = ctx.graph.producer(t);
    if (!p) continue;
    for (const i of dataInputs(ctx, p)) {
      if (dist.has(i)) continue;
      dist.set(i, dist.get(t)! + 1);
      queue.push(i);
    }
  }
  return dist;
}

/** The nearest tensor that every end descends from: a block's input. */
export function meetingPoint(ctx: Ctx, ends: string[]): string | undefined {
  const maps = ends.map((e) => ancestors(ctx, e));
  let best: string | undefined;
  let bestDist = Infinity;
  for (const [t, d0] of maps[0]!) {
    let worst = d0;
    for (const m of maps.slice(1)) {
      const d = m.get(t);
      if (d === undefined) { worst = Infinity; break; }
      worst = Math.max(worst, d);
    }
    if (worst < bestDist) {
      best = t;
      bestDist = worst;
    }
  }
  return best;
}

/** Nodes on paths from `start` (exclusive) to any of `ends` (inclusive): the block's body. */
export function regionBetween(ctx: Ctx, start: string, ends: string[]): Set<NodeProto> {
  const region = new Set<NodeProto>();
  const below = descendants(ctx, start);
  const queue = ends.filter((e) => e !== start);
  const seen = new Set(queue);
  while (queue.length && region.size < WALK_LIMIT) {
    const t = queue.shift()!;
    const p = ctx.graph.producer(t);
    if (!p || !below.has(t)) continue;
    region.add(p);
    for (const i of dataInputs(ctx, p)) {
      if (i === start || seen.has(i)) continue;
      seen.add(i);
      queue.push(i);
    }
  }
  return region;
}

function descendants(ctx: Ctx, start: string): Set<string> {
  const out = new Set<string>();
  const queue = [start];
  while (queue.length && out.size < WALK_LIMIT * 4) {
    const t = queue.shift()!;
    for (const c of ctx.graph.consumers(t)) {
      for (const o of c.outputs) {
        if (o && !out.has(o)) {
          out.add(o);
          queue.push(o);
        }
      }
    }
  }
  return out;
}

/** Convs in `region` on the way back from `end` (stopping at `start`). */
export function convsOnPath(ctx: Ctx, region: Set<NodeProto>, start: string, end: string): number {
  let convs = 0;
  const seen = new Set<string>();
  const queue = [end];
  while (queue.length) {
    const t = queue.shift()!;
    if (t === start || seen.has(t)) continue;
    seen.add(t);
    const p = ctx.graph.producer(t);
    if (!p || !region.has(p)) continue;
    if (p.opType === 'Conv' || p.opType === 'ConvTranspose') convs++;
    queue.push(...dataInputs(ctx, p));
  }
  return convs;
}

/** True when `a` is computed from `b` (b is an ancestor of a). */
export function dependsOn(ctx: Ctx, a: string, b: string): boolean {
  return ancestors(ctx, a).has(b);
}

/** Is `gate` an excitation: a per-channel tensor (spatial size 1) computed from a global pool? */
export function isExcitationGate(ctx: Ctx, gate: string): boolean {
  const queue = [gate];
  const seen = new Set<string>();
  while (queue.length && seen.size < 24) {
    const t = queue.shift()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const dims = dimsOf(ctx, t);
    // A per-channel vector: N×C×1×1, or N×1×C while ECA's 1-D conv runs across the channels.
    if (dims && dims.length >= 4 && dims.slice(2).some((d) => d !== 1)) continue;
    const p = ctx.graph.producer(t);
    if (!p) continue;
    if (p.opType === 'GlobalAveragePool' || p.opType === 'ReduceMean' || p.opType === 'GlobalMaxPool') return true;
    queue.push(...dataInputs(ctx, p));
  }
  return false;
}

/** A Mul that scales a feature map by an excitation gate: the heart of every SE block. */
export function isSEScale(ctx: Ctx, n: NodeProto): boolean {
  if (n.opType !== 'Mul' || n.inputs.length !== 2) return false;
  const [a, b] = n.inputs as [string, string];
  const full = (t: string) => {
    const d = dimsOf(ctx, t);
    return !!d && d.length === 4 && (d[2]! > 1 || d[3]! > 1);
  };
  return (full(a) && isExcitationGate(ctx, b)) || (full(b) && isExcitationGate(ctx, a));
}

export function findSE(ctx: Ctx, region: Iterable<NodeProto>): NodeProto | undefined {
  for (const n of region) if (isSEScale(ctx, n)) return n;
  return undefined;
}

/** Readers of a tensor's values: Shape and Size read only its dimensions (dynamic-batch exports). */
export function dataConsumers(ctx: Ctx, t: string): readonly NodeProto[] {
  return ctx.graph.consumers(t).filter((n) => n.opType !== 'Shape' && n.opType !== 'Size');
}

/** Reshape → Transpose → Reshape right after a tensor: ShuffleNet's channel shuffle. */
export function feedsChannelShuffle(ctx: Ctx, t: string): boolean {
  const users = dataConsumers(ctx, t);
  if (users.length !== 1 || users[0]!.opType !== 'Reshape') return false;
  const r1 = users[0]!;
  if (dimsOf(ctx, r1.outputs[0]!)?.length !== 5) return false;
  const next = dataConsumers(ctx, r1.outputs[0]!);
  return next.length === 1 && next[0]!.opType === 'Transpose';
}

/** Channel axis of a Concat over rank-4 tensors is 1 (or -3). */
export function isChannelConcat(ctx: Ctx, n: NodeProto): boolean {
  const rank = dimsOf(ctx, n.outputs[0]!)?.length;
  const axis = n.attributes.find((a) => a.name === 'axis')?.i ?? 0;
  return rank === 4 && (axis === 1 || axis === -3);
}
