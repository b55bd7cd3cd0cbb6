// Attention already in a model, in the forms exporters write it, counts as attention: a block holding
// SE (convs or Linear layers), eSE, ECA, CBAM or CBAM's spatial half, Coordinate Attention, a global context
// block (added or multiplied), SimAM, SRM, triplet attention or BAM gets no second block of any type; the
// one plain block does.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, loadModel } from '../src/api.js';
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
