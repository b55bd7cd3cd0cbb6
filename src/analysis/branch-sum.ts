// A sum of parallel branches of one input, each a single conv (with its BN) or the input itself (or an
// affine step of it, the identity BN): RepVGG's and MobileOne's training-time blocks (Ding et al. 2021;
// Vasu et al. 2023), whose branches fold into one conv. The block is the whole sum, not one summand.

import type { NodeProto } from '../onnx/proto.js';
import type { Ctx } from './blocks.js';
import { dataConsumers, dataInputs, dimsOf, isAffineStep, isConv, producerOf } from './blocks.js';
import { sameDims } from './shape-rules.js';

export interface BranchSum {
  /** The input every branch reads. */
  x: string;
  /** The summands: one per branch. */
  terms: string[];
  /** The Adds of the sum, the outermost first. */
  adds: NodeProto[];
}

/** The summands of `add`, through the inner Adds of the same shape that only the next Add reads. */
function sumTerms(ctx: Ctx, add: NodeProto, adds: NodeProto[], terms: string[]): void {
  adds.push(add);
  const dims = dimsOf(ctx, add.outputs[0]!);
  const inputs = add.inputs;
  for (let i = 0; i < inputs.length; i++) {
    const t = inputs[i]!;
    const p = producerOf(ctx, t);
    const inner = p?.opType === 'Add' && p.inputs.length === 2 && adds.length < 16 && dataConsumers(ctx, t).length === 1 && sameDims(dimsOf(ctx, t), dims);
    if (inner) sumTerms(ctx, p!, adds, terms);
    else terms.push(t);
  }
}

/**
 * Whether `t` is computed by a conv through linear steps (isAffineStep: BN, constant scales; no
 * activation, which would not fold into one conv): what every conv branch of a branch sum is. Asked first, without the walks' lists: most sums are residual units, whose shortcut reaches none.
 */
function reachesConv(ctx: Ctx, t: string): boolean {
  for (let i = 0; i < 8; i++) {
    const p = producerOf(ctx, t);
    if (!p) return false;
    if (isConv(p)) return true;
    if (!isAffineStep(ctx, p)) return false;
    const data = dataInputs(ctx, p);
    if (data.length !== 1) return false;
    t = data[0]!;
  }
  return false;
}

/** The tensors `t` is computed from through linear steps and at most one conv, nearest first; and that conv. */
function origins(ctx: Ctx, t: string): { chain: string[]; conv?: NodeProto } {
  const chain = [t];
  let conv: NodeProto | undefined;
  for (let i = 0; i < 8; i++) {
    const p = producerOf(ctx, t);
    if (!p || (isConv(p) ? conv : !isAffineStep(ctx, p))) break;
    if (isConv(p)) conv = p;
    const data = dataInputs(ctx, p);
    if (data.length !== 1) break;
    t = data[0]!;
    chain.push(t);
  }
  return { chain, conv };
}

/**
 * The branch sum `add` ends, if it is one: ≥2 summands, each computed from one input x by a single conv
 * or by none, at least two by a conv, or one by a conv and one by an affine step of x (the identity BN:
 * MobileOne's pointwise block with one branch, RepGhost's feature reuse). Undefined for a residual unit (a
 * branch of several convs, or one conv plus x itself) and for sums of maps from different inputs (HRNet's exchange).
 */
export function branchSumOf(ctx: Ctx, add: NodeProto): BranchSum | undefined {
  const adds: NodeProto[] = [], terms: string[] = [];
  sumTerms(ctx, add, adds, terms);
  if (terms.length < 2) return undefined;
  let convTerms = 0;
  for (let i = 0; i < terms.length && convTerms < 2; i++) if (reachesConv(ctx, terms[i]!)) convTerms++;
  if (convTerms < 1) return undefined;
  const walks = terms.map((t) => origins(ctx, t));
  const convWalks = walks.filter((w) => w.conv).length;
  if (convWalks < 1 || (convWalks === 1 && !walks.some((w) => !w.conv && w.chain.length > 1))) return undefined;
  // x: the nearest tensor of the first summand's walk that every walk reaches, past its conv for a conv branch.
  const below = (w: { chain: string[]; conv?: NodeProto }) => (w.conv ? w.chain.slice(w.chain.indexOf(w.conv.inputs[0]!)) : w.chain);
  const x = below(walks[0]!).find((c) => walks.every((w) => below(w).includes(c)));
  if (x === undefined) return undefined;
  // Every conv must read x itself (through its own steps): a conv below x would make a chain of two.
  if (walks.some((w) => w.conv && !w.chain.slice(0, w.chain.indexOf(w.conv.inputs[0]!) + 1).includes(x))) return undefined;
  return { x, terms, adds };
}

/**
 * The outermost Add of the branch sum that `add` is an inner Add of, if any. `at`: the index of `add`
 * in the node list, where the caller knows it (its output is then read by its id, not looked up).
 */
export function outerBranchSum(ctx: Ctx, add: NodeProto, at?: number): BranchSum | undefined {
  // An inner Add is read by one Add alone (a Shape reader aside): most sums are read by something else.
  const users = at !== undefined && ctx.ids.matches(at, add) ? ctx.graph.consumersOfId(ctx.ids.output(at, 0)) : ctx.graph.consumers(add.outputs[0]!);
  if (!users.some((u) => u.opType === 'Add')) return undefined;
  let top = add;
  for (let i = 0; i < 16; i++) {
    const readers = dataConsumers(ctx, top.outputs[0]!);
    if (readers.length !== 1 || readers[0]!.opType !== 'Add') break;
    top = readers[0]!;
  }
  if (top === add) return undefined;
  const sum = branchSumOf(ctx, top);
  return sum?.adds.includes(add) ? sum : undefined;
}
