// Shape inference for the ops CNN exports use, with the integer shape arithmetic that exporters emit
// for a dynamic batch folded to values (Shape → Gather → Unsqueeze → Concat → Reshape, ...).
// Dynamic dimensions are bound for analysis only (batch = 1 unless told otherwise); nothing here is
// written back into a model.

import { SeInjectError } from '../errors.js';
import { OptionError } from '../options.js';
import type { Graph } from '../ir/graph.js';
import { DataType, elementCount, tensorValues } from '../onnx/proto.js';
import type { AttributeProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { inferNode } from './shape-rules.js';

export interface ValueShape {
  dtype: number;
  /** Fully known dims; undefined when inference could not tell. */
  dims?: number[];
  /** Element values of small integer (and scalar float) tensors, folded for shape arithmetic. */
  values?: number[];
}

export type ShapeMap = Map<string, ValueShape>;

export interface DimBindings {
  batch?: number;
  dims?: Record<string, number>;
}

const MAX_FOLDED = 64;

export function inferShapes(g: Graph, opset: number, bind: DimBindings = {}, label = 'model'): ShapeMap {
  const shapes: ShapeMap = new Map();
  for (const t of g.initializers.values()) shapes.set(t.name, constantShape(t));
  for (const input of g.proto.inputs) {
    if (shapes.has(input.name) || !input.type) continue;
    shapes.set(input.name, { dtype: input.type.elemType, dims: bindInputDims(input.name, input.type.shape, bind, label) });
  }
  inferNodes(shapes, g.nodes, opset);
  return shapes;
}

/**
 * Adds the shapes of `nodes` (in dependency order) to `shapes`, whose entries cover every value they read.
 * After an insertion that keeps every rewired value's shape (SE's Mul writes the shape it scales), the
 * inserted nodes are all that need inferring.
 */
export function inferNodes(shapes: ShapeMap, nodes: readonly NodeProto[], opset: number): void {
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k]!;
    const outs = outputShapes(shapes, n, opset);
    const outputs = n.outputs;
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i]!;
      if (!o) continue;
      const s = outs[i] ?? { dtype: outs[0]?.dtype ?? DataType.UNDEFINED };
      if (s.dims && !areDims(s.dims)) s.dims = undefined;
      if (s.values && (s.values.length > MAX_FOLDED || (s.dims && product(s.dims) !== s.values.length))) s.values = undefined;
      shapes.set(o, s);
    }
  }
}

const NO_SHAPES: readonly ValueShape[] = [];

/** What the node's rule says, or nothing where the rule fails on inputs it does not expect. */
function outputShapes(shapes: ShapeMap, n: NodeProto, opset: number): readonly ValueShape[] {
  try {
    return inferNode(n, inputShapes(shapes, n), opset);
  } catch {
    return NO_SHAPES;
  }
}

function inputShapes(shapes: ShapeMap, n: NodeProto): (ValueShape | undefined)[] {
  const inputs = n.inputs;
  const ins = new Array<ValueShape | undefined>(inputs.length);
  for (let i = 0; i < inputs.length; i++) ins[i] = inputs[i] ? shapes.get(inputs[i]!) : undefined;
  return ins;
}

/** Every entry a dimension: a safe non-negative integer. */
function areDims(dims: readonly number[]): boolean {
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (!Number.isSafeInteger(d) || d < 0) return false;
  }
  return true;
}

/**
 * The number of elements of `dims`, as elementCount gives it, multiplied in a loop: it is asked of
 * every value of every graph, mostly before V8 has optimized anything, where reduce's callback is a
 * call per dimension.
 */
export function product(dims: readonly number[]): number {
  let p = 1;
  for (let i = 0; i < dims.length; i++) p *= dims[i]!;
  return p;
}

function bindInputDims(
  name: string, shape: { value?: number; param?: string }[] | undefined, bind: DimBindings, label: string,
): number[] | undefined {
  if (!shape) return undefined;
  return shape.map((d, axis) => {
    if (d.value !== undefined && d.param === undefined) {
      if (d.value < 0 || d.value > 2 ** 31) {
        throw new SeInjectError('input', `${label}: input ${name} declares dimension ${d.value} on axis ${axis}; dimensions must be between 0 and 2^31`);
      }
      return d.value;
    }
    if (d.param && bind.dims && d.param in bind.dims) return bind.dims[d.param]!;
    if (axis === 0) return bind.batch ?? 1;
    throw new OptionError('dims', (w) => `${label}: input ${name} has dynamic dimension "${d.param ?? '?'}" on axis ${axis}; bind it with ${w.bind(d.param ?? 'NAME')}`);
  });
}

/** An initializer's or Constant's shape; its dims are the tensor's own array, which no rule or pass edits. */
export function constantShape(t: TensorProto): ValueShape {
  if (product(t.dims) <= MAX_FOLDED && t.dataLocation !== 1) return new FoldedConstant(t);
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

/**
 * Limits users hit with absurd or contradictory declared shapes, checked before any pass sizes an SE block
 * from them: 10^12 elements is refused, and so is a Conv whose weight disagrees with its input.
 */
export function checkPlausible(g: Graph, shapes: ShapeMap, label: string): void {
  shapes.forEach((s, name) => {
    if (s.dims && product(s.dims) > 2 ** 40) {
      throw new SeInjectError('input', `${label}: tensor ${name} would have ${elementCount(s.dims).toExponential(2)} elements (${s.dims.join('×')}); the declared shapes are not plausible`);
    }
  });
  const nodes = g.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.opType === 'Conv' && (!n.domain || n.domain === 'ai.onnx')) checkConv(n, shapes, label);
  }
}

function checkConv(n: NodeProto, shapes: ShapeMap, label: string): void {
  const xName = n.inputs[0] ?? '', wName = n.inputs[1] ?? '';
  const x = shapes.get(xName)?.dims, w = shapes.get(wName)?.dims;
  if (!x || !w) return;
  if (w.length === x.length && x.length >= 3 && w[1]! * attrInt(n, 'group', 1) === x[1]) return;
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
