// The shapes inference fills, by the graph's value ids: a table for the whole graph (ValueShapes) and
// the shapes of the node just inferred (NodeShapes), each answering a ShapeMap's questions by name.

import type { Graph } from '../ir/graph.js';
import type { NodeProto } from '../onnx/proto.js';
import type { ShapeLookup, ShapeMap, ValueShape } from './shapes.js';

/**
 * The shapes of a graph's values, kept by value id (an array, not a table of names); a name the graph
 * did not hold when the table was made (a value added since) is kept by name.
 */
export class ValueShapes implements ShapeMap {
  private readonly byId: (ValueShape | undefined)[];
  private readonly others = new Map<string, ValueShape>();
  /** Names in the order they were first set: a Map's order, for forEach and keys. */
  private readonly order: string[] = [];

  constructor(readonly graph: Graph) {
    this.byId = new Array<ValueShape | undefined>(graph.valueCount);
  }

  get size(): number {
    return this.order.length;
  }

  get(name: string): ValueShape | undefined {
    const id = this.idOf(name);
    return id < 0 ? this.others.get(name) : this.byId[id];
  }

  /** The shape of the value with this id (Graph.valueId), named `name`. */
  getId(id: number, name: string): ValueShape | undefined {
    return id >= 0 && id < this.byId.length ? this.byId[id] : this.others.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, s: ValueShape): this {
    this.setId(this.idOf(name), name, s);
    return this;
  }

  /** set where the id of `name` is known; true when the name had a shape already. */
  setId(id: number, name: string, s: ValueShape): boolean {
    if (id < 0 || id >= this.byId.length) {
      const size = this.others.size;
      if (this.others.set(name, s).size === size) return true;
    } else {
      const had = this.byId[id] !== undefined;
      this.byId[id] = s;
      if (had) return true;
    }
    this.order.push(name);
    return false;
  }

  forEach(f: (s: ValueShape, name: string) => void): void {
    for (const name of this.order) f(this.get(name)!, name);
  }

  keys(): IterableIterator<string> {
    return this.order.values();
  }

  private idOf(name: string): number {
    const id = name ? this.graph.valueId(name) : -1;
    return id < this.byId.length ? id : -1;
  }
}

/**
 * The shapes of the node inference just did, for the watch: its inputs' and outputs' shapes are at
 * hand, found by comparing the asked name with the node's own (the watch asks with those very
 * strings); any other name is looked up in the table.
 */
export class NodeShapes implements ShapeLookup {
  private node?: NodeProto;
  private ins: readonly (ValueShape | undefined)[] = [];
  readonly outs: (ValueShape | undefined)[] = [];

  constructor(private readonly shapes: ShapeMap) {}

  show(n: NodeProto, ins: readonly (ValueShape | undefined)[]): void {
    this.node = n;
    this.ins = ins;
  }

  get(name: string): ValueShape | undefined {
    const n = this.node!;
    const outputs = n.outputs;
    // Outputs first, the last first: the table holds what was set last for a name.
    for (let j = outputs.length - 1; j >= 0; j--) if (outputs[j] === name && this.outs[j] !== undefined) return this.outs[j];
    const inputs = n.inputs;
    for (let j = 0; j < inputs.length; j++) if (inputs[j] === name && this.ins[j] !== undefined) return this.ins[j];
    return this.shapes.get(name);
  }
}

