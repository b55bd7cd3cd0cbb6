/**
 * insertSEAfterInceptionConcat — SE-Inception (Hu et al., SENet, Fig. 2): the whole module is the
 * transformation, so SE scales the channel concat of its branches. Reduction modules included.
 *
 * Matches  Concat(axis=1) of ≥2 parallel branches (no input computed from another) that meet at one
 *          module input, at least two of them holding a Conv: GoogLeNet, Inception-v3, BN-Inception.
 * Rejects  A concat whose branches hold self-attention (a MatMul of two computed tensors: MobileViT's
 *          Concat(x, transformer(x)) before its fusion conv), a conv–transformer block (transformer).
 *          DenseNet's and PeleeNet's growing concats (an input is computed from another, or is itself a
 *          concat of a map and layers of it, concatenated again with more), the inner concats of
 *          Inception-v3's E modules, ShuffleNet v2 units (the concat feeds a channel shuffle), CSP merges
 *          (a branch holds a residual sum: CSPNet, YOLOv5's C3, CSPDarknet53; YOLOv8's C2f, whose concat
 *          also takes every bottleneck's output, when every sum in it is a residual x + F(x)), MixConv's
 *          mixed depthwise conv (depthwise convs of one map's channel groups: the depthwise pass's),
 *          a NAS cell's output (a concat of pairwise sums of its operations: NASNet-A, `nas-cell`).
 * Writes   Concat(b1..bk) → SE(Concat(b1..bk)); in a QDQ model after the concat's DequantizeLinear
 *
 * insertSEAfterOneShotAggregation — VoVNet's OSA module (Lee et al. 2019), whose V2 (CenterMask, Lee &
 * Park 2020) puts eSE after the aggregation conv, before the identity Add of the modules that have one;
 * YOLOv7's ELAN block (Wang et al. 2022), aggregated the same way.
 * Matches  a Concat of ≥3 maps, each x itself or computed from x or from another of them alone (chains of
 *          convs: VoVNet's Concat(x, f1, ..., fk); ELAN's two 1×1 convs of x and every other output of a
 *          3×3 chain on the second), x itself among them or one at least computed from another, read
 *          only by a 1×1 conv. A layer that reads a concat (DenseNet, HarDNet) is no chain step.
 * Writes   conv1×1(Concat(...)) → SE(conv1×1(Concat(...))), after the conv's BN and activation
 */

import {
  MAX_BLOCK_DEPTH, isNasCellConcat, convsOnPath, dataConsumers, dataInputs, feedsChannelShuffle, isChannelConcat, isConstant, isConv, isFeatureMap, isPassThrough, isPointwiseConv, meetingPoint, pastFakeQuant, producerOf, readInside, regionBetween, shapeOf,
} from '../src/analysis/blocks.js';
import { attentionIn, findSE, isSEScale } from '../src/analysis/attention.js';
import type { Ctx } from '../src/analysis/blocks.js';
import { mixedDepthwiseOf } from '../src/analysis/channel-split.js';
import { DataType } from '../src/onnx/proto.js';
import type { NodeProto } from '../src/onnx/proto.js';
import { holdsAttention, nodeLabel, skip } from '../src/se/site.js';
import type { Candidate, Pass } from '../src/se/site.js';

const INTEGER_TYPES: ReadonlySet<number> = new Set([DataType.INT64, DataType.INT32]);

function match(ctx: Ctx, concat: NodeProto): Candidate {
  if (!isChannelConcat(ctx, concat)) {
    // The Concat that assembles a Reshape's target shape (a dynamic batch, or folding off) is shape
    // arithmetic, as the integer Add beside it is to the residual pass: the same code in every export form.
    const out = shapeOf(ctx, concat.outputs[0]!);
    if (out && INTEGER_TYPES.has(out.dtype) && out.dims?.length === 1) return skip('inception', concat, 'shape-arithmetic', 'a concat of integer shape values, not of feature maps');
    return skip('inception', concat, 'not-channel-concat', 'not a channel concat of feature maps');
  }
  // The module's output as its readers see it: past the Quantize/Dequantize pair of a QDQ model.
  const out = pastFakeQuant(ctx, concat.outputs[0]!);
  const ins = concat.inputs;
  if (ins.length < 2) return skip('inception', concat, 'too-few-branches', 'fewer than two inputs');
  if (!ins.every((i) => isFeatureMap(ctx, i))) return skip('inception', concat, 'not-feature-map', 'an input is not a feature map');
  const constant = ins.find((i) => isConstant(ctx, i));
  if (constant) return skip('inception', concat, 'not-feature-map', `an input is a constant (${constant}), as the zero channels that pad a shortcut`);
  if (mixedDepthwiseOf(ctx, concat)) return skip('inception', concat, 'other-family', 'a mixed depthwise conv (MixConv: depthwise convs of the channel groups of one map, concatenated), part of a depthwise-separable block');
  if (feedsChannelShuffle(ctx, out)) return skip('inception', concat, 'other-family', 'a ShuffleNet unit (the concat feeds a channel shuffle)');
  const users = ctx.graph.consumers(out);
  const readers = dataConsumers(ctx, out);
  if (readers.length > 0 && readers.every((u) => u.opType === 'Concat')) return skip('inception', concat, 'inner-concat', 'an inner concat of a larger module');
  if (isNasCellConcat(ctx, concat)) return skip('inception', concat, 'nas-cell', "a NAS cell's output (NASNet, PNASNet, AmoebaNet: a concat of pairwise sums of separable convs, pools and identities), no Inception module; no SE paper places SE in or after such a cell");
  const meet = meetingPoint(ctx, ins);
  if (!meet.x) return skip('inception', concat, meet.why === 'budget' ? 'budget' : 'no-block-input', meet.why === 'budget' ? `no module input within ${MAX_BLOCK_DEPTH} ops` : 'the branches share no module input');
  const x = meet.x;
  const region = regionBetween(ctx, x, ins);
  const attention = attentionIn(ctx, region);
  if (attention) return skip('inception', concat, 'transformer', `a branch holds self-attention over tokens (${nodeLabel(attention)}): a conv–transformer block that concatenates its input with its transformer's output (MobileViT), not an Inception module or a one-shot aggregation of conv chains`);
  const sums = [...region].filter((n) => n.opType === 'Add' && dataInputs(ctx, n).length === 2 && dataInputs(ctx, n).every((i) => isFeatureMap(ctx, i)));
  if (ins.includes(x) || readInside(ctx, region, ins)) {
    // x itself a concat of a map and layers of it: a growing concat (PeleeNet's two-way dense layers).
    if (ins.includes(x) && isGrowingConcat(ctx, x)) return skip('inception', concat, 'dense', `dense connectivity: ${x}, concatenated again with layers of it, is itself a concat of a map and layers computed from it (DenseNet, PeleeNet)`);
    const aggregation = matchOneShotAggregation(ctx, concat, x);
    if (aggregation) return aggregation;
    // YOLOv8's C2f concatenates its split halves and every residual bottleneck's output: a CSP merge whose
    // units are its residual sums, not dense connectivity. Only where every sum is a residual x + F(x):
    // a NASNet cell's sums add two different maps.
    if (sums.length > 0 && sums.every((n) => isResidualSum(ctx, n))) return cspMerge(concat, sums[0]!);
    // SPP/SPPF: a map and max pools of it (chained or parallel), concatenated: no conv between them.
    if (!hasConv(region)) return skip('inception', concat, 'too-few-branches', 'no conv branch: a pooling pyramid (SPP, SPPF: a map and max pools of it, concatenated)');
    return skip('inception', concat, 'dense', 'dense connectivity (an input is computed from another, as in DenseNet)');
  }
  if (sums.length > 0) return cspMerge(concat, sums[0]!);
  const convBranches = ins.filter((i) => convsOnPath(ctx, region, x, i) > 0).length;
  if (convBranches < 2) return skip('inception', concat, 'too-few-branches', `${convBranches} conv branch(es); an Inception module has at least two`);
  region.add(concat);
  const existing = findSE(ctx, region) ?? users.find((u) => isSEScale(ctx, u));
  if (existing) return holdsAttention('inception', concat, existing, region);
  return {
    family: 'inception', node: nodeLabel(concat), tensor: out,
    site: { family: 'inception', rule: 'insertSEAfterInceptionConcat', tensor: out, rewire: [...users], region },
  };
}

/** Whether `t` is a channel concat of a map and a map computed from it (a dense layer's output). */
function isGrowingConcat(ctx: Ctx, t: string): boolean {
  const p = producerOf(ctx, pastFakeQuantBack(ctx, t));
  if (!p || p.opType !== 'Concat' || !isChannelConcat(ctx, p)) return false;
  const ins = dataInputs(ctx, p);
  return ins.some((y) => ins.some((o) => o !== y && regionBetween(ctx, y, [o]).size > 0));
}

/** The tensor a DequantizeLinear's pair was put on (QDQ), or `t`. */
function pastFakeQuantBack(ctx: Ctx, t: string): string {
  for (let i = 0; i < 2; i++) {
    const p = producerOf(ctx, t);
    if (!p || (p.opType !== 'DequantizeLinear' && p.opType !== 'QuantizeLinear')) break;
    t = p.inputs[0]!;
  }
  return t;
}

/** A cross-stage partial merge: a concat whose branch holds a sum of maps, a block of its own. */
function cspMerge(concat: NodeProto, sum: NodeProto): Candidate {
  return skip('inception', concat, 'other-family', `a branch holds a sum of maps (${nodeLabel(sum)}), a block of its own (as a cross-stage partial merge holds its residual units: CSPNet, YOLOv5's C3, YOLOv8's C2f), not an Inception branch`);
}

/** x + F(x): one summand of the Add is computed from the other. */
function isResidualSum(ctx: Ctx, add: NodeProto): boolean {
  const [a, b] = dataInputs(ctx, add) as [string, string];
  return regionBetween(ctx, a, [b]).size > 0 || regionBetween(ctx, b, [a]).size > 0;
}

function hasConv(region: ReadonlySet<NodeProto>): boolean {
  for (const n of region) if (isConv(n)) return true;
  return false;
}

/** An OSA or ELAN module: ≥3 maps from x by chains, aggregated by one 1×1 conv; undefined if it is not one. */
function matchOneShotAggregation(ctx: Ctx, concat: NodeProto, x: string): Candidate | undefined {
  const ins = concat.inputs;
  if (ins.length < 3) return undefined;
  const sources = ins.map((t) => (t === x ? x : chainSource(ctx, t, x, ins)));
  if (sources.some((s) => s === undefined) || !sources.some((s, i) => s !== x || ins[i] === x)) return undefined;
  const readers = dataConsumers(ctx, pastFakeQuant(ctx, concat.outputs[0]!));
  const agg = readers[0];
  if (readers.length !== 1 || !isPointwiseConv(ctx, agg!)) return undefined;
  const out = afterActivation(ctx, agg!.outputs[0]!);
  const region = regionBetween(ctx, x, [out]);
  const existing = findSE(ctx, region) ?? ctx.graph.consumers(out).find((u) => isSEScale(ctx, u));
  if (existing) return holdsAttention('inception', concat, existing, region, out);
  return {
    family: 'inception', node: nodeLabel(concat), tensor: out,
    site: { family: 'inception', rule: 'insertSEAfterOneShotAggregation', tensor: out, rewire: [...ctx.graph.consumers(out)], region },
  };
}

/**
 * The first of x and the other concat inputs that `t` is computed from alone, through at most 16
 * single-input steps (x·σ(x) and x·tanh(softplus(x)) counted as one) with a conv among them.
 */
function chainSource(ctx: Ctx, t: string, x: string, ins: readonly string[]): string | undefined {
  let convs = 0;
  for (let i = 0; i < 16; i++) {
    const p = producerOf(ctx, t);
    const from = p && soleSource(ctx, p);
    if (!p || !from) return undefined;
    if (isConv(p)) convs++;
    t = from;
    if (t === x || ins.includes(t)) return convs > 0 ? t : undefined;
  }
  return undefined;
}

/** The one map a node computes from: its only data input, or x for x·g(x) where g reads x alone (SiLU, Mish). */
function soleSource(ctx: Ctx, p: NodeProto): string | undefined {
  const data = dataInputs(ctx, p);
  if (data.length === 1) return data[0];
  if (p.opType !== 'Mul' || data.length !== 2) return undefined;
  for (const [a, g] of [[data[0]!, data[1]!], [data[1]!, data[0]!]] as const) {
    let u = g;
    for (let i = 0; i < 3 && u !== a; i++) {
      const q = producerOf(ctx, u);
      const d = q ? dataInputs(ctx, q) : [];
      if (d.length !== 1) break;
      u = d[0]!;
    }
    if (u === a) return a;
  }
  return undefined;
}

/** The end of the BN and activations after `t` (x·σ(x) included), each step read by the next alone. */
function afterActivation(ctx: Ctx, t: string): string {
  for (let i = 0; i < 8 && !ctx.graph.isGraphOutput(t); i++) {
    const users = dataConsumers(ctx, t);
    const mul = users.find((u) => u.opType === 'Mul' && users.length === 2 && users.some((g) => g !== u && g.outputs.some((o) => u.inputs.includes(o))));
    const next = users.length === 1 && isPassThrough(ctx, users[0]!) ? users[0]! : mul;
    if (!next) break;
    t = next.outputs[0]!;
  }
  return t;
}

export const inceptionPass: Pass = { family: 'inception', roots: ['Concat'], match };
