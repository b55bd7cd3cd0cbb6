// The report for people: a terminal table (default) and Markdown (--markdown). JSON is the object itself.

import type { ModelSummary } from './summary.js';
import { BLOCK_INFO } from './build.js';
import type { SEReport } from './build.js';
import { usesSqueeze } from '../se/build.js';
import type { BlockKind } from '../se/build.js';
import { opCountRows } from './op-counts.js';
import type { OpCounts } from './op-counts.js';
import { REASONS } from '../se/site.js';
import { escapeControls } from '../errors.js';

export interface Report extends SEReport {
  file: string;
  dryRun: boolean;
  output?: string;
  model: ModelSummary;
  validation?: unknown;
  /** What the user should know about the options as applied (a ratio that clamps every squeeze width). */
  notes?: string[];
  /** Nodes per op type in the input and in the result. */
  opCounts?: OpCounts;
}

/** 1234567 → "1,234,567" (what toLocaleString('en-US') prints, without starting ICU for it). */
export const n = (v: number) => String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const g = (v: number) => `${(v / 1e9).toFixed(3)} G`;
/** `N (+x.xx%)`, or N alone where there was nothing before to compare with. */
const added = (text: string, n: number, before: number) => (before ? `${text} (+${((100 * n) / before).toFixed(2)}%)` : text);

interface Table { head: string[]; rows: string[][]; right?: number[] }

/**
 * Every string a report prints passes through here: names from the model, laid out into a table, cannot
 * move the cursor, clear the screen or start a line (errors.ts escapeControls). Only what is printed is
 * escaped, not the report: a report of 10^5 candidates prints a few dozen lines.
 */
function printable(t: Table): Table {
  return { ...t, head: t.head.map(escapeControls), rows: t.rows.map((r) => r.map(escapeControls)) };
}

/** A section as printed: each of its lines escaped on its own, then joined. */
function printableSection(s: Section): { title: string; table?: Table; text?: string } {
  return { title: escapeControls(s.title), table: s.table && printable(s.table), text: s.lines?.map(escapeControls).join('\n') };
}

/** A titled table, or lines of text (each one string from the report: a name in it never breaks a line). */
interface Section { title: string; table?: Table; lines?: string[] }

export function renderText(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number) => (t.right?.includes(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!));
  const line = (r: string[]) => r.map(cell).join('  ').trimEnd();
  return [line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}

export function renderMarkdown(t: Table): string {
  const sep = t.head.map((_, i) => (t.right?.includes(i) ? '---:' : '---'));
  return [t.head, sep, ...t.rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The ratio, for blocks that have a squeeze width: one, or one per stage. */
function ratioText(r: Report): string {
  if (!usesSqueeze((r.options.block ?? 'se') as BlockKind)) return '';
  const per = (r.options as { ratioPerStage?: (number | null)[] }).ratioPerStage;
  return per ? `r per stage ${per.map((x) => x ?? '-').join(',')}, ` : `r = ${r.ratio}, `;
}

/** Placement, init, gate and block types: what decides the numbers below the header. */
function header(r: Report): string {
  const o = r.options as { placement?: string; mobilenetPlacement?: string; init?: string; gate?: string };
  const placement = r.families.includes('mobilenet') && o.mobilenetPlacement === 'v3' ? `${o.placement}, mobilenet v3` : o.placement;
  return `placement ${placement}, init ${o.init}, gate ${o.gate}, blocks ${r.families.join('+')}`;
}

function sections(r: Report, explain: boolean): Section[] {
  const m = r.model;
  const shape = (s: { name: string; elemType: string; shape: (number | string)[] }) => `${s.name} ${s.elemType}[${s.shape.join(', ')}]`;
  const out: Section[] = [];
  const kind = (r.options.block ?? 'se') as BlockKind;
  out.push({
    title: 'Model',
    lines: [
      `file       ${r.file}`,
      `producer   ${m.producer.name} ${m.producer.version}`.trimEnd(),
      `IR ${m.irVersion}, opsets ${Object.entries(m.opsets).map(([d, v]) => `${d} ${v}`).join(', ')}`,
      `inputs     ${m.inputs.map(shape).join('; ')}`,
      `outputs    ${m.outputs.map(shape).join('; ')}`,
      `bound      ${Object.entries(m.boundDims).map(([k, v]) => `${k}=${v}`).join(', ') || '(all static)'}`,
      `nodes      ${m.nodes}: ${Object.entries(m.opCounts).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ],
  });
  if (r.stages.length) {
    out.push({
      title: `${BLOCK_INFO[kind].title} blocks${r.dryRun ? ' (dry run: nothing written)' : ''} — ${ratioText(r)}${header(r)}`,
      table: {
        head: ['stage', 'N_s', 'C_s', sizeColumn(r.stages), BLOCK_INFO[kind].column, 'exact params', 'starts at'],
        rows: r.stages.map((s) => [String(s.stage), String(s.blocks), String(s.channels), s.resolution, n(s.formulaParams), n(s.params), s.startsAt]),
        right: [0, 1, 2, 4, 5],
      },
    });
  }
  if (r.stages.length && (r.options as { bias?: boolean }).bias !== false && kind === 'se') {
    out.push({
      title: 'Exact ≠ paper',
      lines: ['the paper\'s 2/r·N·C² counts the two FC weight matrices only; the exact count adds their biases (C/r + C per block) — with --no-bias they match wherever r divides C'],
    });
  }
  out.push({
    title: 'Cost',
    table: {
      head: ['', 'before', 'after', 'added'],
      rows: [
        ['params', n(r.params.before), n(r.params.after), added(n(r.params.added), r.params.added, r.params.before)],
        [kind !== 'se' ? 'block formula' : 'paper estimate', '', '', n(r.params.formula)],
        ['MACs', g(r.macs.before), g(r.macs.after), added(n(r.macs.added), r.macs.added, r.macs.before)],
        ['FLOPs (2×MACs)', g(2 * r.macs.before), g(2 * r.macs.after), n(2 * r.macs.added)],
      ],
      right: [1, 2, 3],
    },
  });
  if (m.largestLayers.length) {
    out.push({
      title: 'Largest layers',
      table: { head: ['node', 'op', 'MACs', 'params'], rows: m.largestLayers.map((l) => [l.node, l.opType, n(l.macs), n(l.params)]), right: [2, 3] },
    });
  }
  if (r.opCounts) out.push({ title: 'Ops', table: { head: ['op', 'before', 'after', 'change'], rows: opCountRows(r.opCounts), right: [1, 2, 3] } });
  if (explain) {
    out.push({
      title: 'Candidates (--explain)',
      table: {
        head: ['pass', 'node', 'result'],
        rows: r.candidates.map((c) => [c.pass, c.node, c.result === 'inserted' ? `inserted (${c.rule})` : `skipped (${c.code}): ${c.reason}`]),
      },
    });
  } else if (r.skipped.length) {
    // One line per pass and reason code, with the code's summary: not one per tensor name.
    const reasons = new Map<string, number>();
    for (const s of r.skipped) {
      const key = `${s.pass}: ${s.code} — ${REASONS[s.code] ?? s.reason}`;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
    }
    out.push({ title: 'Left alone (--explain lists each)', lines: [...reasons].map(([k, v]) => `${String(v).padStart(4)} × ${k}`) });
  }
  if (r.nothingToInsert) out.push({ title: 'Result', lines: [r.nothingToInsert] });
  return out;
}

export function formatText(r: Report, explain = false): string {
  return sections(r, explain).map(printableSection).map((s) => `${s.title}\n${s.table ? renderText(s.table) : s.text}`).join('\n\n') + '\n';
}

export function formatMarkdown(r: Report, explain = false): string {
  return sections(r, explain)
    .map(printableSection)
    .map((s) => `### ${s.title}\n\n${s.table ? renderMarkdown(s.table) : '```\n' + s.text + '\n```'}`)
    .join('\n\n') + '\n';
}

/** The size column's name: H×W for images, L for 1-D maps, D×H×W for 3-D ones; size where a model has several. */
function sizeColumn(stages: readonly { resolution: string }[]): string {
  const axes = new Set(stages.map((s) => s.resolution.split('×').length));
  if (axes.size !== 1) return 'size';
  return ({ 1: 'L', 2: 'H×W', 3: 'D×H×W' } as Record<number, string>)[[...axes][0]!] ?? 'size';
}
