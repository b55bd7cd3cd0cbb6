/**
 * insertSEOnShuffleUnitBranch — ShuffleNetV2+ (Ma et al. 2018; SE as in the ShuffleNetV2+ models):
 * SE at the end of the unit's main branch, before the concat and the channel shuffle.
 *
 * Matches  Concat(axis=1) of two inputs that feeds Reshape → Transpose (a channel shuffle), or whose
 *          halves meet at one (Megvii's ShuffleNetV2+ shuffles at the start of a unit and takes both
 *          halves of the result): stride-1 units concat the untouched half of a channel split with the
 *          branch; stride-2 units concat two branches. The main branch is the one with more convs
 *          (1×1 → depthwise → 1×1).
 *          Also ShuffleNet v1's stride-2 units: Concat(AvgPool(x), branch(x)) — a pooled shortcut beside
 *          the conv branch, which holds a depthwise conv (Zhang et al. 2018, Fig. 2c), whatever follows the
 *          concat. A stem's pool beside a plain conv branch (Inception-v4, PeleeNet) is no unit.
 * Writes   Concat(side, main) → Concat(side, SE(main))
 */

import { MAX_BLOCK_DEPTH, convsOnPath, dataInputs, feedsChannelShuffle, isChannelConcat, isDepthwise, isFakeQuant, isFeatureMap, isShuffled, meetingPoint, producerOf, regionBetween } from '../src/analysis/blocks.js';
import { findSE } from '../src/analysis/attention.js';
import type { Ctx } from '../src/analysis/blocks.js';
import type { NodeProto } from '../src/onnx/proto.js';
import { holdsAttention, nodeLabel, skip } from '../src/se/site.js';
import type { Candidate, Pass } from '../src/se/site.js';

/**
 * `t` is x pooled (padding included, as exporters write avg_pool's padding; quantized and dequantized
 * around the pooling in a QDQ model), with no conv: a downsampling unit's shortcut.
 */
function isPooledShortcut(ctx: Ctx, t: string, x: string): boolean {
  let pooled = false;
  for (let i = 0; i < 8 && t !== x; i++) {
    const p = producerOf(ctx, t);
    if (!p || !(['AveragePool', 'MaxPool', 'Pad'].includes(p.opType) || isFakeQuant(ctx, p))) return false;
    pooled ||= p.opType === 'AveragePool' || p.opType === 'MaxPool';
    const data = dataInputs(ctx, p);
    if (data.length !== 1) return false;
    t = data[0]!;
  }
  return pooled && t === x;
}

function match(ctx: Ctx, concat: NodeProto): Candidate | undefined {
  if (!isChannelConcat(ctx, concat)) return undefined;
  const ins = concat.inputs;
  const pair = ins.length === 2 && ins.every((i) => isFeatureMap(ctx, i));
  const meet = pair ? meetingPoint(ctx, ins) : undefined;
  if (!feedsChannelShuffle(ctx, concat.outputs[0]!) && !(meet?.x && isShuffled(ctx, meet.x))) return meet?.x ? matchDownsamplingUnit(ctx, concat, meet.x) : undefined;
  if (!meet) return skip('shufflenet', concat, 'not-feature-map', 'a shuffle unit concat needs two feature maps');
  if (!meet.x) return skip('shufflenet', concat, meet.why === 'budget' ? 'budget' : 'no-block-input', meet.why === 'budget' ? `no unit input within ${MAX_BLOCK_DEPTH} ops` : 'the two halves share no unit input');
  const x = meet.x;
  const region = regionBetween(ctx, x, ins);
  const convs = ins.map((i) => convsOnPath(ctx, region, x, i));
  const main = convs[0]! > convs[1]! ? ins[0]! : ins[1]!;
  if (Math.max(...convs) === 0) return skip('shufflenet', concat, 'no-conv', 'neither half holds a conv');
  return branchSite(ctx, concat, region, main, 'insertSEOnShuffleUnitBranch');
}

function matchDownsamplingUnit(ctx: Ctx, concat: NodeProto, x: string): Candidate | undefined {
  const ins = concat.inputs;
  const pooled = ins.findIndex((i) => isPooledShortcut(ctx, i, x));
  if (pooled < 0) return undefined;
  const main = ins[1 - pooled]!;
  const region = regionBetween(ctx, x, ins);
  // ShuffleNet's bottleneck holds a depthwise conv; a conv branch beside a pool without one is a stem's
  // downsampling (Inception-v4's and PeleeNet's stem blocks), no unit.
  if (convsOnPath(ctx, region, x, main) === 0 || ![...region].some((n) => isDepthwise(ctx, n))) return undefined;
  return branchSite(ctx, concat, region, main, 'insertSEOnDownsamplingUnitBranch');
}

/** SE on the unit's main branch, read by the concat alone — unless the unit already holds SE. */
function branchSite(ctx: Ctx, concat: NodeProto, region: Set<NodeProto>, main: string, rule: string): Candidate {
  region.add(concat);
  const existing = findSE(ctx, region);
  if (existing) return holdsAttention('shufflenet', concat, existing, region, main);
  return { family: 'shufflenet', node: nodeLabel(concat), tensor: main, site: { family: 'shufflenet', rule, tensor: main, rewire: [concat], region } };
}

export const shufflenetPass: Pass = { family: 'shufflenet', roots: ['Concat'], match };
