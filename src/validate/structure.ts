// checkStructure: what the ONNX checker or onnxruntime would reject, found without running anything.
// It adds to lintGraph (order, definitions, unique producers) three table-driven checks on default-domain
// nodes: the op exists at the model's opset, attribute types are right, and the shapes that ValueInfo and
// initializers state agree (Conv channels, Gemm/MatMul inner dims, elementwise broadcast). Shapes are
// only those written in the model; nothing is inferred, so a check with an unknown side is skipped.
// Custom domains are not checked: their schemas are not ours to know.

import { SeInjectError, quote } from '../errors.js';
import { inputProblems, lintProblems } from '../ir/lint.js';
import type { LintProblem } from '../ir/lint.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { NodeValueIds } from '../ir/value-ids.js';
import { AttrType, DataType, elementCount } from '../onnx/proto.js';
import type { AttributeProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { ARITY, ATTR_TYPES, DEPRECATED, MOVED_TO_INPUT, OP_SINCE } from './op-tables.js';

/** A shape as the model states it; undefined marks a dimension it leaves open. */
type Dims = readonly (number | undefined)[];
/** A check of one node, the one `stated` shows: it adds what it finds to `out` (nothing, most of the time, and nothing is built). */
type ShapeRule = (n: NodeProto, stated: StatedShapes, out: string[]) => void;

/**
 * Refuses an input that breaks the rules its output would be held to: a model that is already invalid
 * must not come out "converted". Duplicate node names, which ONNX tolerates, are left alone.
 */
export function checkInputModel(model: Model, lint: readonly LintProblem[] = inputProblems(model.graph)): void {
  const tolerated = new Set(lint.filter((p) => p.kind === 'name').map((p) => p.message));
  const problems = checkStructure(model, lint).filter((p) => !tolerated.has(p));
  if (!problems.length) return;
  const more = problems.length > 1 ? ` (1 of ${problems.length} problems; onnx.checker.check_model lists them)` : '';
  throw new SeInjectError('input', `${quote(model.label)}: the input model is invalid: ${problems[0]}${more}`);
}

/**
 * What validation finds wrong in a pair without running it: the original held to the rules every input is
 * (duplicate node names tolerated, as ONNX and onnxruntime tolerate them), the injected model to every rule,
 * but the duplicate node names it keeps from the original: only a name the rewrite duplicated is its own.
 */
export function checkPairStructure(original: Model, injected: Model): { original: string[]; injected: string[] } {
  const inherited = new Set<string>();
  const seen = new Set<string>();
  for (const n of original.graph.nodes) {
    if (!n.name) continue;
    if (seen.has(n.name)) inherited.add(n.name);
    else seen.add(n.name);
  }
  const lint = lintProblems(injected.graph).filter((p) => p.kind !== 'name' || !inherited.has(p.nodeName!));
  return { original: checkStructure(original, inputProblems(original.graph)), injected: checkStructure(injected, lint) };
}

/** `lint`: the graph's lint problems when the caller has them already (they are not found twice). */
export function checkStructure(model: Model, lint: readonly LintProblem[] = lintProblems(model.graph)): string[] {
  const problems = [...modelRules(model), ...lint.map((p) => p.message), ...tensorRules(model)];
  if (model.proto.irVersion >= 1 && model.proto.irVersion < 4) {
    // IR 3 (ONNX < 1.3, torch.onnx.export at opset 7 and 8): an initializer is a default for a graph input.
    const declared = new Set(model.graph.proto.inputs.map((v) => v.name));
    const missing = model.graph.proto.initializers.filter((t) => !declared.has(t.name)).map((t) => t.name);
    if (missing.length) problems.push(`IR version ${model.proto.irVersion} requires every initializer to be a graph input; ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''} are not`);
  }
  const opset = model.opset;
  const nodes = model.graph.nodes;
  const unversioned = opset === 0 ? nodes.filter((n) => isDefaultDomain(n.domain)).length : 0;
  if (unversioned > 0) {
    problems.push(`the model imports no version of the default ONNX domain, yet ${unversioned} nodes use it; add an opset_import entry for domain ''`);
    return problems;
  }
  const stated = new StatedShapes(model);
  const byOp = new Map<string, OpRules>();
  let convUnfit: ReadonlyMap<string, TensorProto> | undefined;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (!isDefaultDomain(n.domain)) continue;
    let rules = byOp.get(n.opType);
    if (!rules) byOp.set(n.opType, (rules = opRules(n.opType)));
    checkOp(n, rules, opset, problems);
    checkArity(n, rules.arity, problems);
    checkAttributes(n, rules, opset, problems);
    checkSparseReads(model, n, problems);
    if (rules.shape) rules.shape(n, stated.show(n, i), problems);
    if (n.opType === 'Conv') convTypes((convUnfit ??= convUnfitInitializers(model)), n, problems);
  }
  return problems;
}

/** What the tables say of one op type: read once per op type, where a graph has 10^5 nodes of a few. */
interface OpRules {
  since?: number;
  deprecated?: { since: number; use: string };
  arity?: readonly [number, number, number, number];
  /** ATTR_TYPES of the op, in a Map: an attribute name from the decoder is no V8-internalized key. */
  attrTypes: ReadonlyMap<string, AttrType>;
  /** Some attribute of the op is an input from a later opset on (MOVED_TO_INPUT). */
  moved: boolean;
  shape?: ShapeRule;
}

function opRules(op: string): OpRules {
  return { since: OP_SINCE.get(op), deprecated: DEPRECATED[op], arity: ARITY[op], attrTypes: new Map(Object.entries(ATTR_TYPES[op] ?? {})), moved: MOVED_OPS.has(op), shape: SHAPE_RULES[op] };
}

/** Where a node's problem is: built only for a problem found. */
function at(n: NodeProto): string {
  return `node ${nodeLabel(n)}`;
}

/** The newest IR version se-inject knows (ONNX 1.18); opsets up to 24 need no newer one. */
const MAX_IR_VERSION = 11;

function modelRules(model: Model): string[] {
  const problems: string[] = [];
  const ir = model.proto.irVersion;
  if (!Number.isSafeInteger(ir) || ir < 1 || ir > MAX_IR_VERSION) {
    problems.push(`ir_version ${Number.isInteger(ir) ? BigInt(ir) : ir} is not an ONNX IR version (1 to ${MAX_IR_VERSION}); write the IR version of the ONNX release that exported it`);
  }
  if (!model.graph.proto.name) problems.push(`the graph has no name, which ONNX requires (graph.name must not be empty); name it, as onnx does: model.graph.name = 'main_graph'`);
  const seen = new Map<string, number>();
  for (const o of model.proto.opsetImport) {
    const domain = o.domain === 'ai.onnx' ? '' : o.domain;
    const shown = domain ? `domain ${quote(domain)}` : 'the default domain';
    if (seen.has(domain)) problems.push(`opset_import lists ${shown} twice (versions ${seen.get(domain)} and ${o.version}); keep one`);
    else seen.set(domain, o.version);
    if (!Number.isSafeInteger(o.version) || o.version < 1) problems.push(`opset_import gives ${shown} version ${o.version}; versions count from 1`);
  }
  return problems;
}

/** TensorProto.DataType values ONNX defines (UNDEFINED, 0, is not a type a tensor can have). */
const MAX_DATA_TYPE = 26;
/** TensorProto fields that hold values: float_data, int32_data, string_data, int64_data, double_data, uint64_data. */
const TYPED_DATA_FIELDS = new Set([4, 5, 6, 7, 10, 11]);

function tensorRules(model: Model): string[] {
  const problems: string[] = [];
  const inits = model.graph.proto.initializers;
  for (let i = 0; i < inits.length; i++) {
    const t = inits[i]!;
    if (!Number.isInteger(t.dataType) || t.dataType < 1 || t.dataType > MAX_DATA_TYPE) {
      problems.push(`initializer ${quote(t.name)} has data type ${typeName(t.dataType)}, which is not a tensor element type; write the type it holds (FLOAT is 1)`);
    }
    const holds = t.rawData !== undefined || t.dataLocation === 1 || t.extras.some((e) => TYPED_DATA_FIELDS.has(e.no));
    if (!holds && elementCount(t.dims) > 0) {
      problems.push(`initializer ${quote(t.name)} declares ${t.dims.join('×') || 'a scalar'} but holds no data (no raw_data, typed data or external data); give it its values`);
    }
  }
  return problems;
}

function typeName(dataType: number): string {
  const name = (DataType as unknown as Record<number, string>)[dataType];
  return name ? `${name} (${dataType})` : String(dataType);
}

function checkArity(n: NodeProto, arity: OpRules['arity'], out: string[]): void {
  if (!arity) return;
  const minIn = arity[0], maxIn = arity[1], minOut = arity[2], maxOut = arity[3];
  const emptyRequired = requiredLeftEmpty(n.inputs, minIn);
  if (n.inputs.length < minIn || n.inputs.length > maxIn || emptyRequired) {
    out.push(`${at(n)}: ${n.opType} takes ${range(minIn, maxIn, 'input')}, but the node has ${n.inputs.length}${emptyRequired ? ' (a required one left empty)' : ''}; give it the inputs ONNX defines`);
  }
  if (n.outputs.length < minOut || n.outputs.length > maxOut || n.outputs[0] === '') {
    out.push(`${at(n)}: ${n.opType} writes ${range(minOut, maxOut, 'output')}, but the node lists ${n.outputs.length}; give it the outputs ONNX defines`);
  }
}

function requiredLeftEmpty(inputs: readonly string[], required: number): boolean {
  for (let i = 0; i < required && i < inputs.length; i++) if (inputs[i] === '') return true;
  return false;
}

function range(lo: number, hi: number, what: string): string {
  return `${lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} to ${hi}`} ${what}${hi === 1 ? '' : 's'}`;
}

/** Default-domain operators take dense tensors: a sparse initializer must be densified before one reads it. */
function checkSparseReads(model: Model, n: NodeProto, out: string[]): void {
  const sparse = model.graph.proto.sparseInitializerNames;
  if (!sparse.length) return;
  for (const i of n.inputs) {
    if (i && sparse.includes(i)) out.push(`${at(n)} reads ${quote(i)}, a sparse initializer; ONNX operators take dense tensors — store ${quote(i)} as a dense initializer`);
  }
}

function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

function nodeLabel(n: NodeProto): string {
  return n.name || `${n.opType} writing ${n.outputs[0] ?? '?'}`;
}

function checkOp(n: NodeProto, rules: OpRules, opset: number, out: string[]): void {
  const since = rules.since;
  if (since === undefined) {
    out.push(`${at(n)} uses ${n.opType}, which is not an ONNX operator; fix the op type or put the node in a custom domain`);
    return;
  }
  if (since > opset) {
    out.push(`${at(n)} uses ${n.opType}, which ONNX added in opset ${since}, but the model imports opset ${opset}; raise the default-domain opset import to ${since} or replace the op`);
    return;
  }
  const deprecated = rules.deprecated;
  if (deprecated && opset >= deprecated.since) {
    out.push(`${at(n)} uses ${n.opType}, deprecated since opset ${deprecated.since} (the model imports ${opset}); replace it with ${deprecated.use}`);
  }
}

/** Ops with an attribute that later opsets take as an input: the only ones MOVED_TO_INPUT is searched for. */
const MOVED_OPS: ReadonlySet<string> = new Set(MOVED_TO_INPUT.flatMap((m) => m.ops));

function checkAttributes(n: NodeProto, rules: OpRules, opset: number, out: string[]): void {
  const attributes = n.attributes;
  if (!attributes.length) return;
  const expected = rules.attrTypes;
  const seen = repeatsAName(attributes) ? new Set<string>() : undefined;
  for (let i = 0; i < attributes.length; i++) {
    const a = attributes[i]!;
    if (seen) {
      if (seen.has(a.name)) out.push(`${at(n)} sets attribute ${a.name} twice; keep one`);
      seen.add(a.name);
    }
    const moved = rules.moved ? MOVED_TO_INPUT.find((m) => m.since <= opset && m.ops.includes(n.opType) && m.attrs.includes(a.name)) : undefined;
    if (moved) {
      out.push(`${at(n)} has attribute ${a.name}, which ${n.opType} takes as an input from opset ${moved.since} on (the model imports ${opset}); pass it as an input instead`);
      continue;
    }
    const want = expected.get(a.name);
    if (want === undefined) continue;
    const got = attrType(a);
    if (got !== want) {
      out.push(`${at(n)}: attribute ${a.name} of ${n.opType} is ${AttrType[got]}, but ONNX defines it as ${AttrType[want]}; write it as ${AttrType[want]}`);
    }
  }
}

/**
 * Whether two attributes may share a name: checked by comparing names for the few attributes an op
 * has, so that only a node with a repeat, or with very many attributes, needs a set to find it.
 */
function repeatsAName(attributes: readonly AttributeProto[]): boolean {
  if (attributes.length > 16) return true;
  for (let j = 1; j < attributes.length; j++) {
    for (let i = 0; i < j; i++) if (attributes[i]!.name === attributes[j]!.name) return true;
  }
  return false;
}

/** The declared type, or for attributes written before IR 2 (no type field) the field that holds the value. */
function attrType(a: AttributeProto): AttrType {
  if (a.type !== AttrType.UNDEFINED) return a.type;
  if (a.f !== undefined) return AttrType.FLOAT;
  if (a.i !== undefined) return AttrType.INT;
  if (a.s !== undefined) return AttrType.STRING;
  if (a.t !== undefined) return AttrType.TENSOR;
  if (a.graphs !== undefined) return AttrType.GRAPH;
  if (a.floats !== undefined) return AttrType.FLOATS;
  if (a.ints !== undefined) return AttrType.INTS;
  return AttrType.UNDEFINED;
}

function intAttr(n: NodeProto, name: string, fallback: number): number {
  return n.attributes.find((a) => a.name === name)?.i ?? fallback;
}

/**
 * The shapes the model states for the inputs of the node it shows: from graph inputs, outputs and
 * value_info; an initializer's dims before them, since they are exact (the last initializer of a name,
 * as the graph's own map holds it). A node's inputs are found by the value ids the graph read them with
 * while its lists are those it read: most inputs are no initializer, and asking the map of every
 * initializer by name would miss in the CPU's cache for each.
 */
class StatedShapes {
  private readonly stated = new Map<string, Dims>();
  private readonly graph: Graph;
  private readonly ids: NodeValueIds;
  private node?: NodeProto;
  private at = -1;
  private byId = false;

  constructor(model: Model) {
    const g = model.graph.proto;
    for (const list of [g.inputs, g.outputs, g.valueInfo]) {
      for (const v of list) if (v.type?.shape) this.stated.set(v.name, v.type.shape.map((d) => d.value));
    }
    this.graph = model.graph;
    this.ids = model.graph.valueIds();
  }

  /** Shows node i of the graph's list. */
  show(n: NodeProto, i: number): this {
    this.node = n;
    this.at = i;
    this.byId = this.ids.matches(i, n);
    return this;
  }

  /** The stated shape of the shown node's input j. */
  input(j: number): Dims | undefined {
    const name = this.node!.inputs[j] ?? '';
    const id = this.byId && name ? this.ids.input(this.at, j) : -1;
    const t = id >= 0 ? this.graph.initializerOfId(id) : this.graph.initializers.get(name);
    return t ? t.dims : this.stated.size ? this.stated.get(name) : undefined;
  }
}

function fmt(d: Dims): string {
  return `[${d.map((x) => x ?? '?').join(',')}]`;
}

function known(a: number | undefined, b: number | undefined): boolean {
  return a !== undefined && b !== undefined;
}

/** Conv's T: float16, float, double (bfloat16 from opset 22). */
const CONV_TYPES = new Set<number>([DataType.FLOAT16, DataType.FLOAT, DataType.DOUBLE, DataType.BFLOAT16]);

/**
 * The initializers (the graph's, the last of each name) of an element type Conv does not take, by name:
 * few or none, so that checking each Conv's weight and bias asks a small map, not every initializer's.
 */
function convUnfitInitializers(model: Model): ReadonlyMap<string, TensorProto> {
  const unfit = new Map<string, TensorProto>();
  model.graph.initializers.forEach((t, name) => {
    const type = t.dataType;
    // The model's own float type first: most initializers have it, and a Set is asked for the rest.
    if (type !== DataType.FLOAT && !CONV_TYPES.has(type) && type >= 1 && type <= MAX_DATA_TYPE) unfit.set(name, t);
  });
  return unfit;
}

/** `unfit`: convUnfitInitializers of the model. */
function convTypes(unfit: ReadonlyMap<string, TensorProto>, n: NodeProto, out: string[]): void {
  if (!unfit.size) return;
  for (let i = 1; i < 3 && i < n.inputs.length; i++) {
    const name = n.inputs[i]!;
    const t = name ? unfit.get(name) : undefined;
    if (!t) continue;
    out.push(`${at(n)}: Conv ${i === 1 ? 'weight' : 'bias'} ${quote(name)} is ${typeName(t.dataType)}; Conv takes float16, float, bfloat16 or double tensors — store it as the model's float type`);
  }
}

const convRule: ShapeRule = (n, stated, out) => {
  const xName = n.inputs[0] ?? '', wName = n.inputs[1] ?? '', bName = n.inputs[2] ?? '';
  // Each side looked up only while the ones before it are known (the input's shape is seldom stated).
  const x = stated.input(0);
  const w = x && stated.input(1);
  if (!x || !w) return;
  const b = bName ? stated.input(2) : undefined;
  if (w.length !== x.length) {
    out.push(`${at(n)}: Conv weight ${wName} ${fmt(w)} has rank ${w.length} but input ${xName} ${fmt(x)} has rank ${x.length}; the weight must be [C_out, C_in/group, kernel...] with the input's rank`);
    return;
  }
  const group = intAttr(n, 'group', 1);
  if (known(x[1], w[1]) && w[1]! * group !== x[1]) {
    out.push(`${at(n)}: Conv weight ${wName} ${fmt(w)} takes ${w[1]}×${group} (group) = ${w[1]! * group} input channels but ${xName} has ${x[1]}; make the weight's second dimension ${xName}'s channels / group`);
  }
  if (b && known(b[0], w[0]) && (b.length !== 1 || b[0] !== w[0])) {
    out.push(`${at(n)}: Conv bias ${bName} ${fmt(b)} must be [${w[0]}], one value per output channel of ${wName}`);
  }
};

const gemmRule: ShapeRule = (n, stated, out) => {
  const aName = n.inputs[0] ?? '', bName = n.inputs[1] ?? '';
  const a = stated.input(0), b = stated.input(1);
  if (!a || !b || a.length !== 2 || b.length !== 2) return;
  const kA = intAttr(n, 'transA', 0) ? a[0] : a[1];
  const kB = intAttr(n, 'transB', 0) ? b[1] : b[0];
  if (!known(kA, kB) || kA === kB) return;
  out.push(`${at(n)}: Gemm inner dimensions disagree: ${aName} ${fmt(a)} gives K=${kA}, ${bName} ${fmt(b)} gives K=${kB} (transA=${intAttr(n, 'transA', 0)}, transB=${intAttr(n, 'transB', 0)}); transpose or reshape one side`);
};

const matMulRule: ShapeRule = (n, stated, out) => {
  const aName = n.inputs[0] ?? '', bName = n.inputs[1] ?? '';
  const a = stated.input(0), b = stated.input(1);
  if (!a?.length || !b?.length) return;
  const kA = a[a.length - 1], kB = b.length === 1 ? b[0] : b[b.length - 2];
  if (!known(kA, kB) || kA === kB) return;
  out.push(`${at(n)}: MatMul inner dimensions disagree: ${aName} ${fmt(a)} ends in ${kA}, ${bName} ${fmt(b)} needs ${kB}; transpose or reshape one side`);
};

/** Numpy broadcasting: aligned from the right, each dimension pair equal or one of them 1. */
const broadcastRule: ShapeRule = (n, stated, out) => {
  const aName = n.inputs[0] ?? '', bName = n.inputs[1] ?? '';
  const a = stated.input(0);
  const b = a && stated.input(1);
  // Before opset 7 a `broadcast` attribute with `axis` aligned B anywhere in A; that older rule is not checked.
  if (!a || !b || n.attributes.some((attr) => attr.name === 'broadcast')) return;
  for (let i = 1; i <= Math.min(a.length, b.length); i++) {
    const x = a[a.length - i], y = b[b.length - i];
    if (known(x, y) && x !== y && x !== 1 && y !== 1) {
      out.push(`${at(n)}: ${n.opType} cannot broadcast ${aName} ${fmt(a)} with ${bName} ${fmt(b)} (${x} vs ${y}, dimension ${-i}); dimensions must match or be 1, aligned from the right`);
      return;
    }
  }
};

const SHAPE_RULES: Readonly<Record<string, ShapeRule>> = {
  Conv: convRule,
  Gemm: gemmRule,
  MatMul: matMulRule,
  Add: broadcastRule, Sub: broadcastRule, Mul: broadcastRule, Div: broadcastRule,
};
