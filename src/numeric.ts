// Float conversions shared by the SE weights (which take the element type of the tensor they scale)
// and validation (float16 inputs and outputs travel as IEEE half bits in a Uint16Array).

import { DataType } from './onnx/proto.js';

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** float → IEEE 754 half bits, rounding to nearest even (as ORT's own conversion does). */
export function floatToHalfBits(value: number): number {
  f32[0] = value;
  const x = f32Bits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    return sign | roundShift(mant | 0x800000, 14 - e);
  }
  // A carry out of the mantissa correctly bumps the exponent (and 65520 up to infinity).
  return sign | ((e << 10) + roundShift(mant, 13));
}

function roundShift(v: number, shift: number): number {
  const kept = v >>> shift;
  const rest = v & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && kept & 1) ? kept + 1 : kept;
}

export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function toBFloat16Bits(v: number): number {
  f32[0] = v;
  const x = f32Bits[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function encodeFloats(values: Float64Array, dataType: number): Uint8Array {
  const n = values.length;
  switch (dataType) {
    case DataType.FLOAT: {
      const out = new Float32Array(n);
      out.set(values);
      return new Uint8Array(out.buffer);
    }
    case DataType.DOUBLE:
      return new Uint8Array(Float64Array.from(values).buffer);
    case DataType.FLOAT16:
      return new Uint8Array(Uint16Array.from(values, floatToHalfBits).buffer);
    case DataType.BFLOAT16:
      return new Uint8Array(Uint16Array.from(values, toBFloat16Bits).buffer);
    default:
      throw new Error(`no SE weights for element type ${dataType}`);
  }
}
