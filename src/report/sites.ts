// `se-inject report --sites`: every tensor that could take attention — a float N×C×H×W map computed by
// a node, what --at accepts — with its shape, the stage and block of the passes' plan that hold it, and
// whether the passes scale it. What a user reads before choosing --at or --exclude.

import type { ShapeMap } from '../analysis/shapes.js';
import type { Model } from '../ir/model.js';
import type { NodeProto } from '../onnx/proto.js';
import { SUPPORTED_SE_TYPES } from '../se/build.js';
import { nodeLabel } from '../se/site.js';
import type { PlannedBlock } from './build.js';
import { renderMarkdown, renderText } from './format.js';
import { elemTypeName } from './summary.js';

export interface SiteEntry {
  tensor: string;
  shape: number[];
  elemType: string;
  /** The node computing it, and its op type. */
  node: string;
  op: string;
  /** The block of the passes' plan whose body computes it (`se/stage2.block3`), its stage and model scope. */
  block?: string;
  stage?: number;
  scope?: string;
  /** Set where the passes put attention with these options: the rule that does. */
  scaledBy?: string;
}

export interface SitesReport {
  file: string;
  sites: SiteEntry[];
}

/**
 * Every candidate tensor in graph order, each with the block that holds it (if any); `channelsFirst`
 * tells the feature maps (N×C×H×W, N×C×L, N×C×D×H×W) from tensors a Transpose laid out otherwise.
 */
export function listSites(model: Model, shapes: ShapeMap, blocks: readonly PlannedBlock[], channelsFirst: (t: string) => boolean): SiteEntry[] {
  const holder = new Map<NodeProto, PlannedBlock>();
  for (const b of blocks) for (const n of b.site.region) if (!holder.has(n)) holder.set(n, b);
  const scaled = new Map(blocks.map((b) => [b.site.tensor, b]));
  const out: SiteEntry[] = [];
  for (const n of model.graph.nodes) {
    for (const t of n.outputs) {
      const s = shapes.get(t);
      if (!t || !s?.dims || s.dims.length < 3 || s.dims.length > 5 || !SUPPORTED_SE_TYPES.has(s.dtype) || s.dims.some((d) => !(d >= 1)) || !channelsFirst(t)) continue;
      const b = holder.get(n) ?? scaled.get(t);
      const entry: SiteEntry = { tensor: t, shape: s.dims, elemType: elemTypeName(s.dtype), node: nodeLabel(n), op: n.opType };
      if (b) Object.assign(entry, { block: b.name, stage: b.stage, scope: b.scope ?? '' });
      const rule = scaled.get(t)?.site.rule;
      if (rule) entry.scaledBy = rule;
      out.push(entry);
    }
  }
  return out;
}

function table(r: SitesReport) {
  return {
    head: ['tensor', 'shape', 'op', 'stage', 'block', 'model scope', 'passes'],
    rows: r.sites.map((s) => [s.tensor, s.shape.join('×'), s.op, s.stage ? String(s.stage) : '', s.block ?? '', s.scope ?? '', s.scaledBy ?? '']),
    right: [3],
  };
}

const summary = (r: SitesReport) => {
  const inBlocks = r.sites.filter((s) => s.block).length, scaled = r.sites.filter((s) => s.scaledBy).length;
  return `${r.sites.length} tensors can take attention (--at), ${inBlocks} inside blocks the passes found; the passes scale ${scaled}`;
};

export function formatSitesText(r: SitesReport): string {
  return `Sites in ${r.file}\n${renderText(table(r))}\n\n${summary(r)}\n`;
}

export function formatSitesMarkdown(r: SitesReport): string {
  return `### Sites in ${r.file}\n\n${renderMarkdown(table(r))}\n\n${summary(r)}\n`;
}
