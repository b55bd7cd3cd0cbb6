// What every run learns of an input model before rewriting it, in the one walk of shape inference: each
// value's shape, each node's MACs, and whether the shapes are plausible. Counted and checked as each
// node is inferred, a node's shapes are read while they are at hand; a walk of its own for each would
// look every shape up again in a map of all of them (the cost of a deep graph's analysis).

import type { Model } from '../ir/model.js';
import { MacTally } from './cost.js';
import type { MacCount } from './cost.js';
import { PlausibilityWatch, inferShapes } from './shapes.js';
import type { DimBindings, ShapeMap, ShapeWatch } from './shapes.js';

export interface ModelAnalysis {
  shapes: ShapeMap;
  /** countMacs of these shapes. */
  macs: MacCount;
  /** checkPlausible of these shapes, found during inference: its `check` throws what that would. */
  plausibility: PlausibilityWatch;
}

export function analyseModel(model: Model, bind: DimBindings): ModelAnalysis {
  const tally = new MacTally();
  const plausibility = new PlausibilityWatch();
  const watch: ShapeWatch = {
    value: plausibility.value.bind(plausibility),
    node: (n, shapes) => {
      plausibility.node(n, shapes);
      tally.node(n, shapes);
    },
  };
  const shapes = inferShapes(model.graph, model.opset, bind, model.label, watch);
  return { shapes, macs: tally.result(), plausibility };
}
