/**
 * insertSEOnResidualBranch — SE-ResNet (Hu et al., SENet, Fig. 3; placements of its Table 14).
 *
 * Matches  Add(branch, shortcut) over two float N×C×H×W maps of one shape, both computed from one block
 *          input x, where the branch holds more convs than the shortcut, and the shortcut is x itself or
 *          a projection of it (one conv, or a depthwise-separable pair as GhostNet's stride-2 shortcut,
 *          with BN/pool/zero-channel padding; never a slice of another tensor — Res2Net's inner sums):
 *          ResNet, ResNeXt, Wide-ResNet, PyramidNet, GhostNet, ShuffleNet v1 add units,
 *          MobileNetV2/EfficientNet residuals. DPN's dual path blocks: the branch one channel part of the
 *          block's output (the rest feeds the dense concat), the shortcut x or a channel part of its projection.
 * Writes   standard  Add(branch, shortcut) → Add(SE(branch), shortcut); DPN: SE on the output before its split
 *          pre       branch(x)             → branch(SE(x))
 *          post      Add(branch, shortcut) → SE(Add(...)) (after the ReLU that follows, if any)
 *          identity  Add(branch, shortcut) → Add(branch, SE(shortcut))
 *          In a QDQ-quantized model SE scales the float tensors: after a DequantizeLinear, so that every
 *          QuantizeLinear → DequantizeLinear pair stays as it was.
 *
 * insertSEAfterBranchSum — RepVGG's and MobileOne's training-time blocks: a sum of parallel single-conv
 *          branches of one input (k×k conv-BN, 1×1 conv-BN, and at stride 1 the identity BN), then ReLU.
 *          The block is the whole sum, as their SE variants scale it (RepVGG's `nonlinearity(se(sum))`):
 *          Add(Add(conv3(x), conv1(x)), bn(x)) → SE(Add(...)) before the ReLU; pre: SE(x); post: after the
 *          ReLU; identity: as standard (the identity BN is one of the summed branches, not a shortcut).
 *          Its inner Adds are left alone (inner-sum). One conv-BN plus the identity BN is such a sum too
 *          (MobileOne's pointwise block with one branch). Inside a residual unit's branch (RepGhost's ghost
 *          module: dw conv-BN + BN of its input; a RepVGG conv in a unit) the sum is a conv of that unit,
 *          which takes it over (inner-sum).
 * Rejects  A sum whose block holds an upsampling (Resize, Upsample, ConvTranspose, DepthToSpace: a map taken
 *          to a coarser resolution and back), which merges scales (multi-scale): an FPN's top-down sums,
 *          LR-ASPP's head, HRNet's fusion. Were it read as a unit, its region would span the backbone
 *          between the two scales, and the blocks inside would be taken by it. A local context inside a
 *          branch does not make it one: a map pooled, convolved, upsampled and merged with itself or a map
 *          of it before the sum (SCNet's self-calibrated conv; GhostNetV2's DFC attention, which gates the
 *          ghost module's output); the merge itself is multi-scale. Nor does a per-channel gate repeated
 *          over the map for the Mul it feeds (SE in its resize form): one value per channel, no coarser map.
 *          A sum whose branch holds self-attention (a MatMul of two computed tensors), a transformer block
 *          written on N×C×H×W maps with 1×1 conv projections (CoAtNet, MaxViT) (transformer); a sum with
 *          no conv on either input (no-conv): PoolFormer's token mixer x + ls·(AvgPool(x) − x), GRN's + x.
 *          QLinearAdd, a QOperator model's integer sum (integer-op): se-inject writes float SE only.
 *          DLA's aggregation node, Root: conv1×1(cat(x2, x1, ...)) + x2 (aggregation): only 1×1 convs,
 *          over a concat of x and maps from before the block. It merges features of several depths (Yu
 *          et al. 2018, Eq. 5); it is no building block, and no SE-DLA puts SE there.
 */

import { MAX_BLOCK_DEPTH, dataConsumers, isNasCellConcat, channelsLast, convsOnPath, dataInputs, dimsOf, inputFeatureMapDims, isChannelConcat, isConstant, isConv, isDepthwise, isFeatureMap, isPassThrough, isPointwiseConv, meetingPoint, pastFakeQuant, producerOf, regionBetween, shapeOf } from '../src/analysis/blocks.js';
import { attentionIn, broadcastOf, findSE } from '../src/analysis/attention.js';
import { sameDims } from '../src/analysis/shape-rules.js';
import type { Ctx } from '../src/analysis/blocks.js';
import { branchSumOf, outerBranchSum } from '../src/analysis/branch-sum.js';
import type { BranchSum } from '../src/analysis/branch-sum.js';
import { channelSplitOf, isChannelPart } from '../src/analysis/channel-split.js';
import { FLOAT_TYPES } from '../src/onnx/proto.js';
import type { NodeProto } from '../src/onnx/proto.js';
import { holdsAttention, nodeLabel, skip } from '../src/se/site.js';
import type { Candidate, Pass, PassOptions, ReasonCode, Site } from '../src/se/site.js';

function match(ctx: Ctx, add: NodeProto, options: PassOptions, at?: number): Candidate {
  if (add.opType === 'QLinearAdd') return skip('residual', add, 'integer-op', `an integer sum (${add.domain || 'ai.onnx'}:QLinearAdd, a QOperator-quantized model), which se-inject does not rewrite`);
  // By index: a node's lists are frozen, which destructuring walks the slow way.
  const inputs = add.inputs;
  const a = inputs[0], b = inputs[1];
  if (inputs.length !== 2 || !a || !b) return skip('residual', add, 'not-a-sum', 'not a two-input Add');
  const dimsA = inputFeatureMapDims(ctx, add, 0, at), dimsB = inputFeatureMapDims(ctx, add, 1, at);
  if (!dimsA || !dimsB) {
    // A runtime-fused op upstream (com.microsoft FusedConv, NCHWc ops) leaves the shapes below it unknown.
    const foreign = foreignOrigin(ctx, a) ?? foreignOrigin(ctx, b);
    if (foreign) return skip('residual', add, 'nonstandard-op', `an input comes from ${foreign.domain}:${foreign.opType} (${nodeLabel(foreign)}), an op outside the ONNX standard whose output se-inject cannot analyse`);
    if (channelsLast(ctx, a) && channelsLast(ctx, b)) return skip('residual', add, 'channels-last', 'a sum of channels-last (N×H×W×C) maps, transposed from the convs\' outputs; SE scales N×C×H×W maps');
    const out = shapeOf(ctx, add.outputs[0]!);
    const rank = out?.dims?.length;
    if (rank === 4) return skip('residual', add, 'not-feature-map', 'one input is a constant or not a float feature map');
    // A float sum of another rank (a MatMul's bias add in tf2onnx and Keras heads) is no shape arithmetic.
    if (out && FLOAT_TYPES.has(out.dtype)) return skip('residual', add, 'not-feature-map', `a sum of float tensors of ${rank === undefined ? 'unknown rank' : `rank ${rank}`}, not N×C×H×W feature maps`);
    return skip('residual', add, 'shape-arithmetic', 'shape arithmetic, not a feature map');
  }
  if (!sameDims(dimsA, dimsB)) return skip('residual', add, 'broadcast', 'a broadcasting Add, not a residual sum');
  const readers = dataConsumers(ctx, add.outputs[0]!);
  if (readers.length === 1 && isNasCellConcat(ctx, readers[0]!)) return skip('residual', add, 'nas-cell', `a pairwise sum of a NAS cell's operations, concatenated by ${nodeLabel(readers[0]!)} (NASNet, PNASNet, AmoebaNet), not a residual unit; no SE paper places SE inside such a cell`);
  const outer = outerBranchSum(ctx, add, at);
  if (outer) return skip('residual', add, 'inner-sum', `an inner Add of a sum of ${outer.terms.length} single-conv branches of ${outer.x} (RepVGG, MobileOne), whose block is the whole sum`);
  const ends = [a, b];
  const meet = meetingPoint(ctx, ends);
  if (!meet.x) return skip('residual', add, meet.why === 'budget' ? 'budget' : 'no-block-input', meet.why === 'budget' ? `no block input within ${MAX_BLOCK_DEPTH} ops` : 'the two inputs share no block input');
  const x = meet.x;
  const regionAt: number[] | undefined = at === undefined ? undefined : [];
  const region = regionBetween(ctx, x, ends, regionAt);
  const up = upsampling(ctx, region, add);
  if (up) return skip('residual', add, 'multi-scale', `a merge of two resolutions: ${nodeLabel(up)} upsamples a map computed at a coarser one from ${x} (a feature pyramid's top-down sum, LR-ASPP's head, HRNet's fusion), not a residual unit`);
  const attention = attentionIn(ctx, region);
  if (attention) return skip('residual', add, 'transformer', `a branch holds self-attention over tokens (${nodeLabel(attention)}): a transformer block on a feature map (CoAtNet's, MaxViT's), whose 1×1 convs are its projections, not a residual unit of convs`);
  const convA = convsOnPath(ctx, region, x, a), convB = convsOnPath(ctx, region, x, b);
  const branch = convA > convB ? a : b, shortcut = convA > convB ? b : a;
  // A sum of single-conv branches (RepVGG, MobileOne) looks like an ambiguous sum, or like a unit whose
  // branch is itself a sum: only then is it asked for.
  const sum = convA === convB || isSum(ctx, branch) || convA + convB === 1 ? branchSumOf(ctx, add) : undefined;
  if (sum) return matchBranchSum(ctx, add, options, sum);
  if (convA === 0 && convB === 0) return skip('residual', add, 'no-conv', `no conv on either input since ${x}: a sum of other ops (a MetaFormer token mixer such as PoolFormer's AvgPool(x) − x, the residual term of a normalization such as ConvNeXt-V2's GRN), not a residual unit of convs`);
  if (convA === convB) return skip('residual', add, 'ambiguous', `cannot tell branch from shortcut (${convA} convs on each side)`);
  const notShortcut = whyNotAProjection(ctx, x, shortcut);
  if (notShortcut) return skip('residual', add, 'not-a-shortcut', notShortcut, branch);
  const outside = aggregatedFrom(ctx, region, x);
  if (outside) return skip('residual', add, 'aggregation', `an aggregation node (DLA's Root): 1×1 convs over a concat of ${x} and ${outside}, which comes from outside the block, plus ${x}; not a residual unit`, branch);
  region.add(add);
  regionAt?.push(at!);
  const existing = findSE(ctx, region);
  if (existing) return holdsAttention('residual', add, existing, region, branch);
  const site = place(ctx, add, options, { x, branch, shortcut, region, regionAt, at });
  if (Array.isArray(site)) return skip('residual', add, site[0], site[1], branch);
  return { family: 'residual', node: nodeLabel(add), tensor: site.tensor, site };
}

/** Whether `t` is an Add's output, through pass-through steps (BN, activations). */
function isSum(ctx: Ctx, t: string): boolean {
  for (let i = 0; i < 8; i++) {
    const p = producerOf(ctx, t);
    if (!p) return false;
    if (p.opType === 'Add' || p.opType === 'Sum') return true;
    const data = isPassThrough(ctx, p) ? dataInputs(ctx, p) : [];
    if (data.length !== 1) return false;
    t = data[0]!;
  }
  return false;
}

/** RepVGG/MobileOne: SE on the whole sum, before its activation (or as --placement pre/post say). */
function matchBranchSum(ctx: Ctx, add: NodeProto, options: PassOptions, sum: BranchSum): Candidate {
  const region = regionBetween(ctx, sum.x, sum.terms);
  for (const a of sum.adds) region.add(a);
  const existing = findSE(ctx, region);
  if (existing) return holdsAttention('residual', add, existing, region);
  const out = pastFakeQuant(ctx, add.outputs[0]!);
  const blk: Block = { x: sum.x, branch: out, shortcut: out, region, regionAt: undefined, at: undefined };
  let site: Site | [ReasonCode, string];
  if (options.placement === 'pre' || options.placement === 'post') site = place(ctx, add, options, blk);
  else site = residualSite(add, blk, 'insertSEAfterBranchSum', out, [...ctx.graph.consumers(out)]);
  if (Array.isArray(site)) return skip('residual', add, site[0], site[1]);
  return { family: 'residual', node: nodeLabel(add), tensor: site.tensor, site, foldable: true };
}

/** The first map from outside the block that a concat of an all-1×1 branch reads: DLA's Root; undefined otherwise. */
function aggregatedFrom(ctx: Ctx, region: ReadonlySet<NodeProto>, x: string): string | undefined {
  let outside: string | undefined;
  for (const n of region) {
    if (isConv(n) && !isPointwiseConv(ctx, n)) return undefined;
    if (n.opType !== 'Concat') continue;
    for (const t of dataInputs(ctx, n)) {
      const p = producerOf(ctx, t);
      if (t !== x && (!p || !region.has(p)) && isFeatureMap(ctx, t) && !isConstant(ctx, t)) outside ??= t;
    }
  }
  return outside;
}

/** The nearest op outside the ONNX standard that a tensor of unknown shape descends from, if any. */
function foreignOrigin(ctx: Ctx, t: string): NodeProto | undefined {
  const queue = [t];
  const seen = new Set(queue);
  for (let i = 0; i < queue.length && i < 64; i++) {
    const p = producerOf(ctx, queue[i]!);
    if (!p || dimsOf(ctx, queue[i]!)) continue;
    if (p.domain !== '' && p.domain !== 'ai.onnx') return p;
    for (const input of p.inputs) if (input && !seen.has(input)) seen.add(input), queue.push(input);
  }
  return undefined;
}

/**
 * The shortcut is x itself, or x through a short projection: one conv (a depthwise conv before it, as
 * GhostNet's dw3×3 s2 + 1×1), BN, pooling, padding (Pad, or a Concat of zero channels), affine steps
 * (ResNet-D's pool + 1×1), or a channel part of such a projection (DPN). Undefined when it is; otherwise why not.
 */
function whyNotAProjection(ctx: Ctx, x: string, shortcut: string): string | undefined {
  let t = shortcut;
  let dense = 0;
  for (let i = 0; i < 8; i++) {
    if (t === x) return dense > 1 ? 'the shortcut holds more than a projection conv' : undefined;
    const p = producerOf(ctx, t);
    if (!p) break;
    // A channel Concat with constants pads the shortcut with zero channels (PyramidNet, ResNet option A).
    const step = PROJECTION.has(p.opType) || isPassThrough(ctx, p) || (p.opType === 'Concat' && isChannelConcat(ctx, p));
    // A channel part of a projection of x (DPN's split 1×1 conv); a part of x itself is Res2Net's inner sum.
    if (!step && (!isChannelPart(ctx, p) || p.inputs[0] === x)) break;
    const data = dataInputs(ctx, p);
    if (data.length !== 1) break;
    if (isConv(p) && !isDepthwise(ctx, p)) dense++;
    t = data[0]!;
  }
  return dense > 1 ? 'the shortcut holds more than a projection conv' : 'the shortcut is not the block input or a projection of it (a slice or a merge of other tensors: an inner sum, as in Res2Net)';
}

const PROJECTION = new Set(['Conv', 'AveragePool', 'MaxPool', 'Pad']);

interface Block { x: string; branch: string; shortcut: string; region: Set<NodeProto>; regionAt: number[] | undefined; at: number | undefined }

function place(ctx: Ctx, add: NodeProto, options: PassOptions, blk: Block): Site | [ReasonCode, string] {
  switch (options.placement) {
    case 'standard': {
      // DPN: the branch is one channel part of the block's output; SE scales all of it, before the split.
      const split = channelSplitOf(ctx, blk.branch);
      const whole = split && producerOf(ctx, split.whole);
      if (split && whole && blk.region.has(whole)) return residualSite(add, blk, 'insertSEBeforeDualPathSplit', split.whole, [...split.parts]);
      return residualSite(add, blk, 'insertSEOnResidualBranch', blk.branch, [add]);
    }
    case 'identity':
      return residualSite(add, blk, 'insertSEOnIdentityPath', blk.shortcut, [add]);
    case 'pre': {
      const branchNodes = regionBetween(ctx, blk.x, [blk.branch]);
      const rewire = ctx.graph.consumers(blk.x).filter((c) => branchNodes.has(c));
      if (!rewire.length || !isFeatureMap(ctx, blk.x)) return ['not-feature-map', 'the block input is not a feature map SE can scale'];
      return residualSite(add, blk, 'insertSEBeforeResidualUnit', blk.x, rewire);
    }
    case 'post': {
      // In a QDQ model the sum and its ReLU are each handed on through a Quantize/Dequantize pair.
      let out = pastFakeQuant(ctx, add.outputs[0]!);
      const users = ctx.graph.consumers(out);
      if (users.length === 1 && users[0]!.opType === 'Relu') out = pastFakeQuant(ctx, users[0]!.outputs[0]!);
      return residualSite(add, blk, 'insertSEAfterResidualSum', out, [...ctx.graph.consumers(out)]);
    }
  }
}

/**
 * A site of this pass; the block's stage is that of the sum, whichever tensor the placement scales. The
 * sum is the region's last node: every other node of it computes one of the sum's inputs.
 */
function residualSite(add: NodeProto, blk: Block, rule: string, tensor: string, rewire: NodeProto[]): Site {
  const site: Site = { family: 'residual', region: blk.region, stageTensor: add.outputs[0]!, rule, tensor, rewire };
  if (blk.at !== undefined) (site.last = add), (site.lastAt = blk.at), (site.regionAt = blk.regionAt);
  return site;
}

export const residualPass: Pass = { family: 'residual', roots: ['Add', 'Sum', 'QLinearAdd'], match };

const UPSAMPLING = new Set(['Resize', 'Upsample', 'ConvTranspose', 'DepthToSpace']);

/**
 * The last upsampling op of a block's region (nearest the sum) that merges the block's scales, if any: a
 * residual branch keeps its input's resolution. A local context inside the branch is no such merge.
 */
function upsampling(ctx: Ctx, region: ReadonlySet<NodeProto>, add: NodeProto): NodeProto | undefined {
  let last: NodeProto | undefined, at = -1;
  for (const n of region) {
    if (!UPSAMPLING.has(n.opType) || isGateBroadcast(ctx, n) || isLocalContext(ctx, n, add)) continue;
    const i = ctx.position.get(n) ?? -1;
    if (i > at) [last, at] = [n, i];
  }
  return last;
}

/** A per-channel gate repeated over the map for the Mul it feeds (the resize form of SE): no second resolution. */
function isGateBroadcast(ctx: Ctx, up: NodeProto): boolean {
  const out = up.outputs[0];
  return broadcastOf(ctx, up) !== undefined && !!out && ctx.graph.consumers(out).every((u) => u.opType === 'Mul');
}

const POOLING = new Set(['AveragePool', 'MaxPool']);
const MERGES = new Set(['Add', 'Mul', 'Concat', 'Sum']);

/**
 * Does `up` bring back a local context: a map t pooled (padded or not), convolved (≥1 conv, through BN and activations)
 * and upsampled, then merged with t or a map of it by a node other than the sum (SCNet's self-calibrated conv,
 * σ(t + up(conv(avgpool(t))))·conv(t); GhostNetV2's DFC attention)? The coarse map is computed inside the branch, not by the backbone
 * between two scales as a feature pyramid's is; without a conv (EfficientDet's P7 = MaxPool(P6)) it is a
 * pyramid level.
 */
function isLocalContext(ctx: Ctx, up: NodeProto, add: NodeProto): boolean {
  let t = up.inputs[0] ?? '', convs = 0;
  for (let i = 0; i < 8; i++) {
    const p = producerOf(ctx, t);
    const data = p ? dataInputs(ctx, p) : [];
    if (!p || data.length !== 1) return false;
    if (POOLING.has(p.opType)) return convs > 0 && mergedWith(ctx, up, pastPad(ctx, data[0]!), add);
    if (isConv(p)) convs++;
    else if (!isPassThrough(ctx, p)) return false;
    t = data[0]!;
  }
  return false;
}

/** The map a Pad pads (torch writes AvgPool2d's padding as one), or `t`. */
function pastPad(ctx: Ctx, t: string): string {
  const p = producerOf(ctx, t);
  return p?.opType === 'Pad' && p.inputs[0] ? p.inputs[0] : t;
}

/**
 * Is `up`'s output read by a merge, other than `add`, that also reads `t` or a map computed from it (GhostNetV2's
 * DFC attention: the ghost module's output times σ(convs(avgpool(t))) upsampled)?
 */
function mergedWith(ctx: Ctx, up: NodeProto, t: string, add: NodeProto): boolean {
  const fromT = (i: string) => i === t || regionBetween(ctx, t, [i]).size > 0;
  return dataConsumers(ctx, up.outputs[0]!).some((m) => m !== add && MERGES.has(m.opType)
    && dataInputs(ctx, m).some((i) => i !== up.outputs[0] && fromT(i)));
}
