// What a pass returns: candidate sites, each either a place to insert SE or a reason it is left alone.

import type { Ctx } from '../analysis/blocks.js';
import type { NodeProto } from '../onnx/proto.js';

export type Family = 'residual' | 'inception' | 'mobilenet' | 'shufflenet' | 'user';
/** The pass families (--arch); 'user' marks sites the user named with --at. */
export const FAMILIES: readonly Family[] = ['residual', 'inception', 'mobilenet', 'shufflenet'];

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
  /** A gate the placement implies (MobileNetV3 placement uses a hard sigmoid). */
  gate?: 'sigmoid' | 'hardsigmoid';
}

export interface Candidate {
  family: Family;
  /** The node the pass looked at, as the user sees it in Netron. */
  node: string;
  tensor: string;
  site?: Site;
  reason?: string;
}

export interface PassOptions {
  placement: Placement;
  mobilenetPlacement: 'output' | 'v3';
}

export interface Pass {
  family: Family;
  /** The root op types the pass looks at; others are rejected before any walk. */
  roots: readonly string[];
  /** undefined: the node is not a candidate at all (checked cheaply, not listed by --explain). */
  match(ctx: Ctx, node: NodeProto, options: PassOptions): Candidate | undefined;
}

export function nodeLabel(n: NodeProto): string {
  return n.name || `${n.opType}(${n.outputs[0] ?? ''})`;
}

export function skip(family: Family, n: NodeProto, reason: string, tensor = n.outputs[0] ?? ''): Candidate {
  return { family, node: nodeLabel(n), tensor, reason };
}
