// One model in the forms other tools write (test/support/model_forms.py, with onnx's Python API): typed
// data instead of raw_data, float16 in int32_data, value_info from onnx's shape inference, doc strings
// and metadata everywhere, training_info, unused opset domains, numeric, non-ASCII and 10 KB names,
// initializers shared by two convs, onnx.version_converter's output, IR 3. Each form must take the SE
// blocks of the plain export, pass onnx's full check and compute the original with --init preserve,
// and keep everything else as it was.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertFile, loadModel } from '../src/api.js';
import { bindInputShapes, parseInputShapes } from '../src/cli/input-shapes.js';
import { DEFAULT_OPTIONS } from '../src/options.js';
import type { Report } from '../src/report/format.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-model-forms-');
afterAll(() => tmp.cleanup());
const SCRIPT = path.join(ROOT, 'test/support/model_forms.py');
execFileSync('/usr/bin/python3', [SCRIPT, 'make', tmp.dir], { stdio: 'ignore' });
const file = (form: string) => path.join(tmp.dir, `${form}.onnx`);

const blocks = (r: Report) => r.blocks.map((b) => `${b.name} ${b.kind} ${b.channels}`);

async function converted(form: string): Promise<{ report: Report; out: string }> {
  const out = path.join(tmp.dir, `${form}_se.onnx`);
  const { report } = await convertFile(file(form), out, { init: 'preserve', overwrite: true });
  return { report, out };
}

const FORMS = [
  'typed_data', 'float16_int32_data', 'value_info_inferred', 'doc_strings_metadata', 'training_info', 'unused_domains',
  'numeric_names', 'unicode_names', 'huge_names', 'shared_initializers', 'version_converter_13_to_17', 'ir3_initializers_as_inputs',
];

describe('model forms other tools write', () => {
  it.each(FORMS)('%s: the blocks of the plain form, the full check passes, the original is computed, the rest kept', async (form) => {
    const plain = await converted('plain');
    const { report, out } = await converted(form);
    expect(blocks(report)).toEqual(blocks(plain.report));
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(file(form), out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
    const diff = execFileSync('/usr/bin/python3', [SCRIPT, 'diff', file(form), out], { encoding: 'utf8' });
    expect(JSON.parse(diff)).toEqual([]);
  });

  it('an input that declares no shape: unsupported, saying which input and how to give it a shape; --input-shapes cannot bind it', async () => {
    const { report } = await converted('input_without_shape');
    expect(report.inserted).toBe(0);
    expect(report.unsupported).toMatch(/^input input declares no shape \(its rank is unknown\), so no feature map's shape could be inferred; write the input's shape into the model/);
    const model = await loadModel(file('input_without_shape'));
    expect(() => bindInputShapes(model, parseInputShapes(['input:[1,3,32,32]']), { ...DEFAULT_OPTIONS })).toThrow(/--input-shapes input: .* declares no shape for input \(its rank is unknown\)/);
  });

  it('a training export with the value_info of onnx shape inference: its Dropouts\' bool masks are what se-inject infers too', async () => {
    const { report, out } = await converted('training_dropout_value_info');
    expect(report.inserted).toBeGreaterThan(0);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
  });
});
