// fixtures/families/expected.json is the ground truth of where the paper puts SE in each family
// model. Here it is held to the models themselves, read with onnx (fixtures/families_facts.py):
// every named node exists and writes the named tensor, of the named width, in graph order. What
// se-inject inserts is judged against this manifest elsewhere.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { ROOT, onnxCheck } from './support/fixtures.js';

interface Site { block: string; node: string; tensor: string; channels: number; call?: string; function?: string }
interface Entry { family: string; how: string; input: number[]; sites?: Site[]; nothingToInsert?: true; exit?: number; why?: string }
interface NodeFact { op: string; outputs: string[]; channels: number | null; index: number }
interface Facts {
  file: string;
  nodes: Record<string, NodeFact>;
  functions: Record<string, Record<string, Record<string, NodeFact>>>;
  calls: Record<string, string>;
}

const DIR = path.join(ROOT, 'fixtures/families');
const expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as Record<string, Entry>;
const files = Object.keys(expected);
const facts = new Map(execFileSync('/usr/bin/python3', [path.join(ROOT, 'fixtures/families_facts.py')], { encoding: 'utf8' })
  .trim().split('\n').map((l) => JSON.parse(l) as Facts).map((f) => [f.file, f]));

function fact(file: string, s: Site): NodeFact | undefined {
  const f = facts.get(file)!;
  if (s.call === undefined) return f.nodes[s.node];
  return f.functions[s.function!]?.[s.call]?.[s.node];
}

describe('fixtures/families/expected.json', () => {
  it('lists every committed family model, and only those', () => {
    const onDisk = readdirSync(DIR).filter((f) => f.endsWith('.onnx')).sort();
    expect([...files].sort()).toEqual(onDisk);
  });

  it.each(files)('%s: one verdict (sites, nothing to insert, or a refusal) and a family and form', (file) => {
    const e = expected[file]!;
    expect(e.family).toMatch(/^[a-z0-9_]+$/);
    expect(e.how.length).toBeGreaterThan(10);
    const verdicts = [e.sites !== undefined, e.nothingToInsert === true, e.exit !== undefined].filter(Boolean);
    expect(verdicts).toHaveLength(1);
    if (e.sites) expect(e.sites.length).toBeGreaterThan(0);
    if (e.exit !== undefined) { expect(e.exit).toBe(4); expect(e.why!.length).toBeGreaterThan(10); }
  });

  it.each(files.filter((f) => expected[f]!.sites))('%s: each site is a node writing that tensor, of that width, in graph order', (file) => {
    const sites = expected[file]!.sites!;
    const got = sites.map((s) => fact(file, s));
    expect(got.map((g, i) => g === undefined ? `missing ${sites[i]!.node}` : 'ok')).toEqual(sites.map(() => 'ok'));
    expect(got.map((g) => g!.outputs[0])).toEqual(sites.map((s) => s.tensor));
    expect(got.map((g) => g!.channels)).toEqual(sites.map((s) => s.channels));
    const order = got.map((g) => g!.index);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const keys = sites.map((s) => `${s.call ?? ''}|${s.node}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of sites.filter((x) => x.call !== undefined)) expect(facts.get(file)!.calls[s.call!]).toBe(s.function);
  });

  it('every family model passes onnx.checker full check', () => {
    const results = onnxCheck(files.map((f) => path.join(DIR, f)));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.filter((r) => r.skipped)).toEqual([]);
  });

  it.each(files)('%s runs on ONNX Runtime', async (file) => {
    const session = await ort.InferenceSession.create(path.join(DIR, file), { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
    const dims = expected[file]!.input;
    const x = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), dims);
    const out = await session.run({ [session.inputNames[0]!]: x });
    const y = out[session.outputNames[0]!]!.data as Float32Array;
    expect(y.length).toBe(10);
    expect(y.every(Number.isFinite)).toBe(true);
  });
});
