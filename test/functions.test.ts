// Blocks inside model-local functions (torch's export_modules_as_functions, and functions written with
// onnx.helper that take attributes from their calls and call each other): the calls holding a block,
// or feeding one, are expanded in place and take SE; every other call and every function stays as it
// was; the result passes onnx.checker's full check and computes what the original computes. A call
// that cannot be expanded is named, with why, in one line.

import { execFile, execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, convertFile, listSites, loadModel } from '../src/api.js';
import { validateModels } from '../src/validate/runtime.js';
import { ROOT, onnxCheck, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-functions-');
afterAll(() => tmp.cleanup());
const SCRIPT = path.join(ROOT, 'test/support/export_functions.py');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const exported = path.join(tmp.dir, 'calls.onnx');
const blocked = path.join(tmp.dir, 'calls_blocked.onnx');
const refs = path.join(tmp.dir, 'refs.onnx');
execFileSync('/usr/bin/python3', [SCRIPT, exported, 'blocked'], { stdio: 'ignore' });
execFileSync('/usr/bin/python3', [SCRIPT, refs, 'ref-attributes'], { stdio: 'ignore' });
execFileSync('/usr/bin/python3', [SCRIPT, path.join(tmp.dir, 'adv'), 'adversarial'], { stdio: 'ignore' });

/** The two blocks' branch ends, under their calls' names. */
const BLOCK_1 = /^\/1\/relu\/Block(\.1)?\/onnx::Add_67$/, BLOCK_2 = /^\/2\/relu\/Block(\.1)?\/onnx::Add_73$/;
const callsIn = (ops: string[]) => ops.filter((op) => /^(Stem|Block|Head|ConvAct|Act)/.test(op));

describe('model-local functions', () => {
  it('the calls of blocks and the stem before them are expanded and take SE; the head after them stays a call', async () => {
    const out = path.join(tmp.dir, 'calls_se.onnx');
    const { report } = await convertFile(exported, out, { init: 'preserve', overwrite: true });
    // The branch ends (what each Add reads besides the shortcut), named under their calls. torch names the
    // two Block functions Block and Block.1 in either order from one export to the next.
    expect(report.blocks.map((b) => [b.tensor, b.channels])).toEqual([[expect.stringMatching(BLOCK_1), 16], [expect.stringMatching(BLOCK_2), 16]]);
    expect(report.notes).toContainEqual(expect.stringMatching(/the calls holding them or feeding them \(Block ×1, Block\.1 ×1, Stem ×1\) were expanded .*; the other 1 call and every function stay as they were$/));
    const written = await loadModel(out);
    expect(callsIn(written.graph.nodes.map((n) => n.opType))).toEqual(['Head']);
    expect(written.proto.extras.filter((e) => e.no === 25)).toHaveLength((await loadModel(exported)).proto.extras.filter((e) => e.no === 25).length);
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(exported, out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
  });

  it('the sites a user may name (--at) include the maps inside calls, under their expanded names', async () => {
    const { sites } = listSites(await loadModel(exported));
    const inside = sites.filter((x) => /^\/1\/relu\/Block(\.1)?\//.test(x.tensor));
    expect(inside.length).toBeGreaterThan(2);
    expect(inside.find((x) => BLOCK_1.test(x.tensor))).toMatchObject({ stage: 1, scaledBy: 'insertSEOnResidualBranch' });
    const second = sites.find((x) => BLOCK_2.test(x.tensor))!.tensor;
    const { report } = await convertFile(exported, path.join(tmp.dir, 'at.onnx'), { at: [second], overwrite: true });
    expect(report.blocks.map((b) => b.tensor)).toEqual([second]);
  });

  it('attributes a body takes from its call (ref_attr_name) take the call\'s value, through a call inside a call, or are left out', async () => {
    const out = path.join(tmp.dir, 'refs_se.onnx');
    const { report } = await convertFile(refs, out, { init: 'preserve', overwrite: true });
    expect(report.inserted).toBe(2);
    const nodes = (await loadModel(out)).graph.nodes;
    expect(callsIn(nodes.map((n) => n.opType))).toEqual([]);
    const attrs = (name: string) => nodes.find((n) => n.name === name)!.attributes.map((a) => [a.name, a.ints ?? a.f]);
    expect(attrs('block0/Conv')).toEqual([['pads', [1, 1, 1, 1]]]);
    expect(attrs('block0/Act/LeakyRelu')).toEqual([['alpha', expect.closeTo(0.3, 6)]]);
    expect(attrs('block1/Act/LeakyRelu')).toEqual([]); // the call gave no alpha: ONNX's default
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
    const v = await validateModels(refs, out, { ep: 'cpu', runs: 0, expectEqual: true });
    expect(v.problems).toEqual([]);
  });

  it('a call that cannot be expanded (its function imports another opset) is named with why, in one line, exit 4', async () => {
    expect(analyze(await loadModel(blocked)).unsupported).toMatch(/inside calls of model-local functions that se-inject cannot expand \(Block ×1 \(Block imports ai\.onnx 14 where the model imports 15\), Block\.1 ×1 \(/);
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [CLI, blocked, '-o', path.join(tmp.dir, 'never.onnx')], (err, _o, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr })));
    expect(code).toBe(4);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('calls that would expand without end are not expanded: ten calls a level for sixteen levels, a function calling itself', async () => {
    const wide = analyze(await loadModel(path.join(tmp.dir, 'adv_wide.onnx')));
    expect(wide.unsupported).toMatch(/cannot expand \(F0 ×1 \(a call of F\d+ expands to more than 2097152 nodes\)\)/);
    const recursive = analyze(await loadModel(path.join(tmp.dir, 'adv_recursive.onnx')));
    expect(recursive.unsupported).toMatch(/cannot expand \(Me ×1 \(Me calls itself\)\)/);
  });
});
