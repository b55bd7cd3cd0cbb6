// Calls of model-local functions expanded in place into the nodes of their functions, as
// onnx.inliner does: the call's inputs and outputs take the places of the function's formal ones, every
// other name the body writes gets a fresh name under the call's (`<call>/<name>`), node names likewise,
// and an attribute that refers to one of the call's (ref_attr_name) takes the call's value, or the
// function's default, or is left out. Calls inside a body are expanded too. The functions themselves
// stay in the model, as they were read.
//
// A call is not expanded where the result could mean something else: its function (or one it calls)
// imports an opset at another version than the model, or a domain the model does not import; holds a
// node with a subgraph (whose names would need renaming inside its bytes); is an overload; calls
// itself; calls deeper than MAX_DEPTH; or would expand, with every call of the graph, past
// MAX_EXPANDED_NODES.

import type { Graph } from './graph.js';
import type { AttributeProto, LocalFunction, NodeProto, OpsetId } from './types.js';

/** How calls find their function: by domain and name, the key of the function tables here. */
export const functionKey = (domain: string, name: string) => `${domain}:${name}`;

const MAX_DEPTH = 16;

export interface Calls {
  /** The graph's calls of model-local functions, in node order. */
  calls: NodeProto[];
  /** Why a call cannot be expanded, for those that cannot. */
  blocked: Map<NodeProto, string>;
}

/** The calls of model-local functions in `g`, and those that cannot be expanded with why. */
export function localCalls(g: Graph, functions: ReadonlyMap<string, LocalFunction>, opsets: readonly OpsetId[]): Calls {
  const calls: NodeProto[] = [];
  const blocked = new Map<NodeProto, string>();
  if (!functions.size) return { calls, blocked };
  const check = new Expandability(functions, opsets);
  let total = 0;
  for (const n of g.nodes) {
    const fn = functions.get(functionKey(n.domain, n.opType));
    if (!fn) continue;
    calls.push(n);
    const r = check.of(fn);
    if (typeof r === 'string') blocked.set(n, r);
    else if ((total += r) > MAX_EXPANDED_NODES) blocked.set(n, `the calls expand to more than ${MAX_EXPANDED_NODES} nodes`);
  }
  return { calls, blocked };
}

/** Most nodes the expansion of every call of a graph may write: a call of a call of ... multiplies. */
const MAX_EXPANDED_NODES = 1 << 21;

/**
 * Whether each function can be expanded, asked once per function (a body calling another function ten
 * times, sixteen levels down, is asked about sixteen functions, not 10^16 calls): the number of nodes
 * one call expands to, or why it cannot be expanded.
 */
class Expandability {
  private readonly known = new Map<LocalFunction, number | string>();
  private readonly open = new Set<LocalFunction>();

  constructor(private readonly functions: ReadonlyMap<string, LocalFunction>, private readonly opsets: readonly OpsetId[]) {}

  of(fn: LocalFunction, depth = 0): number | string {
    const done = this.known.get(fn);
    if (done !== undefined) return done;
    if (this.open.has(fn)) return `${fn.name} calls itself`;
    if (depth >= MAX_DEPTH) return `calls nested deeper than ${MAX_DEPTH}`;
    this.open.add(fn);
    const r = this.check(fn, depth);
    this.open.delete(fn);
    this.known.set(fn, r);
    return r;
  }

  private check(fn: LocalFunction, depth: number): number | string {
    if (fn.overload) return `${fn.name} is an overload (${fn.overload})`;
    for (const o of fn.opsetImport) {
      const model = this.opsets.find((m) => domainOf(m.domain) === domainOf(o.domain));
      if (model && model.version !== o.version) return `${fn.name} imports ${domainOf(o.domain) || 'ai.onnx'} ${o.version} where the model imports ${model.version}`;
    }
    let size = 0;
    for (const n of fn.nodes) {
      if (n.attributes.some((a) => a.graphs?.length)) return `${fn.name} holds a subgraph (${n.opType})`;
      const inner = this.functions.get(functionKey(n.domain, n.opType));
      if (inner) {
        const r = this.of(inner, depth + 1);
        if (typeof r === 'string') return r;
        size += r;
      } else if (!this.opsets.some((m) => domainOf(m.domain) === domainOf(n.domain))) {
        return `${fn.name} uses the domain ${n.domain}, which the model does not import`;
      } else size++;
      if (size > MAX_EXPANDED_NODES) return `a call of ${fn.name} expands to more than ${MAX_EXPANDED_NODES} nodes`;
    }
    return size;
  }
}

const domainOf = (d: string) => (d === 'ai.onnx' ? '' : d);

/**
 * Expands each of `calls` (expandable ones: see localCalls) in place. Returns, for each call, the nodes
 * it became.
 */
export function expandCalls(g: Graph, functions: ReadonlyMap<string, LocalFunction>, calls: readonly NodeProto[]): Map<NodeProto, NodeProto[]> {
  const bodies = new Map<NodeProto, NodeProto[]>();
  for (const call of calls) {
    const fn = functions.get(functionKey(call.domain, call.opType));
    if (!fn) throw new Error(`IR: ${call.name || call.opType} calls no model-local function`);
    const out: NodeProto[] = [];
    expandInto(g, functions, call, fn, out, 0);
    bodies.set(call, out);
  }
  g.replaceNodes(bodies);
  return bodies;
}

function expandInto(g: Graph, functions: ReadonlyMap<string, LocalFunction>, call: NodeProto, fn: LocalFunction, out: NodeProto[], depth: number): void {
  if (depth >= MAX_DEPTH) throw new Error(`IR: calls of ${fn.name} nest deeper than ${MAX_DEPTH}`);
  const scope = call.name || `${call.opType}_call`;
  const names = new Map<string, string>();
  fn.inputs.forEach((f, i) => names.set(f, call.inputs[i] ?? ''));
  fn.outputs.forEach((f, i) => names.set(f, call.outputs[i] || g.uniqueValueName(`${scope}/${f}`)));
  const rename = (v: string): string => {
    if (!v) return '';
    let to = names.get(v);
    if (to === undefined) names.set(v, (to = g.uniqueValueName(`${scope}/${v}`)));
    return to;
  };
  for (const n of fn.nodes) {
    const node: NodeProto = {
      name: g.uniqueNodeName(`${scope}/${n.name || n.opType}`), opType: n.opType, domain: n.domain,
      inputs: n.inputs.map(rename), outputs: n.outputs.map(rename),
      attributes: resolvedAttributes(n.attributes, call, fn), metadataProps: n.metadataProps, extras: n.extras,
    };
    const inner = functions.get(functionKey(node.domain, node.opType));
    if (inner) expandInto(g, functions, node, inner, out, depth + 1);
    else out.push(node);
  }
}

/** A body node's attributes with every reference to the call's attributes resolved. */
function resolvedAttributes(attributes: readonly AttributeProto[], call: NodeProto, fn: LocalFunction): AttributeProto[] {
  const out: AttributeProto[] = [];
  for (const a of attributes) {
    const ref = fn.refs.get(a);
    if (ref === undefined) {
      out.push(a);
      continue;
    }
    const value = call.attributes.find((c) => c.name === ref) ?? fn.defaults.find((d) => d.name === ref);
    if (!value) continue; // neither given nor defaulted: the attribute is absent, as ONNX says
    out.push(value.name === a.name ? value : { ...value, name: a.name, src: undefined });
  }
  return out;
}
