// Model-local functions (ModelProto field 25, FunctionProto), decoded for inlining: the model keeps
// them as the bytes it read (extras), and this reads those bytes into what a call's expansion needs.
// A function that cannot be read is left out, as if the model did not define it.

import type { AttributeProto, LocalFunction, OpsetId } from '../ir/types.js';
import { decodeAttribute, decodeNode } from './proto.js';
import { WireError, fields, readString } from './wire.js';
import { functionKey } from '../ir/inline.js';

const MODEL_FUNCTIONS = 25;

type Extras = readonly { no: number; bytes: Uint8Array }[];

/**
 * Functions decoded once per model, kept with the byte arrays they were read from: a model's extras
 * are the bytes it read, and should a caller edit them the functions are read again.
 */
const decoded = new WeakMap<Extras, { from: Uint8Array[]; functions: ReadonlyMap<string, LocalFunction> }>();

/** Every model-local function the model defines, by "domain:name" (the first of a key, should one repeat). */
export function localFunctions(extras: Extras): ReadonlyMap<string, LocalFunction> {
  const from = extras.filter((e) => e.no === MODEL_FUNCTIONS).map((e) => e.bytes);
  const hit = decoded.get(extras);
  if (hit && hit.from.length === from.length && hit.from.every((b, i) => b === from[i])) return hit.functions;
  const functions = decodeFunctions(from);
  decoded.set(extras, { from, functions });
  return functions;
}

function decodeFunctions(from: readonly Uint8Array[]): Map<string, LocalFunction> {
  const out = new Map<string, LocalFunction>();
  for (const bytes of from) {
    try {
      for (const outer of fields(bytes)) {
        const fn = decodeFunction(outer.payload);
        const key = functionKey(fn.domain, fn.name);
        if (fn.name && !out.has(key)) out.set(key, fn);
      }
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
    }
  }
  return out;
}


function decodeFunction(bytes: Uint8Array): LocalFunction {
  const refs = new Map<AttributeProto, string>();
  const fn: LocalFunction = { name: '', domain: '', overload: '', inputs: [], outputs: [], defaults: [], nodes: [], opsetImport: [], refs };
  for (const f of fields(bytes)) {
    switch (f.no) {
      case 1: fn.name = readString(f); break;
      case 4: fn.inputs.push(readString(f)); break;
      case 5: fn.outputs.push(readString(f)); break;
      case 7: {
        const n = decodeNode(f.payload);
        for (const a of n.attributes) {
          const ref = refAttrName(a);
          if (ref !== undefined) refs.set(a, ref);
        }
        fn.nodes.push(n);
        break;
      }
      case 9: fn.opsetImport.push(opsetId(f.payload)); break;
      case 10: fn.domain = readString(f); break;
      case 11: fn.defaults.push(decodeAttribute(f.payload)); break;
      case 13: fn.overload = readString(f); break;
    }
  }
  return fn;
}

function opsetId(bytes: Uint8Array): OpsetId {
  const o: OpsetId = { domain: '', version: 0 };
  for (const f of fields(bytes)) {
    if (f.no === 1) o.domain = readString(f);
    else if (f.no === 2) o.version = f.num;
  }
  return o;
}

const REF_ATTR_NAME = 21;

/** AttributeProto.ref_attr_name: the attribute of the call (or the function's default) this one stands for. */
function refAttrName(a: AttributeProto): string | undefined {
  if (!a.src) return undefined;
  for (const f of fields(a.src)) if (f.no === REF_ATTR_NAME) return readString(f);
  return undefined;
}
