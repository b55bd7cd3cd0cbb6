// Seeded randomness identical on every platform. SE weights: each block draws from a stream keyed by (seed, block name),
// so the same model, options and seed give byte-identical weights however many models run at once.

function hashString(seed: number, s: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** mulberry32: small, fast, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills `out` with (2u − 1)·scale, u uniform in [0, 1), continuing a stream keyed by seed and name:
 * mulberry32's numbers, without a call per number (SE-ResNet-50 draws 2.5 M).
 */
export class UniformStream {
  private state: number;
  constructor(seed: number, name: string) {
    this.state = hashString(seed, name);
  }

  fillSymmetric(out: Float32Array | Float64Array, scale: number): void {
    // The state is kept as a signed 32-bit integer inside the loop (the same bits as mulberry32's
    // unsigned one): an unsigned value past 2^31 would be held as a double, at twice the time per number.
    let state = this.state | 0;
    for (let i = 0; i < out.length; i++) {
      state = (state + 0x6d2b79f5) | 0;
      let t = Math.imul(state ^ (state >>> 15), state | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = (2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 1) * scale;
    }
    this.state = state >>> 0;
  }
}
