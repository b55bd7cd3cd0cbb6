// The report as data: the JSON contract pipelines read (documented key by key in the README), and the
// source of the table and Markdown views.

import type { MacCount, ParamCount } from '../analysis/cost.js';
import { blockedCalls, modelCalls } from '../analysis/functions.js';
import { isConv } from '../analysis/blocks.js';
import type { Model } from '../ir/model.js';
import { blockFormula } from '../se/build.js';
import type { BlockKind, SEOptions } from '../se/build.js';
import { REASONS } from '../se/site.js';
import type { Candidate, ReasonCode, Family, PassOptions, Site } from '../se/site.js';

export interface PlannedBlock {
  site: Site;
  stage: number;
  block: number;
  channels: number;
  dtype: number;
  name: string;
  /** H×W of the scaled feature map at the bound input size (L, or D×H×W, for 1-D and 3-D maps). */
  resolution: string;
  /** The scaled map's spatial axes: 2 for N×C×H×W, 1 for N×C×L, 3 for N×C×D×H×W. */
  spatialAxes: number;
  /** The model's own name scope of the block (its last node's), e.g. /layer2/layer2.0. */
  scope?: string;
  squeezeChannels?: number;
  params?: number;
  /** MACs the block adds (set when it is inserted). */
  macs?: number;
  /** The channels the squeeze width comes from, when not `channels` (--reduce-from input). */
  reduceChannels?: number;
  /** This block's reduction ratio, when its stage has its own (--ratio-per-stage). */
  ratio?: number;
}

export interface BlockReport {
  name: string;
  kind: Family;
  rule: string;
  stage: number;
  block: number;
  channels: number;
  squeezeChannels: number;
  /** The reduction ratio this block used (its stage's, with ratioPerStage) and the width it divided (the block input's, with reduceFrom input). */
  ratio: number;
  squeezeFrom: number;
  params: number;
  macs: number;
  tensor: string;
}

export interface StageReport {
  stage: number;
  blocks: number;
  channels: number;
  resolution: string;
  /** Where the stage starts in the model's own naming: the name scope of its first block. */
  startsAt: string;
  formulaParams: number;
  params: number;
}

export interface CandidateReport {
  pass: Family;
  node: string;
  tensor: string;
  result: 'inserted' | 'skipped';
  /** Skipped: one of the closed set of reason codes (REASONS in src/se/site.ts), its detail, and `reason` = detail. */
  code?: ReasonCode;
  detail?: string;
  reason?: string;
  rule?: string;
}

export interface SEReport {
  ratio: number;
  options: Record<string, unknown>;
  families: Family[];
  inserted: number;
  blocks: BlockReport[];
  skipped: { tensor: string; node: string; pass: Family; code: ReasonCode; detail: string; reason: string }[];
  candidates: CandidateReport[];
  stages: StageReport[];
  /** `where`: the input's parameters by where they are stored (initializers, or Constant nodes as some exporters write them). */
  /** `formula`: the block's own estimate summed over stages, named by `formulaName` (SE: the paper's 2/r·ΣN_s·C_s²). */
  params: { before: number; after: number; added: number; formula: number; formulaName: string; where: { initializers: number; constantNodes: number } };
  macs: {
    before: number; after: number; added: number;
    byOp: { before: Record<string, number>; after: Record<string, number> };
  };
  /** Set when nothing was inserted: why, in one sentence naming the supported families. */
  nothingToInsert?: string;
  /**
   * Set with nothingToInsert when the graph is in a form se-inject cannot look into (ops an inference
   * runtime fused, calls of model-local functions): the CLI exits 4, not 5.
   */
  unsupported?: string;
}

export interface ReportInput {
  model: Model;
  options: SEOptions & PassOptions & { stages?: number[]; families?: Family[]; gateExplicit?: boolean };
  candidates: Candidate[];
  blocks: PlannedBlock[];
  paramsBefore: ParamCount;
  paramsAfter: ParamCount;
  macsBefore: MacCount;
  macsAfter: MacCount;
}

/** Per block type: the report's title, the formula's name (JSON params.formulaName) and its column in the stage table. */
export const BLOCK_INFO: Record<BlockKind, { title: string; formula: string; column: string }> = {
  se: { title: 'SE', formula: '2/r·ΣN_s·C_s² (Hu et al., SENet, Eq. 5; biases excluded)', column: 'paper 2/r·N·C²' },
  ese: { title: 'eSE', formula: 'ΣN_s·(C_s² + C_s) (one C→C 1×1 conv with bias per block)', column: 'formula N·(C²+C)' },
  eca: { title: 'ECA', formula: 'Σ k(C) over blocks (one 1-D conv of kernel k, no bias; k = odd ⌊(log2 C + 1)/2⌋, at least 3)', column: 'formula N·k(C)' },
  cbam: {
    title: 'CBAM',
    formula: 'ΣN_s·(2/r·C_s² + [bias] C_s/r + C_s + 2·7^k + 1) (Woo et al., CBAM: one shared MLP C→C/r→C, biases with --bias; a 7×7 conv over [mean; max] (7 on each of the k spatial axes: 7×7 on an image) with its BatchNormalization folded into one bias)',
    column: 'formula N·(2C²/r+C/r+C+2·7^k+1)',
  },
  'cbam-channel': {
    title: 'CBAM channel attention',
    formula: 'ΣN_s·(2/r·C_s² + [bias] C_s/r + C_s) (Woo et al., CBAM channel attention: one shared MLP C→C/r→C, biases with --bias)',
    column: 'formula N·(2C²/r+C/r+C)',
  },
};

export { SUPPORTED_FAMILIES } from '../../passes/index.js';
import { SUPPORTED_FAMILIES } from '../../passes/index.js';

function why(c: Candidate): { code: ReasonCode; detail: string; reason: string } {
  const code = c.code ?? 'not-selected';
  const detail = c.reason ?? REASONS[code];
  return { code, detail, reason: detail };
}

export function buildReport(r: ReportInput): SEReport {
  const blocks: BlockReport[] = r.blocks.map((b) => ({
    name: b.name, kind: b.site.family, rule: b.site.rule, stage: b.stage, block: b.block, channels: b.channels,
    squeezeChannels: b.squeezeChannels ?? 0, ratio: b.ratio ?? r.options.ratio, squeezeFrom: b.reduceChannels ?? b.channels,
    params: b.params ?? 0, tensor: b.site.tensor,
    macs: b.macs ?? 0,
  }));
  const stages = stageTable(r.blocks, blocks, r.options);
  const formula = stages.reduce((s, st) => s + st.formulaParams, 0);
  const inserted = new Set(r.blocks.map((b) => b.site));
  const skipped = r.candidates.filter((c) => !c.site || !inserted.has(c.site));
  const { seed, ...shown } = r.options as unknown as Record<string, unknown>;
  const report: SEReport = {
    ratio: r.options.ratio,
    options: { ...shown, seed },
    families: [...new Set(blocks.map((b) => b.kind))],
    inserted: blocks.length,
    blocks,
    skipped: skipped.map((c) => ({ tensor: c.tensor, node: c.node, pass: c.family, ...why(c) })),
    candidates: r.candidates.map((c) => candidateReport(c, inserted)),
    stages,
    params: {
      before: r.paramsBefore.total, after: r.paramsAfter.total, added: r.paramsAfter.total - r.paramsBefore.total, formula, formulaName: BLOCK_INFO[r.options.block].formula,
      where: { initializers: r.paramsBefore.initializers, constantNodes: r.paramsBefore.constantNodes },
    },
    macs: {
      before: r.macsBefore.total, after: r.macsAfter.total, added: r.macsAfter.total - r.macsBefore.total,
      byOp: { before: r.macsBefore.byOp, after: r.macsAfter.byOp },
    },
  };
  if (!blocks.length) {
    report.unsupported = unsupportedForm(r.model);
    report.nothingToInsert = report.unsupported ? `nothing to insert: ${report.unsupported}` : nothingReason(r);
  }
  return report;
}

/** One candidate as the report lists it: the rule that inserted it, or why it was left alone. */
function candidateReport(c: Candidate, inserted: ReadonlySet<Site>): CandidateReport {
  // Written out rather than spread: one object per candidate, in the key order the JSON has always had.
  if (c.site && inserted.has(c.site)) return { pass: c.family, node: c.node, tensor: c.tensor, result: 'inserted', rule: c.site.rule };
  const { code, detail, reason } = why(c);
  return { pass: c.family, node: c.node, tensor: c.tensor, result: 'skipped', code, detail, reason };
}

function stageTable(planned: PlannedBlock[], blocks: BlockReport[], o: SEOptions): StageReport[] {
  const out: StageReport[] = [];
  planned.forEach((p, i) => {
    let st = out.find((s) => s.stage === p.stage);
    if (!st) {
      st = { stage: p.stage, blocks: 0, channels: p.channels, resolution: p.resolution, startsAt: p.scope ?? '', formulaParams: 0, params: 0 };
      out.push(st);
    }
    st.blocks++;
    st.params += blocks[i]!.params;
    st.formulaParams += blockFormula(o.block, p.channels, { ratio: p.ratio ?? o.ratio, bias: o.bias }, p.reduceChannels, p.spatialAxes);
  });
  return out;
}

function nothingReason(r: ReportInput): string {
  const had = new Set(r.candidates.filter((c) => c.code === 'has-se').map((c) => c.reason)).size;
  if (had > 0 && r.candidates.every((c) => !c.site)) {
    return `nothing to insert: ${had} block(s) already hold SE or another attention block (eSE, ECA, CBAM; EfficientNet/RegNetY-style, or an earlier se-inject run), and no block without one was found`;
  }
  if (r.options.stages) return `nothing to insert: no block in stage(s) ${r.options.stages.join(', ')}`;
  const nhwc = r.candidates.filter((c) => c.code === 'channels-last').length;
  if (nhwc > 0) {
    return `nothing to insert: ${nhwc} candidate sum(s) add channels-last (N×H×W×C) maps, transposed from each Conv's output (tf2onnx with its transpose optimizer off writes these); SE scales N×C×H×W maps: convert with the optimizer on (tf2onnx's default), which keeps the maps channels first`;
  }
  return `nothing to insert: no block se-inject knows was found; it supports ${SUPPORTED_FAMILIES} (DenseNet and VGG have none of these blocks)`;
}

/** Why the graph's blocks cannot be seen at all, if that is so. */
function unsupportedForm(model: Model): string | undefined {
  const integerOps = quantizedOps(model);
  if (integerOps.length) {
    return `the graph is quantized to integer ops (${integerOps.join(', ')}), which se-inject does not rewrite: it writes float SE blocks; run it on the float model and quantize after, or quantize in QDQ form (onnxruntime.quantization.quantize_static with quant_format=QuantFormat.QDQ), whose blocks it finds`;
  }
  const runtimeOps = runtimeFusedOps(model);
  if (runtimeOps.length) {
    return `the graph holds ops that an inference runtime fused (${runtimeOps.join(', ')}), so its convolutions are no longer plain ONNX Conv nodes; run se-inject on the model as exported, before ONNX Runtime or another optimizer rewrote it`;
  }
  const unshaped = model.graph.proto.inputs.filter((v) => v.type && !v.type.shape && !model.graph.initializer(v.name)).map((v) => v.name);
  if (unshaped.length) {
    return `input ${unshaped.join(', ')} declares no shape (its rank is unknown), so no feature map's shape could be inferred; write the input's shape into the model (onnx.tools.update_model_dims.update_inputs_outputs_dims, or torch.onnx.export, which states it)`;
  }
  const calls = blockedCalls(model);
  if (calls.length) {
    return `the graph's layers are inside calls of model-local functions that se-inject cannot expand (${calls.join(', ')}); export without functions (torch.onnx.export without export_modules_as_functions) or inline them first (onnx.inliner.inline_local_functions, onnx ≥ 1.15)`;
  }
  return undefined;
}

/**
 * Ops on quantized integers in place of Conv, Add, MatMul: ONNX's QLinearConv, ConvInteger, QLinearMatMul
 * and MatMulInteger, and ONNX Runtime's com.microsoft QLinearAdd, QLinearConcat, ...; with their counts.
 */
function quantizedOps(model: Model): string[] {
  const found = new Map<string, number>();
  for (const n of model.graph.nodes) {
    if (!/^QLinear|Integer$/.test(n.opType)) continue;
    const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
    found.set(op, (found.get(op) ?? 0) + 1);
  }
  return [...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([op, k]) => `${op} ×${k}`);
}

/** Conv-carrying ops of runtime-specific domains that se-inject does not read as convs (a FusedConv that adds a tensor, NCHWc layout ops, ...). */
function runtimeFusedOps(model: Model): string[] {
  const found = new Set<string>();
  // A call of a model-local function is the exporter's, not a runtime's (torchvision's MBConv module).
  const calls = new Set(modelCalls(model).calls);
  for (const n of model.graph.nodes) {
    if (n.domain !== '' && n.domain !== 'ai.onnx' && /conv/i.test(n.opType) && !isConv(n) && !calls.has(n)) found.add(`${n.domain}:${n.opType}`);
  }
  return [...found].sort();
}
