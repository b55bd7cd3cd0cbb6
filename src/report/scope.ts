// Where a block sits, in the model's own names: the report names each stage by the scope its first
// block's nodes share, as the exporter wrote it.

import { isConv } from '../analysis/blocks.js';
import type { NodeProto } from '../onnx/proto.js';

/**
 * The model's own name for where a block sits: the name scope that its last node and its convs share
 * (torchvision's /layer2/layer2.0, tf2onnx's .../blocks_1 around blocks_1/conv2d and blocks_1/conv2d_1,
 * Keras' model/block_1 around block_1_expand and block_1_project, MXNet's ..._linearbottleneck1 around
 * ..._linearbottleneck1_conv0_fwd), else the scope of its last node.
 */
export function scopeOf(region: ReadonlySet<NodeProto>, last: NodeProto | undefined): string {
  const name = last?.name ?? '';
  let common = name;
  for (const n of region) if (isConv(n) && n.name) common = commonPrefix(common, n.name);
  // Cut at a '/' or after a numbered '_' part (block_1_, linearbottleneck1_): a scope, not part of a layer's name.
  for (let i = common === name ? 0 : common.length - 1; i > 0; i--) {
    if (common[i] === '/' || (common[i] === '_' && isDigit(common.charCodeAt(i - 1)))) return common.slice(0, i);
  }
  const cut = name.lastIndexOf('/');
  return cut > 0 ? name.slice(0, cut) : name;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}
