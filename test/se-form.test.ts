// The resize form (--form resize): each channel gate repeated over the map's H×W by a nearest Resize
// before an equal-shape Mul. It must compute what the Mul's broadcast computes, bit for bit; add the
// same parameters; be read back as attention (no second block on a second run); and be refused, in one
// line, where a gate of fixed size cannot follow the map (a dynamic H×W, an opset without Resize scales).

import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import { SeInjectError } from '../src/errors.js';
import { BLOCK_KINDS } from '../src/se/build.js';
import { ROOT, cached, onnxCheck, small, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-form-');
afterAll(() => tmp.cleanup());

const RESNET = small('tiny_resnet.onnx');
const FAMILIES = path.join(ROOT, 'fixtures/families');

/** The model's first output on a fixed input, with ONNX Runtime's graph rewrites off (no fusion reorders the arithmetic). */
async function outputOf(file: string, dims: number[]): Promise<Float32Array> {
  const ort = (await import('onnxruntime-node')).default;
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3, intraOpNumThreads: 1 });
  const x = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37)), dims);
  const out = await session.run({ [session.inputNames[0]!]: x });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

describe('--form resize', () => {
  it.each(BLOCK_KINDS)('--block %s: the same outputs as the Mul broadcast, bit for bit, from the same random weights; the same parameters; one Resize per channel gate', async (block) => {
    const mul = path.join(tmp.dir, `${block}-mul.onnx`), resize = path.join(tmp.dir, `${block}-resize.onnx`);
    const a = await convertFile(RESNET, mul, { block, seed: 3, overwrite: true });
    const b = await convertFile(RESNET, resize, { block, seed: 3, form: 'resize', overwrite: true });
    expect(b.report.inserted).toBe(a.report.inserted);
    expect(b.report.params).toEqual(a.report.params);
    expect(b.report.blocks.map((x) => x.params)).toEqual(a.report.blocks.map((x) => x.params));
    expect(b.report.options.form).toBe('resize');
    const resizes = async (file: string) => (await loadModel(file)).graph.nodes.filter((n) => n.opType === 'Resize').length;
    expect(await resizes(mul)).toBe(0);
    expect(await resizes(resize)).toBe(a.report.inserted);
    const [x, y] = [await outputOf(mul, [1, 3, 32, 32]), await outputOf(resize, [1, 3, 32, 32])];
    expect(Array.from(y)).toEqual(Array.from(x));
    expect(onnxCheck([resize])[0]).toMatchObject({ ok: true });
    // Read back: every block holds its attention, whichever form a second run asks for.
    for (const form of ['mul', 'resize'] as const) {
      const again = analyze(await loadModel(resize), { form });
      expect(again.inserted).toBe(0);
      expect(again.skipped.filter((s) => s.code === 'has-se').length).toBeGreaterThanOrEqual(a.report.inserted);
    }
  });

  it('with --init preserve the model computes the original function exactly; at opset 12 the Resize gets the roi input it requires', async () => {
    const out = path.join(tmp.dir, 'googlenet.onnx');
    const { report } = await convertFile(cached('googlenet_op12.onnx'), out, { init: 'preserve', form: 'resize', overwrite: true });
    expect(report.inserted).toBeGreaterThan(5);
    const m = await loadModel(out);
    const resizes = m.graph.nodes.filter((n) => n.opType === 'Resize');
    expect(resizes.length).toBe(report.inserted);
    expect(resizes.every((n) => n.inputs.length === 3 && n.inputs[1] !== '')).toBe(true);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const [x, y] = [await outputOf(cached('googlenet_op12.onnx'), [1, 3, 224, 224]), await outputOf(out, [1, 3, 224, 224])];
    expect(Array.from(y)).toEqual(Array.from(x));
  });

  it('1-D and 3-D maps: the gate repeated over L and over D×H×W', async () => {
    for (const [file, dims] of [['audio_1d_op13.onnx', 1], ['video_3d_op13.onnx', 3]] as const) {
      const out = path.join(tmp.dir, file);
      const { report } = await convertFile(path.join(FAMILIES, file), out, { form: 'resize', overwrite: true });
      expect(report.inserted).toBeGreaterThan(3);
      const m = await loadModel(out);
      const scales = m.graph.nodes.filter((n) => n.opType === 'Constant' && n.outputs[0]!.endsWith('/gate.scales'));
      expect(scales.length).toBe(report.inserted);
      const t = scales[0]!.attributes[0]!.t!;
      expect(t.dims).toEqual([2 + dims]);
      expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    }
  });

  it('is refused, in one line naming what to do, where the map has no fixed size or Resize takes no scales', async () => {
    const refusal = async (file: string, options: Record<string, unknown>) => {
      try {
        analyze(await loadModel(file), { form: 'resize', ...options });
      } catch (e) {
        expect(e).toBeInstanceOf(SeInjectError);
        expect((e as SeInjectError).kind).toBe('usage');
        return (e as Error).message;
      }
      throw new Error('not refused');
    };
    const dynamic = await refusal(path.join(FAMILIES, 'resnet_basic_op13_dynamic_hw.onnx'), {});
    expect(dynamic).toMatch(/option form resize repeats each gate to a fixed H×W, but .* has dynamic dimensions \(height, width\); leave option form at mul/);
    // Binding the sizes for analysis does not fix them in the model written.
    await refusal(path.join(FAMILIES, 'resnet_basic_op13_dynamic_hw.onnx'), { dims: { height: 64, width: 64 } });
    expect(await refusal(cached('resnet18_op9.onnx'), {})).toMatch(/needs opset 11 or newer .* uses opset 9/);
    // Only a dynamic batch: the gate's size is fixed.
    expect(analyze(await loadModel(small('tiny_resnet_dynbatch.onnx')), { form: 'resize' }).inserted).toBeGreaterThan(0);
  });
});
