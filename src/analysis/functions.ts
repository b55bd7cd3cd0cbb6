// Model-local functions (ModelProto.functions, e.g. torch's export_modules_as_functions): a node whose
// (domain, op_type) names one is a call, and its layers live in the function body, which se-inject keeps
// as the bytes it read and does not rewrite. What calls a graph makes, counted per function.

import type { Model } from '../ir/model.js';
import { WireError, fields, readString } from '../onnx/wire.js';

/** "domain:name" of every model-local function. */
function localFunctions(model: Model): Set<string> {
  const out = new Set<string>();
  for (const e of model.proto.extras) {
    if (e.no !== 25) continue;
    try {
      for (const outer of fields(e.bytes)) {
        let name = '';
        let domain = '';
        for (const f of fields(outer.payload)) {
          if (f.no === 1) name = readString(f);
          else if (f.no === 10) domain = readString(f);
        }
        if (name) out.add(`${domain}:${name}`);
      }
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
    }
  }
  return out;
}

/** Calls of model-local functions in the main graph, as `name ×count`, most called first. */
export function functionCalls(model: Model): string[] {
  const local = localFunctions(model);
  if (!local.size) return [];
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) {
    const key = `${n.domain}:${n.opType}`;
    if (local.has(key)) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ×${v}`);
}
