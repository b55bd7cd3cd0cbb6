#!/usr/bin/env node
// probe.mjs EP — opens a one-node Relu model on one execution provider with ONNX Runtime's logging at
// its most verbose, and prints what happened. The CLI keeps only the one line a user can act on; when
// WebGPU finds no adapter on a GPU machine, this log (Dawn's backend and adapter messages) says why.

import * as ort from 'onnxruntime-node';
import { die, libraryModule } from './library.mjs';

const ep = process.argv[2];
if (!ep) die('probe.mjs', 'usage: node probe.mjs webgpu|cuda|cpu');

// The library's own probe model: y = Relu(x) over two floats.
const relu = (await libraryModule('validate/providers.js')).reluModelBytes();

console.log(`onnxruntime-node ${ort.env.versions?.node ?? '?'} (common ${ort.env.versions?.common ?? '?'}), ${process.platform}-${process.arch}`);
console.log(`backends: ${JSON.stringify(ort.listSupportedBackends())}`);
ort.env.logLevel = 'verbose';
const started = Date.now();
try {
  const session = await ort.InferenceSession.create(relu, { executionProviders: [ep], logSeverityLevel: 0, logVerbosityLevel: 0 });
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 2]), [2]) });
  console.log(`${ep}: session ran, y = [${Array.from(out.y.data).join(', ')}] (expected [0, 2]) in ${Date.now() - started} ms`);
  await session.release();
} catch (e) {
  console.log(`${ep}: failed after ${Date.now() - started} ms: ${e?.message ?? e}`);
  process.exitCode = 1;
}
