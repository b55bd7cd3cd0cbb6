// A block whose output is also a graph output (a backbone exported with its stage features as outputs,
// for a detector's neck) gets SE like any other: the graph output keeps its name and carries the scaled
// map, which is what the rest of the network reads; with --init preserve it equals the original's.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import type { SEInjectOptions } from '../src/api.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-graph-outputs-');
afterAll(() => tmp.cleanup());

/** A copy of `file` with `tensor` listed as a graph output too, typed and shaped by onnx's shape inference. */
function withOutput(file: string, tensor: string, out: string): void {
  execFileSync('/usr/bin/python3', ['-c', `
import sys, onnx
m = onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1]))
info = next(v for v in m.graph.value_info if v.name == sys.argv[2])
m.graph.output.append(info)
onnx.checker.check_model(m, full_check=True)
onnx.save(m, sys.argv[3])
`, file, tensor, out]);
}

const families = path.join(ROOT, 'fixtures/families');
const expected = JSON.parse(readFileSync(path.join(families, 'expected.json'), 'utf8')) as Record<string, { sites: { tensor: string }[] }>;

const cases: [string, string, SEInjectOptions][] = [
  ['a depthwise-separable block (MobileNet v1)', path.join(families, 'mobilenet_v1_relu_op13.onnx'), {}],
  ['an Inception module (Inception-v4)', path.join(families, 'inception_v4_op13.onnx'), {}],
  ['a sum of branches (RepVGG)', path.join(families, 'repvgg_train_op13.onnx'), {}],
  ['a residual sum with --placement post', path.join(ROOT, 'fixtures/small/tiny_resnet.onnx'), { placement: 'post' }],
];

describe('block outputs that are graph outputs', () => {
  it.each(cases)('%s: SE as without the output, the output keeps its name and carries the scaled map', async (_what, file, options) => {
    const plain = analyze(await loadModel(file), options).blocks.map((b) => b.tensor);
    if (expected[path.basename(file)]) expect(plain).toEqual(expected[path.basename(file)]!.sites.map((s) => s.tensor));
    const tensor = plain[1]!;
    const input = path.join(tmp.dir, `${path.basename(file, '.onnx')}_out.onnx`);
    withOutput(file, tensor, input);
    const out = path.join(tmp.dir, `${path.basename(file, '.onnx')}_out_se.onnx`);
    const { report } = await convertFile(input, out, { ...options, init: 'preserve', overwrite: true });
    expect(report.blocks.map((b) => b.tensor)).toEqual(plain);
    const written = await loadModel(out);
    expect(written.graph.proto.outputs.map((o) => o.name)).toContain(tensor);
    expect(written.graph.producer(tensor)!.name).toMatch(/^se\/stage\d+\.block\d+\/scale$/);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(input, out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
  });
});
