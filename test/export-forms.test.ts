// One architecture, several torch.onnx.export forms (opsets 9–17, constant folding on and off, dynamic
// batch and H×W, initializers as inputs): se-inject must plan SE on the same blocks in every form, and
// leave the same candidates alone for the same reasons, as in the opset-13 constant-folded export.
// What one form writes and another does not (a Reshape's target shape assembled by Shape → Gather →
// Concat with folding off, a dynamic batch) is shape arithmetic in every form; blocks exported as
// model-local functions are seen as if exported without (their reasons, their MACs). The full matrix over
// torchvision's classifiers is fixtures/export_forms_sweep.py with fixtures/compare_forms.mjs.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import type { Report } from '../src/report/format.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-export-forms-');
afterAll(() => tmp.cleanup());
const SCRIPT = path.join(ROOT, 'test/support/export_forms.py');
const file = (model: string, form: string) => path.join(tmp.dir, `${model}_${form}.onnx`);

/** One process per form, tried twice: torch 1.13 now and then crashes (SIGSEGV) exporting functions. */
function exportForms(model: string, forms: string[]): void {
  const once = (form: string) => execFileSync('/usr/bin/python3', [SCRIPT, tmp.dir, model, form], { stdio: 'ignore' });
  for (const form of forms) {
    try {
      once(form);
    } catch {
      once(form);
    }
  }
}

/** What must agree between forms: each block's producer node (BN and Identity stand for the conv
 *  they follow), stage and width; the count of every reason a candidate was left alone for, but
 *  those for ops that one exporter writes and another folds away (shape arithmetic, a LayerNorm's
 *  eps add: not-feature-map). */
async function plan(f: string): Promise<{ blocks: string[]; codes: Record<string, number>; report: Report }> {
  const model = await loadModel(f);
  const report: Report = analyze(model);
  const g = model.graph;
  const anchor = (t: string) => {
    let n = g.producer(t);
    while (n && (n.opType === 'BatchNormalization' || n.opType === 'Identity') && g.producer(n.inputs[0]!)) n = g.producer(n.inputs[0]!);
    return n?.name ?? t;
  };
  const codes: Record<string, number> = {};
  for (const c of report.candidates) if (c.result !== 'inserted' && c.code !== 'not-feature-map' && c.code !== 'shape-arithmetic') codes[c.code!] = (codes[c.code!] ?? 0) + 1;
  return { blocks: report.blocks.map((b) => `${anchor(b.tensor)} stage ${b.stage} ${b.channels}`), codes, report };
}

/** The form written with --init preserve: `inserted` blocks, onnx's full check passes, ONNX Runtime computes the original's outputs. */
async function writesTheOriginal(model: string, form: string, inserted: number): Promise<void> {
  const input = file(model, form);
  const out = path.join(tmp.dir, `${model}_${form}_se.onnx`);
  const { report } = await convertFile(input, out, { init: 'preserve', overwrite: true });
  expect(report.inserted).toBe(inserted);
  expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
  const v = await validateModels(input, out, { ep: 'cpu', runs: 0, expectEqual: true });
  expect(v.problems).toEqual([]);
}

describe('export forms', () => {
  describe('ShuffleNet v2', () => {
    const forms = ['op13', 'op13_dynbatch', 'op13_nofold', 'op11_nofold_dynhw', 'op9_nofold', 'op17_nofold'];
    exportForms('shufflenet', forms);

    it.each(forms.slice(1))('%s: the blocks and reasons of the opset-13 folded export; a Concat of shape values is shape arithmetic', async (form) => {
      const ref = await plan(file('shufflenet', 'op13'));
      expect(ref.blocks).toHaveLength(6);
      const p = await plan(file('shufflenet', form));
      expect(p.blocks).toEqual(ref.blocks);
      expect(p.codes).toEqual(ref.codes);
    });

    it('op13_dynbatch: written with --init preserve, passes the full check and computes the original', () => writesTheOriginal('shufflenet', 'op13_dynbatch', 6));
  });

  // torch.onnx.export(export_modules_as_functions={MBConv}) against the same export without functions.
  describe('EfficientNet, blocks as model-local functions', () => {
    exportForms('efficientnet', ['op15', 'op15_functions']);

    it('nothing to insert because every block holds SE, as without functions; the same reasons and MACs', async () => {
      const ref = await plan(file('efficientnet', 'op15'));
      const p = await plan(file('efficientnet', 'op15_functions'));
      expect(ref.report.inserted).toBe(0);
      expect(ref.codes).toEqual({ 'has-se': 5 });
      expect(p.report.unsupported).toBeUndefined();
      expect(p.report.nothingToInsert).toBe(ref.report.nothingToInsert);
      expect(p.codes).toEqual(ref.codes);
      expect(p.report.macs.before).toBe(ref.report.macs.before);
      expect(p.report.model.largestLayers.map((l) => [l.opType, l.macs])).toEqual(ref.report.model.largestLayers.map((l) => [l.opType, l.macs]));
    });
  });

  describe('MobileNetV3-Small, blocks as model-local functions', () => {
    exportForms('mobilenet_v3', ['op15', 'op15_functions']);

    it('SE on the blocks without one, as without functions; the blocks holding one are has-se, their MACs counted', async () => {
      const ref = await plan(file('mobilenet_v3', 'op15'));
      const p = await plan(file('mobilenet_v3', 'op15_functions'));
      expect(p.report.blocks.map((b) => [b.stage, b.channels])).toEqual(ref.report.blocks.map((b) => [b.stage, b.channels]));
      expect(ref.codes['has-se']).toBeGreaterThan(0);
      expect(p.codes).toEqual(ref.codes);
      expect(p.report.macs).toEqual(ref.report.macs);
    });

    it('written with --init preserve, passes the full check and computes the original', () => writesTheOriginal('mobilenet_v3', 'op15_functions', 2));
  });
});
