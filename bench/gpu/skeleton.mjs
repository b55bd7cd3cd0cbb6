#!/usr/bin/env node
// skeleton.mjs MODEL OUT — writes MODEL with the bytes of its float weights set to zero: every float
// initializer that a Conv, ConvTranspose, Gemm or MatMul reads as weight or bias, and any other float
// initializer of at least 1 KiB. The graph, names, shapes and small constants stay exact, so the skeleton
// is the same network with its weights taken out; xz turns the zeros into almost nothing, which is how a
// 100 MB export fits in the GPU bundle. fill.mjs puts seeded random weights back on the device.
//
// Other float tensors under 1 KiB are kept as they are: they cost nothing to carry, and they are usually
// constants that define the graph (Resize scales, Clip bounds, input normalisation) rather than weights.

import { FLOAT_TYPES, die, libraryModule } from './library.mjs';

const SMALL_BYTES = 1024;
const WEIGHT_READERS = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** Names of the initializers read as inputs 1 and 2 (weight, bias) of the ops above. */
function weightNames(graph) {
  const names = new Set();
  for (const node of graph.nodes) {
    if (WEIGHT_READERS.has(node.opType) && !node.domain) node.inputs.slice(1, 3).forEach((name) => names.add(name));
  }
  return names;
}

const [input, output] = process.argv.slice(2);
if (!input || !output) die('skeleton.mjs', 'usage: node skeleton.mjs MODEL.onnx OUT.onnx');

const { loadModelFile } = await libraryModule('onnx/load.js');
const { saveModel } = await libraryModule('onnx/save.js');

const model = await loadModelFile(input);
const weights = weightNames(model.graph.proto);
let zeroed = 0;
let zeroBytes = 0;
let kept = 0;
for (const t of model.graph.proto.initializers) {
  if (!FLOAT_TYPES.has(t.dataType)) continue;
  if (!t.rawData) {
    die('skeleton.mjs', `${input}: initializer ${t.name} has no raw_data (external data or float_data); only inline raw_data exports are supported — re-export without external data`);
  }
  if (t.rawData.byteLength < SMALL_BYTES && !weights.has(t.name)) {
    kept++;
    continue;
  }
  zeroBytes += t.rawData.byteLength;
  t.rawData = new Uint8Array(t.rawData.byteLength);
  t.src = undefined; // the encoder would otherwise write the original bytes back
  zeroed++;
}
const saved = await saveModel(model, output, { overwrite: true });
process.stderr.write(`skeleton: ${input}: zeroed ${zeroed} float initializers (${(zeroBytes / 2 ** 20).toFixed(1)} MiB), kept ${kept} small non-weight constants; wrote ${saved.path}\n`);
