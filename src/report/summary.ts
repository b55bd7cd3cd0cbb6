// What `se-inject report` says about a model before any rewrite: who made it, its interface, its ops,
// its parameters and MACs, and its largest layers.

import { countMacs } from '../analysis/cost.js';
import type { MacCount } from '../analysis/cost.js';
import type { ShapeMap } from '../analysis/shapes.js';
import type { Model } from '../ir/model.js';
import { DataType, elementCount } from '../onnx/proto.js';
import type { NodeProto, ValueInfoProto } from '../onnx/proto.js';

export interface TensorSummary {
  name: string;
  elemType: string;
  /** Declared dims: numbers, or the symbolic names of dynamic ones. */
  shape: (number | string)[];
}

export interface ModelSummary {
  file: string;
  producer: { name: string; version: string };
  irVersion: number;
  opsets: Record<string, number>;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  nodes: number;
  opCounts: Record<string, number>;
  largestLayers: { node: string; opType: string; macs: number; params: number }[];
  boundDims: Record<string, number>;
  externalData: boolean;
}

export function elemTypeName(t: number): string {
  return (DataType[t] ?? `type${t}`).toLowerCase();
}

function tensorSummary(v: ValueInfoProto): TensorSummary {
  return {
    name: v.name,
    elemType: v.type ? elemTypeName(v.type.elemType) : 'non-tensor',
    shape: (v.type?.shape ?? []).map((d) => d.param ?? d.value ?? '?'),
  };
}

/**
 * The `k` nodes with the most MACs, most first, ties in node order (a stable sort's order): kept in one
 * short list while walking the counts, where sorting every node would order 10^5 of them for five.
 */
function largestNodes(macs: MacCount, k: number): { n: NodeProto; m: number }[] {
  const top: { n: NodeProto; m: number }[] = [];
  macs.perNode.forEach((m, n) => {
    if (!(m > 0) || (top.length === k && !(m > top[k - 1]!.m))) return;
    let at = top.length;
    while (at > 0 && top[at - 1]!.m < m) at--;
    top.splice(at, 0, { n, m });
    if (top.length > k) top.pop();
  });
  return top;
}

/** `macs`: the model's MAC count with these shapes, when the caller has it. */
export function summarize(model: Model, shapes: ShapeMap, macs: MacCount = countMacs(model.graph, shapes)): ModelSummary {
  const g = model.graph;
  const opCounts = new Map<string, number>();
  const nodes = g.nodes;
  for (let i = 0; i < nodes.length; i++) opCounts.set(nodes[i]!.opType, (opCounts.get(nodes[i]!.opType) ?? 0) + 1);
  const layerParams = (inputs: readonly string[]) => inputs.reduce((s, i) => {
    const t = g.initializer(i);
    return s + (t ? elementCount(t.dims) : 0);
  }, 0);
  const largest = largestNodes(macs, 5)
    .map(({ n, m }) => ({ node: n.name || n.outputs[0]!, opType: n.opType, macs: m, params: layerParams(n.inputs) }));
  const boundDims: Record<string, number> = {};
  for (const i of g.proto.inputs) {
    i.type?.shape?.forEach((d, axis) => {
      const bound = shapes.get(i.name)?.dims?.[axis];
      if (d.param !== undefined && bound !== undefined) boundDims[d.param] = bound;
    });
  }
  return {
    file: model.label,
    producer: { name: model.proto.producerName, version: model.proto.producerVersion },
    irVersion: model.proto.irVersion,
    opsets: Object.fromEntries(model.proto.opsetImport.map((o) => [o.domain || 'ai.onnx', o.version])),
    inputs: g.proto.inputs.filter((i) => !g.initializer(i.name)).map(tensorSummary),
    outputs: g.proto.outputs.map(tensorSummary),
    nodes: g.nodes.length,
    opCounts: Object.fromEntries([...opCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))),
    largestLayers: largest,
    boundDims,
    externalData: model.source.external.size > 0,
  };
}
