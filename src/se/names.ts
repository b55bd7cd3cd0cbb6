// Fresh names for what the SE builder adds. ONNX wants every value name unique across the whole model,
// subgraphs included, and a name the input already gives to anything — a value_info, a node, a graph
// output, a function, a sparse initializer, a value inside an If/Loop body — is not fresh: the checker
// rejects an output whose new tensor shares a name with an input's value_info of another type.
// So the builder asks one function for each name, and it answers against every name in the model.

import type { Model } from '../ir/model.js';
import { WireError, fields, readString } from '../onnx/wire.js';

export interface FreshNames {
  /** A value (tensor) name not used anywhere in the model, derived from `base` (`base`, `base_1`, ...). */
  value(base: string): string;
  /** A node name not used anywhere in the model. */
  node(base: string): string;
}

/**
 * Names are taken against the model as loaded plus what this run made of the same kind: a new node
 * may share its name with its own output (`se/stage1.block1/gate`), as exporters' nodes do.
 */
export function freshNames(model: Model): FreshNames {
  return namesAgainst(modelNames(model));
}

/** Names fresh against `existing` and against what they gave before, values and nodes apart. */
function namesAgainst(existing: ReadonlySet<string>): FreshNames {
  const values = new Set<string>();
  const nodes = new Set<string>();
  const take = (made: Set<string>, base: string) => {
    let name = base;
    for (let i = 1; existing.has(name) || made.has(name); i++) name = `${base}_${i}`;
    made.add(name);
    return name;
  };
  return { value: (base) => take(values, base), node: (base) => take(nodes, base) };
}

/** Deeper nesting than any exporter writes (the IR refuses more at load). */
const MAX_DEPTH = 64;

/** Every name the model holds, of any kind, in the main graph, its subgraphs and its functions. */
export function modelNames(model: Model): Set<string> {
  const names = new Set<string>();
  visitModelNames(model, (s) => {
    if (s) names.add(s);
  });
  return names;
}

/** True when some name in the model, of any kind, starts with `prefix`. */
export function anyNameStartsWith(model: Model, prefix: string): boolean {
  let found = false;
  const first = prefix.charCodeAt(0);
  visitModelNames(model, (s) => {
    if (s.charCodeAt(0) === first && s.startsWith(prefix)) found = true;
  });
  return found;
}

/**
 * Names a sealed block takes under its own prefix: what freshNames answers when no name in the model
 * starts with the prefix (the builder asks for each suffix in the same order, so `_1` suffixes within
 * a block come out the same).
 */
export function namesUnderFreshPrefix(): FreshNames {
  return namesAgainst(NO_NAMES);
}

const NO_NAMES: ReadonlySet<string> = new Set();

function visitModelNames(model: Model, add: (s: string) => void): void {
  const g = model.graph.proto;
  add(g.name);
  // Indexed loops: this runs once over every node, mostly before the optimizer takes it, where a
  // for-of allocates an iterator result per element.
  const each = (list: readonly { name: string }[]) => {
    for (let i = 0; i < list.length; i++) add(list[i]!.name);
  };
  each(g.inputs);
  each(g.outputs);
  each(g.valueInfo);
  each(g.initializers);
  for (let i = 0; i < g.sparseInitializerNames.length; i++) add(g.sparseInitializerNames[i]!);
  const nodes = g.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    add(n.name);
    for (let j = 0; j < n.inputs.length; j++) add(n.inputs[j]!);
    for (let j = 0; j < n.outputs.length; j++) add(n.outputs[j]!);
    for (let j = 0; j < n.attributes.length; j++) for (const body of n.attributes[j]!.graphs ?? []) readable(() => graphNames(body, add, 1));
  }
  for (const e of model.proto.extras) if (e.no === 25) readable(() => functionNames(e.bytes, add));
}

/**
 * Subgraphs and functions stay bytes, written back as they came; a malformed one (which the loader
 * does not decode) holds no name a reader could see, so reading stops there.
 */
function readable(read: () => void): void {
  try {
    read();
  } catch (e) {
    if (!(e instanceof WireError)) throw e;
  }
}

/** Names in an encoded GraphProto: its name, nodes, values, initializers, and nested bodies. */
function graphNames(bytes: Uint8Array, add: (s: string) => void, depth: number): void {
  if (depth > MAX_DEPTH) return;
  for (const f of fields(bytes)) {
    if (f.no === 2) add(readString(f));
    else if (f.no === 1) nodeNames(f.payload, add, depth);
    else if (f.no === 11 || f.no === 12 || f.no === 13) add(firstString(f.payload, 1));
    else if (f.no === 5) add(firstString(f.payload, 8));
    else if (f.no === 15) for (const s of fields(f.payload)) if (s.no === 1) add(firstString(s.payload, 8));
  }
}

function nodeNames(bytes: Uint8Array, add: (s: string) => void, depth: number): void {
  for (const f of fields(bytes)) {
    if (f.no === 1 || f.no === 2 || f.no === 3) add(readString(f));
    else if (f.no === 5) {
      for (const a of fields(f.payload)) {
        if (a.no === 6) graphNames(a.payload, add, depth + 1);
        else if (a.no === 11) graphNames(a.payload, add, depth + 1);
      }
    }
  }
}

/** A model-local function (ModelProto field 25): its name, inputs, outputs, nodes and value_info. */
function functionNames(fieldBytes: Uint8Array, add: (s: string) => void): void {
  for (const outer of fields(fieldBytes)) {
    for (const f of fields(outer.payload)) {
      if (f.no === 1 || f.no === 4 || f.no === 5) add(readString(f));
      else if (f.no === 7) nodeNames(f.payload, add, 1);
      else if (f.no === 12) add(firstString(f.payload, 1));
    }
  }
}

function firstString(buf: Uint8Array, no: number): string {
  for (const f of fields(buf)) if (f.no === no) return readString(f);
  return '';
}
