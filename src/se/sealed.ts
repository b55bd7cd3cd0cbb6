// SE blocks held sealed (src/ir/sealed.ts): one record per block, built into nodes only when written
// or read. Every block with the same shape and options has the same structure, so one template per
// shape is built, checked and counted (its lint, shapes, MACs, parameters), and each block of that
// shape only differs from it by its name prefix, the tensor it scales and its own random weights.

import type { SealedBlock } from '../ir/graph.js';
import { encodeNode, encodeTensor } from '../onnx/proto.js';
import type { NodeProto, TensorProto } from '../onnx/proto.js';
import { WireWriter } from '../onnx/wire.js';
import { buildSE } from './build.js';
import type { BuiltSE, SEBlockPlan, SEOptions } from './build.js';
import { namesUnderFreshPrefix } from './names.js';

/** What every block of one shape shares: built once, under a placeholder prefix. */
export interface BlockTemplate {
  built: BuiltSE;
  /** The placeholder prefix the template was built under. */
  prefix: string;
  /** The block's output is its prefix followed by this. */
  outputSuffix: string;
  opTypes: readonly string[];
}

export function blockTemplate(plan: SEBlockPlan, o: SEOptions): BlockTemplate {
  const built = buildSE(plan, o, namesUnderFreshPrefix());
  if (!built.output.startsWith(`${plan.prefix}/`)) throw new Error(`IR: the SE block's output ${built.output} is not under its prefix ${plan.prefix}`);
  return { built, prefix: plan.prefix, outputSuffix: built.output.slice(plan.prefix.length), opTypes: Object.freeze(built.nodes.map((n) => n.opType)) };
}

/** Blocks of one shape with their own prefix and tensor: the signature the template cache is keyed by. */
export function templateKey(plan: SEBlockPlan, dims: readonly number[]): string {
  return JSON.stringify([dims, plan.channels, plan.reduceChannels, plan.ratio, plan.dtype, plan.gate, plan.opset]);
}

/** One SE block as a record: its plan (prefix, tensor), the options and its template's shared facts. */
export class SealedSE implements SealedBlock {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  private lengths?: { nodes: number; initializers: number };

  constructor(private readonly plan: SEBlockPlan, private readonly options: SEOptions, private readonly template: BlockTemplate) {
    this.reads = [plan.tensor];
    this.writes = [plan.prefix + template.outputSuffix];
  }

  get opTypes(): readonly string[] {
    return this.template.opTypes;
  }

  expand(): { nodes: NodeProto[]; initializers: TensorProto[] } {
    const built = buildSE(this.plan, this.options, namesUnderFreshPrefix());
    return { nodes: built.nodes, initializers: built.initializers };
  }

  encodeNodes(): Uint8Array {
    return this.encode().nodes;
  }

  encodeInitializers(): Uint8Array {
    return this.encode().initializers;
  }

  get nodeBytesLength(): number {
    return (this.lengths ??= this.measure()).nodes;
  }

  get initializerBytesLength(): number {
    return (this.lengths ??= this.measure()).initializers;
  }

  private measure(): { nodes: number; initializers: number } {
    const e = this.encode();
    return { nodes: e.nodes.byteLength, initializers: e.initializers.byteLength };
  }

  private encode(): { nodes: Uint8Array; initializers: Uint8Array } {
    const { nodes, initializers } = this.expand();
    const wn = new WireWriter();
    for (const n of nodes) wn.messageField(1, encodeNode(n));
    const wi = new WireWriter();
    for (const t of initializers) wi.messageField(5, encodeTensor(t));
    return { nodes: wn.toBytes(), initializers: wi.toBytes() };
  }
}
