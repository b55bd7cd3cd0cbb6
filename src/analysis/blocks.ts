// Structural questions the passes ask about a block, answered without mutating anything:
// which tensors are feature maps, where parallel branches meet, which nodes form a block (whether it
// already holds attention is attention.ts's question).

import type { Graph, NodeIndex } from '../ir/graph.js';
import { FLOAT_TYPES } from '../onnx/proto.js';
import type { NodeProto } from '../onnx/proto.js';
import type { NodeValueIds } from '../ir/value-ids.js';
import { ValueShapes } from './value-shapes.js';
import { attrInt, attrInts } from './shapes.js';
import type { ShapeMap, ValueShape } from './shapes.js';

/**
 * The deepest block se-inject looks for: a block input more than this many ops above a block's output
 * is not searched for, and the candidate is told so (reason 'budget'). The largest blocks of the
 * families known are ~40 ops deep (Inception-v3's modules); the budget keeps a crafted graph linear.
 */
export const MAX_BLOCK_DEPTH = 512;

export interface Ctx {
  graph: Graph;
  shapes: ShapeMap;
  /** Each node's index in the (topologically ordered) node list: computed once per graph. */
  position: NodeIndex;
  /** The value ids of each node's inputs, by that index: a producer's inputs are found without their names. */
  ids: NodeValueIds;
  /** `shapes` when it keeps this graph's values by id, which a record's shape is then read by. */
  shapesById: ValueShapes | undefined;
  /**
   * What the passes ask of each tensor, one record per tensor (valueFacts) by the graph's value id,
   * made when first asked: the graph and its shapes do not change while passes match, and the walks
   * of neighbouring blocks ask about the same tensors.
   */
  facts: (ValueFacts | undefined)[];
  /** Records of names the graph does not hold, which a pass may still ask about. */
  unknown: Map<string, ValueFacts>;
  /** The number of the latest meetingPoint search, which marks the records it reached (ValueFacts.search). */
  searches: number;
  /** The number of the latest walk of regionBetween or convsOnPath, which marks the records it saw (ValueFacts.walk). */
  walks: number;
  /** The work lists of those walks, emptied rather than made again for every block. */
  lists: { stack: ValueFacts[]; visited: ValueFacts[]; queue: ValueFacts[] };
  /** The records valueFacts found last (RECENT of them, the oldest replaced next), and where the next goes. */
  recent: (ValueFacts | undefined)[];
  recentNext: number;
  /** isNasCellConcat's answer per Concat, once asked: every sum a wide concat gathers asks about it. */
  nasCells: Map<NodeProto, boolean>;
}

/**
 * One tensor as the walkers see it, found with one lookup instead of one per question (a map of 10^5
 * names answers a lookup from memory, not cache, on deep graphs). A class, so that every record has
 * one layout.
 */
class ValueFacts {
  /** isConstant's answer, once asked. */
  constant: boolean | undefined = undefined;
  /** The producer's data inputs (dataInputs), once asked, as names and as records. */
  producerData: readonly string[] | undefined = undefined;
  parents: readonly ValueFacts[] | undefined = undefined;
  /** The meetingPoint search that last reached this tensor, and from which ends (a bit each). */
  search = 0;
  reachedBy = 0;
  /** The walk that last saw this tensor: a mark in place of a set of names per walk. */
  walk = 0;
  /** channelAxis's answer once asked (NOT_ASKED until then; UNKNOWN_AXIS where nothing says). */
  channels = NOT_ASKED;

  constructor(
    readonly name: string,
    readonly shape: ValueShape | undefined,
    /** The node writing it; undefined for graph inputs, initializers and names nothing defines. */
    readonly producer: NodeProto | undefined,
    /** The producer's index in the node list; -1 without one. */
    readonly at: number,
    /** A graph input that is not an initializer, or a node output: a tensor computed at run time. */
    readonly computed: boolean,
    readonly initializer: boolean,
  ) {}
}

export function blockContext(graph: Graph, shapes: ShapeMap): Ctx {
  return {
    graph, shapes, position: graph.nodeIndex(), ids: graph.valueIds(),
    shapesById: shapes instanceof ValueShapes && shapes.graph === graph ? shapes : undefined,
    facts: new Array<ValueFacts | undefined>(graph.valueCount),
    unknown: new Map(), searches: 0, walks: 0, lists: { stack: [], visited: [], queue: [] },
    recent: new Array<ValueFacts | undefined>(RECENT).fill(undefined), recentNext: 0, nasCells: new Map(),
  };
}

/** The facts of tensor `t`, made on its first question. */
function valueFacts(ctx: Ctx, t: string): ValueFacts {
  // A block's walks ask about its two or three ends again and again: the latest records answer them.
  const recent = ctx.recent;
  for (let i = 0; i < RECENT; i++) {
    const r = recent[i];
    if (r !== undefined && r.name === t) return r;
  }
  return remember(ctx, factsOf(ctx, t, ctx.graph.valueId(t)));
}

/** Keeps `f` among the latest records, replacing the oldest. */
function remember(ctx: Ctx, f: ValueFacts): ValueFacts {
  ctx.recent[ctx.recentNext] = f;
  ctx.recentNext = (ctx.recentNext + 1) % RECENT;
  return f;
}

/**
 * The facts of input `j` of node `n`, which sits at `at` in the node list: read by the value id the
 * index holds for it, not looked up by name (a pass's first question about its root's inputs).
 */
function inputFacts(ctx: Ctx, n: NodeProto, j: number, at: number | undefined): ValueFacts {
  const t = n.inputs[j]!;
  if (at === undefined || !ctx.ids.matches(at, n)) return valueFacts(ctx, t);
  return remember(ctx, factsOf(ctx, t, ctx.ids.input(at, j)));
}

/** The facts of `t`, whose value id is `id` (-1 for a name the graph does not hold). */
function factsOf(ctx: Ctx, t: string, id: number): ValueFacts {
  return id >= 0 ? (ctx.facts[id] ??= newFacts(ctx, t, id)) : unknownFacts(ctx, t);
}

function newFacts(ctx: Ctx, t: string, id: number): ValueFacts {
  const producer = ctx.graph.producerOfId(id);
  const shape = ctx.shapesById ? ctx.shapesById.getId(id, t) : ctx.shapes.get(t);
  if (producer) return new ValueFacts(t, shape, producer, ctx.position.producerAt(id), true, false);
  const initializer = !!ctx.graph.initializerOfId(id);
  return new ValueFacts(t, shape, undefined, -1, !initializer && ctx.graph.isGraphInput(t), initializer);
}

function unknownFacts(ctx: Ctx, t: string): ValueFacts {
  let f = ctx.unknown.get(t);
  if (!f) ctx.unknown.set(t, (f = new ValueFacts(t, ctx.shapes.get(t), undefined, -1, false, false)));
  return f;
}

/** How many of the latest records valueFacts keeps at hand. */
const RECENT = 4;

/** The data inputs of `f`'s producer (none without one), kept from the first question. */
function producerData(ctx: Ctx, f: ValueFacts): readonly string[] {
  if (f.producerData === undefined) findParents(ctx, f);
  return f.producerData!;
}

/** The same as records. */
function parentRecords(ctx: Ctx, f: ValueFacts): readonly ValueFacts[] {
  if (f.parents === undefined) findParents(ctx, f);
  return f.parents!;
}

/** Sets f's producerData and parents, reading the producer's inputs by their ids where the node is as indexed. */
function findParents(ctx: Ctx, f: ValueFacts): void {
  const p = f.producer;
  if (!p) {
    f.producerData = NO_NAMES;
    f.parents = NO_FACTS;
    return;
  }
  const byId = f.at >= 0 && ctx.ids.matches(f.at, p);
  const inputs = p.inputs;
  // Lists made at their length: one is kept per tensor, and a list grown by push holds room for 16.
  const found = new Array<ValueFacts | undefined>(inputs.length);
  let count = 0;
  for (let i = 0; i < inputs.length; i++) {
    const name = inputs[i]!;
    const d = dataRecord(ctx, name, !name ? -1 : byId ? ctx.ids.input(f.at, i) : ctx.graph.valueId(name));
    found[i] = d;
    if (d) count++;
  }
  if (count === inputs.length) {
    // All of them (an Add of two maps, a Relu): the node's own list of names.
    f.producerData = inputs;
    f.parents = found as ValueFacts[];
    return;
  }
  const names = new Array<string>(count), parents = new Array<ValueFacts>(count);
  for (let i = 0, k = 0; i < inputs.length; i++) {
    if (!found[i]) continue;
    names[k] = inputs[i]!;
    parents[k++] = found[i]!;
  }
  f.producerData = names;
  f.parents = parents;
}

const NO_NAMES: readonly string[] = [];
const NO_FACTS: readonly ValueFacts[] = [];

/** The node writing `t` (undefined for graph inputs, initializers and unknown names). */
export function producerOf(ctx: Ctx, t: string): NodeProto | undefined {
  return valueFacts(ctx, t).producer;
}

/** Ops that only lay a tensor's elements out anew. */
const REARRANGES = new Set(['Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * Whether `t` only ever becomes predictions: every reader, through ops that only rearrange (Reshape,
 * Transpose, Flatten, Squeeze, Unsqueeze), reaches tensors of another rank than N×C×H×W that a Concat
 * alone reads or the graph outputs — SSD's box and class convs, reshaped and concatenated across the
 * levels. A feature map reaches some layer first (a conv, a pool, a norm; a shuffle's Reshape →
 * Transpose → Reshape hands a rank-4 map on to one). Walked over at most 16 tensors.
 */
export function feedsPredictionsOnly(ctx: Ctx, t: string): boolean {
  const stack = [t];
  let reached = false;
  for (let steps = 0; stack.length; steps++) {
    if (steps >= 16) return false;
    const v = stack.pop()!;
    const readers = dataConsumers(ctx, v);
    if (v !== t && dimsOf(ctx, v)?.length !== 4 && readers.every((r) => r.opType === 'Concat') && (readers.length > 0 || ctx.graph.isGraphOutput(v))) {
      reached = true;
      continue;
    }
    if (!readers.length) return false;
    for (const r of readers) {
      if (!REARRANGES.has(r.opType) || !r.outputs[0]) return false;
      stack.push(r.outputs[0]);
    }
  }
  return reached;
}

/**
 * A float feature map computed by a node: what SE can scale. N×C×H×W (rank 4), or N×C×L (1-D: audio
 * and speech nets, ECAPA-TDNN, ContextNet) and N×C×D×H×W (3-D: video nets, R3D, R(2+1)D, X3D) where
 * the graph shows its channels on axis 1 (below a conv or a pool, through layout-keeping steps): a
 * tensor of rank 3 or 5 may as well be tokens (N×L×D) or a grouped view of a map (a channel shuffle's
 * N×g×C/g×H×W, SKNet's N×M×C×1×1), which no conv lays out.
 */
export function isFeatureMap(ctx: Ctx, t: string): boolean {
  return featureMapDims(ctx, t) !== undefined;
}

/** The dims of a feature map (see isFeatureMap); undefined for any other tensor. */
export function featureMapDims(ctx: Ctx, t: string): number[] | undefined {
  return mapDims(ctx, valueFacts(ctx, t));
}

/** featureMapDims of input `j` of node `n`, found by its index `at` in the node list where the caller knows it. */
export function inputFeatureMapDims(ctx: Ctx, n: NodeProto, j: number, at: number | undefined): number[] | undefined {
  return mapDims(ctx, inputFacts(ctx, n, j, at));
}

function mapDims(ctx: Ctx, f: ValueFacts): number[] | undefined {
  const s = f.shape;
  const rank = s?.dims?.length;
  if (!f.computed || !s || !rank || rank < MIN_MAP_RANK || rank > MAX_MAP_RANK || !FLOAT_TYPES.has(s.dtype)) return undefined;
  if (rank !== 4) return channelsAxisOf(ctx, f) === 1 ? s.dims : undefined;
  return isChannelsLast(ctx, f) ? undefined : s.dims;
}

/** Feature maps have 1 to 3 spatial axes after N and C. */
export const MIN_MAP_RANK = 3;
export const MAX_MAP_RANK = 5;

function channelsAxisOf(ctx: Ctx, f: ValueFacts): number {
  return f.channels !== NOT_ASKED ? f.channels : channelAxis(ctx, f);
}

/** A rank-4 map whose channels a Transpose moved off axis 1 (N×H×W×C): not an N×C×H×W feature map. */
export function channelsLast(ctx: Ctx, t: string): boolean {
  return isChannelsLast(ctx, valueFacts(ctx, t));
}

function isChannelsLast(ctx: Ctx, f: ValueFacts): boolean {
  const axis = channelsAxisOf(ctx, f);
  return axis !== UNKNOWN_AXIS && axis !== 1;
}

const UNKNOWN_AXIS = -1;
/** ValueFacts.channels before channelAxis is asked: every other value is an answer (0 included). */
const NOT_ASKED = -2;
/** Ops that lay their output out channels first, whatever they read. */
const CHANNELS_FIRST = new Set([
  'Conv', 'FusedConv', 'ConvTranspose', 'AveragePool', 'MaxPool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'Resize', 'Upsample',
]);
/** Ops whose output is laid out as their data input: elementwise steps, merges, padding, slicing. */
const LAYOUT_KEEPING = new Set([
  'BatchNormalization', 'Relu', 'Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Tanh',
  'Softplus', 'Mish', 'Gelu', 'Identity', 'Dropout', 'InstanceNormalization', 'Mul', 'Div', 'Add', 'Sub', 'Sum', 'Max', 'Min', 'Concat',
  'Pad', 'Slice', 'Split', 'Cast',
]);

/**
 * The axis that holds the channels of a tensor (a rank-4 one, or another of a feature map's ranks), where the graph says: 1 below a Conv or a pool,
 * moved by each Transpose after it (tf2onnx without its transpose optimizer wraps every Conv in
 * Transposes and computes BN, activations and residual sums on N×H×W×C maps), kept by elementwise
 * steps; 3 for a graph input read only through Transposes to channels first (a Keras model's NHWC
 * image). UNKNOWN_AXIS below any other op. Walked up at most 64 tensors; the answer is kept for
 * every tensor on the way.
 */
function channelAxis(ctx: Ctx, f: ValueFacts): number {
  const path: ValueFacts[] = [];
  let axis = UNKNOWN_AXIS;
  for (let g: ValueFacts | undefined = f; g; ) {
    if (g.channels !== NOT_ASKED) {
      axis = g.channels;
      break;
    }
    path.push(g);
    const p = g.producer;
    if (!p) {
      axis = g.computed ? graphInputAxis(ctx, g) : UNKNOWN_AXIS;
      g.channels = axis;
      break;
    }
    if (CHANNELS_FIRST.has(p.opType)) {
      axis = g.channels = 1;
      break;
    }
    if ((p.opType !== 'Transpose' && !LAYOUT_KEEPING.has(p.opType)) || path.length >= 64) {
      g.channels = UNKNOWN_AXIS;
      break;
    }
    const rank: number = g.shape?.dims?.length ?? 4;
    g = parentRecords(ctx, g).find((r) => r.shape?.dims?.length === rank);
  }
  for (let i = path.length - 1; i >= 0; i--) {
    const g = path[i]!;
    if (g.channels !== NOT_ASKED) {
      axis = g.channels;
      continue;
    }
    const p = g.producer!;
    if (p.opType === 'Transpose' && axis !== UNKNOWN_AXIS) {
      const perm = attrInts(p, 'perm') ?? [...Array(g.shape?.dims?.length ?? 4).keys()].reverse();
      axis = perm.indexOf(axis);
      if (axis < 0) axis = UNKNOWN_AXIS;
    }
    g.channels = axis;
  }
  return f.channels;
}

/** 3 for a rank-4 graph input every reader of which is a Transpose bringing axis 3 to axis 1 (NHWC to NCHW). */
function graphInputAxis(ctx: Ctx, f: ValueFacts): number {
  const readers = dataConsumers(ctx, f.name);
  const toFirst = (n: NodeProto) => n.opType === 'Transpose' && attrInts(n, 'perm')?.[1] === 3;
  if (readers.length > 0 && readers.every(toFirst)) return 3;
  // A conv or a pool reads its data input as N×C×spatial: an input it reads is laid out channels first
  // (a speech net's N×C×L features, a video net's N×C×D×H×W clip, fed straight into a residual block).
  return readers.some((n) => READS_CHANNELS_FIRST.has(n.opType) && n.inputs[0] === f.name) ? 1 : UNKNOWN_AXIS;
}

/** Ops that read their data input (input 0) as N×C×spatial. */
const READS_CHANNELS_FIRST = new Set([
  'Conv', 'FusedConv', 'ConvTranspose', 'AveragePool', 'MaxPool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool',
]);

/** The shape of output `j` of node `n`, which sits at `at` in the node list: read by the value id the index holds. */
export function outputShape(ctx: Ctx, n: NodeProto, j: number, at: number): ValueShape | undefined {
  const t = n.outputs[j]!;
  if (!ctx.ids.matches(at, n)) return valueFacts(ctx, t).shape;
  return factsOf(ctx, t, ctx.ids.output(at, j)).shape;
}

/** The shape of `t`, as the model's shapes hold it. */
export function shapeOf(ctx: Ctx, t: string): ValueShape | undefined {
  return valueFacts(ctx, t).shape;
}

export function dimsOf(ctx: Ctx, t: string): number[] | undefined {
  return valueFacts(ctx, t).shape?.dims;
}

/**
 * Constant tensors, wherever an exporter put them: initializers, Constant and ConstantOfShape outputs,
 * and what is computed from constants alone (torch's Identity on a shared weight, a Cast, a Reshape).
 * Looked for at most 16 producers up; the answer for each tensor is kept from its first question.
 */
export function isConstant(ctx: Ctx, t: string, depth = 0): boolean {
  return isConstantValue(ctx, valueFacts(ctx, t), depth);
}

/** isConstant of a tensor whose record is at hand. */
function isConstantValue(ctx: Ctx, f: ValueFacts, depth: number): boolean {
  if (f.constant !== undefined) return f.constant;
  let result = f.initializer;
  const p = f.producer;
  if (p?.opType === 'Constant' || p?.opType === 'ConstantOfShape') result = true;
  else if (p && depth < 16 && readsAnything(p)) result = computedFromConstants(ctx, f, depth + 1);
  f.constant = result;
  return result;
}

/** A node with a named input (a loop: some() walks a node's frozen list the slow way). */
function readsAnything(p: NodeProto): boolean {
  const inputs = p.inputs;
  for (let i = 0; i < inputs.length; i++) if (inputs[i]) return true;
  return false;
}

/** Are all inputs of f's producer constant? Read by their ids where the node is as indexed. */
function computedFromConstants(ctx: Ctx, f: ValueFacts, depth: number): boolean {
  const p = f.producer!;
  const byId = f.at >= 0 && ctx.ids.matches(f.at, p);
  const inputs = p.inputs;
  for (let j = 0; j < inputs.length; j++) {
    const i = inputs[j]!;
    if (!i) continue;
    const input = byId ? factsOf(ctx, i, ctx.ids.input(f.at, j)) : valueFacts(ctx, i);
    if (!isConstantValue(ctx, input, depth)) return false;
  }
  return true;
}

/** Ops that map a feature map to one of its shape elementwise: activations in every written form, norms, no-ops. */
const ELEMENTWISE = new Set([
  'BatchNormalization', 'Relu', 'Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'LeakyRelu', 'PRelu', 'Elu', 'Selu',
  'Celu', 'Tanh', 'Softplus', 'Mish', 'Gelu', 'Identity', 'Dropout', 'InstanceNormalization',
]);
const ARITHMETIC = new Set(['Mul', 'Div', 'Add', 'Sub']);

/**
 * A step that keeps a block's feature map a feature map of the same shape, whoever wrote it: an activation
 * or a norm, or arithmetic with a scalar or per-channel constant (a folded BN as Mul+Add, the /6 and +3 of
 * hard-swish written out, a layer scale). x·f(x) forms (SiLU, hard-swish) are followed by the walkers.
 */
export function isPassThrough(ctx: Ctx, n: NodeProto): boolean {
  if (ELEMENTWISE.has(n.opType)) return true;
  if (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear') return isFakeQuant(ctx, n);
  if (!ARITHMETIC.has(n.opType) || n.inputs.length !== 2) return false;
  // Indexed, not destructured: this runs for every elementwise node, mostly before V8 optimizes it,
  // where a destructuring allocates an iterator and its results.
  const a = n.inputs[0]!, b = n.inputs[1]!;
  const constantA = isConstant(ctx, a);
  // One data operand, the other constant.
  if (constantA === isConstant(ctx, b)) return false;
  const data = constantA ? b : a, other = constantA ? a : b;
  const dims = other ? dimsOf(ctx, other) : undefined;
  const channels = dimsOf(ctx, data)?.[1];
  if (!dims) return false;
  const size = dims.reduce((a, b) => a * b, 1);
  return size === 1 || (size === channels && dims.length >= 3 && dims[dims.length - 3] === channels);
}

/**
 * A linear step of a feature map: a norm with fixed statistics, Identity, Dropout, arithmetic with a
 * scalar or per-channel constant, a Quantize → Dequantize half — what folds into a conv (RepVGG's and
 * MobileOne's branches); isPassThrough without the activations.
 */
export function isAffineStep(ctx: Ctx, n: NodeProto): boolean {
  if (n.opType === 'BatchNormalization' || n.opType === 'Identity' || n.opType === 'Dropout') return true;
  return !ELEMENTWISE.has(n.opType) && isPassThrough(ctx, n);
}

/** A conv's kernel: its kernel_shape, else the spatial dims of its weight (the attribute is optional); undefined when neither is known. */
/**
 * A convolution: ONNX's Conv, or ONNX Runtime's com.microsoft FusedConv without its sum input (a Conv with
 * its activation fused in, as the runtime's 'extended' offline optimizer writes it), read as a conv whose
 * output is already activated. A FusedConv that also adds a tensor (input Z) holds a sum: no plain conv.
 */
export function isConv(n: NodeProto): boolean {
  if (n.opType === 'Conv') return !n.domain || n.domain === 'ai.onnx';
  return n.opType === 'FusedConv' && n.domain === 'com.microsoft' && n.inputs.length <= 3;
}

export function kernelOf(ctx: Ctx, conv: NodeProto): readonly number[] | undefined {
  return attrInts(conv, 'kernel_shape') ?? dimsOf(ctx, conv.inputs[1] ?? '')?.slice(2);
}

/** A 1×1 conv (a pointwise projection or expansion, an aggregation conv). */
export function isPointwiseConv(ctx: Ctx, n: NodeProto): boolean {
  const k = isConv(n) ? kernelOf(ctx, n) : undefined;
  return !!k && k.every((d) => d === 1);
}

/** A depthwise conv: one group per input channel (MobileNet, GhostNet's cheap operation and shortcut). */
export function isDepthwise(ctx: Ctx, n: NodeProto): boolean {
  const group = attrInt(n, 'group', 1);
  return isConv(n) && group > 1 && group === dimsOf(ctx, n.inputs[0]!)?.[1];
}

/**
 * Half of a QuantizeLinear → DequantizeLinear pair on an activation, as QDQ-quantized models (ONNX
 * Runtime's quantize_static) hold around every quantized op: the pair rounds a float map to its
 * quantization grid, elementwise, with constant scales and zero points, and gives a float map of the
 * same shape back — a step of the block, as a BN or an activation is. A QuantizeLinear that an integer
 * op reads (QLinearConv) is no such step.
 */
export function isFakeQuant(ctx: Ctx, n: NodeProto): boolean {
  // ONNX Runtime writes the pair in its own domain too (com.microsoft: 16-bit and 4-bit activations, UseQDQContribOps).
  if ((n.domain && n.domain !== 'ai.onnx' && n.domain !== 'com.microsoft') || !n.inputs[1] || !isConstant(ctx, n.inputs[1]) || (n.inputs[2] && !isConstant(ctx, n.inputs[2]))) return false;
  if (n.opType === 'DequantizeLinear') return valueFacts(ctx, n.inputs[0] ?? '').producer?.opType === 'QuantizeLinear';
  const readers = ctx.graph.consumers(n.outputs[0] ?? '');
  return readers.length > 0 && readers.every((r) => r.opType === 'DequantizeLinear');
}

/**
 * The float tensor that `t` is handed on as: past its QuantizeLinear → DequantizeLinear pair where a
 * QDQ model quantizes it (one Quantize, read by one Dequantize), else `t` itself.
 */
export function pastFakeQuant(ctx: Ctx, t: string): string {
  const q = ctx.graph.consumers(t);
  if (q.length !== 1 || q[0]!.opType !== 'QuantizeLinear' || !isFakeQuant(ctx, q[0]!)) return t;
  const dq = ctx.graph.consumers(q[0]!.outputs[0]!);
  return dq.length === 1 && isFakeQuant(ctx, dq[0]!) ? dq[0]!.outputs[0]! : t;
}

/**
 * Inputs of a node that carry activations: floating point, or an activation quantized by a
 * QuantizeLinear (the int8/uint8 middle of a QDQ pair); not weights, not folded constants.
 */
export function dataInputs(ctx: Ctx, n: NodeProto): readonly string[] {
  // Kept with the facts of the node's first output: the record a walk from that tensor reads anyway.
  const out = n.outputs[0];
  const f = out ? valueFacts(ctx, out) : undefined;
  return f?.producer === n ? producerData(ctx, f) : dataInputsOfNode(ctx, n);
}

function dataInputsOfNode(ctx: Ctx, n: NodeProto): readonly string[] {
  const inputs = n.inputs;
  let kept: string[] | undefined;
  for (let i = 0; i < inputs.length; i++) {
    const name = inputs[i]!;
    if (name && dataRecord(ctx, name, ctx.graph.valueId(name))) kept?.push(name);
    else if (!kept) kept = copyOf(inputs, i);
  }
  // All of them (an Add of two maps, a Relu): the node's own list, one array fewer kept per node.
  return kept ?? inputs;
}

/** The first `count` entries of a node's list, copied by hand: the list is frozen, and slice() copies a frozen array the slow way. */
function copyOf(list: readonly string[], count: number): string[] {
  const copy: string[] = [];
  for (let j = 0; j < count; j++) copy.push(list[j]!);
  return copy;
}

/** The record of input `i` (value id `id`) when it carries activations; undefined otherwise. */
function dataRecord(ctx: Ctx, i: string, id: number): ValueFacts | undefined {
  if (!i) return undefined;
  // A weight, asked about once by its reader: no record is kept for it.
  let f = id >= 0 ? ctx.facts[id] : undefined;
  if (!f) {
    if (id >= 0 && !ctx.graph.producerOfId(id) && ctx.graph.initializerOfId(id)) return undefined;
    f = factsOf(ctx, i, id);
  }
  return f.computed && !!f.shape && (FLOAT_TYPES.has(f.shape.dtype) || f.producer?.opType === 'QuantizeLinear') && !isConstantValue(ctx, f, 0) ? f : undefined;
}

export type Meeting = { x: string; why?: undefined } | { x?: undefined; why: 'none' | 'budget' };

/**
 * The nearest tensor that every end descends from (a block's input): the common ancestor whose
 * farthest end is nearest, ties broken by breadth-first order from the first end. Searched level by
 * level from all ends at once, so the work is proportional to the block, not to the graph above it.
 */
export function meetingPoint(ctx: Ctx, ends: readonly string[]): Meeting {
  if (ends.length === 2 && ends[0] !== ends[1]) {
    const near = meetingOfParent(ctx, ends[0]!, ends[1]!);
    if (near) return near;
  }
  const unique = ends.length === 2 ? (ends[0] === ends[1] ? [ends[0]!] : [ends[0]!, ends[1]!]) : [...new Set(ends)];
  return unique.length <= MAX_MASKED_ENDS ? meetingOfFew(ctx, unique) : meetingOfMany(ctx, unique);
}

/**
 * The meeting of two ends one of which a producer of the other reads (an identity block's sum: the
 * shortcut is the block input, which the branch's first op reads): the answer of the level search's
 * first level, found without its frontiers. Undefined when neither end is such a parent.
 */
function meetingOfParent(ctx: Ctx, a: string, b: string): Meeting | undefined {
  const fa = valueFacts(ctx, a), fb = valueFacts(ctx, b);
  const parentsA = parentRecords(ctx, fa), parentsB = parentRecords(ctx, fb);
  // b's producer reads a: a is reached from b at the first level, and comes first in a's own order.
  if (parentsB.includes(fa)) return { x: a };
  if (!parentsA.includes(fb)) return undefined;
  // a's producer reads b: the first of a's parents that is b or that b's producer reads.
  for (let i = 0; i < parentsA.length; i++) {
    const p = parentsA[i]!;
    if (p === fb || parentsB.includes(p)) return { x: p.name };
  }
  return undefined;
}

/** Ends whose reach fits one integer's bits (a residual sum has 2, an Inception concat 4); a wider concat, as DenseNet's, takes a set per end. */
const MAX_MASKED_ENDS = 30;

/**
 * meetingPoint with what each tensor was reached from as a bit mask, kept in the tensors' own records
 * under this search's number: no map, and no lookup by name once the records are known.
 */
function meetingOfFew(ctx: Ctx, unique: string[]): Meeting {
  const k = unique.length;
  const all = 2 ** k - 1;
  const search = ++ctx.searches;
  const reached = (f: ValueFacts) => (f.search === search ? f.reachedBy : 0);
  // Per end, the tensors of the current level; each level keeps only those the end had not reached.
  const frontiers = unique.map((e) => [valueFacts(ctx, e)]);
  const order0: ValueFacts[] = [];
  for (let level = 0; level <= MAX_BLOCK_DEPTH; level++) {
    let complete = false;
    for (let e = 0; e < k; e++) {
      const bit = 1 << e, frontier = frontiers[e]!;
      let added = 0;
      for (let j = 0; j < frontier.length; j++) {
        const f = frontier[j]!;
        const mask = reached(f);
        if (mask & bit) continue;
        f.search = search;
        f.reachedBy = mask | bit;
        frontier[added++] = f;
        if (e === 0) order0.push(f);
        if ((mask | bit) === all) complete = true;
      }
      frontier.length = added;
    }
    if (complete) return { x: order0.find((f) => reached(f) === all)!.name };
    let more = false;
    for (let e = 0; e < k; e++) {
      const bit = 1 << e;
      const next: ValueFacts[] = [];
      for (const f of frontiers[e]!) for (const pf of parentRecords(ctx, f)) if (!(reached(pf) & bit)) next.push(pf);
      frontiers[e] = next;
      more ||= next.length > 0;
    }
    if (!more) return { why: 'none' };
  }
  return { why: 'budget' };
}

/** meetingPoint for many ends (a wide concat): a set of reached tensors per end, and a count per tensor. */
function meetingOfMany(ctx: Ctx, unique: string[]): Meeting {
  const k = unique.length;
  const reached = new Map<string, number>();
  const dists = unique.map(() => new Set<string>());
  const frontiers = unique.map((e) => [e]);
  const order0: string[] = [];
  for (let level = 0; level <= MAX_BLOCK_DEPTH; level++) {
    let complete = false;
    for (let e = 0; e < k; e++) {
      const dist = dists[e]!, frontier = frontiers[e]!;
      let added = 0;
      for (let j = 0; j < frontier.length; j++) {
        const t = frontier[j]!;
        if (dist.has(t)) continue;
        dist.add(t);
        frontier[added++] = t;
        if (e === 0) order0.push(t);
        const c = (reached.get(t) ?? 0) + 1;
        reached.set(t, c);
        if (c === k) complete = true;
      }
      frontier.length = added;
    }
    if (complete) return { x: order0.find((t) => reached.get(t) === k)! };
    let more = false;
    for (let e = 0; e < k; e++) {
      const dist = dists[e]!;
      const next = parentsOf(ctx, frontiers[e]!, (t) => dist.has(t));
      frontiers[e] = next;
      more ||= next.length > 0;
    }
    if (!more) return { why: 'none' };
  }
  return { why: 'budget' };
}

/** The data inputs of the producers of `level`, those not `seen` yet, in order (repeats kept). */
function parentsOf(ctx: Ctx, level: readonly string[], seen: (t: string) => boolean): string[] {
  const next: string[] = [];
  for (const t of level) for (const i of producerData(ctx, valueFacts(ctx, t))) if (!seen(i)) next.push(i);
  return next;
}

/**
 * Nodes on paths from `start` (exclusive) to any of `ends` (inclusive): the block's body, in node order.
 * `positions`, when given, gets each one's index in the node list.
 */
export function regionBetween(ctx: Ctx, start: string, ends: readonly string[], positions?: number[]): Set<NodeProto> {
  const from = valueFacts(ctx, start);
  const floor = from.at;
  // Backwards from the ends, never above the start's producer in topological order ...
  const seen = ++ctx.walks;
  // The lists are filled from index 0 and never shortened: an emptied array would drop its storage.
  const { visited, stack } = ctx.lists;
  let top = 0, count = 0;
  for (let e = 0; e < ends.length; e++) {
    if (ends[e] === start) continue;
    const f = valueFacts(ctx, ends[e]!);
    f.walk = seen;
    stack[top++] = f;
  }
  while (top > 0) {
    const f = stack[--top]!;
    if (!f.producer || f.at <= floor) continue;
    // A node reached through a second output is kept twice here and once below.
    visited[count++] = f;
    const parents = parentRecords(ctx, f);
    for (let j = 0; j < parents.length; j++) {
      const i = parents[j]!;
      if (i === from || i.walk === seen) continue;
      i.walk = seen;
      stack[top++] = i;
    }
  }
  // ... then forwards: a node is in the block when it reads the start or a node already in it.
  const order = count > 1 ? visited.slice(0, count).sort(byPosition) : visited;
  const region = new Set<NodeProto>();
  let last = -1;
  for (let v = 0; v < count; v++) {
    const f = order[v]!;
    if (f.at === last) continue;
    last = f.at;
    if (!readsFromOrInto(parentRecords(ctx, f), from, region)) continue;
    region.add(f.producer!);
    positions?.push(f.at);
  }
  return region;
}

function byPosition(a: ValueFacts, b: ValueFacts): number {
  return a.at - b.at;
}

/** Does one of `inputs` come from `from` or from a node of `region`? (A tensor's record holds its one producer.) */
function readsFromOrInto(inputs: readonly ValueFacts[], from: ValueFacts, region: ReadonlySet<NodeProto>): boolean {
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (input === from || (input.producer !== undefined && region.has(input.producer))) return true;
  }
  return false;
}

/** Convs in `region` on the way back from `end` (stopping at `start`). */
export function convsOnPath(ctx: Ctx, region: Set<NodeProto>, start: string, end: string): number {
  let convs = 0;
  const seen = ++ctx.walks;
  // Filled from index 0 and never shortened, as regionBetween's lists.
  const queue = ctx.lists.queue;
  let length = 0;
  queue[length++] = valueFacts(ctx, end);
  for (let q = 0; q < length; q++) {
    const f = queue[q]!;
    if (f.name === start || f.walk === seen) continue;
    f.walk = seen;
    const p = f.producer;
    if (!p || !region.has(p)) continue;
    if (isConv(p) || p.opType === 'ConvTranspose') convs++;
    const parents = parentRecords(ctx, f);
    for (let j = 0; j < parents.length; j++) queue[length++] = parents[j]!;
  }
  return convs;
}

/** Does a node of `region` read one of `tensors`? (An input of a block computed from another.) */
export function readInside(ctx: Ctx, region: ReadonlySet<NodeProto>, tensors: readonly string[]): boolean {
  return tensors.some((t) => ctx.graph.consumers(t).some((c) => region.has(c)));
}

/** Readers of a tensor's values: Shape and Size read only its dimensions (dynamic-batch exports). */
export function dataConsumers(ctx: Ctx, t: string): readonly NodeProto[] {
  const users = ctx.graph.consumers(t);
  for (const n of users) if (readsShapeOnly(n)) return users.filter((u) => !readsShapeOnly(u));
  return users;
}

function readsShapeOnly(n: NodeProto): boolean {
  return n.opType === 'Shape' || n.opType === 'Size';
}

/**
 * A channel shuffle starts at `reshape`: it splits the channels of a feature map into g groups (g its
 * output's axis 1, 1 < g < C, as torchvision's [N, g, C/g, H, W] and Megvii's [N·C/2, 2, H·W] write
 * it), and its one reader is a Transpose that moves that axis.
 */
function startsChannelShuffle(ctx: Ctx, reshape: NodeProto): boolean {
  if (reshape.opType !== 'Reshape') return false;
  const c = featureMapDims(ctx, reshape.inputs[0]!)?.[1];
  const g = dimsOf(ctx, reshape.outputs[0]!)?.[1];
  if (!c || !g || !(g > 1 && g < c && c % g === 0)) return false;
  const next = dataConsumers(ctx, pastFakeQuant(ctx, reshape.outputs[0]!));
  const perm = next.length === 1 && next[0]!.opType === 'Transpose' ? attrInts(next[0]!, 'perm') : undefined;
  return !!perm && perm[1] !== 1;
}

/** A channel shuffle right after a tensor (ShuffleNet v2 units end with one). */
export function feedsChannelShuffle(ctx: Ctx, t: string): boolean {
  // Past the QuantizeLinear → DequantizeLinear pair a QDQ model puts after it.
  const users = dataConsumers(ctx, pastFakeQuant(ctx, t));
  return users.length === 1 && startsChannelShuffle(ctx, users[0]!);
}

/**
 * A tensor a channel shuffle computed: its Transpose, reshaped again or not. Megvii's ShuffleNetV2(+)
 * shuffles at the start of a unit and takes the two halves of the result, so a unit's halves meet there.
 */
export function isShuffled(ctx: Ctx, t: string): boolean {
  let p = producerOf(ctx, t);
  if (p?.opType === 'Reshape') p = producerOf(ctx, p.inputs[0]!);
  if (p?.opType !== 'Transpose') return false;
  const before = producerOf(ctx, p.inputs[0]!);
  return !!before && startsChannelShuffle(ctx, before);
}

/** A concat across the channels: axis 1 (or -3) of rank-4 tensors, axis 1 of 1-D and 3-D feature maps. */
export function isChannelConcat(ctx: Ctx, n: NodeProto): boolean {
  const rank = dimsOf(ctx, n.outputs[0]!)?.length;
  const axis = n.attributes.find((a) => a.name === 'axis')?.i ?? 0;
  if (rank === 4) return axis === 1 || axis === -3;
  // A 1-D or 3-D map's concat: across axis 1 of a tensor the graph lays out channels first.
  return rank !== undefined && axis + (axis < 0 ? rank : 0) === 1 && isFeatureMap(ctx, n.outputs[0]!);
}

/**
 * A NAS cell's output (NASNet-A, PNASNet, AmoebaNet, DARTS): a channel Concat of ≥2 pairwise sums of the
 * cell's operations (separable convs, pools, identities), one at least adding two maps neither computed
 * from the other. No SE paper places SE in or after such a cell; its sums are no residual units.
 */
export function isNasCellConcat(ctx: Ctx, concat: NodeProto): boolean {
  let known = ctx.nasCells.get(concat);
  if (known === undefined) ctx.nasCells.set(concat, (known = nasCellConcat(ctx, concat)));
  return known;
}

function nasCellConcat(ctx: Ctx, concat: NodeProto): boolean {
  if (concat.opType !== 'Concat' || !isChannelConcat(ctx, concat)) return false;
  const sums = concat.inputs.map((t) => producerOf(ctx, t)).filter((p): p is NodeProto => p?.opType === 'Add' && dataInputs(ctx, p).length === 2 && dataInputs(ctx, p).every((i) => isFeatureMap(ctx, i)));
  if (sums.length < 2) return false;
  return sums.some((s) => {
    const [a, b] = dataInputs(ctx, s) as [string, string];
    return a !== b && regionBetween(ctx, a, [b]).size === 0 && regionBetween(ctx, b, [a]).size === 0;
  });
}

/** The NAS cell (its Concat) that `t` is an operation of: followed through single readers to a sum that such a cell concatenates. */
export function nasCellOf(ctx: Ctx, t: string): NodeProto | undefined {
  for (let i = 0; i < 16; i++) {
    const readers = dataConsumers(ctx, t);
    if (readers.length !== 1 || !readers[0]!.outputs[0]) return undefined;
    const r = readers[0]!;
    if (r.opType === 'Add') {
      const cat = dataConsumers(ctx, r.outputs[0]!);
      return cat.length === 1 && isNasCellConcat(ctx, cat[0]!) ? cat[0] : undefined;
    }
    t = r.outputs[0]!;
  }
  return undefined;
}
