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

/** Uniform samples in [0, 1) from a stream keyed by seed and name. */
export function seededUniform(seed: number, name: string): () => number {
  return mulberry32(hashString(seed, name));
}
