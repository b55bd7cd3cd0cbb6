// The graph IR: the decoded GraphProto plus one table of its values (producer, readers) that every
// mutation keeps right.
//
// Invariants (checked by lint()):
//   - every value has at most one producer (node output, graph input or initializer);
//   - every node input is defined before the node in `nodes` order, or is the empty (omitted) input;
//   - node names are unique where set; value names made here never collide.
// Nodes are read-only outside this file (types.ts): a pass mutates only through the methods below; a
// node they change loses its `src` so the encoder re-encodes it, while untouched nodes are written back
// as their original bytes.

import type { GraphProto, NodeProto, TensorProto } from './types.js';
import { isSealed, sealInto, sealedLayout, unsealed } from './sealed.js';
import type { SealedGroup } from './sealed.js';
import { NodeValueIds, TensorIds } from './value-ids.js';

/** The one place a node's fields are written: every edit goes through Graph, which keeps the maps right. */
type EditableNode = { -readonly [K in keyof NodeProto]: NodeProto[K] };
const editable = (n: NodeProto) => n as EditableNode;

/** An inserted block held sealed: the values it reads from the graph and the ones other nodes may read. */
export interface SealedBlock extends SealedGroup {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
}

/** Nodes to insert right after `anchor` (or at the end): as node objects, or one sealed block. */
export type InsertGroup = { nodes: NodeProto[]; anchor?: NodeProto } | { sealed: SealedBlock; anchor?: NodeProto };

export interface ReplaceUsesOptions {
  /** Rewire only these readers (a set, or a predicate as torch.fx's delete_user_cb); all readers otherwise. */
  only?: ReadonlySet<NodeProto> | ((user: NodeProto) => boolean);
}

/** Each node's index in the node list at the time it was made, for the analyses that order by it. */
export interface NodeIndex {
  /** The node's index; undefined for a node not in the list. */
  get(node: NodeProto): number | undefined;
  /** The index of the producer of the value with this id; -1 for a value without one. */
  producerAt(id: number): number;
}

export class Graph {
  /**
   * Every name the graph holds (inputs, initializers, what nodes read and write) and its dense id: 0, 1,
   * ... in the order names became known, never reused. What the graph keeps per value, and what an
   * analysis learns of each, sits in arrays by id: one lookup of a name answers every question about it.
   */
  private readonly ids = new Map<string, number>();
  /** The node writing each value (the first listed, should the graph be invalid). */
  private readonly producers: (NodeProto | undefined)[] = [];
  /**
   * Readers per value: the node itself while there is one (most values have one: a model of 40,000
   * nodes would hold 60,000 one-element arrays), an array while there are few, a Set past MANY_USERS
   * for O(1) edits, with an array view built when asked for.
   */
  private readonly users: (Readers | undefined)[] = [];
  /** The ids of what each node reads and writes, in node order; made again after the list changes. */
  private slots?: NodeValueIds;
  private outputNames?: Set<string>;
  private inputNames?: Set<string>;
  /** Names a node reads inside its subgraphs (If/Loop/Scan bodies) from this scope. */
  private readonly captured = new Map<NodeProto, string[]>();
  private readonly initializerMap = new Map<string, TensorProto>();
  /** The initializer of each value id (the last listed, as in initializerMap). */
  private initializerById: (TensorProto | undefined)[] = [];
  /** The ids of the initializers, in their list's order; made again after the list changes. */
  private tensorIds?: TensorIds;
  /**
   * Every value and node name the graph has ever held (a removed node's names stay taken), made on the
   * first request for a fresh name: until then, only the names of removed nodes are kept.
   */
  private taken?: { values: Set<string>; nodes: Set<string> };
  private readonly retired = { values: [] as string[], nodes: [] as string[] };

  constructor(readonly proto: GraphProto) {
    // An initializer gets its id when a node reads it (most are read), or when initializerIds is asked.
    const inits = proto.initializers, inputs = proto.inputs;
    for (let i = 0; i < inits.length; i++) this.initializerMap.set(inits[i]!.name, inits[i]!);
    for (let i = 0; i < inputs.length; i++) if (inputs[i]!.name) this.idFor(inputs[i]!.name);
    const nodes = proto.nodes;
    const wide: number[] = [];
    const slots = new NodeValueIds(nodes);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      this.registerWrites(n, slots);
      this.registerReads(n, wide, slots);
    }
    this.slots = slots;
    for (const id of wide) this.users[id] = new ManyUsers(new Set(this.users[id] as NodeProto[]));
  }

  /** The id of a name, the next one when the name is new. */
  private idFor(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      this.ids.set(name, (id = this.producers.length));
      this.producers.push(undefined);
      this.users.push(undefined);
    }
    return id;
  }

  /**
   * A node's reads, while the constructor runs. Until it returns nobody holds a reader list, so lists
   * grow in place (addUser, for a graph in use, makes a new list per change): one list per value read
   * by two or more, made at its length when the second reader comes. Values read by more than
   * MANY_USERS go to `wide`, to become sets at the end.
   */
  private registerReads(n: NodeProto, wide: number[], slots: NodeValueIds): void {
    const users = this.users;
    const inputs = n.inputs;
    const reads = this.reads(n);
    for (let j = 0; j < reads.length; j++) {
      const name = reads[j]!;
      if (!name) continue;
      const id = this.idFor(name);
      if (j < inputs.length) slots.setInput(j, id);
      const u = users[id];
      if (u === undefined) users[id] = n;
      // A node reading a value twice was the last reader added.
      else if (Array.isArray(u)) {
        if (u[u.length - 1] !== n && (u as NodeProto[]).push(n) === MANY_USERS + 1) wide.push(id);
      } else if (u !== n) users[id] = [u as NodeProto, n];
    }
    slots.next(n);
  }

  get nodes(): readonly NodeProto[] {
    return this.proto.nodes;
  }

  /** True while inserted blocks are held sealed (sealed.ts); any question about the graph expands them. */
  get holdsSealed(): boolean {
    return this.sealedNow;
  }
  private sealedNow = false;

  /** Calls `f` with every node's op type in order, sealed blocks' included, without expanding them. */
  forEachOpType(f: (opType: string) => void): void {
    const entries = sealedLayout(this.proto)?.entries ?? this.proto.nodes;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (isSealed(e)) for (let j = 0; j < e.opTypes.length; j++) f(e.opTypes[j]!);
      else f(e.opType);
    }
  }

  producer(value: string): NodeProto | undefined {
    if (this.holdsSealed) this.expand();
    const id = this.ids.get(value);
    return id === undefined ? undefined : this.producers[id];
  }

  /**
   * The id of a name, or -1 for a name the graph does not hold. Ids are dense (below valueCount) and
   * never change, so an analysis may keep what it learns of each value in an array. Asking does not
   * expand sealed blocks: the names inside one get their ids when something expands it.
   */
  valueId(name: string): number {
    return this.ids.get(name) ?? -1;
  }

  /** The producer of the value with this id (valueId). */
  producerOfId(id: number): NodeProto | undefined {
    return this.producers[id];
  }

  /** How many ids valueId has handed out or may: every name the graph has held. */
  get valueCount(): number {
    return this.producers.length;
  }

  /**
   * The ids of what each node of the list reads and writes, as the list is now: a walk in node order
   * reads them where it would look each name up in a table of every name.
   */
  valueIds(): NodeValueIds {
    if (this.holdsSealed) this.expand();
    if (this.slots && this.slots.length === this.proto.nodes.length) return this.slots;
    const nodes = this.proto.nodes;
    const slots = new NodeValueIds(nodes);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const inputs = n.inputs, outputs = n.outputs;
      for (let j = 0; j < inputs.length; j++) if (inputs[j]) slots.setInput(j, this.idFor(inputs[j]!));
      for (let j = 0; j < outputs.length; j++) if (outputs[j]) slots.setOutput(j, this.idFor(outputs[j]!), inputs.length);
      slots.next(n);
    }
    return (this.slots = slots);
  }

  /**
   * The index of every node in the list as it is now (the first, should a node be listed twice), kept
   * by the ids of the values each node writes.
   */
  nodeIndex(): NodeIndex {
    const slots = this.valueIds();
    const at = new Int32Array(this.producers.length).fill(-1);
    let others: Map<NodeProto, number> | undefined;
    const nodes = this.proto.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      const outputs = n.outputs;
      // A node edited since the ids were read (a list changed behind the graph) is looked up by name.
      const known = slots.matches(i, n);
      let own = false;
      for (let j = 0; j < outputs.length; j++) {
        const id = known ? slots.output(i, j) : outputs[j] ? this.ids.get(outputs[j]!) ?? -1 : -1;
        if (id < 0 || this.producers[id] !== n) continue;
        own = true;
        if (at[id]! < 0) at[id] = i;
      }
      if (own) continue;
      // A node that writes nothing as its producer (no outputs): rare, kept by node.
      others ??= new Map();
      if (!others.has(n)) others.set(n, i);
    }
    const producerAt = (id: number) => (id >= 0 && id < at.length ? at[id]! : -1);
    return {
      // By the id of a value the node writes: no table keyed by node, which would hold every node again.
      get: (n) => {
        const i = producerAt(this.ownOutput(n));
        return i >= 0 ? i : others?.get(n);
      },
      producerAt,
    };
  }

  /** The id of the first value `n` writes as its producer; -1 without one. */
  private ownOutput(n: NodeProto): number {
    const outputs = n.outputs;
    for (let j = 0; j < outputs.length; j++) {
      const id = outputs[j] ? this.ids.get(outputs[j]!) : undefined;
      if (id !== undefined && this.producers[id] === n) return id;
    }
    return -1;
  }

  consumers(value: string): readonly NodeProto[] {
    if (this.holdsSealed) this.expand();
    return this.consumersOfId(this.ids.get(value) ?? -1);
  }

  /** The readers of the value with this id (valueId, or a node's ids from valueIds). */
  consumersOfId(id: number): readonly NodeProto[] {
    if (this.holdsSealed) this.expand();
    const u = id < 0 ? undefined : this.users[id];
    if (u === undefined) return NO_USERS;
    if (Array.isArray(u)) return u;
    if (u instanceof ManyUsers) return (u.list ??= [...u.set]);
    return [u as NodeProto];
  }

  initializer(name: string): TensorProto | undefined {
    if (this.holdsSealed) this.expand();
    return this.initializerMap.get(name);
  }

  /** The initializer of the value with this id (valueId). */
  initializerOfId(id: number): TensorProto | undefined {
    this.initializerIds();
    return this.initializerById[id];
  }

  /** The value ids of the initializers, in their list's order: a walk of every initializer reads them instead of looking up names. */
  initializerIds(): TensorIds {
    if (this.holdsSealed) this.expand();
    const inits = this.proto.initializers;
    if (this.tensorIds?.length === inits.length) return this.tensorIds;
    const ids = new TensorIds(inits);
    for (let k = 0; k < inits.length; k++) ids.set(k, this.idFor(inits[k]!.name));
    // Made at its length (ids are dense), then filled: the last of a name wins, as in initializerMap.
    const byId = new Array<TensorProto | undefined>(this.producers.length);
    for (let k = 0; k < inits.length; k++) byId[ids.id(k, inits[k]!)] = inits[k];
    this.initializerById = byId;
    return (this.tensorIds = ids);
  }

  get initializers(): ReadonlyMap<string, TensorProto> {
    if (this.holdsSealed) this.expand();
    return this.initializerMap;
  }

  isGraphOutput(value: string): boolean {
    this.outputNames ??= new Set(this.proto.outputs.map((o) => o.name));
    return this.outputNames.has(value);
  }

  isGraphInput(value: string): boolean {
    if (this.holdsSealed) this.expand();
    this.inputNames ??= new Set(this.proto.inputs.map((i) => i.name));
    return this.inputNames.has(value) && !this.initializerMap.has(value);
  }

  /** Names of values read by a node, its subgraph captures included. */
  reads(node: NodeProto): readonly string[] {
    if (this.holdsSealed) this.expand();
    // Most graphs have no subgraphs: no lookup by node then.
    const cap = this.captured.size ? this.captured.get(node) : undefined;
    return cap ? node.inputs.concat(cap) : node.inputs;
  }

  /** A value name not used anywhere in the graph, derived from `base` (`base`, `base_1`, ...). */
  uniqueValueName(base: string): string {
    if (this.holdsSealed) this.expand();
    return uniqueIn(this.takenNames().values, base);
  }

  uniqueNodeName(base: string): string {
    if (this.holdsSealed) this.expand();
    return uniqueIn(this.takenNames().nodes, base);
  }

  addInitializer(t: TensorProto): void {
    if (this.holdsSealed) this.expand();
    if (this.initializerMap.has(t.name) || this.producer(t.name)) throw new Error(`IR: initializer name ${t.name} already in use`);
    this.proto.initializers.push(t);
    this.initializerMap.set(t.name, t);
    this.tensorIds = undefined;
    this.taken?.values.add(t.name);
  }

  /** Declares an initializer as a graph input too, with its type and shape: IR 3 models need it. */
  addInitializerInput(t: TensorProto): void {
    if (!this.initializerMap.has(t.name)) throw new Error(`IR: ${t.name} is not an initializer`);
    this.proto.inputs.push({ name: t.name, type: { elemType: t.dataType, shape: t.dims.map((value) => ({ value })) } });
    this.idFor(t.name);
    this.inputNames?.add(t.name);
  }

  /** Inserts nodes (already in dependency order) right after `anchor`, or at the end. */
  insertNodes(nodes: NodeProto[], anchor?: NodeProto): void {
    this.insertNodeGroups([{ nodes, anchor }]);
  }

  /**
   * Inserts several groups of nodes, each right after its anchor (or at the end), in one pass over the
   * node list: a rewrite of k sites costs O(nodes + inserted), not k list edits. A sealed block stays
   * one record (sealed.ts) until something reads the graph; its weights follow the graph's own.
   */
  insertNodeGroups(groups: readonly InsertGroup[]): void {
    if (this.holdsSealed) this.expand();
    const claimed = new Claimed(this.producers.length);
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if ('sealed' in g) this.claim(g.sealed.writes, claimed);
      else for (const n of g.nodes) this.claim(n.outputs, claimed);
    }
    const old = this.proto.nodes;
    const merged = mergedInOrder(old, groups) ?? mergedByAnchor(old, groups);
    const sealed: SealedBlock[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if ('sealed' in g) sealed.push(g.sealed);
      else for (const n of g.nodes) this.register(n);
    }
    if (!sealed.length) {
      this.slots = undefined;
      replaceContents(old, merged as NodeProto[]);
      return;
    }
    this.slots = undefined;
    replaceContents(old, merged.filter((e): e is NodeProto => !isSealed(e)));
    sealInto(this.proto, { entries: merged, initializers: this.proto.initializers, groups: sealed }, () => this.expand());
    this.sealedNow = true;
  }

  /** Takes the names an insertion writes, refusing one that has a producer or that the insertion wrote already. */
  private claim(outputs: readonly string[], claimed: Claimed): void {
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i]!;
      if (!o) continue;
      const id = this.ids.get(o);
      if ((id !== undefined && this.producers[id]) || !claimed.add(o, id)) throw new Error(`IR: ${o} already has a producer`);
    }
  }

  /** Turns every sealed block back into nodes and initializers, registered as inserted ones are. */
  private expand(): void {
    const layout = sealedLayout(this.proto);
    if (!layout) return;
    this.sealedNow = false;
    this.slots = undefined;
    const nodes: NodeProto[] = [];
    unsealed(this.proto, nodes, layout.initializers as TensorProto[]);
    const expanded = new Map(layout.groups.map((g) => [g, g.expand()]));
    const added: NodeProto[] = [];
    for (const e of layout.entries) {
      if (!isSealed(e)) {
        nodes.push(e);
        continue;
      }
      for (const n of expanded.get(e)!.nodes) {
        nodes.push(n);
        added.push(n);
      }
    }
    for (const g of layout.groups) for (const t of expanded.get(g)!.initializers) this.addInitializer(t);
    for (const n of added) this.register(n);
  }

  /**
   * Points the readers of `from` at `to` (every input slot that reads `from`), as torch.fx's
   * replace_all_uses_with: all of them, or those `only` accepts. Graph outputs are not renamed.
   * Returns the readers rewired.
   */
  replaceUses(from: string, to: string, options?: ReplaceUsesOptions): NodeProto[] {
    const only = options?.only;
    // Most values have one reader to rewire: a list of one, not one grown from empty.
    let done: NodeProto[] | undefined;
    // consumers() hands out a list that the edits below replace, never change: it can be walked as is.
    const users = this.consumers(from);
    // consumers() expanded any sealed block: the id is current, and the edits below need not look it up again.
    const fromId = this.ids.get(from);
    for (let i = 0; i < users.length; i++) {
      const user = users[i]!;
      if (only !== undefined && !(typeof only === 'function' ? only(user) : only.has(user))) continue;
      const inputs = user.inputs;
      const first = inputs.indexOf(from);
      if (first < 0) throw new Error(`IR: ${user.name || user.opType} reads ${from} inside a subgraph; cannot rewire it`);
      // A spread, not slice(): node lists are frozen, and slice() copies a frozen array the slow way.
      const next = [...inputs];
      for (let j = first; j < next.length; j++) if (next[j] === from) next[j] = to;
      this.rewireInput(user, next, from, to, fromId);
      if (done) done.push(user);
      else done = [user];
    }
    return done ?? [];
  }

  /** Points every reader of `from` except `except` at `to`. */
  replaceAllUsesWith(from: string, to: string, except: ReadonlySet<NodeProto> = new Set()): void {
    this.replaceUses(from, to, { only: (u) => !except.has(u) });
  }

  setInput(node: NodeProto, index: number, value: string): void {
    if (index < 0 || index >= node.inputs.length) throw new Error(`IR: ${node.name || node.opType} has no input ${index}`);
    const inputs = [...node.inputs];
    inputs[index] = value;
    this.setInputs(node, inputs);
  }

  /** Replaces a node's whole input list, keeping the consumer maps right; the node loses its original bytes. */
  setInputs(node: NodeProto, inputs: readonly string[]): void {
    this.installInputs(node, inputs.slice());
  }

  /**
   * installInputs where only `from` became `to`: the other inputs' reader lists already hold the node,
   * so only the two values' lists change.
   */
  private rewireInput(node: NodeProto, inputs: string[], from: string, to: string, fromId: number | undefined): void {
    if (from === to || this.holdsSealed) return this.installInputs(node, inputs);
    const e = editable(node);
    e.inputs = Object.freeze(inputs);
    e.src = undefined;
    const captured = (this.captured.size && this.captured.get(node)) || NO_NAMES;
    if (!captured.includes(from)) this.removeUserOf(fromId, node);
    this.addUser(to, node);
  }

  /** setInputs with a list nobody else holds, which becomes the node's own. */
  private installInputs(node: NodeProto, inputs: string[]): void {
    if (this.holdsSealed) this.expand();
    const old = node.inputs;
    const e = editable(node);
    e.inputs = Object.freeze(inputs);
    e.src = undefined;
    const captured = (this.captured.size && this.captured.get(node)) || NO_NAMES;
    for (let i = 0; i < old.length; i++) {
      const v = old[i]!;
      if (old.indexOf(v) === i && !inputs.includes(v) && !captured.includes(v)) this.removeUser(v, node);
    }
    for (let i = 0; i < inputs.length; i++) this.addUser(inputs[i]!, node);
  }

  /** Renames what a node writes; readers of the old name then read whichever node writes it next. */
  setOutput(node: NodeProto, index: number, value: string): void {
    if (this.holdsSealed) this.expand();
    const old = this.ids.get(node.outputs[index]!);
    if (old !== undefined && this.producers[old] === node) this.producers[old] = undefined;
    const outputs = [...node.outputs];
    outputs[index] = value;
    editable(node).outputs = Object.freeze(outputs);
    this.slots = undefined;
    editable(node).src = undefined;
    this.taken?.values.add(value);
    this.producers[this.idFor(value)] = node;
  }

  removeNode(node: NodeProto): void {
    this.removeNodes(new Set([node]));
  }

  /** Removes a set of nodes with one pass over the node list. */
  removeNodes(dead: ReadonlySet<NodeProto>): void {
    if (this.holdsSealed) this.expand();
    const kept = this.proto.nodes.filter((n) => !dead.has(n));
    if (kept.length === this.proto.nodes.length) return;
    for (const n of dead) this.detach(n);
    this.slots = undefined;
    replaceContents(this.proto.nodes, kept);
  }

  /**
   * Puts in place of each node of `replacements` the nodes it maps to (in dependency order), in one pass
   * over the list: a call expanded into the nodes of its function. The replacements may write what the
   * replaced nodes wrote, and nothing else that has a producer.
   */
  replaceNodes(replacements: ReadonlyMap<NodeProto, readonly NodeProto[]>): void {
    if (this.holdsSealed) this.expand();
    if (!replacements.size) return;
    for (const n of replacements.keys()) this.detach(n);
    const claimed = new Claimed(this.producers.length);
    for (const list of replacements.values()) for (const n of list) this.claim(n.outputs, claimed);
    const merged: NodeProto[] = [];
    const nodes = this.proto.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const list = replacements.get(nodes[i]!);
      if (!list) merged.push(nodes[i]!);
      else for (const n of list) merged.push(n);
    }
    for (const list of replacements.values()) for (const n of list) this.register(n);
    this.slots = undefined;
    replaceContents(this.proto.nodes, merged);
  }

  /** Removes nodes whose outputs nobody reads; graph outputs always stay. Returns how many went. */
  eliminateDeadCode(): number {
    const dead = new Set<NodeProto>();
    // Backwards, so that a node whose only readers die is seen dead in the same sweep.
    for (let i = this.proto.nodes.length - 1; i >= 0; i--) {
      const n = this.proto.nodes[i]!;
      const live = n.outputs.some((o) => o !== '' && (this.consumers(o).length > 0 || this.isGraphOutput(o)));
      if (!live) {
        this.detach(n);
        dead.add(n);
      }
    }
    if (dead.size) {
      this.slots = undefined;
      replaceContents(this.proto.nodes, this.proto.nodes.filter((n) => !dead.has(n)));
    }
    return dead.size;
  }

  /** Reorders nodes topologically, keeping the existing order wherever it is already valid. */
  sortTopologically(): void {
    const order = topologicalOrder(this);
    if (order.cycle) throw new Error(`IR: cycle through node ${order.cycle}`);
    this.slots = undefined;
    replaceContents(this.proto.nodes, order.nodes);
  }

  /** Drops a node's edges from the producer and consumer maps (not from the node list). */
  private detach(node: NodeProto): void {
    if (!this.taken) {
      if (node.name) this.retired.nodes.push(node.name);
      for (const o of node.outputs) if (o) this.retired.values.push(o);
    }
    for (const v of new Set(this.reads(node))) this.removeUser(v, node);
    for (const o of node.outputs) {
      const id = this.ids.get(o);
      if (id !== undefined && this.producers[id] === node) this.producers[id] = undefined;
    }
    if (this.captured.size) this.captured.delete(node);
  }

  private takenNames(): { values: Set<string>; nodes: Set<string> } {
    if (this.taken) return this.taken;
    const values = new Set<string>(), nodes = new Set<string>();
    for (const v of this.proto.inputs) values.add(v.name);
    for (const v of this.proto.outputs) values.add(v.name);
    for (const t of this.proto.initializers) values.add(t.name);
    for (const n of this.proto.sparseInitializerNames) values.add(n);
    for (const n of this.proto.nodes) {
      if (n.name) nodes.add(n.name);
      for (const o of n.outputs) if (o) values.add(o);
    }
    // A removed node's name and outputs stay taken.
    for (const r of this.retired.values) values.add(r);
    for (const r of this.retired.nodes) nodes.add(r);
    return (this.taken = { values, nodes });
  }

  private register(n: NodeProto): void {
    this.registerWrites(n);
    for (const v of this.reads(n)) this.addUser(v, n);
  }

  /** Everything register does but the reader lists: freezing, names taken, producers, subgraph captures. */
  private registerWrites(n: NodeProto, slots?: NodeValueIds): void {
    // Nodes a pass builds are frozen as decoded ones are: after insertion only Graph edits them.
    if (!Object.isFrozen(n.inputs)) editable(n).inputs = Object.freeze(n.inputs.slice());
    if (!Object.isFrozen(n.outputs)) editable(n).outputs = Object.freeze(n.outputs.slice());
    if (!Object.isFrozen(n.attributes)) editable(n).attributes = Object.freeze(n.attributes.slice());
    if (n.name) this.taken?.nodes.add(n.name);
    const outputs = n.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i]!;
      if (!o) continue;
      this.taken?.values.add(o);
      const id = this.idFor(o);
      slots?.setOutput(i, id, n.inputs.length);
      if (this.producers[id] === undefined) this.producers[id] = n;
    }
    const cap = capturedNames(n);
    if (cap.length) this.captured.set(n, cap);
  }

  private addUser(value: string, node: NodeProto): void {
    if (!value) return;
    const id = this.idFor(value);
    const users = this.users;
    const u = users[id];
    if (u === undefined) users[id] = node;
    else if (Array.isArray(u)) {
      if (u.includes(node)) return;
      // A new array: a list handed out by consumers() stays as it was (a spread: concat() copies slowly).
      if (u.length < MANY_USERS) users[id] = [...u, node];
      else users[id] = new ManyUsers(new Set(u).add(node));
    } else if (u instanceof ManyUsers) {
      if (u.set.has(node)) return;
      u.set.add(node);
      u.list = undefined;
    } else if (u !== node) users[id] = [u as NodeProto, node];
  }

  private removeUser(value: string, node: NodeProto): void {
    this.removeUserOf(this.ids.get(value), node);
  }

  /** removeUser of the value with id `id`. */
  private removeUserOf(id: number | undefined, node: NodeProto): void {
    const u = id === undefined ? undefined : this.users[id];
    if (u === undefined) return;
    if (Array.isArray(u)) {
      if (!u.includes(node)) return;
      const left = u.filter((x) => x !== node);
      this.users[id!] = left.length === 1 ? left[0]! : left;
    } else if (u instanceof ManyUsers) {
      if (u.set.delete(node)) u.list = undefined;
    } else if (u === node) this.users[id!] = undefined;
  }
}

/**
 * The names one insertion writes: a mark per value id for names the graph holds (a block's output has
 * its readers already), a set for the others.
 */
class Claimed {
  private readonly marks: Uint8Array;
  private readonly names = new Set<string>();

  constructor(ids: number) {
    this.marks = new Uint8Array(ids);
  }

  /** False when `name` (of value id `id`, if it has one) was claimed already. */
  add(name: string, id: number | undefined): boolean {
    if (id !== undefined && id < this.marks.length) {
      if (this.marks[id]) return false;
      this.marks[id] = 1;
      return true;
    }
    const size = this.names.size;
    return this.names.add(name).size !== size;
  }
}

/** What the reader map holds for a value: its one reader, a few in an array, or many. */
type Readers = NodeProto | readonly NodeProto[] | ManyUsers;

type Entry = NodeProto | SealedBlock;

/**
 * The node list with each group right after its anchor, walked beside the groups: when the anchors come
 * in node order (blocks planned in node order do), no table of anchors is needed. Undefined otherwise.
 */
function mergedInOrder(nodes: readonly NodeProto[], groups: readonly InsertGroup[]): Entry[] | undefined {
  const merged: Entry[] = [];
  let next = 0;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    merged.push(n);
    for (; next < groups.length && groups[next]!.anchor === n; next++) pushGroup(merged, groups[next]!);
  }
  return next === groups.length ? merged : undefined;
}

/** The same for anchors in any order, or not in the graph (those groups go at the end). */
function mergedByAnchor(nodes: readonly NodeProto[], groups: readonly InsertGroup[]): Entry[] {
  const after = new Map<NodeProto | undefined, InsertGroup[]>();
  for (const g of groups) {
    const list = after.get(g.anchor);
    if (list) list.push(g);
    else after.set(g.anchor, [g]);
  }
  const merged: Entry[] = [];
  for (const n of nodes) {
    merged.push(n);
    const extra = after.get(n);
    if (!extra) continue;
    for (const g of extra) pushGroup(merged, g);
    after.delete(n);
  }
  for (const extra of after.values()) for (const g of extra) pushGroup(merged, g);
  return merged;
}

function pushGroup(merged: Entry[], g: InsertGroup): void {
  if ('sealed' in g) merged.push(g.sealed);
  else for (const n of g.nodes) merged.push(n);
}

/** Readers of a value read by more than MANY_USERS nodes (20,000 sums of one input are in the tests). */
class ManyUsers {
  list?: NodeProto[];
  constructor(readonly set: Set<NodeProto>) {}
}

const MANY_USERS = 16;

const NO_USERS: readonly NodeProto[] = Object.freeze([]);
const NO_NAMES: string[] = [];

/** Replaces an array's contents in place without spreading it into arguments (10^6 nodes overflow the stack). */
function replaceContents<T>(target: T[], source: readonly T[]): void {
  if (target === source) return;
  target.length = source.length;
  for (let i = 0; i < source.length; i++) target[i] = source[i]!;
}

function uniqueIn(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** Stable Kahn order: among ready nodes, the one earliest in the current order goes first. */
export function topologicalOrder(g: Graph): { nodes: NodeProto[]; cycle?: string } {
  const nodes = g.nodes;
  const index = new Map(nodes.map((n, i) => [n, i]));
  const pending = new Map<NodeProto, number>();
  for (const n of nodes) {
    let deps = 0;
    for (const v of new Set(g.reads(n))) {
      const p = g.producer(v);
      if (p && p !== n && index.has(p)) deps++;
    }
    pending.set(n, deps);
  }
  // A binary heap keyed by original index keeps this O(n log n) on 10^4-node graphs.
  const heap: number[] = [];
  const push = (i: number) => {
    heap.push(i);
    for (let c = heap.length - 1; c > 0; ) {
      const p = (c - 1) >> 1;
      if (heap[p]! <= heap[c]!) break;
      [heap[p], heap[c]] = [heap[c]!, heap[p]!];
      c = p;
    }
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let p = 0; ; ) {
        const l = 2 * p + 1, r = l + 1;
        let m = p;
        if (l < heap.length && heap[l]! < heap[m]!) m = l;
        if (r < heap.length && heap[r]! < heap[m]!) m = r;
        if (m === p) break;
        [heap[p], heap[m]] = [heap[m]!, heap[p]!];
        p = m;
      }
    }
    return top;
  };
  nodes.forEach((n, i) => pending.get(n) === 0 && push(i));
  const out: NodeProto[] = [];
  const done = new Set<NodeProto>();
  while (heap.length) {
    const n = nodes[pop()]!;
    out.push(n);
    done.add(n);
    for (const o of new Set(n.outputs)) {
      if (!o) continue;
      for (const user of g.consumers(o)) {
        if (user === n || done.has(user) || !index.has(user)) continue;
        const left = pending.get(user)! - 1;
        pending.set(user, left);
        if (left === 0) push(index.get(user)!);
      }
    }
  }
  if (out.length < nodes.length) {
    const stuck = nodes.find((n) => !done.has(n))!;
    return { nodes: out, cycle: stuck.name || `${stuck.opType} writing ${stuck.outputs[0]}` };
  }
  return { nodes: out };
}

function hasSubgraph(n: NodeProto): boolean {
  const attributes = n.attributes;
  for (let i = 0; i < attributes.length; i++) if (attributes[i]!.graphs?.length) return true;
  return false;
}

/** Outer-scope names read inside a node's subgraph attributes, as the decoder found them. */
function capturedNames(n: NodeProto): string[] {
  if (!hasSubgraph(n)) return NO_NAMES;
  const unread = n.attributes.find((a) => a.graphs?.length && !a.captures);
  if (unread) throw new Error(`IR: subgraph attribute ${unread.name} of ${n.name || n.opType} has no captures; build it with the codec (decodeNode), which finds what it reads`);
  return [...new Set(n.attributes.flatMap((a) => a.captures ?? []))];
}
