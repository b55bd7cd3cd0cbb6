// Graph.lint(), after torch.fx: the structural promises of the IR, each problem said with how to fix it.
// Runs after every pass in the tests and guards every model before it is written. `inputDefect` is the
// same check at the door: a graph that breaks these promises is refused before any pass looks at it.

import type { NodeProto } from './types.js';
import type { Graph } from './graph.js';
import { topologicalOrder } from './graph.js';

/** `name`: duplicate node names, which ONNX tolerates; every other kind makes a graph unusable. */
export type LintKind = 'name' | 'order' | 'undefined' | 'producer' | 'output';

export interface LintProblem {
  kind: LintKind;
  message: string;
  /** Kind `name`: the node name that more than one node has (said once however many have it). */
  nodeName?: string;
}

export function lintGraph(g: Graph): string[] {
  return lintProblems(g).map((p) => p.message);
}

export interface LintOptions {
  /** Look for duplicate node names (kind `name`); true unless said. */
  nodeNames?: boolean;
}

/**
 * The problems that make a graph unusable, which every input is checked for: duplicate node names, which
 * ONNX tolerates and se-inject leaves as they are, are not looked for (a set of every node's name).
 */
export function inputProblems(g: Graph): LintProblem[] {
  return lintProblems(g, { nodeNames: false });
}

export function lintProblems(g: Graph, options: LintOptions = {}): LintProblem[] {
  const checkNames = options.nodeNames ?? true;
  const problems: LintProblem[] = [];
  const add = (kind: LintKind, message: string) => problems.push({ kind, message });
  // What defines each value so far: a node, INITIALIZER, or DECLARED for a graph input (or a sparse
  // initializer). An initializer may also be a graph input (IR 3 requires it), but not twice an initializer.
  const slots = g.valueIds();
  const tensorIds = g.initializerIds();
  const source = new Sources(g);
  for (const v of g.proto.inputs) {
    if (source.swap(v.name, DECLARED) !== undefined) add('producer', `graph input ${v.name} is declared twice: keep one`);
  }
  const inits = g.proto.initializers;
  for (let i = 0; i < inits.length; i++) {
    const t = inits[i]!;
    const id = tensorIds.id(i, t);
    if ((id >= 0 ? source.swapId(id, t.name, INITIALIZER) : source.swap(t.name, INITIALIZER)) === INITIALIZER) add('producer', `two initializers are named ${t.name}: each tensor needs exactly one producer`);
  }
  for (const n of g.proto.sparseInitializerNames) source.set(n, DECLARED);
  const nodeNames = new Set<string>();
  let repeated: Set<string> | undefined;
  // Every value some node writes: built only when a read finds nothing defined, to tell order from absence.
  let written: Set<string> | undefined;

  // Indexed loops: one pass over every node, run before the optimizer takes it, where for-of would
  // allocate an iterator result per element.
  const nodes = g.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (checkNames && n.name && !addedNew(nodeNames, n.name) && addedNew((repeated ??= new Set()), n.name)) {
      problems.push({ kind: 'name', message: `two nodes are named ${n.name}: give each node a unique name`, nodeName: n.name });
    }
    const reads = g.reads(n);
    // The node's ids, read when the graph was, name the values its lists name while they are the same lists.
    const known = reads === n.inputs && slots.matches(i, n);
    for (let j = 0; j < reads.length; j++) {
      const v = reads[j]!;
      if (known ? source.hasId(slots.input(i, j), v) : source.has(v)) continue;
      written ??= writtenValues(g);
      if (written.has(v)) add('order', `node ${nodeLabel(n)} reads ${v} before it is computed: the graph is not in topological order (or has a cycle)`);
      else add('undefined', `node ${nodeLabel(n)} reads ${v}, which no node, graph input or initializer defines; fix the name or add ${v} as an input or initializer`);
    }
    for (let j = 0; j < n.outputs.length; j++) {
      const o = n.outputs[j]!;
      if (!o) continue;
      const other = known ? source.swapId(slots.output(i, j), o, n) : source.swap(o, n);
      if (other !== undefined) {
        const label = nodeLabel(n);
        add('producer', `tensor ${o} is written by ${other !== DECLARED && other !== INITIALIZER ? `both ${nodeLabel(other)} and ${label}` : `${label} and is also a graph input or initializer`}: each tensor needs exactly one producer`);
      }
    }
  }
  for (const o of g.proto.outputs) {
    if (!source.has(o.name)) add('output', `graph output ${o.name} is never computed; remove it or add the node that computes it`);
  }
  return problems;
}

/** Marks a value defined by the graph itself (an input, a sparse initializer) in lintProblems. */
const DECLARED = Symbol('declared');
/** Marks a value an initializer defines in lintProblems. */
const INITIALIZER = Symbol('initializer');

type Source = NodeProto | typeof DECLARED | typeof INITIALIZER;

/**
 * What lintProblems has seen define each name, kept by the graph's value id: the graph's table turns a
 * name into its id with one lookup, where a map of its own would insert every name again. Nothing else
 * of the graph's tables is trusted (producers and readers are what lint checks); a name the table does
 * not hold (a list edited behind the graph's back) is kept in a map.
 */
class Sources {
  private readonly kind: Uint8Array;
  private readonly writers: (NodeProto | undefined)[];
  private readonly others = new Map<string, Source>([['', DECLARED]]);

  constructor(private readonly g: Graph) {
    this.kind = new Uint8Array(g.valueCount);
    this.writers = new Array<NodeProto | undefined>(g.valueCount);
  }

  has(name: string): boolean {
    return this.hasId(this.idOf(name), name);
  }

  /** has(name) where the graph's id of `name` is known (-1 for none). */
  hasId(id: number, name: string): boolean {
    return id < 0 || id >= this.kind.length ? this.others.has(name) : this.kind[id] !== NONE;
  }

  set(name: string, s: Source): void {
    this.setAt(this.idOf(name), name, s);
  }

  /** set, returning what defined the name before: one lookup of the name for both. */
  swap(name: string, s: Source): Source | undefined {
    return this.swapId(this.idOf(name), name, s);
  }

  swapId(id: number, name: string, s: Source): Source | undefined {
    if (id >= this.kind.length) id = -1;
    const old = id < 0 ? this.others.get(name) : this.at(id);
    this.setAt(id, name, s);
    return old;
  }

  private at(id: number): Source | undefined {
    const k = this.kind[id];
    return k === NONE ? undefined : k === BY_NODE ? this.writers[id] : k === BY_INPUT ? DECLARED : INITIALIZER;
  }

  private setAt(id: number, name: string, s: Source): void {
    if (id < 0) this.others.set(name, s);
    else if (s === DECLARED) this.kind[id] = BY_INPUT;
    else if (s === INITIALIZER) this.kind[id] = BY_INITIALIZER;
    else {
      this.kind[id] = BY_NODE;
      this.writers[id] = s;
    }
  }

  private idOf(name: string): number {
    if (!name) return -1;
    const id = this.g.valueId(name);
    return id < this.kind.length ? id : -1;
  }
}

const NONE = 0, BY_INPUT = 1, BY_INITIALIZER = 2, BY_NODE = 3;

/** Adds `value`; false when it was there already (one hash operation, where has + add are two). */
function addedNew(set: Set<string>, value: string): boolean {
  const before = set.size;
  set.add(value);
  return set.size > before;
}

function writtenValues(g: Graph): Set<string> {
  const written = new Set<string>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) written.add(o);
  return written;
}

/**
 * lintProblems restricted to what an insertion changed: every value `nodes` read is defined before them
 * (by an initializer, a graph input or an earlier node) and each of their outputs has them as its one
 * producer. With a graph that passed lintProblems before, new nodes named and valued through the
 * graph's fresh names, and only `nodes` added or rewired, this finds what the whole lint would add.
 */
export function lintNodes(g: Graph, nodes: readonly NodeProto[]): LintProblem[] {
  const problems: LintProblem[] = [];
  const position = positionsOf(g, nodes);
  const sparse = g.proto.sparseInitializerNames;
  for (const n of nodes) {
    const here = position.get(n);
    if (here === undefined) {
      problems.push({ kind: 'undefined', message: `node ${nodeLabel(n)} is not in the graph's node list; insert it through the IR` });
      continue;
    }
    for (const v of g.reads(n)) {
      if (!v || g.initializer(v) || g.isGraphInput(v) || (sparse.length && sparse.includes(v))) continue;
      const p = g.producer(v);
      if (!p) problems.push({ kind: 'undefined', message: `node ${nodeLabel(n)} reads ${v}, which no node, graph input or initializer defines; fix the name or add ${v} as an input or initializer` });
      else if (!(position.get(p)! < here)) problems.push({ kind: 'order', message: `node ${nodeLabel(n)} reads ${v} before it is computed: the graph is not in topological order (or has a cycle)` });
    }
    for (const o of n.outputs) {
      if (o && g.producer(o) !== n) problems.push({ kind: 'producer', message: `tensor ${o} is written by both ${nodeLabel(g.producer(o) ?? n)} and ${nodeLabel(n)}: each tensor needs exactly one producer` });
      if (o && (g.initializer(o) || g.isGraphInput(o))) problems.push({ kind: 'producer', message: `tensor ${o} is written by ${nodeLabel(n)} and is also a graph input or initializer: each tensor needs exactly one producer` });
    }
  }
  return problems;
}

/**
 * The index in the node list (the last, should a node be listed twice) of `nodes` and of the producers
 * of what they read: one scan of the list, which stores only the few positions the check compares.
 */
function positionsOf(g: Graph, nodes: readonly NodeProto[]): Map<NodeProto, number> {
  const wanted = new Set<NodeProto>(nodes);
  for (const n of nodes) {
    for (const v of g.reads(n)) {
      const p = v ? g.producer(v) : undefined;
      if (p) wanted.add(p);
    }
  }
  const position = new Map<NodeProto, number>();
  const all = g.nodes;
  for (let i = 0; i < all.length; i++) if (wanted.has(all[i]!)) position.set(all[i]!, i);
  return position;
}

/** Why a loaded graph cannot be rewritten, or undefined. Cycles are named as cycles, with their nodes. */
export function inputDefect(g: Graph, lint: readonly LintProblem[] = inputProblems(g)): string | undefined {
  const problem = lint.find((p) => p.kind !== 'name');
  if (problem?.kind !== 'order') return problem?.message;
  const cycle = findCycle(g);
  if (!cycle) return `${problem.message}; sort the nodes topologically`;
  return `the graph has a cycle: ${cycle.map(nodeLabel).join(' → ')} → ${nodeLabel(cycle[0]!)}; an ONNX graph must be acyclic — re-export the model`;
}

/** Nodes on one cycle, in data-flow order; O(nodes). */
function findCycle(g: Graph): NodeProto[] | undefined {
  const self = g.nodes.find((n) => g.reads(n).some((v) => v && n.outputs.includes(v)));
  if (self) return [self];
  const done = new Set(topologicalOrder(g).nodes);
  let n = g.nodes.find((x) => !done.has(x));
  if (!n) return undefined;
  // A node left unsorted waits on a producer also left unsorted; walking producers must revisit a node.
  const seen = new Map<NodeProto, number>();
  const path: NodeProto[] = [];
  while (n && !seen.has(n)) {
    seen.set(n, path.length);
    path.push(n);
    const from: NodeProto = n;
    n = g.reads(from).map((v) => g.producer(v)).find((p) => p && p !== from && !done.has(p));
  }
  return n ? path.slice(seen.get(n)).reverse() : undefined;
}

function nodeLabel(n: NodeProto): string {
  return n.name || `${n.opType} writing ${n.outputs[0] ?? '?'}`;
}
