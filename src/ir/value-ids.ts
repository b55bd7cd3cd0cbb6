// The value ids (Graph.valueId) of what each node reads and writes, in node order: analyses that walk
// every node (lint, shape inference, the node index) read a node's ids here instead of looking each
// name up in a table of every name, which on a graph of 10^5 values costs a few cache misses a name.

import type { NodeProto, TensorProto } from './types.js';

export class NodeValueIds {
  /** Node i's input ids start at start[i], its output ids follow them; -1 for an omitted one. */
  private readonly start: Int32Array;
  private readonly ids: Int32Array;
  /**
   * The input and output lists each node's ids were read from: Graph replaces a node's list on every
   * edit (they are frozen), so another list means other names, and matches() is false.
   */
  private readonly inputLists: (readonly string[])[];
  private readonly outputLists: (readonly string[])[];
  /** The node being filled (Graph fills them in order). */
  private filling = 0;

  constructor(nodes: readonly NodeProto[]) {
    const start = new Int32Array(nodes.length + 1);
    let total = 0;
    for (let i = 0; i < nodes.length; i++) {
      start[i] = total;
      total += nodes[i]!.inputs.length + nodes[i]!.outputs.length;
    }
    start[nodes.length] = total;
    this.start = start;
    this.ids = new Int32Array(total).fill(-1);
    this.inputLists = new Array<readonly string[]>(nodes.length);
    this.outputLists = new Array<readonly string[]>(nodes.length);
  }

  get length(): number {
    return this.inputLists.length;
  }

  setInput(j: number, id: number): void {
    this.ids[this.start[this.filling]! + j] = id;
  }

  /** Output j of the node being filled; its inputs are counted from the list the node has then. */
  setOutput(j: number, id: number, inputs: number): void {
    this.ids[this.start[this.filling]! + inputs + j] = id;
  }

  /** Ends the node being filled: `n`, as it is now. */
  next(n: NodeProto): void {
    const i = this.filling++;
    this.inputLists[i] = n.inputs;
    this.outputLists[i] = n.outputs;
  }

  /** True when node i's ids are those of `n`'s names: `n` has the very input and output lists they were read from. */
  matches(i: number, n: NodeProto): boolean {
    return this.inputLists[i] === n.inputs && this.outputLists[i] === n.outputs;
  }

  /** The id of node i's input j (as it was read); -1 when omitted. */
  input(i: number, j: number): number {
    return this.ids[this.start[i]! + j]!;
  }

  output(i: number, j: number): number {
    return this.ids[this.start[i]! + this.inputLists[i]!.length + j]!;
  }
}

/** The value ids of a graph's initializers, in the list's order (Graph.initializerIds). */
export class TensorIds {
  private readonly ids: Int32Array;
  /** Each tensor's name when its id was read: a tensor of another name has id() -1. */
  private readonly names: string[];

  constructor(tensors: readonly TensorProto[]) {
    this.ids = new Int32Array(tensors.length).fill(-1);
    this.names = tensors.map((t) => t.name);
  }

  get length(): number {
    return this.ids.length;
  }

  set(k: number, id: number): void {
    this.ids[k] = id;
  }

  /** The id of initializer k, `t`, when it has the name read; -1 otherwise (look it up by name). */
  id(k: number, t: TensorProto): number {
    return this.names[k] === t.name ? this.ids[k]! : -1;
  }
}
