// A tensor split by channels: DPN's dual path block sends part of one conv's output to the residual
// sum and the rest to the dense concat (Chen et al. 2017, Fig. 2d), written as Slice (or Split) nodes
// on the channel axis.

import type { NodeProto } from '../onnx/proto.js';
import type { Ctx } from './blocks.js';
import { dataConsumers, dataInputs, dimsOf, isChannelConcat, isConv, isDepthwise, isPassThrough, producerOf } from './blocks.js';

/** A Slice or Split of a feature map that narrows its channels and keeps batch and resolution. */
export function isChannelPart(ctx: Ctx, n: NodeProto): boolean {
  if (n.opType !== 'Slice' && n.opType !== 'Split') return false;
  const x = dimsOf(ctx, n.inputs[0]!), y = dimsOf(ctx, n.outputs[0]!);
  return !!x && !!y && x.length === 4 && y.length === 4 && y[1]! < x[1]! && y[0] === x[0] && y[2] === x[2] && y[3] === x[3];
}

/** If `t` is one channel part of a tensor whose readers are all channel parts (two or more), that tensor and its readers. */
export function channelSplitOf(ctx: Ctx, t: string): { whole: string; parts: readonly NodeProto[] } | undefined {
  const p = producerOf(ctx, t);
  if (!p || !isChannelPart(ctx, p)) return undefined;
  const whole = dataInputs(ctx, p)[0];
  if (!whole) return undefined;
  const parts = dataConsumers(ctx, whole);
  return parts.length >= 2 && parts.every((r) => isChannelPart(ctx, r)) ? { whole, parts } : undefined;
}

/**
 * MixConv's mixed depthwise conv (Tan & Le 2019, MixNet): the channels of one map split into groups,
 * each through its own depthwise conv (3×3, 5×5, 7×7), concatenated: one depthwise conv of mixed kernel
 * sizes. The map split and the group convs, in concat order, if `concat` is one.
 */
export function mixedDepthwiseOf(ctx: Ctx, concat: NodeProto): { whole: string; convs: NodeProto[] } | undefined {
  if (concat.opType !== 'Concat' || concat.inputs.length < 2 || !isChannelConcat(ctx, concat)) return undefined;
  let whole: string | undefined;
  const convs: NodeProto[] = [];
  for (const t of concat.inputs) {
    let p = producerOf(ctx, t);
    for (let i = 0; i < 4 && p && !isConv(p) && isPassThrough(ctx, p); i++) p = producerOf(ctx, dataInputs(ctx, p)[0]!);
    const part = p && isDepthwise(ctx, p) ? producerOf(ctx, p.inputs[0]!) : undefined;
    if (!part || !isChannelPart(ctx, part) || (whole !== undefined && dataInputs(ctx, part)[0] !== whole)) return undefined;
    whole = dataInputs(ctx, part)[0];
    convs.push(p!);
  }
  return whole === undefined ? undefined : { whole, convs };
}
