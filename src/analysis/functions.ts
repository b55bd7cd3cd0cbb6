// Model-local functions (ModelProto.functions, e.g. torch's export_modules_as_functions): a node whose
// (domain, op_type) names one is a call, and its layers live in the function body. se-inject looks into
// every call it can expand (src/ir/inline.ts) and expands, in the model it writes, only the calls whose
// bodies hold a block that gets SE (each block has its own weights, which a body shared by several
// calls cannot hold) and those upstream of a block. Every other call, and every function, stays as it
// was read.

import type { Model } from '../ir/model.js';
import type { NodeProto } from '../ir/types.js';
import { cloneModel } from '../ir/model.js';
import { expandCalls, localCalls } from '../ir/inline.js';
import type { Calls } from '../ir/inline.js';
import { localFunctions } from '../onnx/functions.js';
import type { LocalFunction } from '../ir/types.js';

/** The model's calls and functions; `calls` empty when it defines or calls none. */
export function modelCalls(model: Model): Calls & { functions: ReadonlyMap<string, LocalFunction> } {
  const functions = localFunctions(model.proto.extras);
  return { functions, ...localCalls(model.graph, functions, model.proto.opsetImport) };
}

/** `name ×count` per called function, most called first. */
export function callCounts(calls: readonly NodeProto[]): string[] {
  const counts = new Map<string, number>();
  for (const n of calls) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ×${v}`);
}

/** Calls se-inject cannot look into, as `name ×count (why)`. */
export function blockedCalls(model: Model): string[] {
  const { blocked } = modelCalls(model);
  const why = new Map<string, string>();
  for (const [n, w] of blocked) if (!why.has(n.opType)) why.set(n.opType, w);
  return callCounts([...blocked.keys()]).map((c) => `${c} (${why.get(c.slice(0, c.lastIndexOf(' ×')))})`);
}

/**
 * What se-inject sees of a model with calls: a copy with every call it can expand expanded. Nodes are
 * known by their index in the model's list, which the model and its clones share until one is edited.
 */
export interface ExpandedCopy {
  copy: Model;
  /** For each node an expansion made, the index of the call (in the model's node list) it comes from. */
  callAt: Map<NodeProto, number>;
  /** The indexes of the calls that can be expanded, in node order. */
  open: number[];
  /** The total count of calls, expandable or not. */
  calls: number;
  functions: ReadonlyMap<string, LocalFunction>;
}

/** The model with every call it can expand expanded, in a copy; undefined when it makes no such call. */
export function expandedCopy(model: Model): ExpandedCopy | undefined {
  const { functions, calls, blocked } = modelCalls(model);
  const index = new Map<NodeProto, number>();
  model.graph.nodes.forEach((n, i) => index.set(n, i));
  const open = calls.filter((c) => !blocked.has(c)).map((c) => index.get(c)!);
  if (!open.length) return undefined;
  const copy = cloneModel(model);
  const copied = open.map((i) => copy.graph.nodes[i]!);
  const bodies = expandCalls(copy.graph, functions, copied);
  const callAt = new Map<NodeProto, number>();
  copied.forEach((c, k) => { for (const n of bodies.get(c)!) callAt.set(n, open[k]!); });
  return { copy, callAt, open, calls: calls.length, functions };
}

export interface CallExpansion {
  /** The calls expanded in the model, `name ×count`. */
  expanded: string[];
  /** How many calls stay calls (no block inside, or one se-inject cannot expand). */
  kept: number;
}

/**
 * Expands, in `target` (the model `expanded` was copied from, or a clone of it, not yet edited), the calls
 * whose bodies hold a block that gets SE, and the calls upstream of one (the block's shapes are inferred
 * through them). `sites`: the tensors SE scales in the plan of the expanded copy.
 */
export function expandCallsHoldingBlocks(target: Model, expanded: ExpandedCopy, sites: readonly string[]): CallExpansion {
  const nodes = target.graph.nodes;
  const open = new Set(expanded.open);
  const index = new Map<NodeProto, number>();
  nodes.forEach((n, i) => index.set(n, i));
  // A call holding a site, and every call upstream of a site (whose body shape inference must see
  // through to size the block): found from the sites backwards through the target's producers.
  const chosenAt = new Set<number>();
  const seen = new Set<NodeProto>();
  const stack: NodeProto[] = [];
  for (const t of sites) {
    const k = expanded.callAt.get(expanded.copy.graph.producer(t)!);
    const start = k !== undefined ? nodes[k] : target.graph.producer(t);
    if (start && !seen.has(start)) seen.add(start), stack.push(start);
  }
  while (stack.length) {
    const n = stack.pop()!;
    const k = index.get(n)!;
    if (open.has(k)) chosenAt.add(k);
    for (const v of target.graph.reads(n)) {
      const p = target.graph.producer(v);
      if (p && !seen.has(p)) seen.add(p), stack.push(p);
    }
  }
  const chosen = expanded.open.filter((k) => chosenAt.has(k)).map((k) => nodes[k]!);
  if (chosen.length) expandCalls(target.graph, expanded.functions, chosen);
  return { expanded: callCounts(chosen), kept: expanded.calls - chosen.length };
}
