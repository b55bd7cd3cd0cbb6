// Graph.lint(), after torch.fx: the structural promises of the IR, each problem said with how to fix it.
// Runs after every pass in the tests and guards every model before it is written.

import type { Graph } from './graph.js';

export function lintGraph(g: Graph): string[] {
  const problems: string[] = [];
  const defined = new Set<string>(['']);
  for (const v of g.proto.inputs) defined.add(v.name);
  for (const t of g.proto.initializers) defined.add(t.name);
  for (const n of g.proto.sparseInitializerNames) defined.add(n);
  const producedBy = new Map<string, string>();
  const nodeNames = new Set<string>();
  const later = new Set<string>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) later.add(o);

  for (const n of g.nodes) {
    const label = n.name || `${n.opType} writing ${n.outputs[0] ?? '?'}`;
    if (n.name) {
      if (nodeNames.has(n.name)) problems.push(`two nodes are named ${n.name}: give each node a unique name`);
      nodeNames.add(n.name);
    }
    for (const v of g.reads(n)) {
      if (defined.has(v)) continue;
      problems.push(later.has(v)
        ? `node ${label} reads ${v} before it is computed: the graph is not in topological order (or has a cycle)`
        : `node ${label} reads ${v}, which no node, graph input or initializer defines`);
    }
    for (const o of n.outputs) {
      if (!o) continue;
      const other = producedBy.get(o);
      if (other !== undefined || (defined.has(o) && !producedBy.has(o))) {
        problems.push(`tensor ${o} is written by ${other ? `both ${other} and ${label}` : `${label} and is also a graph input or initializer`}: each tensor needs exactly one producer`);
      }
      producedBy.set(o, label);
      defined.add(o);
    }
  }
  for (const o of g.proto.outputs) {
    if (!defined.has(o.name)) problems.push(`graph output ${o.name} is never computed`);
  }
  return problems;
}
