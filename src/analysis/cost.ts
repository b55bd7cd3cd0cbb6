// Parameters and MACs, with the conventions of torchvision's model docs, fvcore and the SENet paper:
//   Conv, ConvTranspose, Gemm, MatMul: one multiply-add = one MAC, bias excluded;
//   BatchNormalization, InstanceNormalization: one MAC per element (a folded scale and shift);
//   Mul, Div, Add, Sub, Sum on floating-point tensors: one per output element (the SE scale is a Mul);
//   GlobalAveragePool, ReduceMean, AveragePool: one per input element summed (the SE squeeze);
//   everything else (activations, max pooling, data movement, integer shape arithmetic): 0.
// FLOPs, wherever printed, are 2 × MACs.

import type { Graph } from '../ir/graph.js';
import { FLOAT_TYPES, elementCount } from '../onnx/proto.js';
import type { NodeProto } from '../onnx/proto.js';
import type { ShapeLookup, ShapeMap } from './shapes.js';
import { attrInt, attrInts } from './shapes.js';

/** Ops whose inputs after the first are learned weights (a kernel, a bias, a norm's scale and shift, a slope). */
const WEIGHT_OPS = new Set(['Conv', 'FusedConv', 'ConvTranspose', 'Gemm', 'MatMul', 'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'PRelu']);
const AFFINE_OPS = new Set(['Mul', 'Add', 'Sub', 'Div']);

export interface ParamCount {
  total: number;
  /**
   * Elements of floating-point initializers, and of the integer ones a DequantizeLinear reads (a QDQ
   * model's int8 weights and int32 biases); a QuantizeLinear/DequantizeLinear scale is not a parameter.
   */
  initializers: number;
  /**
   * Elements of floating-point Constant (and ConstantOfShape) nodes used as weights (other exporters' way of storing them):
   * an input after the first of a Conv, Gemm, MatMul, norm or PRelu, or a per-channel operand of an
   * elementwise Mul/Add/Sub/Div. Scalar constants (hard-swish's 3 and 6, a Clip bound, se-inject's own
   * ×2 of `--init preserve`) are arithmetic, not parameters.
   */
  constantNodes: number;
}

/** The model's float parameters, wherever they are stored. */
export function countParams(g: Graph): ParamCount {
  let initializers = 0;
  // Scales and integer weights are told apart only in a quantized model (QDQ or QOperator form).
  const nodes = g.nodes;
  let quantized = false;
  for (let i = 0; i < nodes.length && !quantized; i++) quantized = isQuantOp(nodes[i]!.opType);
  // forEach and an indexed loop: these run once over every initializer and node, mostly before the
  // optimizer takes them, where a for-of allocates an iterator result per element.
  g.initializers.forEach((t) => {
    const float = FLOAT_TYPES.has(t.dataType);
    // A scale is a scalar or one value per channel; an integer tensor counts as a dequantized weight or a QOperator op's kernel and bias.
    const counted = !quantized ? float : float ? t.dims.length > 1 || !isQuantScale(g, t.name) : isQuantizedWeight(g, t.name) || isIntegerOpWeight(g, t.name);
    if (counted) initializers += productFrom(t.dims, 0);
  });
  let constantNodes = 0;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.opType !== 'Constant' && n.opType !== 'ConstantOfShape') continue;
    const t = n.attributes.find((a) => a.name === 'value')?.t;
    // ConstantOfShape fills a shape given as a constant int64 tensor; its value defaults to float 0.
    const size = n.opType === 'Constant' ? (t && FLOAT_TYPES.has(t.dataType) ? elementCount(t.dims) : 0)
      : !t || FLOAT_TYPES.has(t.dataType) ? filledElements(g, n.inputs[0]) : 0;
    if (!size) continue;
    const out = n.outputs[0]!;
    const users = g.consumers(out);
    const weight = users.some((u) => WEIGHT_OPS.has(u.opType) && u.inputs.indexOf(out) > 0) || (size > 1 && users.some((u) => AFFINE_OPS.has(u.opType)));
    if (weight) constantNodes += size;
  }
  return { total: initializers + constantNodes, initializers, constantNodes };
}

const QDQ = new Set(['QuantizeLinear', 'DequantizeLinear']);

/** QuantizeLinear/DequantizeLinear, and the QOperator ops (QLinearConv, ConvInteger, QGemm, com.microsoft's QLinearAdd, ...). */
function isQuantOp(op: string): boolean {
  return QDQ.has(op) || op.startsWith('QLinear') || op.endsWith('Integer') || op === 'QGemm';
}

/** Read only as a scale or zero point: by quantization ops, never as their data (input 0) or a QOperator op's weight. */
function isQuantScale(g: Graph, name: string): boolean {
  const users = g.consumers(name);
  return users.length > 0 && users.every((u) => isQuantOp(u.opType) && u.inputs[0] !== name && !INTEGER_OP_WEIGHTS.get(u.opType)?.some((i) => u.inputs[i] === name));
}

/** Which inputs of each QOperator op are its learned weights (a kernel, a bias), not scales or zero points. */
const INTEGER_OP_WEIGHTS = new Map<string, readonly number[]>([
  ['QLinearConv', [3, 8]], ['ConvInteger', [1]], ['QLinearMatMul', [3]], ['MatMulInteger', [1]], ['QGemm', [3, 6]],
]);

/** An integer tensor a QOperator op reads as its weight or bias (a QOperator model's parameters). */
function isIntegerOpWeight(g: Graph, name: string): boolean {
  return g.consumers(name).some((u) => INTEGER_OP_WEIGHTS.get(u.opType)?.some((i) => u.inputs[i] === name) === true);
}

/** An integer tensor a DequantizeLinear turns into float weights. */
function isQuantizedWeight(g: Graph, name: string): boolean {
  return g.consumers(name).some((u) => u.opType === 'DequantizeLinear' && u.inputs[0] === name);
}

/** Elements a ConstantOfShape makes from a shape stored as an int64 initializer or Constant; 0 when unknown. */
function filledElements(g: Graph, shape: string | undefined): number {
  if (!shape) return 0;
  const t = g.initializer(shape) ?? g.producer(shape)?.attributes.find((a) => a.name === 'value')?.t;
  const raw = t?.dataType === 7 /* INT64 */ ? t.rawData : undefined;
  if (!raw || raw.byteLength % 8) return 0;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let n = 1;
  for (let i = 0; i < raw.byteLength; i += 8) n *= Number(view.getBigInt64(i, true));
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export function nodeMacs(n: NodeProto, shapes: ShapeLookup): number | undefined {
  // Most ops count 0: shapes are looked up only for the ops that count something.
  const rule = MAC_RULES.get(n.opType);
  if (!rule) return 0;
  const o = n.outputs[0];
  const outShape = shapes.get(o ?? '');
  return rule(n, shapes, o ? outShape?.dims : undefined, isFloatType(outShape?.dtype ?? 0));
}

/** An op's MACs from its output's dims (undefined when unknown) and whether the output is floating-point. */
type MacRule = (n: NodeProto, shapes: ShapeLookup, out: readonly number[] | undefined, isFloat: boolean) => number | undefined;

const perOutput: MacRule = (_n, _shapes, out, isFloat) => (!isFloat ? 0 : out ? productFrom(out, 0) : undefined);

const perInput: MacRule = (n, shapes, _out, isFloat) => {
  if (!isFloat) return 0;
  const x = dimsIn(shapes, n.inputs[0]);
  return x ? productFrom(x, 0) : undefined;
};

const convMacs: MacRule = (n, shapes, out) => {
  const w = dimsIn(shapes, n.inputs[1]);
  return out && w ? productFrom(out, 0) * productFrom(w, 1) : undefined;
};

/**
 * The ops that count something, in a Map: the decoder's op type strings are not V8-internalized, and
 * a Map hashes each once where a switch on them compares it with every case before its own.
 */
const MAC_RULES = new Map<string, MacRule>([
  ['Conv', convMacs],
  // ONNX Runtime's Conv with its activation fused in (com.microsoft FusedConv).
  ['FusedConv', convMacs],
  ['ConvTranspose', (n, shapes) => {
    const x = dimsIn(shapes, n.inputs[0]), w = dimsIn(shapes, n.inputs[1]);
    return x && w ? productFrom(x, 0) * productFrom(w, 1) : undefined;
  }],
  ['Gemm', (n, shapes, out) => {
    const a = dimsIn(shapes, n.inputs[0]);
    if (!out || !a) return undefined;
    const k = attrInt(n, 'transA', 0) ? a[0]! : a[1]!;
    return productFrom(out, 0) * k;
  }],
  ['MatMul', (n, shapes, out) => {
    const a = dimsIn(shapes, n.inputs[0]);
    return out && a ? productFrom(out, 0) * a[a.length - 1]! : undefined;
  }],
  // QOperator ops count as the float ops they stand for (their weight is input 3, or 1 for the *Integer ops).
  ['QLinearConv', (n, shapes, out) => {
    const w = dimsIn(shapes, n.inputs[3]);
    return out && w ? productFrom(out, 0) * productFrom(w, 1) : undefined;
  }],
  ['ConvInteger', (n, shapes, out) => {
    const w = dimsIn(shapes, n.inputs[1]);
    return out && w ? productFrom(out, 0) * productFrom(w, 1) : undefined;
  }],
  ['QLinearMatMul', (n, shapes, out) => {
    const a = dimsIn(shapes, n.inputs[0]);
    return out && a ? productFrom(out, 0) * a[a.length - 1]! : undefined;
  }],
  ['MatMulInteger', (n, shapes, out) => {
    const a = dimsIn(shapes, n.inputs[0]);
    return out && a ? productFrom(out, 0) * a[a.length - 1]! : undefined;
  }],
  ['BatchNormalization', perOutput], ['InstanceNormalization', perOutput],
  ['Mul', perOutput], ['Div', perOutput], ['Add', perOutput], ['Sub', perOutput], ['Sum', perOutput],
  ['GlobalAveragePool', perInput], ['ReduceMean', perInput],
  ['AveragePool', (n, _shapes, out) => {
    const k = attrInts(n, 'kernel_shape');
    return out && k ? productFrom(out, 0) * productFrom(k, 0) : undefined;
  }],
]);

/** FLOAT_TYPES.has(dtype), by a table: asked for every counted node. */
const FLOAT_TYPE = (() => {
  const table = new Uint8Array(64);
  for (const t of FLOAT_TYPES) table[t] = 1;
  return table;
})();

function isFloatType(dtype: number): boolean {
  return FLOAT_TYPE[dtype] === 1;
}

function dimsIn(shapes: ShapeLookup, v: string | undefined): number[] | undefined {
  return v ? shapes.get(v)?.dims : undefined;
}

/** The product of dims[from..]: a weight's elements per output channel; from 0, elementCount's value by a loop. */
function productFrom(dims: readonly number[], from: number): number {
  let p = 1;
  for (let i = from; i < dims.length; i++) p *= dims[i]!;
  return p;
}

export interface MacCount {
  total: number;
  byOp: Record<string, number>;
  /** Nodes whose MACs could not be counted because a shape stayed unknown. */
  unknown: string[];
  /** Each counted node's MACs, in node order. */
  perNode: ReadonlyMap<NodeProto, number>;
}

export function countMacs(g: Graph, shapes: ShapeMap): MacCount {
  const tally = new MacTally();
  const nodes = g.nodes;
  for (let i = 0; i < nodes.length; i++) tally.node(nodes[i]!, shapes);
  return tally.result();
}

/**
 * countMacs node by node: it counts each node it is shown, from the shapes it reads and writes. Shown
 * each node as inference sets its outputs (a ShapeWatch), it counts what countMacs would count after
 * it in a graph whose every read follows its one producer, looking up shapes while they are at hand.
 */
export class MacTally {
  /** A map, not a record: the decoder's op type strings are not V8-internalized, and a record's key would be looked up in V8's string table on every update. */
  private readonly byOp = new Map<string, number>();
  private readonly unknown: string[] = [];
  private readonly counted: NodeProto[] = [];
  private readonly macs: number[] = [];
  private total = 0;

  node(n: NodeProto, shapes: ShapeLookup): void {
    const m = nodeMacs(n, shapes);
    if (m === undefined) {
      this.unknown.push(n.name || `${n.opType}→${n.outputs[0]}`);
      return;
    }
    this.counted.push(n);
    this.macs.push(m);
    if (m === 0) return;
    this.byOp.set(n.opType, (this.byOp.get(n.opType) ?? 0) + m);
    this.total += m;
  }

  result(): MacCount {
    return { total: this.total, byOp: sortKeys(Object.fromEntries(this.byOp)), unknown: this.unknown, perNode: new NodeMacs(this.counted, this.macs) };
  }
}

/**
 * countMacs's per-node counts: two lists in node order, walked as they are (the largest layers); the map
 * is built only when a node's count is asked for, which a run that writes sealed blocks never does.
 */
class NodeMacs implements ReadonlyMap<NodeProto, number> {
  private map?: Map<NodeProto, number>;

  constructor(private readonly nodes: readonly NodeProto[], private readonly macs: readonly number[]) {}

  /** In node order, from the lists (a node listed twice, which lint refuses, is met twice). */
  forEach(f: (macs: number, node: NodeProto, map: ReadonlyMap<NodeProto, number>) => void, thisArg?: unknown): void {
    const { nodes, macs } = this;
    for (let i = 0; i < nodes.length; i++) f.call(thisArg, macs[i]!, nodes[i]!, this);
  }

  get(n: NodeProto): number | undefined { return this.built().get(n); }
  has(n: NodeProto): boolean { return this.built().has(n); }
  get size(): number { return this.built().size; }
  entries(): MapIterator<[NodeProto, number]> { return this.built().entries(); }
  keys(): MapIterator<NodeProto> { return this.built().keys(); }
  values(): MapIterator<number> { return this.built().values(); }
  [Symbol.iterator](): MapIterator<[NodeProto, number]> { return this.built()[Symbol.iterator](); }

  private built(): Map<NodeProto, number> {
    if (this.map) return this.map;
    const map = new Map<NodeProto, number>();
    for (let i = 0; i < this.nodes.length; i++) map.set(this.nodes[i]!, this.macs[i]!);
    return (this.map = map);
  }
}

/**
 * The count after adding `nodes` to a graph counted as `before`, when no other node's shapes changed
 * (an SE insertion keeps every rewired value's shape): the same result as counting the whole graph
 * again, or undefined when a new node's MACs are unknown (then the whole graph is counted).
 */
export function addMacs(before: MacCount, nodes: readonly NodeProto[], shapes: ShapeMap): MacCount | undefined {
  const byOp: Record<string, number> = { ...before.byOp };
  const perNode = new Map(before.perNode);
  let total = before.total;
  for (const n of nodes) {
    const m = nodeMacs(n, shapes);
    if (m === undefined) return undefined;
    perNode.set(n, m);
    if (m === 0) continue;
    byOp[n.opType] = (byOp[n.opType] ?? 0) + m;
    total += m;
  }
  return { total, byOp: sortKeys(byOp), unknown: before.unknown.slice(), perNode };
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
