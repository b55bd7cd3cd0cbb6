// Float values to the bytes of an ONNX element type: SE weights take the type of the tensor they scale.

import { DataType } from '../onnx/proto.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a float, round to nearest even. */
export function toFloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function toBFloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
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
      return new Uint8Array(Uint16Array.from(values, toFloat16Bits).buffer);
    case DataType.BFLOAT16:
      return new Uint8Array(Uint16Array.from(values, toBFloat16Bits).buffer);
    default:
      throw new Error(`no SE weights for element type ${dataType}`);
  }
}
