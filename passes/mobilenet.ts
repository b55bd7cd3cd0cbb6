/**
 * insertSEAfterDepthwiseBlock — SE in depthwise-separable blocks (MobileNet v1/v2, MnasNet; Hu et al.
 * report SE-MobileNet in their Table 3; MnasNet and MobileNetV3 put SE inside these blocks).
 *
 * Matches  a depthwise Conv (group = C_in, kernel > 1×1; its padding in its pads or a Pad op before it)
 *          followed, through BN and activations (ReLU, ReLU6 as Clip in its opset-9 and opset-11 forms,
 *          SiLU as x·σ(x), hard-swish), by a pointwise 1×1 projection. MixNet's mixed depthwise conv (one
 *          map's channel groups through 3×3/5×5/7×7 depthwise convs, concatenated) is one depthwise conv,
 *          matched at its first group. A linear depthwise conv whose 1×1 widens, the next 1×1 (past at most
 *          one more depthwise conv) narrowing, opens an inverted bottleneck: MobileNetV4's UIB ExtraDW and
 *          ConvNext-like blocks, one block from that depthwise conv to the projection.
 * Writes   output placement  project(dw(x)) → SE(project(dw(x))), before any residual Add
 *          v3 placement      project(act(dw(x))) → project(SE(act(dw(x)))), hard-sigmoid gate (MobileNetV3)
 */

import { dataConsumers, nasCellOf, dataInputs, dimsOf, isAffineStep, isConv, isDepthwise, isPassThrough, isPointwiseConv, kernelOf, producerOf, regionBetween } from '../src/analysis/blocks.js';
import { findSE, isContextAdd, isSEScale } from '../src/analysis/attention.js';
import type { Ctx } from '../src/analysis/blocks.js';
import { branchSumOf, outerBranchSum } from '../src/analysis/branch-sum.js';
import { mixedDepthwiseOf } from '../src/analysis/channel-split.js';
import { attrInt } from '../src/analysis/shapes.js';
import type { NodeProto } from '../src/onnx/proto.js';
import { holdsAttention, nodeLabel, skip } from '../src/se/site.js';
import type { Candidate, Pass, PassOptions } from '../src/se/site.js';

/** A 1×1 conv: MobileNet's pointwise projection, or ShuffleNet's pointwise group conv. */

/** Next tensor of the block's main path: one reader, x·f(x) (SiLU, hard-swish, an SE scale), or a global context added (GCNet). */
function step(ctx: Ctx, t: string): { next: NodeProto; se?: NodeProto } | undefined {
  const users = dataConsumers(ctx, t);
  if (users.length === 1) return { next: users[0]! };
  // x·f(x): the Mul's other factor computed from t. A map read by several layers, one of them a Mul by a
  // constant (BiFPN's fusion weight), is the block's output: the walk stops there.
  const muls = users.filter((u) => (u.opType === 'Mul' || isContextAdd(ctx, u)) && dimsOf(ctx, u.outputs[0]!)?.join() === dimsOf(ctx, t)?.join()
    && dataInputs(ctx, u).length === 2 && dataInputs(ctx, u).some((i) => i !== t && regionBetween(ctx, t, [i]).size > 0));
  if (muls.length !== 1) return undefined;
  const m = muls[0]!;
  return { next: m, se: isSEScale(ctx, m) || isContextAdd(ctx, m) ? m : undefined };
}

function forward(ctx: Ctx, from: string, stopAtPointwise: boolean) {
  let t = from;
  let se: NodeProto | undefined;
  for (let i = 0; i < 16; i++) {
    const s = step(ctx, t);
    if (!s) break;
    se ??= s.se;
    if (stopAtPointwise && isPointwiseConv(ctx, s.next)) return { end: t, pointwise: s.next, se };
    if (!isPassThrough(ctx, s.next) && s.next.opType !== 'Mul' && s.next !== s.se) break;
    t = s.next.outputs[0]!;
  }
  return { end: t, pointwise: undefined, se };
}

/** Walks back from `t` over single-reader pass-through steps (and x·f(x) forms) to the node that made it. */
function producerThrough(ctx: Ctx, t: string): { node?: NodeProto; tensor: string } {
  for (let i = 0; i < 8; i++) {
    const p = producerOf(ctx, t);
    if (!p || dataConsumers(ctx, t).length !== 1) return { node: p, tensor: t };
    if (!isPassThrough(ctx, p) && p.opType !== 'Mul') return { node: p, tensor: t };
    const next = dataInputs(ctx, p)[0];
    if (!next) return { node: p, tensor: t };
    // x·f(x): both factors come from x, which may have two readers; step to x.
    t = next;
  }
  return { node: producerOf(ctx, t), tensor: t };
}

/**
 * What a depthwise conv reads before its padding (`t`, its input): a Pad read by the conv alone is the
 * conv's own padding written as an op (tf2onnx's SAME padding of a stride-2 conv, Keras' ZeroPadding2D).
 */
function unpadded(ctx: Ctx, t: string): string {
  for (let p = producerOf(ctx, t); p?.opType === 'Pad' && dataConsumers(ctx, t).length === 1; p = producerOf(ctx, t)) {
    const data = dataInputs(ctx, p);
    if (data.length !== 1) break;
    t = data[0]!;
  }
  return t;
}

/**
 * The block input: before an expansion 1×1 conv if there is one (MobileNetV2, MnasNet), else the
 * depthwise conv's input (before its Pad, if it has one). A 1×1 conv that is itself the projection after
 * an earlier depthwise conv ends that block (MobileNet v1: dw-pw, dw-pw, ...): consecutive blocks share a
 * tensor, never a conv.
 */
function blockInput(ctx: Ctx, dwIn: string): string {
  const input = unpadded(ctx, dwIn);
  const { node: p } = producerThrough(ctx, input);
  if (!p || !isPointwiseConv(ctx, p)) return input;
  const before = producerThrough(ctx, p.inputs[0]!).node;
  if (before && isDepthwise(ctx, before)) return input;
  return p.inputs[0]!;
}

/** The mixed depthwise conv (MixConv) that `dw` is one group of: its concat and the map it splits. */
function mixedConv(ctx: Ctx, dw: NodeProto) {
  let t = dw.outputs[0]!;
  for (let i = 0; i < 4; i++) {
    const users = dataConsumers(ctx, t);
    if (users.length !== 1) return undefined;
    const mixed = users[0]!.opType === 'Concat' ? mixedDepthwiseOf(ctx, users[0]!) : undefined;
    if (mixed) return { concat: users[0]!, ...mixed };
    if (!isPassThrough(ctx, users[0]!)) return undefined;
    t = users[0]!.outputs[0]!;
  }
  return undefined;
}

/** Whether every step from `from` to `end` is linear (BN, affine arithmetic): no activation between. */
function linearTo(ctx: Ctx, from: string, end: string): boolean {
  for (let t = from, i = 0; t !== end; i++) {
    const users = dataConsumers(ctx, t);
    if (i >= 16 || users.length !== 1 || !isAffineStep(ctx, users[0]!)) return false;
    t = users[0]!.outputs[0]!;
  }
  return true;
}

const widthsOf = (ctx: Ctx, conv: NodeProto) => [dimsOf(ctx, conv.inputs[0]!)?.[1] ?? 0, dimsOf(ctx, conv.outputs[0]!)?.[1] ?? 0] as const;

/**
 * A linear depthwise conv that opens an inverted bottleneck, MobileNetV4's UIB (ExtraDW, ConvNext-like) and
 * ConvNeXt's block: the 1×1 after it widens (the expansion), and the next 1×1, past at most one more
 * depthwise conv, narrows (the projection). Returns the projection and the tensor it reads. MobileNet v1's
 * pw after an activated dw, and Xception's consecutive separable convs, never narrow after widening.
 */
function invertedBottleneckAfter(ctx: Ctx, dw: NodeProto, head: { end: string; pointwise?: NodeProto }) {
  const expand = head.pointwise!;
  const [cin, cout] = widthsOf(ctx, expand);
  if (!(cout > cin) || !linearTo(ctx, dw.outputs[0]!, head.end)) return undefined;
  let next = forward(ctx, expand.outputs[0]!, true);
  if (!next.pointwise) {
    const users = dataConsumers(ctx, next.end);
    if (users.length !== 1 || !isDepthwise(ctx, users[0]!)) return undefined;
    next = forward(ctx, users[0]!.outputs[0]!, true);
  }
  const project = next.pointwise;
  if (!project) return undefined;
  const [pin, pout] = widthsOf(ctx, project);
  return pout < pin ? { project, reads: next.end } : undefined;
}

function match(ctx: Ctx, dw: NodeProto, options: PassOptions): Candidate | undefined {
  const group = attrInt(dw, 'group', 1);
  if (!isConv(dw) || group === 1) return undefined;
  const cin = dimsOf(ctx, dw.inputs[0]!)?.[1];
  const kernel = kernelOf(ctx, dw) ?? [];
  if (cin === undefined) return skip('mobilenet', dw, 'shape-unknown', `a grouped conv (group ${group}) whose input's channel count is unknown`);
  if (group !== cin) return skip('mobilenet', dw, 'not-depthwise', `a grouped conv (group ${group}, ${cin} channels), not depthwise`);
  if (kernel.every((k) => k === 1)) return skip('mobilenet', dw, 'not-depthwise', 'a 1×1 depthwise conv, not a spatial one');
  const mixed = mixedConv(ctx, dw);
  // One candidate per mixed conv, at its first group; the others say where it is.
  if (mixed && mixed.convs[0] !== dw) return skip('mobilenet', dw, 'same-block', `a group of the mixed depthwise conv (MixConv) matched at ${nodeLabel(mixed.convs[0]!)}`);
  const head = forward(ctx, mixed ? mixed.concat.outputs[0]! : dw.outputs[0]!, true);
  if (!head.pointwise) {
    const sum = dataConsumers(ctx, head.end).find((u) => u.opType === 'Add' && (branchSumOf(ctx, u) ?? outerBranchSum(ctx, u)));
    if (sum) return skip('mobilenet', dw, 'other-family', `a branch of a sum that folds into one conv (MobileOne, RepVGG, RepGhost) at ${nodeLabel(sum)}, which is the block, or a conv of the unit that holds it`);
    return skip('mobilenet', dw, 'no-projection', 'no pointwise 1×1 projection after the depthwise conv');
  }
  // A depthwise conv that opens an inverted bottleneck: the block runs to its projection, the 1×1 after it being
  // the expansion (its middle depthwise conv, if any, is then the same block).
  const inverted = mixed ? undefined : invertedBottleneckAfter(ctx, dw, head);
  const tail = forward(ctx, (inverted?.project ?? head.pointwise).outputs[0]!, false);
  const cell = nasCellOf(ctx, tail.end);
  if (cell) return skip('mobilenet', dw, 'nas-cell', `a separable conv inside a NAS cell (its sums concatenated by ${nodeLabel(cell)}: NASNet, PNASNet, AmoebaNet), not a depthwise-separable block of its own; no SE paper places SE inside such a cell`, tail.end);
  const x = inverted ? unpadded(ctx, dw.inputs[0]!) : blockInput(ctx, mixed ? mixed.whole : dw.inputs[0]!);
  const region = regionBetween(ctx, x, [tail.end]);
  const existing = head.se ?? tail.se ?? findSE(ctx, region);
  if (existing) return holdsAttention('mobilenet', dw, existing, region, head.end);
  if (options.mobilenetPlacement === 'v3') {
    // MobileNetV3's place: what the projection reads (after an inverted bottleneck's middle depthwise conv).
    const [tensor, rewire] = inverted ? [inverted.reads, inverted.project] : [head.end, head.pointwise];
    return {
      family: 'mobilenet', node: nodeLabel(dw), tensor,
      site: { family: 'mobilenet', rule: 'insertSEAfterDepthwiseActivation', tensor, rewire: [rewire], region, gate: 'hardsigmoid' },
    };
  }
  return {
    family: 'mobilenet', node: nodeLabel(dw), tensor: tail.end,
    site: { family: 'mobilenet', rule: 'insertSEAfterDepthwiseBlock', tensor: tail.end, rewire: [...ctx.graph.consumers(tail.end)], region },
  };
}

export const mobilenetPass: Pass = { family: 'mobilenet', roots: ['Conv', 'FusedConv'], match };
