// Inserting the planned blocks: build each, rewire its readers, put it after the node that computes the
// tensor it scales, check what changed, and count what it adds.
//
// A block is held sealed (one record, src/se/sealed.ts) when the names under its prefix are free in the
// model and its output is not a graph output; otherwise it is inserted as nodes. Every sealed block of
// one shape shares a template, which is checked (lint), inferred and counted once: a graph of 20,000
// residual blocks then costs 20,000 records, not 160,000 nodes' worth of objects and checks.

import { addMacs, countMacs, countParams, nodeMacs } from '../analysis/cost.js';
import type { MacCount, ParamCount } from '../analysis/cost.js';
import { constantShape, inferNodes } from '../analysis/shapes.js';
import type { ShapeMap } from '../analysis/shapes.js';
import { ValueShapes } from '../analysis/value-shapes.js';
import { SeInjectError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import type { InsertGroup, NodeIndex } from '../ir/graph.js';
import { lintNodes, lintProblems } from '../ir/lint.js';
import type { Model } from '../ir/model.js';
import type { NodeProto, TensorProto } from '../onnx/proto.js';
import type { PlannedBlock } from '../report/build.js';
import { buildSE } from './build.js';
import type { SEBlockPlan, SEOptions } from './build.js';
import { anyNameStartsWith, freshNames } from './names.js';
import type { FreshNames } from './names.js';
import { SealedSE, blockTemplate, sameTemplate, templateKey } from './sealed.js';
import type { BlockTemplate } from './sealed.js';

export interface InsertOptions extends SEOptions {
  /** The user chose --gate: placements do not override it. */
  gateExplicit?: boolean;
}

export interface Inserted {
  macs: MacCount;
  params: ParamCount;
}

/** One shape's template with what its check found: the MACs of one block by op. */
interface CheckedTemplate {
  template: BlockTemplate;
  macs: { total: number; byOp: Record<string, number> };
  /** How many blocks were inserted sealed from it. */
  inserted: number;
}

/** The prefix every block's names start with (`se/stage2.block3`), which sealing needs free. */
const BLOCK_NAMESPACE = 'se/';

/**
 * Inserts `blocks` into the model (which passed the whole lint) and returns the MACs and parameters
 * after. Sets each block's squeezeChannels, params and macs. `shapes` are the model's, `position` each
 * node's index in its list.
 */
export function insertBlocks(model: Model, blocks: PlannedBlock[], o: InsertOptions, shapes: ShapeMap, before: { macs: MacCount; params: ParamCount }, position: NodeIndex): Inserted {
  const g = model.graph;
  // Mixed with blocks inserted as nodes, sealed weights would come after theirs rather than in block order.
  const sealable = model.proto.irVersion >= 4 && !blocks.some((b) => g.isGraphOutput(b.site.tensor)) && !anyNameStartsWith(model, BLOCK_NAMESPACE);
  let names: FreshNames | undefined;
  const templates = new Map<string, CheckedTemplate>();
  // The template of the block before, and what it was made for: blocks in a row mostly share one.
  let previous: CheckedTemplate | undefined, previousPlan: SEBlockPlan | undefined, previousDims: readonly number[] = [];
  const groups: InsertGroup[] = [];
  const rewired: NodeProto[] = [];
  const asNodes: { block: PlannedBlock; nodes: NodeProto[]; weights: TensorProto[]; renamed?: [string, string] }[] = [];
  const opset = model.opset!;
  let readersFollow = true;
  // A site computed by a Constant changes which readers its elements have, and so the parameter count.
  let constantSite = false;
  // The model's shapes by value id, where they are kept so: one lookup of each site's name answers all.
  const byId = shapes instanceof ValueShapes && shapes.graph === g ? shapes : undefined;
  for (let k = 0; k < blocks.length; k++) {
    const b = blocks[k]!;
    // The plan expanded any sealed block (its node index reads every node): ids and producers are current.
    const id = g.valueId(b.site.tensor);
    const anchor = id >= 0 ? g.producerOfId(id) : undefined;
    const dims = (byId && id >= 0 ? byId.getId(id, b.site.tensor) : shapes.get(b.site.tensor))!.dims!;
    const plan = blockPlan(b, o, opset, dims);
    if (anchor?.opType === 'Constant' || anchor?.opType === 'ConstantOfShape') constantSite = true;
    if (!sealable) {
      const r = rewriteAsNodes(model, b, plan, o, (names ??= freshNames(model)), rewired);
      asNodes.push({ block: b, ...r });
      groups.push({ nodes: r.nodes, anchor });
      continue;
    }
    let t = previous && sameTemplate(plan, dims, previousPlan!, previousDims) ? previous : undefined;
    if (!t) {
      const key = templateKey(plan, dims);
      t = templates.get(key);
      if (!t) templates.set(key, (t = checkedTemplate(model, plan, o, shapes)));
    }
    previous = t;
    previousPlan = plan;
    previousDims = dims;
    const block = new SealedSE(plan, o, t.template);
    // The block goes right after the tensor's producer: its readers, which came after it, still do.
    const at = anchor ? position.producerAt(id) : -1;
    const readers = g.replaceUses(plan.tensor, block.writes[0]!, { only: readerIn(b.site.rewire) });
    for (let i = 0; i < readers.length; i++) {
      const r = readers[i]!;
      rewired.push(r);
      const readerAt = r === b.site.last ? b.site.lastAt : position.get(r);
      if (at < 0 || !(readerAt! > at)) readersFollow = false;
    }
    b.squeezeChannels = t.template.built.squeezeChannels;
    b.params = t.template.built.params;
    b.macs = t.macs.total;
    t.inserted++;
    groups.push({ sealed: block, anchor });
  }
  g.insertNodeGroups(groups);
  const added = asNodes.flatMap((r) => r.nodes);
  // Sealed blocks were checked on their template and their readers follow them: nothing else changed.
  if (added.length || !readersFollow) checkChanged(model, added, rewired);
  let macs = before.macs;
  if (added.length) {
    for (const r of asNodes) for (const w of r.weights) shapes.set(w.name, constantShape(w));
    for (const r of asNodes) if (r.renamed) shapes.set(r.renamed[0], shapes.get(r.renamed[1])!);
    inferNodes(shapes, added, model.opset);
    macs = addMacs(before.macs, added, shapes) ?? countMacs(g, shapes);
    for (const r of asNodes) r.block.macs = r.nodes.reduce((sum, n) => sum + (macs.perNode.get(n) ?? 0), 0);
  }
  macs = withTemplates(macs, templates.values());
  return { macs, params: constantSite ? countParams(g) : paramsAfter(before.params, blocks) };
}

/** The readers a site rewires, asked of each reader of its tensor: most sites name one or two, which need no set. */
function readerIn(rewire: readonly NodeProto[]): ReadonlySet<NodeProto> | ((reader: NodeProto) => boolean) {
  return rewire.length > 8 ? new Set(rewire) : (reader) => rewire.includes(reader);
}

/** The plan of one block's subgraph: what the builder needs to know of the site and the model. */
function blockPlan(b: PlannedBlock, o: InsertOptions, opset: number, dims: readonly number[]): SEBlockPlan {
  return {
    prefix: b.name, tensor: b.site.tensor, channels: b.channels, reduceChannels: b.reduceChannels, ratio: b.ratio, dtype: b.dtype,
    gate: b.site.gate && !o.gateExplicit ? b.site.gate : o.gate, opset, spatialAxes: b.spatialAxes, spatialDims: dims.slice(2),
  };
}

/**
 * A shape's template, checked as the graph check would check its nodes: in a graph of its own that
 * reads the scaled tensor as an input, the whole lint must pass, every value must get a shape and
 * every node a MAC count.
 */
function checkedTemplate(model: Model, plan: SEBlockPlan, o: SEOptions, shapes: ShapeMap): CheckedTemplate {
  const template = blockTemplate(plan, o);
  const { nodes, initializers, output } = template.built;
  const scaled = shapes.get(plan.tensor)!;
  const own = new Graph({
    name: 'template', nodes: nodes.slice(), initializers: initializers.slice(), valueInfo: [], sparseInitializerNames: [], extras: [],
    inputs: [{ name: plan.tensor, type: { elemType: scaled.dtype, shape: scaled.dims!.map((value) => ({ value })) } }],
    outputs: [{ name: output }],
  });
  const problems = lintProblems(own);
  if (problems.length) throw invalid(problems[0]!.message);
  const blockShapes: ShapeMap = new Map([[plan.tensor, scaled]]);
  for (const w of initializers) blockShapes.set(w.name, constantShape(w));
  inferNodes(blockShapes, nodes, model.opset);
  const byOp: Record<string, number> = {};
  let total = 0;
  for (const n of nodes) {
    const m = nodeMacs(n, blockShapes);
    if (m === undefined || !blockShapes.get(n.outputs[0]!)?.dims) throw invalid(`the shape of ${n.outputs[0]} of the SE block's ${n.opType} is unknown`);
    if (m) byOp[n.opType] = (byOp[n.opType] ?? 0) + m;
    total += m;
  }
  return { template, macs: { total, byOp }, inserted: 0 };
}

/** Builds one block as nodes and rewires its readers (a graph output keeps its name: the block takes it). */
function rewriteAsNodes(model: Model, b: PlannedBlock, plan: SEBlockPlan, o: SEOptions, names: FreshNames, rewired: NodeProto[]): { nodes: NodeProto[]; weights: TensorProto[]; renamed?: [string, string] } {
  const g = model.graph;
  const t = plan.tensor;
  const anchor = g.producer(t);
  // A graph output keeps its name: the scaled tensor takes it, and what the producer computed gets a
  // fresh one that only the block reads. Every other reader of the name then reads the scaled tensor.
  const output = g.isGraphOutput(t) && anchor ? names.value(`${b.name}/unscaled`) : undefined;
  if (output) {
    g.setOutput(anchor!, anchor!.outputs.indexOf(t), output);
    rewired.push(anchor!);
  }
  const built = buildSE({ ...plan, tensor: output ?? t }, o, names);
  if (output) {
    // The block's last node (not in the graph yet) writes the output's name.
    const last = built.nodes.findIndex((n) => n.outputs[0] === built.output);
    built.nodes[last] = { ...built.nodes[last]!, outputs: [t, ...built.nodes[last]!.outputs.slice(1)] };
  }
  for (const w of built.initializers) {
    g.addInitializer(w);
    if (model.proto.irVersion < 4) g.addInitializerInput(w);
  }
  if (!output) for (const reader of g.replaceUses(t, built.output, { only: readerIn(b.site.rewire) })) rewired.push(reader);
  b.squeezeChannels = built.squeezeChannels;
  b.params = built.params;
  return { nodes: built.nodes, weights: built.initializers, renamed: output ? [output, t] : undefined };
}

/**
 * The check before anything is written: the input passed the whole lint, so only the inserted nodes and
 * the readers rewired to them can break a promise; they are checked, and the graph is sorted again only
 * when an SE block went after a reader (a scaled graph input has no producer to follow).
 */
function checkChanged(model: Model, added: readonly NodeProto[], rewired: readonly NodeProto[]): void {
  const changed = added.concat(rewired);
  let problems = lintNodes(model.graph, changed);
  if (problems.some((p) => p.kind === 'order')) {
    model.graph.sortTopologically();
    problems = lintNodes(model.graph, changed);
  }
  if (problems.length) throw invalid(problems[0]!.message);
}

function invalid(message: string): SeInjectError {
  return new SeInjectError('internal', `se-inject produced an invalid graph (${message}); please report this with the model`);
}

/** MACs with each sealed template's counted as many times as it was inserted. */
function withTemplates(macs: MacCount, templates: Iterable<CheckedTemplate>): MacCount {
  let byOp: Record<string, number> | undefined;
  let total = macs.total;
  for (const t of templates) {
    const times = t.inserted;
    if (!times) continue;
    byOp ??= { ...macs.byOp };
    for (const [op, m] of Object.entries(t.macs.byOp)) byOp[op] = (byOp[op] ?? 0) + m * times;
    total += t.macs.total * times;
  }
  if (!byOp) return macs;
  const sorted = Object.fromEntries(Object.entries(byOp).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { ...macs, total, byOp: sorted };
}

/**
 * Parameters after: the blocks add their weights (all of the model's float type) and nothing else
 * changes — no Constant node of the input gains or loses a weight reader by a rewiring of input 0.
 */
function paramsAfter(before: ParamCount, blocks: readonly PlannedBlock[]): ParamCount {
  const added = blocks.reduce((sum, b) => sum + (b.params ?? 0), 0);
  return { total: before.total + added, initializers: before.initializers + added, constantNodes: before.constantNodes };
}
