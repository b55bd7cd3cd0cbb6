// The analyses a run makes while inferring shapes (analyseModel: MACs, plausibility) are held against the
// walks of their own they replace: the same counts, the same error for an implausible model, the same
// order between two errors.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyseModel } from '../src/analysis/analyse.js';
import { countMacs } from '../src/analysis/cost.js';
import { checkPlausible, inferShapes } from '../src/analysis/shapes.js';
import type { Model } from '../src/ir/model.js';
import { loadModelFile } from '../src/onnx/load.js';
import { summarize } from '../src/report/summary.js';
import { buildModel, int64s, node, weight } from './support/models.js';
import type { GraphSpec } from './support/models.js';

/** What checkPlausible throws for the model's shapes, or undefined. */
function plausibleWalk(model: Model): string | undefined {
  try {
    checkPlausible(model.graph, inferShapes(model.graph, model.opset, {}, model.label), model.label);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function plausibleWatched(model: Model): string | undefined {
  const a = analyseModel(model, {});
  try {
    a.plausibility.check(model.graph, a.shapes, model.label);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** x [1,4,hw,hw] → Relu → Conv(w) → Add(Relu): the Conv reads a shape only inference knows. */
function convAfterRelu(w: number[], hw = 8, extra: Partial<GraphSpec> = {}): GraphSpec {
  return {
    nodes: [node('Relu', ['x'], ['r']), node('Conv', ['r', 'w'], ['c'], {}, 'c1'), node('Add', ['c', 'r'], ['y']), ...(extra.nodes ?? [])],
    inits: [weight('w', w), ...(extra.inits ?? [])],
    input: { name: 'x', dims: [1, 4, hw, hw] },
    output: { name: 'y', dims: [1, 4, hw, hw] },
  };
}

describe('analyseModel: MACs counted while inferring', () => {
  const files = readdirSync('fixtures/families').filter((f) => f.endsWith('.onnx')).slice(0, 8);
  it.each(files)('%s: the count, node by node, and the largest layers of countMacs', async (file) => {
    const model = await loadModelFile(`fixtures/families/${file}`);
    const a = analyseModel(model, {});
    const whole = countMacs(model.graph, inferShapes(model.graph, model.opset, {}, model.label));
    expect(a.macs.total).toBe(whole.total);
    expect(a.macs.byOp).toEqual(whole.byOp);
    expect(a.macs.unknown).toEqual(whole.unknown);
    expect([...a.macs.perNode]).toEqual([...whole.perNode]);
    const walked: [unknown, number][] = [];
    a.macs.perNode.forEach((m, n) => walked.push([n, m]));
    expect(walked).toEqual([...whole.perNode]);
    expect(summarize(model, a.shapes, a.macs).largestLayers).toEqual(summarize(model, a.shapes, whole).largestLayers);
  });
});

describe('analyseModel: plausibility found while inferring, thrown as checkPlausible throws it', () => {
  it('a plausible model: nothing', () => {
    const model = buildModel(convAfterRelu([4, 4, 1, 1]));
    expect(plausibleWatched(model)).toBeUndefined();
    expect(plausibleWalk(model)).toBeUndefined();
  });

  it('a Conv whose weight contradicts an inferred input: its channels, then its rank', () => {
    for (const w of [[4, 3, 1, 1], [4, 4, 1]]) {
      const model = buildModel(convAfterRelu(w));
      expect(plausibleWatched(model)).toMatch(/Conv c1: weight w/);
      expect(plausibleWatched(model)).toBe(plausibleWalk(model));
    }
  });

  it('of two contradicting Convs, the first in node order', () => {
    const model = buildModel(convAfterRelu([4, 3, 1, 1], 8, { nodes: [node('Conv', ['r', 'w2'], ['c2'], {}, 'c2')], inits: [weight('w2', [4, 2, 1, 1])] }));
    expect(plausibleWatched(model)).toMatch(/Conv c1:/);
    expect(plausibleWatched(model)).toBe(plausibleWalk(model));
  });

  it('a tensor of 10^13 elements comes before a contradicting Conv that precedes it', () => {
    const huge = { nodes: [node('Expand', ['r', 'shape'], ['e'])], inits: [int64s('shape', [1, 4, 2_000_000, 2_000_000])] };
    const model = buildModel(convAfterRelu([4, 3, 1, 1], 1, huge));
    expect(plausibleWatched(model)).toMatch(/tensor e would have 1\.60e\+13 elements/);
    expect(plausibleWatched(model)).toBe(plausibleWalk(model));
  });

  it('a value set after inference is seen: the map is walked again', () => {
    const model = buildModel(convAfterRelu([4, 4, 1, 1]));
    const a = analyseModel(model, {});
    a.shapes.set('late', { dtype: 1, dims: [1, 1 << 20, 1 << 20, 1 << 20] });
    expect(() => a.plausibility.check(model.graph, a.shapes, model.label)).toThrow(/tensor late would have/);
  });
});
