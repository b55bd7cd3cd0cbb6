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
export function modelCalls(model: Model): Calls & { functions: Map<string, LocalFunction> } {
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

/** A copy of the model with every call it can expand expanded: what se-inject sees of a model with functions. */
export function expandedCopy(model: Model): Model {
  const { functions, calls, blocked } = modelCalls(model);
  return copyExpanding(model, functions, calls.filter((c) => !blocked.has(c))).copy;
}

/** A copy of `model` with `open` (calls of it) expanded, and which of them (by index in `open`) each node in an expansion comes from. */
function copyExpanding(model: Model, functions: ReadonlyMap<string, LocalFunction>, open: readonly NodeProto[]): { copy: Model; callOf: Map<NodeProto, number> } {
  // The copy's nodes are in the order of the model's: a copy's call is the model's at the same index.
  const copy = cloneModel(model);
  const callOf = new Map<NodeProto, number>();
  if (!open.length) return { copy, callOf };
  const at = new Map<NodeProto, number>();
  model.graph.nodes.forEach((n, i) => at.set(n, i));
  const copied = open.map((c) => copy.graph.nodes[at.get(c)!]!);
  const bodies = expandCalls(copy.graph, functions, copied);
  copied.forEach((c, k) => { for (const n of bodies.get(c)!) callOf.set(n, k); });
  return { copy, callOf };
}

export interface CallExpansion {
  /** The calls expanded in the model, `name ×count`. */
  expanded: string[];
  /** How many calls stay calls (no block inside, or one se-inject cannot expand). */
  kept: number;
}

/**
 * Expands, in `target`, the calls whose bodies hold a block that gets SE, and the calls upstream of one
 * (the block's shapes are inferred through them): `sites` plans SE on a copy with every expandable call
 * expanded and gives the tensors it would scale. Undefined when the model makes no call that can be
 * expanded.
 */
export function expandCallsHoldingBlocks(target: Model, sites: (probe: Model) => readonly string[]): CallExpansion | undefined {
  const { functions, calls, blocked } = modelCalls(target);
  const open = calls.filter((c) => !blocked.has(c));
  if (!open.length) return undefined;
  const { copy: probe, callOf } = copyExpanding(target, functions, open);
  // A call holding a site, and every call upstream of a site (whose body shape inference must see
  // through to size the block): found from the sites backwards through the target's producers.
  const openAt = new Map(open.map((c, k) => [c, k]));
  const chosenAt = new Set<number>();
  const seen = new Set<NodeProto>();
  const stack: NodeProto[] = [];
  for (const t of sites(probe)) {
    const k = callOf.get(probe.graph.producer(t)!);
    const start = k !== undefined ? open[k] : target.graph.producer(t);
    if (start && !seen.has(start)) seen.add(start), stack.push(start);
  }
  while (stack.length) {
    const n = stack.pop()!;
    const k = openAt.get(n);
    if (k !== undefined) chosenAt.add(k);
    for (const v of target.graph.reads(n)) {
      const p = target.graph.producer(v);
      if (p && !seen.has(p)) seen.add(p), stack.push(p);
    }
  }
  const chosen = open.filter((_, k) => chosenAt.has(k));
  if (chosen.length) expandCalls(target.graph, functions, chosen);
  return { expanded: callCounts(chosen), kept: calls.length - chosen.length };
}
