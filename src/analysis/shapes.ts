// Shape inference for the ops CNN exports use, with the integer shape arithmetic that exporters emit
// for a dynamic batch folded to values (Shape → Gather → Unsqueeze → Concat → Reshape, ...).
// Dynamic dimensions are bound for analysis only (input-dims.ts: batch 1 and an image's H×W 224 unless
// told otherwise); nothing here is written back into a model.

import { SeInjectError } from '../errors.js';
import { OptionError } from '../options.js';
import type { Graph } from '../ir/graph.js';
import type { NodeValueIds } from '../ir/value-ids.js';
import { DataType, elementCount, tensorValues } from '../onnx/proto.js';
import type { AttributeProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { inferNode, inputsRead, shapeRuleOf } from './shape-rules.js';
import type { ShapeRule } from './shape-rules.js';
import { NodeShapes, ValueShapes } from './value-shapes.js';
import { inputDimSize, unnamedDimKey } from './input-dims.js';
import type { DimBindings } from './input-dims.js';
import type { Dim } from '../ir/types.js';

export interface ValueShape {
  dtype: number;
  /** Fully known dims; undefined when inference could not tell. */
  dims?: number[];
  /** Element values of small integer (and scalar float) tensors, folded for shape arithmetic. */
  values?: number[];
}

/** What a question about a few values' shapes needs: a ShapeMap, or the shapes of one node at hand. */
export interface ShapeLookup {
  get(name: string): ValueShape | undefined;
}

/**
 * Shapes by value name: a Map, or the table inferShapes fills (ValueShapes), which keeps a graph's
 * values by their ids. Iteration is in the order names were first set, as a Map's.
 */
export interface ShapeMap extends ShapeLookup {
  set(name: string, s: ValueShape): unknown;
  has(name: string): boolean;
  readonly size: number;
  forEach(f: (s: ValueShape, name: string) => void): void;
  keys(): IterableIterator<string>;
}

export type { DimBindings } from './input-dims.js';

const MAX_FOLDED = 64;

/**
 * What a walk that needs every value's shape can do during inference, where each shape is at hand:
 * `value` sees each shape as it is set (an initializer's, an input's, a node output's; `replaced` when
 * the name had one already), `node` each node once its outputs have theirs (shapes.get of what it reads
 * and writes then finds entries still in the CPU's cache, where a walk of its own would look each one
 * up again in a map of every value).
 */
export interface ShapeWatch {
  value(name: string, s: ValueShape, replaced: boolean): void;
  node(n: NodeProto, shapes: ShapeLookup): void;
}

export function inferShapes(g: Graph, opset: number, bind: DimBindings = {}, label = 'model', watch?: ShapeWatch): ShapeMap {
  const shapes = new ValueShapes(g);
  initializerShapes(shapes, g, watch);
  for (const input of g.proto.inputs) {
    if (shapes.has(input.name) || !input.type) continue;
    setShape(shapes, input.name, { dtype: input.type.elemType, dims: bindInputDims(input.name, input.type.shape, bind, label) }, watch);
  }
  inferGraphNodes(shapes, g, opset, watch);
  return shapes;
}

function setShape(shapes: ShapeMap, name: string, s: ValueShape, watch: ShapeWatch | undefined): void {
  const size = shapes.size;
  shapes.set(name, s);
  watch?.value(name, s, shapes.size === size);
}

/** Every initializer's shape, set in the order of g.initializers (a Map's: the first of a name, holding the last). */
function initializerShapes(shapes: ValueShapes, g: Graph, watch: ShapeWatch | undefined): void {
  const byName = g.initializers;
  const inits = g.proto.initializers;
  if (byName.size !== inits.length) {
    for (const t of byName.values()) setShape(shapes, t.name, constantShape(t), watch);
    return;
  }
  // No two share a name: the list is the map's order, and each has its id.
  const ids = g.initializerIds();
  for (let k = 0; k < inits.length; k++) {
    const t = inits[k]!;
    const id = ids.id(k, t);
    if (id < 0) {
      setShape(shapes, t.name, constantShape(t), watch);
      continue;
    }
    const s = constantShape(t);
    const replaced = shapes.setId(id, t.name, s);
    watch?.value(t.name, s, replaced);
  }
}

/**
 * Output j's shape as a rule gave it, with what it could not tell dropped. An output the rule does not
 * give is of a type unknown: an op's later outputs need not have its first one's (a LayerNormalization's
 * statistics are float for a float16 input).
 */
function checkedShape(outs: readonly ValueShape[], j: number): ValueShape {
  const s = outs[j] ?? { dtype: DataType.UNDEFINED };
  if (s.dims && !areDims(s.dims)) s.dims = undefined;
  if (s.values && (s.values.length > MAX_FOLDED || (s.dims && elementCount(s.dims) !== s.values.length))) s.values = undefined;
  return s;
}

/**
 * inferNodes over the graph's own list, reading and writing shapes by the value ids each node's
 * inputs and outputs have (Graph.valueIds): no name is looked up, where a node edited since keeps
 * its names.
 */
function inferGraphNodes(shapes: ValueShapes, g: Graph, opset: number, watch?: ShapeWatch): void {
  const nodes = g.nodes;
  const ids = g.valueIds();
  const ins = new InputShapes();
  const at = new NodeShapes(shapes);
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (!ids.matches(i, n)) {
      inferNodes(shapes, [n], opset, watch);
      continue;
    }
    const rule = shapeRuleOf(n);
    const inShapes = ins.ofIds(shapes, n, ids, i, rule);
    const outs = outputShapes(n, inShapes, opset, rule);
    const outputs = n.outputs;
    const set = at.outs;
    if (set.length !== outputs.length) set.length = outputs.length;
    for (let j = 0; j < outputs.length; j++) {
      const o = outputs[j]!;
      set[j] = undefined;
      if (!o) continue;
      const s = checkedShape(outs, j);
      const replaced = shapes.setId(ids.output(i, j), o, s);
      set[j] = s;
      watch?.value(o, s, replaced);
    }
    if (watch) {
      at.show(n, inShapes);
      watch.node(n, at);
    }
  }
}


/**
 * Adds the shapes of `nodes` (in dependency order) to `shapes`, whose entries cover every value they read.
 * After an insertion that keeps every rewired value's shape (SE's Mul writes the shape it scales), the
 * inserted nodes are all that need inferring.
 */
export function inferNodes(shapes: ShapeMap, nodes: readonly NodeProto[], opset: number, watch?: ShapeWatch): void {
  const ins = new InputShapes();
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k]!;
    const rule = shapeRuleOf(n);
    const outs = outputShapes(n, ins.of(shapes, n, rule), opset, rule);
    const outputs = n.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i]!;
      if (!o) continue;
      const s = checkedShape(outs, i);
      if (watch) setShape(shapes, o, s, watch);
      else shapes.set(o, s);
    }
    watch?.node(n, shapes);
  }
}

const NO_SHAPES: readonly ValueShape[] = [];

/** What the node's rule says, or nothing where the rule fails on inputs it does not expect. */
function outputShapes(n: NodeProto, ins: (ValueShape | undefined)[], opset: number, rule: ShapeRule | undefined): readonly ValueShape[] {
  if (!rule) return NO_SHAPES;
  try {
    return inferNode(n, ins, opset, rule);
  } catch {
    return NO_SHAPES;
  }
}

/**
 * The shapes of a node's inputs, in one list per input count that each node of that count refills: no
 * rule keeps the list it is given, and most nodes have one to three inputs.
 */
class InputShapes {
  private readonly lists: (ValueShape | undefined)[][] = [];

  /** The shapes of n's inputs; those past inputsRead(n), which its rule never reads, are left undefined. */
  of(shapes: ShapeMap, n: NodeProto, rule: ShapeRule | undefined): (ValueShape | undefined)[] {
    const inputs = n.inputs;
    const reads = inputsRead(n, rule);
    const ins = (this.lists[inputs.length] ??= new Array<ValueShape | undefined>(inputs.length));
    for (let i = 0; i < inputs.length; i++) ins[i] = i < reads && inputs[i] ? shapes.get(inputs[i]!) : undefined;
    return ins;
  }

  /** of(shapes, n) for node i of the graph, by the ids of its inputs. */
  ofIds(shapes: ValueShapes, n: NodeProto, ids: NodeValueIds, at: number, rule: ShapeRule | undefined): (ValueShape | undefined)[] {
    const inputs = n.inputs;
    const reads = inputsRead(n, rule);
    const ins = (this.lists[inputs.length] ??= new Array<ValueShape | undefined>(inputs.length));
    for (let i = 0; i < inputs.length; i++) ins[i] = i < reads && inputs[i] ? shapes.getId(ids.input(at, i), inputs[i]!) : undefined;
    return ins;
  }
}

/** Every entry a dimension: a safe non-negative integer. */
function areDims(dims: readonly number[]): boolean {
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (!Number.isSafeInteger(d) || d < 0) return false;
  }
  return true;
}

function bindInputDims(
  name: string, shape: Dim[] | undefined, bind: DimBindings, label: string,
): number[] | undefined {
  if (!shape) return undefined;
  const sizes = shape.map((_, axis) => inputDimSize(shape, axis, bind, unnamedDimKey(name, axis)));
  // Every dynamic dimension that nothing binds, named in one message.
  const unbound = sizes.flatMap((s, axis) => (s.source === 'unbound' ? [{ axis, param: shape[axis]!.param ?? unnamedDimKey(name, axis) }] : []));
  if (unbound.length) {
    const named = unbound.map((u) => `"${u.param}" (axis ${u.axis})`).join(' and ');
    const params = unbound.map((u) => u.param);
    const them = unbound.length > 1 ? 'them' : 'it';
    throw new OptionError('dims', (w) => `${label}: input ${name} has dynamic ${unbound.length > 1 ? 'dimensions' : 'dimension'} ${named}; bind ${them} for analysis with ${w.bind(params)} (the sizes the report's shapes and MACs are computed at; the model written keeps ${them} dynamic)`);
  }
  return sizes.map((s, axis) => {
    if (s.source === 'fixed' && (s.size! < 0 || s.size! > 2 ** 31)) {
      throw new SeInjectError('input', `${label}: input ${name} declares dimension ${s.size} on axis ${axis}; dimensions must be between 0 and 2^31`);
    }
    return s.size!;
  });
}

/** An initializer's or Constant's shape; its dims are the tensor's own array, which no rule or pass edits. */
export function constantShape(t: TensorProto): ValueShape {
  if (elementCount(t.dims) <= MAX_FOLDED && t.dataLocation !== 1) return new FoldedConstant(t);
  return { dtype: t.dataType, dims: t.dims };
}

/**
 * A small tensor's shape, whose values are decoded when a rule first reads them: most small initializers
 * are biases and norm parameters that no shape arithmetic ever folds. The tensor is not edited after
 * loading, so the values are those it held when inferred.
 */
class FoldedConstant implements ValueShape {
  dtype: number;
  dims?: number[];
  private decoded = false;
  private folded?: number[];

  constructor(private readonly tensor: TensorProto) {
    this.dtype = tensor.dataType;
    this.dims = tensor.dims;
  }

  get values(): number[] | undefined {
    if (!this.decoded) this.values = tensorValues(this.tensor);
    return this.folded;
  }

  set values(v: number[] | undefined) {
    this.decoded = true;
    this.folded = v;
  }
}

export function attr(n: NodeProto, name: string): AttributeProto | undefined {
  const attributes = n.attributes;
  for (let i = 0; i < attributes.length; i++) if (attributes[i]!.name === name) return attributes[i];
  return undefined;
}

export function attrInt(n: NodeProto, name: string, fallback: number): number {
  return attr(n, name)?.i ?? fallback;
}

export function attrInts(n: NodeProto, name: string): readonly number[] | undefined {
  return attr(n, name)?.ints;
}

/** More elements than any tensor a model could hold. */
const MAX_ELEMENTS = 2 ** 40;

/**
 * Limits users hit with absurd or contradictory declared shapes, checked before any pass sizes an SE block
 * from them: 10^12 elements is refused, and so is a Conv whose weight disagrees with its input.
 */
export function checkPlausible(g: Graph, shapes: ShapeMap, label: string): void {
  shapes.forEach((s, name) => {
    if (s.dims && elementCount(s.dims) > MAX_ELEMENTS) throw tooLarge(name, s.dims, label);
  });
  const nodes = g.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (isConv(n)) checkConv(n, shapes, label);
  }
}

/**
 * checkPlausible, watching inference: it notes the first value too large (in the map's order, which is
 * the order values are set) and the first Conv to check (in node order), and `check` throws what
 * checkPlausible would. A Conv is checked when inferred, with the shapes it reads then, which are the
 * final ones in a graph whose every read follows its one producer: the only graphs injectSE checks.
 * Where a set replaced a value, or a value was set after inference, the map's order is not the order
 * seen, and `check` walks the map again.
 */
export class PlausibilityWatch implements ShapeWatch {
  private large?: string;
  private conv?: NodeProto;
  private replaced = false;
  /** Values set: the map's size, unless something else set one since. */
  private values = 0;

  value(name: string, s: ValueShape, replaced: boolean): void {
    if (replaced) this.replaced = true;
    else if (this.large === undefined && s.dims && elementCount(s.dims) > MAX_ELEMENTS) this.large = name;
    this.values++;
  }

  node(n: NodeProto, shapes: ShapeLookup): void {
    if (this.conv === undefined && isConv(n) && !plausibleConv(n, shapes)) this.conv = n;
  }

  /** Throws as checkPlausible(g, shapes, label) would, for the shapes inference set with this watching. */
  check(g: Graph, shapes: ShapeMap, label: string): void {
    if (this.replaced || shapes.size !== this.values) return checkPlausible(g, shapes, label);
    if (this.large !== undefined) throw tooLarge(this.large, shapes.get(this.large)!.dims!, label);
    if (this.conv) checkConv(this.conv, shapes, label);
  }
}

function tooLarge(name: string, dims: number[], label: string): SeInjectError {
  return new SeInjectError('input', `${label}: tensor ${name} would have ${elementCount(dims).toExponential(2)} elements (${dims.join('×')}); the declared shapes are not plausible`);
}

function isConv(n: NodeProto): boolean {
  return n.opType === 'Conv' && (!n.domain || n.domain === 'ai.onnx');
}

/** The Conv's weight fits its input, or one of their shapes is unknown. */
function plausibleConv(n: NodeProto, shapes: ShapeLookup): boolean {
  const x = shapes.get(n.inputs[0] ?? '')?.dims, w = shapes.get(n.inputs[1] ?? '')?.dims;
  return !x || !w || (w.length === x.length && x.length >= 3 && w[1]! * attrInt(n, 'group', 1) === x[1]);
}

function checkConv(n: NodeProto, shapes: ShapeMap, label: string): void {
  if (plausibleConv(n, shapes)) return;
  const xName = n.inputs[0] ?? '', wName = n.inputs[1] ?? '';
  const x = shapes.get(xName)!.dims!, w = shapes.get(wName)!.dims!;
  const at = `${label}: Conv ${n.name || n.outputs[0]}`;
  const fmt = (d: number[]) => `[${d.join(',')}]`;
  if (w.length !== x.length || x.length < 3) {
    throw new SeInjectError('input', `${at}: weight ${wName} ${fmt(w)} has rank ${w.length} but input ${xName} ${fmt(x)} has rank ${x.length}; a Conv weight is [C_out, C_in/group, kernel...] with the input's rank (at least 3)`);
  }
  const group = attrInt(n, 'group', 1);
  if (w[1]! * group !== x[1]) {
    throw new SeInjectError('input', `${at}: weight ${wName} ${fmt(w)} takes ${w[1]! * group} input channels (${w[1]} × group ${group}) but input ${xName} ${fmt(x)} has ${x[1]}; the weight and the input contradict each other`);
  }
}
