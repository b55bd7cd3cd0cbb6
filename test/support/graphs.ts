// Generated pathological graphs: wide, shared-input and long ones. Matching and rewriting must stay
// near-linear in nodes on them (bench/node-count.mjs times the same shapes; tests only require them to finish).

import { buildModelBytes, conv, node } from './models.js';
import type { NodeProto, TensorProto } from '../../src/onnx/proto.js';

const C = 4, HW = 4;

/** x → k parallel 1×1 convs → one channel Concat of all k → Relu: one Inception-like module k wide. */
export function wideConcat(k: number): Uint8Array {
  const nodes: NodeProto[] = [], inits: TensorProto[] = [], outs: string[] = [];
  for (let i = 0; i < k; i++) {
    const c = conv('x', `b${i}`, C, 1, 1);
    nodes.push(c.node);
    inits.push(...c.inits);
    outs.push(`b${i}`);
  }
  nodes.push(node('Concat', outs, ['cat'], { axis: 1 }), node('Relu', ['cat'], ['y']));
  return buildModelBytes({ nodes, inits, input: { name: 'x', dims: [1, C, HW, HW] }, output: { name: 'y', dims: [1, k, HW, HW] } });
}

/** k residual sums Add(x, conv_i(x)) that all read x, gathered by one Concat. */
export function sharedInput(k: number): Uint8Array {
  const nodes: NodeProto[] = [], inits: TensorProto[] = [], outs: string[] = [];
  for (let i = 0; i < k; i++) {
    const c = conv('x', `c${i}`, C, C, 1);
    nodes.push(c.node, node('Add', ['x', `c${i}`], [`s${i}`]));
    inits.push(...c.inits);
    outs.push(`s${i}`);
  }
  nodes.push(node('Concat', outs, ['y'], { axis: 1 }));
  return buildModelBytes({ nodes, inits, input: { name: 'x', dims: [1, C, HW, HW] }, output: { name: 'y', dims: [1, C * k, HW, HW] } });
}

/** A chain of `blocks` residual units t' = Add(t, Conv(t)): 2·blocks + 1 nodes. */
export function residualChain(blocks: number): Uint8Array {
  const nodes: NodeProto[] = [], inits: TensorProto[] = [];
  let t = 'x';
  for (let i = 0; i < blocks; i++) {
    const c = conv(t, `c${i}`, C, C, 1);
    nodes.push(c.node, node('Add', [`c${i}`, t], [`t${i}`]));
    inits.push(...c.inits);
    t = `t${i}`;
  }
  nodes.push(node('Relu', [t], ['y']));
  return buildModelBytes({ nodes, inits, input: { name: 'x', dims: [1, C, HW, HW] }, output: { name: 'y', dims: [1, C, HW, HW] } });
}

/** A chain of n Relu nodes: nothing to insert, but every analysis walks it. */
export function reluChain(n: number): Uint8Array {
  const nodes: NodeProto[] = [];
  for (let i = 0; i < n; i++) nodes.push(node('Relu', [i ? `r${i - 1}` : 'x'], [i === n - 1 ? 'y' : `r${i}`]));
  return buildModelBytes({ nodes, inits: [], input: { name: 'x', dims: [1, C, HW, HW] }, output: { name: 'y', dims: [1, C, HW, HW] } });
}
