import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DataType } from '../../src/onnx/proto.js';
import { floatToHalfBits, halfBitsToFloat } from '../../src/numeric.js';
import { bindShape, randomFeeds, tensorNumbers } from '../../src/validate/tensors.js';
import type { InputSpec } from '../../src/validate/tensors.js';

describe('float16 bits', () => {
  it('encodes exact values, rounds to nearest even, and saturates to infinity', () => {
    expect(floatToHalfBits(1)).toBe(0x3c00);
    expect(floatToHalfBits(-2)).toBe(0xc000);
    expect(floatToHalfBits(65504)).toBe(0x7bff);
    expect(floatToHalfBits(65520)).toBe(0x7c00);
    expect(floatToHalfBits(2 ** -24)).toBe(0x0001);
    expect(floatToHalfBits(2 ** -26)).toBe(0);
    expect(floatToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa
    expect(floatToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalfBits(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('decodes every finite half back to the value it encodes', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) !== 0x7c00 && floatToHalfBits(halfBitsToFloat(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    expect(halfBitsToFloat(0x7c00)).toBe(Infinity);
  });
});

describe('inputs', () => {
  const x: InputSpec = { name: 'x', elemType: DataType.FLOAT, shape: [{ param: 'N' }, { value: 3 }, {}] };

  it('binds named dims, then the batch for the first, and asks for the rest', () => {
    expect(bindShape(x, { batch: 2, dims: { x_dim2: 7 } })).toEqual([2, 3, 7]);
    expect(bindShape(x, { batch: 2, dims: { N: 5, x_dim2: 7 } })).toEqual([5, 3, 7]);
    expect(() => bindShape(x, { batch: 2, dims: {} })).toThrow(/give its size with --dims x_dim2=N/);
  });

  it('makes seeded floats in [-1, 1], float16 as half bits in a Uint16Array, and integer zeros', () => {
    const specs: InputSpec[] = [
      { name: 'f', elemType: DataType.FLOAT, shape: [{ value: 100 }] },
      { name: 'h', elemType: DataType.FLOAT16, shape: [{ value: 100 }] },
      { name: 'i', elemType: DataType.INT64, shape: [{ value: 4 }] },
    ];
    const feeds = randomFeeds(specs, { batch: 1, dims: {} }, 0);
    const f = tensorNumbers(feeds.f!), h = tensorNumbers(feeds.h!);
    expect(f.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(new Set(f).size).toBeGreaterThan(90);
    expect(feeds.h!.type).toBe('float16');
    expect(feeds.h!.data).toBeInstanceOf(Uint16Array);
    expect(h.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(feeds.i!.data).toEqual(new BigInt64Array(4));
    expect(randomFeeds(specs, { batch: 1, dims: {} }, 0).f!.data).toEqual(feeds.f!.data);
    expect(randomFeeds(specs, { batch: 1, dims: {} }, 1).f!.data).not.toEqual(feeds.f!.data);
  });

  it('reads int64 and bool tensors as numbers', () => {
    expect([...tensorNumbers(new ort.Tensor('int64', BigInt64Array.from([1n, -2n]), [2]))]).toEqual([1, -2]);
    expect([...tensorNumbers(new ort.Tensor('bool', Uint8Array.from([1, 0]), [2]))]).toEqual([1, 0]);
  });
});
