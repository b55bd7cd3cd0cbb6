/**
 * insertSEAfterInceptionConcat — SE-Inception (Hu et al., SENet, Fig. 2): the whole module is the
 * transformation, so SE scales the channel concat of its branches. Reduction modules included.
 *
 * Matches  Concat(axis=1) of ≥2 parallel branches (no input computed from another) that meet at one
 *          module input, at least two of them holding a Conv: GoogLeNet, Inception-v3, BN-Inception.
 * Rejects  DenseNet's growing concats (an input is computed from another), the inner concats of
 *          Inception-v3's E modules, ShuffleNet v2 units (the concat feeds a channel shuffle).
 * Writes   Concat(b1..bk) → SE(Concat(b1..bk))
 */

import {
  MAX_BLOCK_DEPTH, convsOnPath, dataConsumers, feedsChannelShuffle, findSE, isChannelConcat, isConstant, isFeatureMap, isSEScale, meetingPoint, readInside, regionBetween,
} from '../src/analysis/blocks.js';
import type { Ctx } from '../src/analysis/blocks.js';
import type { NodeProto } from '../src/onnx/proto.js';
import { holdsAttention, nodeLabel, skip } from '../src/se/site.js';
import type { Candidate, Pass } from '../src/se/site.js';

function match(ctx: Ctx, concat: NodeProto): Candidate {
  const out = concat.outputs[0]!;
  if (!isChannelConcat(ctx, concat)) return skip('inception', concat, 'not-channel-concat', 'not a channel concat of feature maps');
  const ins = concat.inputs;
  if (ins.length < 2) return skip('inception', concat, 'too-few-branches', 'fewer than two inputs');
  if (!ins.every((i) => isFeatureMap(ctx, i))) return skip('inception', concat, 'not-feature-map', 'an input is not a feature map');
  const constant = ins.find((i) => isConstant(ctx, i));
  if (constant) return skip('inception', concat, 'not-feature-map', `an input is a constant (${constant}), as the zero channels that pad a shortcut`);
  if (feedsChannelShuffle(ctx, out)) return skip('inception', concat, 'other-family', 'a ShuffleNet unit (the concat feeds a channel shuffle)');
  const users = ctx.graph.consumers(out);
  const readers = dataConsumers(ctx, out);
  if (readers.length > 0 && readers.every((u) => u.opType === 'Concat')) return skip('inception', concat, 'inner-concat', 'an inner concat of a larger module');
  const meet = meetingPoint(ctx, ins);
  if (!meet.x) return skip('inception', concat, meet.why === 'budget' ? 'budget' : 'no-block-input', meet.why === 'budget' ? `no module input within ${MAX_BLOCK_DEPTH} ops` : 'the branches share no module input');
  const x = meet.x;
  const region = regionBetween(ctx, x, ins);
  if (ins.includes(x) || readInside(ctx, region, ins)) {
    return skip('inception', concat, 'dense', 'dense connectivity (an input is computed from another, as in DenseNet)');
  }
  const convBranches = ins.filter((i) => convsOnPath(ctx, region, x, i) > 0).length;
  if (convBranches < 2) return skip('inception', concat, 'too-few-branches', `${convBranches} conv branch(es); an Inception module has at least two`);
  region.add(concat);
  const existing = findSE(ctx, region) ?? users.find((u) => isSEScale(ctx, u));
  if (existing) return holdsAttention('inception', concat, existing, region);
  if (ctx.graph.isGraphOutput(out)) return skip('inception', concat, 'graph-output', 'the module output is a graph output');
  return {
    family: 'inception', node: nodeLabel(concat), tensor: out,
    site: { family: 'inception', rule: 'insertSEAfterInceptionConcat', tensor: out, rewire: [...users], region },
  };
}

export const inceptionPass: Pass = { family: 'inception', roots: ['Concat'], match };
