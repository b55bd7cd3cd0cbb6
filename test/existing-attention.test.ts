// Attention already in a model, in the forms exporters write it, counts as attention: a block holding
// SE (convs or Linear layers), eSE, ECA, CBAM or CBAM's spatial half, Coordinate Attention, a global context
// block (added or multiplied), SimAM, SRM, triplet attention or BAM gets no second block of any type; the
// one plain block does.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, loadModel } from '../src/api.js';
import { BLOCK_KINDS } from '../src/se/build.js';
import { ROOT, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-existing-');
afterAll(() => tmp.cleanup());
const KINDS = ['se', 'se-linear', 'ese', 'eca', 'cbam', 'spatial', 'coord', 'coord-mean', 'gc', 'gc-mul', 'simam', 'srm', 'triplet', 'bam', 'none'];
// Blocks are numbered from 1 (the stem conv is 0); the plain block is the last.
const PLAIN = KINDS.length;
const HELD = KINDS.slice(0, -1).map((_, i) => `/${i + 1}/Add`);

describe.each([[13, 'static'], [17, 'dyn']] as const)('torch export at opset %i (%s batch)', (opset, batch) => {
  const file = path.join(tmp.dir, `attention_op${opset}_${batch}.onnx`);
  it('blocks holding any channel or spatial attention get nothing, with any --block; the plain block gets one', async () => {
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/support/export_attention.py'), file, KINDS.join(','), String(opset), batch], { stdio: 'ignore' });
    const model = await loadModel(file);
    for (const block of BLOCK_KINDS) {
      const r = analyze(model, { block });
      expect(r.inserted, `--block ${block}`).toBe(1);
      expect(r.blocks[0]!.tensor.startsWith(`/${PLAIN}/`), `--block ${block}: ${r.blocks[0]!.tensor}`).toBe(true);
      const held = r.skipped.filter((s) => s.code === 'has-se').map((s) => s.node);
      expect(held, `--block ${block}`).toEqual(HELD);
    }
  });
});

describe('attention after the depthwise conv of MobileNetV2 blocks without a sum', () => {
  const file = path.join(tmp.dir, 'attention_inverted.onnx');
  // Triplet attention's three permuted branches, averaged, leave no single path to the projection: such a
  // block is not read as a depthwise-separable block at all (no-projection), and gets nothing either.
  const kinds = KINDS.filter((k) => k !== 'triplet');
  it('every block holding attention is left alone as has-se by the depthwise pass; the plain block gets one', async () => {
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/support/export_attention.py'), file, kinds.join(','), '13', 'static', 'inverted'], { stdio: 'ignore' });
    const r = analyze(await loadModel(file));
    expect(r.blocks.map((b) => [b.tensor, b.rule])).toEqual([[`/${kinds.length}/conv/conv.7/Conv_output_0`, 'insertSEAfterDepthwiseBlock']]);
    const depthwise = r.candidates.filter((c) => c.pass === 'mobilenet' && /^\/\d+\/conv\/conv\.3\//.test(c.node) && c.result === 'skipped');
    expect(depthwise.map((c) => [c.node, c.code])).toEqual(kinds.slice(0, -1).map((_, i) => [`/${i + 1}/conv/conv.3/Conv`, 'has-se']));
  });
});

// A network fed a CIFAR-sized 32×32 image runs its last stages at 1×1, where a map and its per-channel
// gate have one shape: the map is the one the gate's own pool reads (a GlobalAveragePool, timm's
// x.mean((2, 3)) as a ReduceMean over the spatial axes, GCNet's attention pooling of x viewed as N×C×HW).
// Coordinate Attention pools along H and along W, which at 1×1 pool nothing: not read as attention there.
describe('attention on 1×1 maps', () => {
  const file = path.join(tmp.dir, 'attention_1x1.onnx');
  const attention = KINDS.filter((k) => !k.startsWith('coord'));
  it.each(['residual', 'inverted'])('%s blocks holding channel or spatial attention get nothing, with any --block; the plain block gets one', async (form) => {
    // Triplet attention leaves an inverted block no single path to its projection (see above).
    const kinds = form === 'inverted' ? attention.filter((k) => k !== 'triplet') : attention;
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/support/export_attention.py'), file, kinds.join(','), '13', 'static', form, '1'], { stdio: 'ignore' });
    const model = await loadModel(file);
    for (const block of BLOCK_KINDS) {
      const r = analyze(model, { block });
      expect(r.blocks.map((b) => b.tensor.split('/')[1]), `--block ${block}`).toEqual([String(kinds.length)]);
      const held = new Set(r.skipped.filter((s) => s.code === 'has-se').map((s) => s.node.split('/')[1]));
      expect([...held].sort((a, b) => Number(a) - Number(b)), `--block ${block}`).toEqual(kinds.slice(0, -1).map((_, i) => String(i + 1)));
    }
  });

  const plain = path.join(tmp.dir, 'plain_1x1.onnx');
  execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/support/export_attention.py'), plain, 'none,none', '13', 'static', 'residual', '1'], { stdio: 'ignore' });
  it.each(BLOCK_KINDS)('se-inject on its own output (--block %s) inserts nothing at 1×1', async (block) => {
    const out = path.join(tmp.dir, `plain_1x1_${block}.onnx`);
    expect((await convertFile(plain, out, { block, overwrite: true })).report.inserted).toBe(2);
    for (const again of BLOCK_KINDS) expect(analyze(await loadModel(out), { block: again }).inserted, `--block ${again}`).toBe(0);
  });
});
