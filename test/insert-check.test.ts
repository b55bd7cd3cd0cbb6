// The check after an insertion looks only at what changed (the inserted nodes and the readers rewired to
// them), and the shapes and MACs of the result are the input's plus those of the new nodes: each is
// held here against the whole-graph answer it replaces.

import { describe, expect, it } from 'vitest';
import { countMacs } from '../src/analysis/cost.js';
import { inferShapes } from '../src/analysis/shapes.js';
import { inject } from '../src/api.js';
import { lintGraph, lintNodes } from '../src/ir/lint.js';
import { loadModelBytes } from '../src/onnx/load.js';
import { serializeModel } from '../src/onnx/save.js';
import { buildModel, node, residualBlock } from './support/models.js';
import { residualChain } from './support/graphs.js';

describe('lintNodes: the lint of what an insertion changed', () => {
  it('passes nodes that read what comes before them', () => {
    const model = buildModel(residualBlock());
    expect(lintNodes(model.graph, model.graph.nodes)).toEqual([]);
  });

  it('names a node that reads a value computed after it, and one that reads a value nobody defines', () => {
    const model = buildModel(residualBlock());
    const g = model.graph;
    const early = node('Relu', ['out'], ['early'], {}, 'early');
    const ghost = node('Relu', ['nowhere'], ['ghost'], {}, 'ghost');
    g.insertNodeGroups([{ nodes: [early], anchor: g.nodes[0] }, { nodes: [ghost] }]);
    const problems = lintNodes(g, [early, ghost]);
    expect(problems.map((p) => p.kind)).toEqual(['order', 'undefined']);
    expect(problems[0]!.message).toMatch(/node early reads out before it is computed/);
    expect(problems[1]!.message).toMatch(/node ghost reads nowhere, which no node, graph input or initializer defines/);
    // The whole lint finds the same two.
    expect(lintGraph(g)).toEqual(problems.map((p) => p.message));
  });
});

describe('an insertion checked and analysed by its parts', () => {
  it('SE on a graph input (placement pre and identity: no producer to follow) is sorted before its readers', () => {
    for (const placement of ['pre', 'identity'] as const) {
      const model = buildModel(residualBlock());
      const report = inject(model, { placement });
      expect(report.inserted).toBe(1);
      expect(lintGraph(model.graph)).toEqual([]);
      const order = model.graph.nodes.map((n) => n.name);
      expect(order.indexOf('se/stage1.block1/scale')).toBeLessThan(order.indexOf(placement === 'pre' ? 'c1' : 'sum'));
      // Written and read back, the graph is the same.
      expect(lintGraph(loadModelBytes(serializeModel(model)).graph)).toEqual([]);
    }
  });

  it('the MACs reported after an insertion are those of counting the whole rewritten graph', () => {
    for (const placement of ['standard', 'pre', 'post', 'identity'] as const) {
      const model = loadModelBytes(residualChain(12));
      const report = inject(model, { placement, init: 'preserve' });
      expect(report.inserted).toBeGreaterThanOrEqual(11); // post: the last sum feeds the graph output
      const again = loadModelBytes(serializeModel(model));
      const whole = countMacs(again.graph, inferShapes(again.graph, again.opset));
      expect(report.macs.after).toBe(whole.total);
      expect(report.macs.byOp.after).toEqual(whole.byOp);
    }
  });
});
