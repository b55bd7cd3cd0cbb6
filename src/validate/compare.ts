// Output comparison: the two models must give the same outputs (names, shapes, element types), finite
// values, and, when the rewrite claims to preserve the function (--init preserve), equal values within
// max|a - b| <= atol + rtol·max|a| over each output.
//
// Why relative to the output's scale and not elementwise (numpy's allclose): ONNX Runtime fuses
// Conv+Add(+Relu) in the original but not once an SE Mul sits between them, so the same sums are
// rounded in another order. The rewritten graph is exact (bit-identical outputs with graph
// optimizations disabled); the fused kernels differ by ~3e-7 of the output's scale, which an
// elementwise test turns into large "relative" errors on outputs that happen to be near zero.

import type * as ort from 'onnxruntime-node';
import { tensorNumbers } from './tensors.js';

export interface OutputComparison {
  name: string;
  shape: number[];
  elemType: string;
  maxAbsDiff: number;
  /** max |a - b| / max |a|: the largest difference relative to the output's scale. */
  maxRelDiff: number;
  /** max |a| over the original's output: the scale the differences are measured against. */
  scale: number;
  /** Both models' values are all finite. */
  finite: boolean;
  /** max |a - b| <= atol + rtol·max |a| for this output's tolerances. */
  withinTolerance: boolean;
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/** A tolerance for every output, and overrides for some outputs by name (Polygraphy's `--atol out:1e-3`). */
export interface Tolerances extends Tolerance {
  perOutput?: Record<string, Tolerance>;
}

export interface Outputs {
  names: readonly string[];
  values: Readonly<Record<string, ort.Tensor>>;
}

const TINY = 1e-12;

/** Half precision keeps ~3 decimal digits; float32 defaults follow torch.testing's. */
export function defaultTolerance(elemType: string): Required<Tolerance> {
  return elemType === 'float16' ? { rtol: 1e-2, atol: 1e-3 } : { rtol: 1e-4, atol: 1e-5 };
}

export function compareOutputs(
  original: Outputs, injected: Outputs, tolerance: Tolerances, expectEqual: boolean,
): { outputs: OutputComparison[]; problems: string[] } {
  const problems: string[] = [];
  if (original.names.join('\n') !== injected.names.join('\n')) {
    problems.push(`output names differ: original has ${list(original.names)}, injected has ${list(injected.names)}; a rewrite must keep the graph outputs`);
  }
  const outputs: OutputComparison[] = [];
  for (const name of original.names) {
    const a = original.values[name], b = injected.values[name];
    if (!a || !b) continue;
    const mismatch = describeMismatch(name, a, b);
    if (mismatch) {
      problems.push(mismatch);
      continue;
    }
    const [c, originalNonFinite] = compareTensor(name, a, b, { ...defaultTolerance(a.type), ...defined({ rtol: tolerance.rtol, atol: tolerance.atol }), ...defined(tolerance.perOutput?.[name] ?? {}) });
    outputs.push(c);
    if (originalNonFinite) problems.push(`output ${name} is NaN or infinite in the original model already (${originalNonFinite} of ${a.size} values) on these inputs, so the rewrite cannot be judged on them: validate with inputs the model is meant for (--inputs)`);
    else if (!c.finite) problems.push(`output ${name} has NaN or infinite values; a model that computed finite values before the rewrite must still do so`);
    else if (expectEqual && !c.withinTolerance) {
      problems.push(`output ${name} differs beyond tolerance (max |diff| ${c.maxAbsDiff.toExponential(2)} at output scale ${c.scale.toExponential(2)}, max rel ${c.maxRelDiff.toExponential(2)}), though the rewrite should preserve the function; check the inserted blocks' initial weights`);
    }
  }
  return { outputs, problems };
}

function describeMismatch(name: string, a: ort.Tensor, b: ort.Tensor): string | undefined {
  if (a.dims.join(',') !== b.dims.join(',')) {
    return `output ${name} has shape [${a.dims.join(', ')}] in the original but [${b.dims.join(', ')}] in the injected model`;
  }
  if (a.type !== b.type) return `output ${name} is ${a.type} in the original but ${b.type} in the injected model`;
  return undefined;
}

/** The comparison, and how many of the original's values are NaN or infinite. */
function compareTensor(name: string, a: ort.Tensor, b: ort.Tensor, tol: Required<Tolerance>): [OutputComparison, number] {
  const x = tensorNumbers(a), y = tensorNumbers(b);
  let maxAbsDiff = 0, scale = 0, finite = true, originalNonFinite = 0;
  for (let i = 0; i < x.length; i++) {
    const ref = x[i]!, got = y[i]!;
    if (!Number.isFinite(ref) || !Number.isFinite(got)) {
      finite = false;
      if (!Number.isFinite(ref)) originalNonFinite++;
      continue;
    }
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ref - got));
    scale = Math.max(scale, Math.abs(ref));
  }
  const maxRelDiff = maxAbsDiff / Math.max(scale, TINY);
  const withinTolerance = maxAbsDiff <= tol.atol + tol.rtol * scale;
  return [{ name, shape: [...a.dims], elemType: a.type, maxAbsDiff, maxRelDiff, scale, finite, withinTolerance }, originalNonFinite];
}

/** Drops undefined entries so that they do not override the defaults when spread. */
function defined(t: Tolerance): Tolerance {
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
}

function list(names: readonly string[]): string {
  return names.length ? names.join(', ') : '(none)';
}
