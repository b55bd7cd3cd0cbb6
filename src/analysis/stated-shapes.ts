// Whether the shapes a model states for its computed values (value_info, graph outputs) agree with what
// its nodes compute. A stale entry (left by a tool that edited the graph, or written by hand) makes the
// ONNX checker's full check fail on the model, and so on anything written from it: such an input is
// refused, naming the entry, rather than "converted" into an output that fails the same check.

import type { Graph } from '../ir/graph.js';
import type { Dim } from '../ir/types.js';
import type { ValueInfoProto } from '../onnx/proto.js';
import { DataType } from '../onnx/proto.js';
import type { ShapeMap } from './shapes.js';

/**
 * The first value_info or graph output entry that contradicts the inferred `shapes`, said with how to fix
 * it; undefined when none does. Element types are always compared. Dimensions are compared only where the
 * graph's inputs are all static: a dynamic dimension bound for analysis (--batch, --dims) gives a number
 * that the model does not state, which a stated number need not match.
 */
export function statedShapeConflict(g: Graph, shapes: ShapeMap): string | undefined {
  const dimsKnown = g.proto.inputs.every((v) => g.initializer(v.name) || (v.type?.shape?.every((d) => d.value !== undefined) ?? false));
  for (const [list, what] of [[g.proto.valueInfo, 'value_info'], [g.proto.outputs, 'graph output']] as const) {
    for (let i = 0; i < list.length; i++) {
      const conflict = entryConflict(g, list[i]!, shapes, dimsKnown);
      if (conflict) return `${what} ${conflict}`;
    }
  }
  return undefined;
}

function entryConflict(g: Graph, v: ValueInfoProto, shapes: ShapeMap, dimsKnown: boolean): string | undefined {
  const stated = v.type;
  if (!stated) return undefined;
  const producer = g.producer(v.name);
  if (!producer) return undefined;
  const inferred = shapes.get(v.name);
  if (!inferred) return undefined;
  const by = `node ${producer.name || producer.opType} computes`;
  const fix = 'correct the entry or remove it (onnx.shape_inference.infer_shapes writes value_info anew)';
  if (stated.elemType && inferred.dtype && stated.elemType !== inferred.dtype) {
    return `${v.name} states ${typeName(stated.elemType)}, but ${by} ${typeName(inferred.dtype)}; ${fix}`;
  }
  const dims = inferred.dims;
  if (!dimsKnown || !stated.shape || !dims) return undefined;
  if (stated.shape.length === dims.length && stated.shape.every((d, i) => d.value === undefined || d.value === dims[i])) return undefined;
  return `${v.name} states ${fmt(stated.shape)}, but ${by} [${dims.join(',')}]; ${fix}`;
}

function typeName(t: number): string {
  return DataType[t] ?? String(t);
}

function fmt(shape: readonly Dim[]): string {
  return `[${shape.map((d) => d.value ?? d.param ?? '?').join(',')}]`;
}
