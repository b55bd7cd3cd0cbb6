// The pipeline: analyse → match (every pass over its root ops) → one SE per block → stages → rewrite.
// Passes run in priority order; a block matched by several (a MobileNetV2 residual block is both a
// residual branch and a depthwise-separable block) takes the first match and the rest are reported.

import { MAX_MAP_RANK, MIN_MAP_RANK, blockContext, channelsLast, featureMapDims, feedsPredictionsOnly, outputShape, shapeOf } from './analysis/blocks.js';
import type { Ctx } from './analysis/blocks.js';
import type { ModelAnalysis } from './analysis/analyse.js';
import { countMacs, countParams } from './analysis/cost.js';
import { checkPlausible, inferShapes } from './analysis/shapes.js';
import type { DimBindings, ShapeMap, ValueShape } from './analysis/shapes.js';
import { SeInjectError } from './errors.js';
import { DEFAULT_OPTIONS, OptionError, editDistance } from './options.js';
import { inputDefect, inputProblems } from './ir/lint.js';
import { statedShapeConflict } from './analysis/stated-shapes.js';
import type { LintProblem } from './ir/lint.js';
import type { NodeIndex } from './ir/graph.js';
import { checkInputModel } from './validate/structure.js';
import type { Model } from './ir/model.js';
import type { NodeProto } from './onnx/proto.js';
import { passOrder } from '../passes/index.js';
import type { PassFamily } from '../passes/index.js';
import { SUPPORTED_SE_TYPES, squeezeWidth, usesSqueeze } from './se/build.js';
import { insertBlocks } from './se/insert.js';
import type { SEOptions } from './se/build.js';
import { leaveAlone, nodeLabel } from './se/site.js';
import type { Candidate, Family, PassOptions, Site } from './se/site.js';
import { buildReport } from './report/build.js';
import { scopeOf } from './report/scope.js';
import { listSites } from './report/sites.js';
import { elemTypeName } from './report/summary.js';
import type { SiteEntry } from './report/sites.js';
import { toolVersion } from './version.js';
import type { SEReport, PlannedBlock } from './report/build.js';

export const MIN_OPSET = 7;
export const MAX_KNOWN_OPSET = 24;

export interface InjectOptions extends SEOptions, PassOptions, DimBindings {
  /** Families to run (--arch); all when undefined. */
  families?: Family[];
  /** 1-based stages to insert into (--stages); all when undefined. */
  stages?: number[];
  /** The user chose --gate: placements do not override it. */
  gateExplicit?: boolean;
  /** Tensors to put SE on, in any architecture (--at); the passes do not run. */
  at?: string[];
  /** Sites to leave out, by block name, scaled tensor or node, with * and ? as wildcards (--exclude). */
  exclude?: string[];
  /** A reduction ratio for each stage in order, null leaving the stage out (--ratio-per-stage 8,16,-,32). */
  ratioPerStage?: (number | null)[];
}

export { DEFAULT_OPTIONS } from './options.js';


export interface InjectResult {
  report: SEReport;
  /** True when at least one SE block was written into the model. */
  changed: boolean;
}

function checkOpset(model: Model): void {
  const v = model.opset;
  if (!v) throw new SeInjectError('unsupported', `${model.label} imports no default ONNX opset; se-inject rewrites standard-domain CNN graphs only`);
  if (v < MIN_OPSET) {
    throw new SeInjectError('unsupported', `${model.label} uses opset ${v}; SE needs broadcasting Mul from opset ${MIN_OPSET} — convert it first (onnx.version_converter.convert_version(model, 13))`);
  }
  if (v > MAX_KNOWN_OPSET) {
    throw new SeInjectError('unsupported', `${model.label} uses opset ${v}, newer than se-inject knows (≤ ${MAX_KNOWN_OPSET}); refusing rather than guessing what its ops mean`);
  }
}

/** Cycles, undefined inputs, two producers: no pass can reason about such a graph, so it is refused. */
function checkGraph(model: Model, lint: readonly LintProblem[]): void {
  const defect = inputDefect(model.graph, lint);
  if (defect) throw new SeInjectError('input', `${model.label}: ${defect}`);
}

function analyseShapes(model: Model, o: DimBindings, known?: ModelAnalysis): ShapeMap {
  let shapes: ShapeMap;
  if (known) {
    known.plausibility.check(model.graph, known.shapes, model.label);
    shapes = known.shapes;
  } else {
    shapes = inferShapes(model.graph, model.opset, o, model.label);
    checkPlausible(model.graph, shapes, model.label);
  }
  const conflict = statedShapeConflict(model.graph, shapes);
  if (conflict) throw new SeInjectError('input', `${model.label}: the input model is invalid: ${conflict}`);
  return shapes;
}

interface Plan {
  candidates: Candidate[];
  accepted: PlannedBlock[];
  /** The block analysis the plan read the graph with: each node's index in the list as it saw it, and every tensor's record. */
  ctx: Ctx;
}

/** The --exclude pattern a block matches (by its name, the tensor it scales or its node), if any. */
function excludedBy(patterns: string[] | undefined, candidates: Candidate[]): (b: PlannedBlock) => string | undefined {
  if (!patterns) return () => undefined;
  const tests = patterns.map((p) => ({ p, re: new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`) }));
  const nodeOf = new Map(candidates.filter((c) => c.site).map((c) => [c.site!, c.node]));
  return (b) => {
    const node = nodeOf.get(b.site) ?? '';
    return tests.find(({ re }) => re.test(b.name) || re.test(b.site.tensor) || re.test(node))?.p;
  };
}

/**
 * Sites the user named (--at): each must be a float N×C×H×W feature map computed by a node; every reader
 * reads the scaled tensor. No pass runs, so any architecture takes SE where its user wants it.
 */
function userSites(ctx: Ctx, model: Model, shapes: ShapeMap, at: string[]): Candidate[] {
  const g = model.graph;
  return at.map((t): Candidate => {
    const producer = g.producer(t);
    if (!producer) {
      const known = [...shapes.keys()];
      const near = closestNames(t, known);
      throw new OptionError('at', (w) => `${w.name('at')}: ${model.label} has no tensor ${JSON.stringify(t)}${near.length ? `; closest: ${near.join(', ')}` : ''}`);
    }
    const s = shapes.get(t);
    const rank = s?.dims?.length ?? 0;
    const otherRank = rank === MIN_MAP_RANK || rank === MAX_MAP_RANK;
    if (!s?.dims || (rank !== 4 && !otherRank) || !SUPPORTED_SE_TYPES.has(s.dtype) || s.dims.some((d) => !(d >= 1)) || (otherRank && !featureMapDims(ctx, t))) {
      const what = s?.dims ? `${s.dims.length}-D ${s.dims.join('×')} ${elemTypeName(s.dtype)}` : 'of unknown shape';
      throw new OptionError('at', (w) => `${w.name('at')}: ${t} is ${what}, not a float N×C×H×W feature map (nor an N×C×L or N×C×D×H×W one, laid out channels first by a conv or a pool); SE scales feature maps`);
    }
    if (channelsLast(ctx, t)) {
      throw new OptionError('at', (w) => `${w.name('at')}: ${t} is channels-last (N×H×W×C: a Transpose moved the channels off axis 1), not an N×C×H×W feature map; name the tensor before that Transpose`);
    }
    const site: Site = { family: 'user', rule: 'insertSEAtTensor', tensor: t, rewire: [...g.consumers(t)], region: new Set([producer]) };
    return { family: 'user', node: nodeLabel(producer), tensor: t, site };
  });
}

/** Up to three names nearest to `want` by edit distance, for a name that does not exist. */
function closestNames(want: string, names: string[]): string[] {
  const limit = Math.max(3, Math.floor(want.length / 3));
  return names.map((n) => ({ n, d: editDistance(want, n) })).filter((x) => x.d <= limit).sort((a, b) => a.d - b.d || a.n.localeCompare(b.n)).slice(0, 3).map((x) => x.n);
}

/** Runs every pass over its root ops and keeps one site per block. Pure: the model is not touched. */
function plan(model: Model, shapes: ShapeMap, o: InjectOptions): Plan {
  const ctx: Ctx = blockContext(model.graph, shapes);
  if (o.at) {
    const candidates = userSites(ctx, model, shapes, o.at);
    const staged = candidates.map((c) => stagedSite(ctx, c.site!, shapes.get(c.site!.tensor)!));
    return { candidates, accepted: assignStages(model, shapes, staged, o, ctx.position), ctx };
  }
  const passes = passOrder(o, o.families as PassFamily[] | undefined);
  const candidates: Candidate[] = [];
  const taken = new TakenNodes(model.graph.nodes.length, ctx.position);
  const staged: StagedSite[] = [];
  for (const pass of passes) {
    const roots = new Set(pass.roots);
    const nodes = model.graph.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[i]!;
      if (!roots.has(n.opType)) continue;
      const c = pass.match(ctx, n, o, i);
      if (!c) continue;
      candidates.push(c);
      if (c.held) {
        const inside = takenOver(taken, c.held);
        if (inside) release(taken, staged, inside, c);
        for (const r of c.held) taken.holdIfFree(r, c);
      }
      if (!c.site) continue;
      let clash = taken.firstOf(c.site);
      const inside = clash?.foldable ? takenOver(taken, c.site.region) : undefined;
      if (inside) clash = undefined;
      if (clash?.held) {
        leaveAlone(c, 'has-se', `inside the ${clash.family} block at ${clash.node}, which ${clash.reason}`);
        continue;
      }
      if (clash) {
        leaveAlone(c, 'same-block', `same block as the ${clash.family} SE at ${clash.tensor}`);
        continue;
      }
      // Asked of the walkers' records: the pass has just asked about this tensor, whose record is at hand.
      const shape = shapeOf(ctx, c.site.tensor);
      const { dtype = 0, dims } = shape ?? {};
      if (!dims || dims.length < 3 || !(dims[1]! >= 1)) {
        // Passes match on structure; the SE block is sized from N×C×spatial, which must be known.
        leaveAlone(c, 'shape-unknown', `the shape of ${c.site.tensor} is unknown (${dims ? dims.join('×') : 'not inferred'}); SE needs N×C×H×W`);
        continue;
      }
      if (feedsPredictionsOnly(ctx, c.site.tensor)) {
        // A pass matched the form of a block (a depthwise conv and its 1×1) where a detector predicts.
        leaveAlone(c, 'prediction', `${c.site.tensor} is only reshaped into predictions (boxes or scores), not read by a later layer; SE belongs in the blocks that compute features`);
        continue;
      }
      if (!SUPPORTED_SE_TYPES.has(dtype)) {
        leaveAlone(c, 'dtype', `element type ${dtype} has no SE weights (float, float16, bfloat16, double)`);
        continue;
      }
      if (inside) release(taken, staged, inside, c);
      taken.take(c.site, c);
      staged.push(stagedSite(ctx, c.site, shape!, n, i));
    }
  }
  return { candidates, accepted: assignStages(model, shapes, staged, o, ctx.position), ctx };
}

/**
 * The foldable sums (Candidate.foldable) holding nodes of `region`, when they are all it clashes with and
 * each lies inside it: a residual unit around them takes them over. Undefined otherwise.
 */
function takenOver(taken: TakenNodes, region: ReadonlySet<NodeProto>): Candidate[] | undefined {
  const holders = taken.holdersOf(region);
  if (holders.length === 0 || holders.some((h) => !h.foldable || !h.site || [...h.site.region].some((n) => !region.has(n)))) return undefined;
  return holders;
}

/** Hands the nodes and the SE of the foldable sums inside a block over to it (`by`). */
function release(taken: TakenNodes, staged: StagedSite[], inside: readonly Candidate[], by: Candidate): void {
  for (const h of inside) {
    taken.release(h.site!);
    const k = staged.findIndex((s) => s.site === h.site);
    if (k >= 0) staged.splice(k, 1);
    leaveAlone(h, 'inner-sum', `a sum that folds into one conv, inside the ${by.family} block at ${by.node}, whose block it is part of`);
  }
}

/** A site with the shape of the tensor it scales and the dims that place it in its stage. */
interface StagedSite {
  site: Site;
  scaled: ValueShape;
  stageDims: readonly number[];
}

/**
 * The stage is the model's: a block is placed by its own output (its stage tensor), not by the tensor a
 * placement scales. A stage tensor that is output 0 of the root node (`root`, at `at`) is read by its id.
 */
function stagedSite(ctx: Ctx, site: Site, scaled: ValueShape, root?: NodeProto, at?: number): StagedSite {
  const dims = scaled.dims!;
  const t = site.stageTensor;
  if (t === undefined || t === site.tensor) return { site, scaled, stageDims: dims };
  const stage = root && at !== undefined && t === root.outputs[0] ? outputShape(ctx, root, 0, at) : shapeOf(ctx, t);
  return { site, scaled, stageDims: stage?.dims ?? dims };
}

/**
 * Which candidate's block holds each node, kept by the node's index in the list: a block's nodes are
 * looked up by the indexes its pass found them at where it gives them, with no table keyed by node.
 */
class TakenNodes {
  private readonly byAt: (Candidate | undefined)[];
  /** Nodes the index does not know (not in the list). */
  private readonly others = new Map<NodeProto, Candidate>();

  constructor(count: number, private readonly position: NodeIndex) {
    this.byAt = new Array<Candidate | undefined>(count).fill(undefined);
  }

  /** The candidate holding the first node of the site's region that is held, if any. */
  firstOf(site: Site): Candidate | undefined {
    const at = site.regionAt;
    if (at) {
      for (let i = 0; i < at.length; i++) if (this.byAt[at[i]!]) return this.byAt[at[i]!];
      return undefined;
    }
    for (const n of site.region) {
      const c = this.get(n);
      if (c) return c;
    }
    return undefined;
  }

  /** Marks every node of the site's region as held by `c`. */
  take(site: Site, c: Candidate): void {
    const at = site.regionAt;
    if (at) for (let i = 0; i < at.length; i++) this.byAt[at[i]!] = c;
    else for (const n of site.region) this.set(n, c);
  }

  /** Every candidate holding a node of `region`. */
  holdersOf(region: ReadonlySet<NodeProto>): Candidate[] {
    const found = new Set<Candidate>();
    for (const n of region) {
      const c = this.get(n);
      if (c) found.add(c);
    }
    return [...found];
  }

  /** Frees the nodes of a site's region. */
  release(site: Site): void {
    const at = site.regionAt;
    if (at) for (let i = 0; i < at.length; i++) this.byAt[at[i]!] = undefined;
    else for (const n of site.region) this.set(n, undefined);
  }

  holdIfFree(n: NodeProto, c: Candidate): void {
    if (!this.get(n)) this.set(n, c);
  }

  private get(n: NodeProto): Candidate | undefined {
    const i = this.position.get(n);
    return i === undefined ? this.others.get(n) : this.byAt[i];
  }

  private set(n: NodeProto, c: Candidate | undefined): void {
    const i = this.position.get(n);
    if (i === undefined) c ? this.others.set(n, c) : this.others.delete(n);
    else this.byAt[i] = c;
  }
}

/** A stage is a run of consecutive blocks of one width and resolution: the paper's N_s blocks of C_s. */
function assignStages(model: Model, shapes: ShapeMap, sites: readonly StagedSite[], o: InjectOptions, position: NodeIndex): PlannedBlock[] {
  // Each site with its last node, in node order: one lookup per region node, none in the sort.
  const ordered = sites.map(({ site, scaled, stageDims }) => {
    if (site.last) return { site, at: site.lastAt!, last: site.last, scaled, stageDims };
    let at = -1, last: NodeProto | undefined;
    for (const n of site.region) {
      const p = position.get(n) ?? 0;
      if (p > at) (at = p), (last = n);
    }
    return { site, at, last, scaled, stageDims };
  }).sort((a, b) => a.at - b.at);
  const blocks: PlannedBlock[] = [];
  let stage = 0, block = 0;
  let key: readonly number[] | undefined;
  // Blocks in a row mostly scale maps of one resolution: its text is made once for them.
  let resolution = '';
  let resolutionOf: readonly number[] | undefined;
  for (let i = 0; i < ordered.length; i++) {
    const { site, last, scaled, stageDims: k } = ordered[i]!;
    const dims = scaled.dims!;
    if (!key || !sameAfterBatch(k, key)) {
      stage++;
      block = 0;
      key = k;
    }
    block++;
    if (!resolutionOf || !sameAfter(dims, resolutionOf, 2)) (resolution = dims.slice(2).join('×')), (resolutionOf = dims);
    blocks.push({
      site, stage, block, channels: dims[1]!, dtype: scaled.dtype, name: `se/stage${stage}.block${block}`,
      resolution, spatialAxes: dims.length - 2, scope: scopeOf(site.region, last),
      // Set when the block is inserted; here, so that every block has one layout from the start.
      squeezeChannels: undefined, params: undefined, macs: undefined,
      reduceChannels: o.reduceFrom === 'input' ? inputChannels(model, shapes, site, position) ?? dims[1]! : undefined,
      ratio: o.ratioPerStage?.[stage - 1] ?? undefined,
    });
  }
  if (o.ratioPerStage && o.ratioPerStage.length !== stage) {
    const given = o.ratioPerStage.length;
    throw new OptionError('ratioPerStage', (w) => `${w.name('ratioPerStage')} gives ${given} stage(s), but ${model.label} has ${stage}; give one ratio (or - to leave the stage out) per stage, ${w.seeStages}`);
  }
  if (o.stages) {
    const have = new Set(blocks.map((b) => b.stage));
    const missing = o.stages.filter((s) => !have.has(s));
    if (missing.length) {
      throw new OptionError('stages', (w) => `${w.name('stages')} names stage ${missing.join(', ')}, but ${model.label} has stages ${[...have].join(', ') || '(none)'}; ${w.seeStages}`);
    }
  }
  return blocks;
}

/**
 * The channels of the feature map a block starts from: what its first node reads from outside the block.
 * RegNetY and EfficientNet size their SE from it (--reduce-from input); a user's site has its producer's input.
 */
function inputChannels(model: Model, shapes: ShapeMap, site: Site, position: NodeIndex): number | undefined {
  let first: NodeProto | undefined;
  for (const n of site.region) if (!first || (position.get(n) ?? 0) < (position.get(first) ?? 0)) first = n;
  for (const i of first?.inputs ?? []) {
    const dims = shapes.get(i)?.dims;
    if (i && !model.graph.initializer(i) && dims && dims.length >= 3 && dims[1]! >= 1) return dims[1];
  }
  return undefined;
}

/** Same width and resolution: every dim but the batch equal. */
function sameAfterBatch(a: readonly number[], b: readonly number[]): boolean {
  return sameAfter(a, b, 1);
}

/** Same rank, and the same dims from `from` on. */
function sameAfter(a: readonly number[], b: readonly number[], from: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = from; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Inserts SE blocks into `model` (mutating it) and returns the report. A dry run is a copy's inject.
 * `known`: the model's analysis with these bindings (analyseModel), when the caller has it.
 */
export function injectSE(model: Model, o: InjectOptions, known?: ModelAnalysis): InjectResult {
  const lint = inputProblems(model.graph);
  checkGraph(model, lint);
  checkOpset(model);
  checkInputModel(model, lint);
  const shapesBefore = analyseShapes(model, o, known);
  const paramsBefore = countParams(model.graph);
  const macsBefore = known?.macs ?? countMacs(model.graph, shapesBefore);
  const { candidates, accepted, ctx } = plan(model, shapesBefore, o);
  const excluded = excludedBy(o.exclude, candidates);
  const stageOut = (b: PlannedBlock) => (o.stages && !o.stages.includes(b.stage) ? '--stages' : o.ratioPerStage?.[b.stage - 1] === null ? '--ratio-per-stage' : undefined);
  const chosen = accepted.filter((b) => !stageOut(b) && !excluded(b));
  if (chosen.length < accepted.length) {
    const bySite = new Map(candidates.filter((c) => c.site).map((c) => [c.site!, c]));
    const chosenSet = new Set(chosen);
    for (const b of accepted) {
      if (chosenSet.has(b)) continue;
      const c = bySite.get(b.site)!;
      const by = excluded(b);
      c.code = by ? 'excluded' : 'stage-excluded';
      c.reason = by ? `left out by --exclude ${by}` : `stage ${b.stage} excluded by ${stageOut(b)}`;
    }
  }
  for (const b of chosen) checkBlockSize(model, b, o);
  const after = chosen.length ? insertBlocks(model, chosen, o, shapesBefore, { macs: macsBefore, params: paramsBefore }, ctx.position) : { macs: macsBefore, params: paramsBefore };
  if (chosen.length) setProvenance(model, o);
  const report = buildReport({ model, options: o, candidates, blocks: chosen, paramsBefore, paramsAfter: after.params, macsBefore, macsAfter: after.macs });
  return { report, changed: chosen.length > 0 };
}

/**
 * Every tensor that could take attention, with the block and stage of the passes' plan holding it (the
 * plan of these options, whatever --at says). Pure: the model is not touched.
 */
export function attentionSites(model: Model, o: InjectOptions, known?: ModelAnalysis): SiteEntry[] {
  const lint = inputProblems(model.graph);
  checkGraph(model, lint);
  checkOpset(model);
  const shapes = analyseShapes(model, o, known);
  const { accepted, ctx } = plan(model, shapes, { ...o, at: undefined });
  return listSites(model, shapes, accepted, (t) => featureMapDims(ctx, t) !== undefined);
}

/** SE weights are built in memory: past 2^26 per block the channel count or --ratio/--divisor is a mistake. */
const MAX_SE_WEIGHTS = 2 ** 26;

function checkBlockSize(model: Model, b: PlannedBlock, o: InjectOptions): void {
  const width = o.block === 'ese' ? b.channels : usesSqueeze(o.block) ? squeezeWidth(b.reduceChannels ?? b.channels, { ratio: b.ratio ?? o.ratio, divisor: o.divisor, minChannels: o.minChannels }) : 0;
  if (2 * b.channels * width <= MAX_SE_WEIGHTS) return;
  throw new SeInjectError('unsupported', `${model.label}: the SE block at ${b.site.tensor} would need ${(2 * b.channels * width).toExponential(2)} weights (${b.channels} channels, squeeze width ${width}); more than 2^26 per block is refused — check the model's channel count, the ratio and the divisor`);
}

/** The gate's form where it is not the SE graph's own Mul broadcast (outputs of the default form keep their bytes). */
const formProvenance = (o: InjectOptions) => (o.form === DEFAULT_OPTIONS.form ? {} : { form: o.form });

/** What the output records of how it was made (metadata `se-inject`): the options that reproduce it. */
function setProvenance(model: Model, o: InjectOptions): void {
  model.setMetadata('se-inject', JSON.stringify({
    version: toolVersion(), block: o.block, ...formProvenance(o), ratio: o.ratio, divisor: o.divisor, minChannels: o.minChannels, bias: o.bias, gate: o.gate, init: o.init,
    act: o.act, reduceFrom: o.reduceFrom, ratioPerStage: o.ratioPerStage, seed: o.seed, placement: o.placement, mobilenetPlacement: o.mobilenetPlacement, stages: o.stages ?? 'all',
    arch: o.families ?? 'auto',
  }));
}
