// Node counts per op type before and after the rewrite, the table onnxsim users read first.

import type { Graph } from '../ir/graph.js';

export interface OpCounts {
  before: Record<string, number>;
  after: Record<string, number>;
}

export function countOps(graph: Graph): Record<string, number> {
  // Counted in a Map: the decoder's op type strings are not V8-internalized, and a record's key would
  // be looked up in V8's string table on every count.
  const counts = new Map<string, number>();
  graph.forEachOpType((op) => {
    counts.set(op, (counts.get(op) ?? 0) + 1);
  });
  return Object.fromEntries(counts);
}

/** Rows [op, before, after, change]: the input's ops by count, then ops the rewrite added; a total last. */
export function opCountRows(c: OpCounts): string[][] {
  const ops = [...new Set([...Object.keys(c.before), ...Object.keys(c.after)])].sort((a, b) =>
    (c.before[b] ?? 0) - (c.before[a] ?? 0) || (c.after[b] ?? 0) - (c.after[a] ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
  const change = (x: number, y: number) => (y === x ? '' : y > x ? `+${y - x}` : `−${x - y}`);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const rows = ops.map((op) => [op, String(c.before[op] ?? 0), String(c.after[op] ?? 0), change(c.before[op] ?? 0, c.after[op] ?? 0)]);
  rows.push(['total', String(sum(c.before)), String(sum(c.after)), change(sum(c.before), sum(c.after))]);
  return rows;
}
