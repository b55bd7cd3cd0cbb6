// The value ids (Graph.valueId) of what each node reads and writes, in node order: analyses that walk
// every node (lint, shape inference, the node index) read a node's ids here instead of looking each
// name up in a table of every name, which on a graph of 10^5 values costs a few cache misses a name.

import type { NodeProto, TensorProto } from './types.js';

export class NodeValueIds {
  /** Node i's input ids start at start[i], its output ids follow them; -1 for an omitted one. */
  private readonly start: Int32Array;
  private readonly ids: Int32Array;
  /** The node, inputs and outputs each node's ids were read from: an edit since makes matches() false. */
  private readonly nodes: NodeProto[];
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
    this.nodes = new Array<NodeProto>(nodes.length);
    this.inputLists = new Array<readonly string[]>(nodes.length);
    this.outputLists = new Array<readonly string[]>(nodes.length);
  }

  get length(): number {
    return this.nodes.length;
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
    this.nodes[i] = n;
    this.inputLists[i] = n.inputs;
    this.outputLists[i] = n.outputs;
  }

  /** True when node i is `n` with the very input and output lists its ids were read from. */
  matches(i: number, n: NodeProto): boolean {
    return this.nodes[i] === n && this.inputLists[i] === n.inputs && this.outputLists[i] === n.outputs;
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
  /** Each tensor and its name when its id was read: a tensor renamed since has id() -1. */
  private readonly tensors: TensorProto[];
  private readonly names: string[];

  constructor(tensors: readonly TensorProto[]) {
    this.ids = new Int32Array(tensors.length).fill(-1);
    this.tensors = tensors.slice();
    this.names = tensors.map((t) => t.name);
  }

  get length(): number {
    return this.ids.length;
  }

  set(k: number, id: number): void {
    this.ids[k] = id;
  }

  /** The id of initializer k when it is `t`, under the name it had; -1 otherwise (look it up by name). */
  id(k: number, t: TensorProto): number {
    return this.tensors[k] === t && this.names[k] === t.name ? this.ids[k]! : -1;
  }
}
