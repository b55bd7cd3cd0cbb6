#!/usr/bin/env node
// fill.mjs SKELETON OUT [--seed N] [--gain G] — puts seeded random weights into a skeleton from
// skeleton.mjs.
//
// Every float initializer of rank >= 1 whose bytes are all zero is refilled; anything else is left alone.
//   rank >= 2 (Conv OIHW, Gemm [out, in] with transB=1): N(0, G/fan_in), fan_in = prod(dims[1:]).
//   rank 1 (biases): U(-0.01, 0.01), small next to the weights' contribution, non-zero so they are used.
// The torchvision exports fold BatchNorm into the convolutions, so nothing renormalises activations and
// the gain decides whether the input still reaches the logits. G = 2 is He's gain for ReLU: it keeps the
// mean square of activations level layer after layer. G = 1 halves it at each ReLU; after ~50 layers of
// inception_v3 the logits were 98% the fc bias (rms 7.8e-3, of which 1.6e-4 depended on the input),
// which leaves --init preserve validation little to compare. With G = 2 the input decides 39-99% of the
// logits of all four bundled models, whose rms stays between 0.7 and 900 (finite and far from overflow).
//
// Values are written as the tensor's own type (float32, float16, float64, bfloat16; little-endian, as
// ONNX raw_data is). Each tensor has its own stream, mulberry32 seeded by (seed, tensor name), so the
// result does not depend on initializer order and the same skeleton always gives the same model.

import { FLOAT_TYPES, die, libraryModule } from './library.mjs';

// The library's own PRNG and float16/bfloat16 rounding: the bundle carries dist/.
const { mulberry32 } = await libraryModule('random.js');
const { floatToHalfBits, toBFloat16Bits } = await libraryModule('numeric.js');

const BIAS_RANGE = 0.01;

function parseArgs(argv) {
  const files = [];
  let seed = 1;
  let gain = 2;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--seed') seed = Number(argv[++i]);
    else if (argv[i] === '--gain') gain = Number(argv[++i]);
    else files.push(argv[i]);
  }
  if (files.length !== 2 || !Number.isInteger(seed) || !(gain > 0)) {
    die('fill.mjs', 'usage: node fill.mjs SKELETON.onnx OUT.onnx [--seed INTEGER] [--gain G (weights N(0, G/fan_in))]');
  }
  return { input: files[0], output: files[1], seed, gain };
}

function fnv1a(text) {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** Standard normal draws by Box–Muller; each pair of uniforms gives two values. */
function normalStream(rand) {
  let spare;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - rand())); // 1 - rand() lies in (0, 1]: log stays finite
    const phi = 2 * Math.PI * rand();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
}

const WRITERS = {
  float32: [4, (v, i, x) => v.setFloat32(i * 4, x, true)],
  float64: [8, (v, i, x) => v.setFloat64(i * 8, x, true)],
  float16: [2, (v, i, x) => v.setUint16(i * 2, floatToHalfBits(x), true)],
  bfloat16: [2, (v, i, x) => v.setUint16(i * 2, toBFloat16Bits(x), true)],
};

function allZero(bytes) {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** New raw_data for tensor t: the draw rule its rank calls for, in its element type. */
function randomBytes(t, seed, gain) {
  const [size, write] = WRITERS[FLOAT_TYPES.get(t.dataType)];
  const count = t.rawData.byteLength / size;
  const rand = mulberry32(fnv1a(t.name) ^ seed);
  let draw;
  if (t.dims.length >= 2) {
    const fanIn = t.dims.slice(1).reduce((a, b) => a * b, 1);
    const normal = normalStream(rand);
    const std = Math.sqrt(gain / Math.max(fanIn, 1));
    draw = () => normal() * std;
  } else {
    draw = () => (2 * rand() - 1) * BIAS_RANGE;
  }
  const bytes = new Uint8Array(count * size);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) write(view, i, draw());
  return bytes;
}

const { input, output, seed, gain } = parseArgs(process.argv.slice(2));
const { loadModelFile } = await libraryModule('onnx/load.js');
const { saveModel } = await libraryModule('onnx/save.js');

const model = await loadModelFile(input);
const counts = { weights: 0, biases: 0, kept: 0 };
for (const t of model.graph.proto.initializers) {
  if (!FLOAT_TYPES.has(t.dataType) || t.dims.length === 0) continue;
  if (!t.rawData) die('fill.mjs', `${input}: initializer ${t.name} has no raw_data; fill.mjs only reads skeletons written by skeleton.mjs`);
  if (!allZero(t.rawData)) {
    counts.kept++;
    continue;
  }
  t.rawData = randomBytes(t, seed, gain);
  t.src = undefined; // re-encode this tensor from rawData
  counts[t.dims.length >= 2 ? 'weights' : 'biases']++;
}
const saved = await saveModel(model, output, { overwrite: true });
process.stderr.write(`fill: ${input}: ${counts.weights} weights N(0, ${gain}/fan_in), ${counts.biases} biases U(±${BIAS_RANGE}), ${counts.kept} non-zero kept, seed ${seed}; wrote ${saved.path}\n`);
