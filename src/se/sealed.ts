// SE blocks held sealed (src/ir/sealed.ts): one record per block, made into bytes or nodes only when
// written or read. Every block of one shape has the same structure, so one template per shape is built
// (by buildSE, the one builder), checked and counted; a block differs from its template only in its
// name prefix, the tensor it scales and its weights, which are drawn again from the block's own stream
// by the template's recipes. The bytes are those encodeNode and encodeTensor write for the nodes
// buildSE would build for the block (a test holds the two equal for every block kind and option);
// they are written from the template's layout for the block's name lengths (layout.ts).

import type { SealedBlock } from '../ir/graph.js';
import type { ByteSink } from '../ir/sealed.js';
import { elementBytes, encodeAttribute } from '../onnx/proto.js';
import { WireWriter, utf8Length } from '../onnx/wire.js';
import type { AttributeProto, NodeProto, TensorProto } from '../onnx/proto.js';
import { blockStream, buildSE, initialBytes } from './build.js';
import type { BuiltSE, SEBlockPlan, SEOptions, WeightInit } from './build.js';
import { layOut, writeLayout } from './layout.js';
import type { BlockNames, LaidWeight, Layout, Part, Scratch } from './layout.js';
import { namesUnderFreshPrefix } from './names.js';

/** A name in the template: fixed, the block's prefix followed by a suffix, or the tensor it scales. */
type Slot = { fixed: string } | { suffix: string } | 'tensor';

interface NodeRecipe {
  opType: string;
  inputs: Slot[];
  outputs: Slot[];
  name: Slot;
  attributes: readonly AttributeProto[];
  /** Its metadata: the block tag, whose value is the prefix. */
  tagKey: string;
}

interface WeightRecipe extends LaidWeight {
  name: Slot;
  dims: readonly number[];
}

/** The template laid out for one pair of name lengths. */
interface Layouts {
  nodes: Layout;
  initializers: Layout;
}

/** What every block of one shape shares: built once, under the first block's prefix. */
export interface BlockTemplate {
  /** The block built under the first block's prefix, its He weights zero (undrawn): for checks and counts. */
  built: BuiltSE;
  /** The block's output is its prefix followed by this. */
  outputSuffix: string;
  opTypes: readonly string[];
  nodes: NodeRecipe[];
  weights: WeightRecipe[];
  /** The encodings as parts: GraphProto `node` fields, then `initializer` fields. */
  nodeParts: Part[];
  weightParts: Part[];
  /** Layouts by name lengths (prefix · KEYED_LENGTH + tensor), made when first asked for; and the last one asked for. */
  layouts: Map<number, Layouts>;
  last: { key: number; layouts: Layouts | undefined };
  /** Float32 weights are drawn into these, one per weight, from block to block. */
  scratch: Scratch[];
}

const utf8 = new TextEncoder();

export function blockTemplate(plan: SEBlockPlan, o: SEOptions): BlockTemplate {
  // Its He weights are left undrawn: every block draws its own from its stream by the recipes.
  const built = buildSE(plan, o, namesUnderFreshPrefix(), 'undrawn');
  const under = `${plan.prefix}/`;
  const slot = (s: string): Slot => {
    if (s === plan.tensor) return 'tensor';
    if (s.startsWith(under)) return { suffix: s.slice(plan.prefix.length) };
    return { fixed: s };
  };
  if (!built.output.startsWith(under)) throw new Error(`IR: the SE block's output ${built.output} is not under its prefix ${plan.prefix}`);
  const nodes = built.nodes.map((n): NodeRecipe => {
    const tag = n.metadataProps[0];
    if (n.domain || n.extras.length || n.metadataProps.length !== 1 || tag?.value !== plan.prefix) {
      throw new Error(`IR: the SE block's ${n.opType} is not in the form sealed blocks are written in`);
    }
    return { opType: n.opType, inputs: n.inputs.map(slot), outputs: n.outputs.map(slot), name: slot(n.name), attributes: n.attributes, tagKey: tag.key };
  });
  const weights = built.initializers.map((t, i): WeightRecipe => {
    const count = t.dims.reduce((a, b) => a * b, 1);
    const init = built.recipes[i]!;
    const length = init.kind === 'fixed' ? init.bytes.length : count * (elementBytes(t.dataType) ?? 4);
    return { name: slot(t.name), dims: t.dims.slice(), dataType: t.dataType, count, init, length };
  });
  return {
    built, outputSuffix: built.output.slice(plan.prefix.length), opTypes: Object.freeze(built.nodes.map((n) => n.opType)), nodes, weights,
    nodeParts: nodes.map(nodeParts), weightParts: weights.map(weightParts), layouts: new Map(), last: { key: -1, layouts: undefined }, scratch: [],
  };
}

function slotParts(s: Slot): Part[] {
  return s === 'tensor' ? ['tensor'] : 'fixed' in s ? [utf8.encode(s.fixed)] : ['prefix', utf8.encode(s.suffix)];
}

function field(no: number, parts: Part[], ifNotEmpty = false): Part {
  return { no, parts, ifNotEmpty };
}

/** A node as encodeNode writes it: inputs, outputs, name, op_type, attributes, metadata. */
function nodeParts(r: NodeRecipe): Part {
  const tag = [...(r.tagKey ? [field(1, [utf8.encode(r.tagKey)])] : []), field(2, ['prefix'], true)];
  return field(1, [
    ...r.inputs.map((s) => field(1, slotParts(s))),
    ...r.outputs.map((s) => field(2, slotParts(s))),
    field(3, slotParts(r.name), true),
    field(4, [utf8.encode(r.opType)]),
    ...r.attributes.map((a) => field(5, [encodeAttribute(a).toBytes()])),
    field(9, tag),
  ]);
}

/** A weight as encodeTensor writes it: dims, data_type, name, raw_data. */
function weightParts(w: WeightRecipe, index: number): Part {
  const head = new WireWriter();
  if (w.dims.length) head.packedInt64Field(1, w.dims);
  if (w.dataType) head.varintField(2, w.dataType);
  return field(5, [head.toBytes(), field(8, slotParts(w.name), true), field(9, [{ weight: index }])]);
}

/** Blocks of one shape with their own prefix and tensor: the signature the template cache is keyed by. */
export function templateKey(plan: SEBlockPlan, dims: readonly number[]): string {
  return JSON.stringify([dims, plan.channels, plan.reduceChannels, plan.ratio, plan.dtype, plan.gate, plan.opset]);
}

/** Do two blocks share a template (the same templateKey), told without building the keys? Blocks in a row mostly do. */
export function sameTemplate(a: SEBlockPlan, aDims: readonly number[], b: SEBlockPlan, bDims: readonly number[]): boolean {
  if (a.channels !== b.channels || a.reduceChannels !== b.reduceChannels || a.ratio !== b.ratio || a.dtype !== b.dtype || a.gate !== b.gate || a.opset !== b.opset) return false;
  if (aDims.length !== bDims.length) return false;
  for (let i = 0; i < aDims.length; i++) if (aDims[i] !== bDims[i]) return false;
  return true;
}

/** Past this many, a template's layouts are made again rather than kept (names of ever new lengths). */
const KEPT_LAYOUTS = 256;
/** Name lengths a layout is kept for: below this, each (a small integer key for both). */
const KEYED_LENGTH = 2 ** 15;

function layoutsFor(t: BlockTemplate, prefixLength: number, tensorLength: number): Layouts {
  const keyed = prefixLength < KEYED_LENGTH && tensorLength < KEYED_LENGTH;
  const key = keyed ? prefixLength * KEYED_LENGTH + tensorLength : -1;
  // Blocks in a row mostly have names of the lengths of the one before.
  if (keyed && t.last.key === key) return t.last.layouts!;
  let l = keyed ? t.layouts.get(key) : undefined;
  if (!l) {
    l = { nodes: layOut(t.nodeParts, prefixLength, tensorLength, t.weights), initializers: layOut(t.weightParts, prefixLength, tensorLength, t.weights) };
    if (t.layouts.size >= KEPT_LAYOUTS) t.layouts.clear();
    if (keyed) t.layouts.set(key, l);
  }
  t.last.key = key;
  t.last.layouts = l;
  return l;
}

/** One SE block as a record: its plan (prefix, tensor), the options and its template. */
export class SealedSE implements SealedBlock {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  /** UTF-8 lengths of the prefix and the tensor: which layout the block is written by. */
  private readonly prefixLength: number;
  private readonly tensorLength: number;

  constructor(private readonly plan: SEBlockPlan, private readonly options: SEOptions, private readonly template: BlockTemplate) {
    this.reads = [plan.tensor];
    this.writes = [plan.prefix + template.outputSuffix];
    this.prefixLength = utf8Length(plan.prefix);
    this.tensorLength = utf8Length(plan.tensor);
  }

  get opTypes(): readonly string[] {
    return this.template.opTypes;
  }

  /** The nodes and weights buildSE would build for this block. */
  expand(): { nodes: NodeProto[]; initializers: TensorProto[] } {
    const p = this.plan.prefix;
    const text = (s: Slot) => (s === 'tensor' ? this.plan.tensor : 'fixed' in s ? s.fixed : p + s.suffix);
    const tag = Object.freeze([{ key: this.template.nodes[0]?.tagKey ?? '', value: p }]);
    const nodes = this.template.nodes.map((r): NodeProto => ({
      name: text(r.name), opType: r.opType, domain: '', inputs: r.inputs.map(text), outputs: r.outputs.map(text), attributes: r.attributes,
      metadataProps: tag, extras: [], src: undefined,
    }));
    const rng = blockStream(this.options.seed, p);
    const initializers = this.template.weights.map((w): TensorProto => ({
      name: text(w.name), dataType: w.dataType, dims: w.dims.slice(), rawData: initialBytes(w.init, w.count, w.dataType, rng),
      externalData: [], dataLocation: 0, extras: [],
    }));
    return { nodes, initializers };
  }

  get nodeBytesLength(): number {
    return this.layouts().nodes.length;
  }

  get initializerBytesLength(): number {
    return this.layouts().initializers.length;
  }

  writeNodes(out: ByteSink): void {
    writeLayout(out, this.layouts().nodes, this.names(), this.template.weights, undefined, this.template.scratch);
  }

  writeInitializers(out: ByteSink): void {
    const rng = blockStream(this.options.seed, this.plan.prefix);
    writeLayout(out, this.layouts().initializers, this.names(), this.template.weights, rng, this.template.scratch);
  }

  private layouts(): Layouts {
    return layoutsFor(this.template, this.prefixLength, this.tensorLength);
  }

  private names(): BlockNames {
    return { prefix: this.plan.prefix, prefixLength: this.prefixLength, tensor: this.plan.tensor, tensorLength: this.tensorLength };
  }
}
