// A tensor split by channels: DPN's dual path block sends part of one conv's output to the residual
// sum and the rest to the dense concat (Chen et al. 2017, Fig. 2d), written as Slice (or Split) nodes
// on the channel axis.

import type { NodeProto } from '../onnx/proto.js';
import type { Ctx } from './blocks.js';
import { dataConsumers, dataInputs, dimsOf, producerOf } from './blocks.js';

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
