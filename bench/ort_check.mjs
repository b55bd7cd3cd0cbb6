// Does a written model load and run in ONNX Runtime? Run in its own process (run.mjs starts it) so that
// ORT's memory is not charged to se-inject.
//
//   node bench/ort_check.mjs MODEL.onnx 1,1024,7,7
//
// Prints JSON: load and run time, output shape, whether every output value is finite, peak RSS.
// The session is created from the path, so ORT resolves external data (OUT.onnx.data) itself.

import * as ort from 'onnxruntime-node';

const [file, shapeText = '1,3,224,224'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/ort_check.mjs MODEL.onnx [N,C,H,W]\n');
  process.exit(2);
}
const dims = shapeText.split(',').map(Number);

const t0 = performance.now();
const session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
const t1 = performance.now();
// Small values: the synthetic model's 30 residual additions must not overflow.
const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.random() * 0.1);
const output = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
const t2 = performance.now();
const y = output[session.outputNames[0]];
const values = y.data;
let finite = true;
for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) finite = false;
await session.release();

process.stdout.write(JSON.stringify({
  model: file, ok: finite, loadMs: t1 - t0, runMs: t2 - t1, outputDims: y.dims, finite,
  maxRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
}) + '\n');
