// The validation result in words, as the CLI prints it on stderr and the web page shows it: one home
// for both, so a run in the browser reads like `se-inject validate`.

import type { OutputComparison } from './compare.js';
import type { Latency } from './latency.js';

/** What the words need of a result: ValidationResult on Node, the page's result on onnxruntime-web. */
export interface ValidationSummary {
  ep: string;
  tried: readonly { ep: string; ok: boolean; reason?: string; software?: string }[];
  outputs: readonly OutputComparison[];
  /** The outputs compared again with the runtime's graph optimizations off, when they were. */
  unoptimized?: readonly OutputComparison[];
  latency?: Latency;
  passed: boolean;
  checks: readonly string[];
  outputsEqual: boolean;
  problems: readonly string[];
}

/** How to require equal outputs where they were not required: the hint differs per command. */
export type EqualityHint = 'inject' | 'validate';

export function validationLines(v: ValidationSummary, hint: EqualityHint = 'inject'): string[] {
  const lines = [`validation on ${v.ep}: ${v.passed ? 'passed' : 'FAILED'} (${describeChecks(v, hint)})`];
  for (const t of v.tried) if (!t.ok) lines.push(`  ${t.ep} not used: ${t.reason}`);
  const software = v.tried.find((t) => t.ok)?.software;
  if (software) lines.push(`  ${v.ep} adapter is a software renderer (${software}): outputs are checked, latency says nothing about a GPU`);
  const line = (out: OutputComparison) => `  output ${out.name} [${out.shape.join(', ')}]: max |diff| ${out.maxAbsDiff.toExponential(2)} at output scale (max |original|) ${out.scale.toExponential(2)}, relative ${out.maxRelDiff.toExponential(2)}${out.finite ? '' : ', NOT FINITE'}`;
  for (const out of v.outputs) lines.push(line(out));
  if (v.unoptimized) {
    lines.push('  beyond the tolerance with graph optimizations on (fused kernels round the two graphs differently); compared again with them off:');
    for (const out of v.unoptimized) lines.push(`  ${line(out)}`);
  }
  if (v.latency) {
    lines.push(`  latency (median of ${v.latency.runs}): original ${v.latency.original.toFixed(2)} ms, injected ${v.latency.injected.toFixed(2)} ms, ×${v.latency.ratio.toFixed(3)}`);
  }
  for (const p of v.problems) lines.push(`  problem: ${p}`);
  return lines;
}

/** Says what was checked, and what the outputs did where equality was not part of the check. */
export function describeChecks(v: ValidationSummary, hint: EqualityHint): string {
  const checked = 'checked: both run, outputs finite, output shapes match';
  if (v.checks.includes('equal')) return `${checked}, outputs equal within tolerance${v.unoptimized ? ' with graph optimizations off' : ''}`;
  if (v.outputsEqual) return `${checked}; outputs also equal within tolerance (not required)`;
  const how = hint === 'inject'
    ? 'expected with the random SE init: pass --init preserve to require equal outputs'
    : 'not required: pass --expect-equal to require equal outputs';
  return `${checked}; outputs differ (${how})`;
}
