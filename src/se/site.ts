// What a pass returns: candidate sites, each either a place to insert SE or a reason it is left alone.

import type { Ctx } from '../analysis/blocks.js';
import type { NodeProto } from '../onnx/proto.js';
import type { PassFamily } from '../../passes/index.js';

/** The pass families come from the registry (passes/index.ts); 'user' marks sites named with --at. */
export type Family = PassFamily | 'user';
/** The pass families (--arch); 'user' marks sites the user named with --at. */

export type Placement = 'standard' | 'pre' | 'post' | 'identity';

export interface Site {
  family: Family;
  /** The rule that matched, named by its effect; --explain prints it. */
  rule: string;
  /** The feature map U that SE scales. */
  tensor: string;
  /** Readers of U that get the scaled tensor; the others keep reading U. */
  rewire: NodeProto[];
  /** Every node of the block: two sites whose blocks share a node are the same block. */
  region: Set<NodeProto>;
  /**
   * The block's own output, whose width and resolution place the block in its stage: the same tensor
   * whatever --placement scales (pre: the block input; identity: the shortcut). Defaults to `tensor`.
   */
  stageTensor?: string;
  /** A gate the placement implies (MobileNetV3 placement uses a hard sigmoid). */
  gate?: 'sigmoid' | 'hardsigmoid';
  /**
   * The region's last node in the node list and its index there, when the pass knows them (a residual
   * block ends at its sum, which reads every other node of it); the stages find them otherwise.
   */
  last?: NodeProto;
  lastAt?: number;
  /** The index in the node list of each node of `region`, when the pass knows them. */
  regionAt?: readonly number[];
}

export interface Candidate {
  family: Family;
  /** The node the pass looked at, as the user sees it in Netron. */
  node: string;
  tensor: string;
  site?: Site;
  /** Why it was left alone: one of a closed set of codes (REASONS), and a sentence naming what was seen. */
  code?: ReasonCode;
  reason?: string;
  /**
   * A block that already holds attention: its nodes, which no other pass may give a block either (a
   * ShuffleNet unit with SE holds a depthwise branch that is a block of its own to the depthwise pass).
   */
  held?: ReadonlySet<NodeProto>;
  /**
   * A sum that folds into one conv (RepVGG's and MobileOne's branches, RepGhost's conv plus the BN of its
   * input): a block where it stands alone, a conv of the residual unit whose region holds it otherwise, and
   * that unit takes it over (its site then goes to the unit, and it is left alone as inner-sum).
   */
  foldable?: true;
}

export interface PassOptions {
  placement: Placement;
  mobilenetPlacement: 'output' | 'v3';
}

export interface Pass {
  family: Family;
  /** The root op types the pass looks at; others are rejected before any walk. */
  roots: readonly string[];
  /**
   * undefined: the node is not a candidate at all (checked cheaply, not listed by --explain). `at`: the
   * node's index in the graph's node list, where the caller walks that list.
   */
  match(ctx: Ctx, node: NodeProto, options: PassOptions, at?: number): Candidate | undefined;
}

export function nodeLabel(n: NodeProto): string {
  return n.name || `${n.opType}(${n.outputs[0] ?? ''})`;
}

export function skip(family: Family, n: NodeProto, code: ReasonCode, reason: string, tensor = n.outputs[0] ?? ''): Candidate {
  return { family, node: nodeLabel(n), tensor, code, reason };
}

/** A block left alone because it holds attention already (`existing`, its scaling Mul); its nodes stay taken. */
export function holdsAttention(family: Family, n: NodeProto, existing: NodeProto, region: ReadonlySet<NodeProto>, tensor?: string): Candidate {
  return { ...skip(family, n, 'has-se', `already holds attention (${nodeLabel(existing)})`, tensor), held: region };
}

/** Marks a candidate left alone after matching (by the pipeline: clashes, stages, shapes). */
export function leaveAlone(c: Candidate, code: ReasonCode, reason: string): void {
  c.site = undefined;
  c.code = code;
  c.reason = reason;
}

/**
 * Why a candidate is left alone: the closed set of codes, each with the summary the report prints once
 * per code (the detail of each candidate, naming its tensors, is in --explain and the JSON).
 */
export const REASONS = {
  'not-a-sum': 'not a sum of two feature maps',
  'not-feature-map': 'an input is a constant or not a float feature map',
  'shape-arithmetic': 'integer shape arithmetic, not a feature map',
  'channels-last': 'a channels-last (N×H×W×C) map: a Transpose moved the channels off axis 1',
  'nonstandard-op': 'an input comes from an op outside the ONNX standard (a runtime-fused op), which se-inject cannot analyse',
  'integer-op': 'an integer op of a QOperator-quantized model (QLinearAdd, QLinearConv), which se-inject does not rewrite',
  broadcast: 'a broadcasting op, not a merge of equal-shape maps',
  'no-block-input': 'the inputs share no block input',
  budget: 'no block input within the depth budget (MAX_BLOCK_DEPTH ops)',
  ambiguous: 'cannot tell the branch from the shortcut (as many convs on each side)',
  'not-a-shortcut': 'the shortcut is not the block input or a short projection of it',
  aggregation: "an aggregation node (DLA's Root: a 1×1 conv over a concat of the block input and earlier maps, plus the block input), not a residual unit",
  'multi-scale': 'a merge of maps of two resolutions (an upsampled branch: a feature pyramid, LR-ASPP, HRNet), not a residual unit',
  'inner-sum': 'an inner Add of a sum of single-conv branches (RepVGG, MobileOne), whose block is the whole sum, or such a sum inside a residual unit (RepGhost), whose block is the unit',
  'nas-cell': 'an operation or the output of a NAS cell (NASNet, PNASNet, AmoebaNet: pairwise sums of separable convs, pools and identities, concatenated), where no SE paper places SE',
  'not-channel-concat': 'not a channel concat of feature maps',
  'too-few-branches': 'fewer than two conv branches',
  'other-family': "another family's block",
  'inner-concat': 'an inner concat of a larger module',
  dense: 'dense connectivity (an input computed from another, as in DenseNet)',
  'not-depthwise': 'not a spatial depthwise conv',
  'no-projection': 'no pointwise 1×1 projection after the depthwise conv',
  'no-conv': 'no conv on either side',
  transformer: 'a branch holds self-attention over tokens (a conv–transformer block: MobileViT, CoAtNet), not a conv block',
  'has-se': 'already holds SE or another attention block (eSE, ECA, CBAM)',
  prediction: "a prediction layer's output (reshaped into boxes or scores, as SSD's heads), not a feature map a later layer reads",
  'same-block': "the same block as another pass's SE",
  'shape-unknown': 'the shape of the tensor to scale is unknown',
  dtype: 'an element type SE has no weights for',
  'stage-excluded': 'stage excluded by --stages',
  excluded: 'left out by --exclude',
  'not-selected': 'not selected',
} as const;

export type ReasonCode = keyof typeof REASONS;
