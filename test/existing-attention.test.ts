// Attention already in a model, in the forms exporters write it, counts as attention: a block holding
// SE (convs or Linear layers), eSE, ECA, CBAM or CBAM's spatial half gets no second block of any type; the one plain block does.

import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, loadModel } from '../src/api.js';
import { BLOCK_KINDS } from '../src/se/build.js';
import { ROOT, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-existing-');
afterAll(() => tmp.cleanup());
const KINDS = ['se', 'se-linear', 'ese', 'eca', 'cbam', 'spatial', 'none'];

describe.each([[13, 'static'], [17, 'dyn']] as const)('torch export at opset %i (%s batch)', (opset, batch) => {
  const file = path.join(tmp.dir, `attention_op${opset}_${batch}.onnx`);
  it('blocks holding SE, eSE, ECA, CBAM or a spatial attention get nothing, with any --block; the plain block gets one', async () => {
    execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/support/export_attention.py'), file, KINDS.join(','), String(opset), batch], { stdio: 'ignore' });
    const model = await loadModel(file);
    for (const block of BLOCK_KINDS) {
      const r = analyze(model, { block });
      expect(r.inserted, `--block ${block}`).toBe(1);
      expect(r.blocks[0]!.tensor).toMatch(/^\/7\//); // the seventh block, the plain one
      const held = r.skipped.filter((s) => s.code === 'has-se').map((s) => s.node);
      expect(held).toEqual(['/1/Add', '/2/Add', '/3/Add', '/4/Add', '/5/Add', '/6/Add']);
    }
  });
});
