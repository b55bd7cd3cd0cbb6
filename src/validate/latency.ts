// Latency of two models measured interleaved: the median of each and their ratio (Node and the web page).

export interface Latency {
  /** Median milliseconds per run. */
  original: number;
  injected: number;
  ratio: number;
  runs: number;
}

export function summarizeLatency(originalMs: number[], injectedMs: number[]): Latency {
  const original = median(originalMs), injected = median(injectedMs);
  return { original, injected, ratio: injected / original, runs: originalMs.length };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
