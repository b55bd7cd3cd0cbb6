// A seeded fuzzer in the normal test run: mutations of small models (bit flips, truncations, duplicated
// and deleted fields, swapped wire types, huge lengths, extreme varints) go through load → inject →
// serialize → load. Each must end in success with a readable, well-formed output, or in an
// SeInjectError a user can act on; any other outcome is a bug. SE_INJECT_FUZZ_CASES=N runs more.
// An input that fails is written to fixtures/bad/fuzz-regressions/, which is replayed on every run.

import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from '../../src/api.js';
import { SeInjectError } from '../../src/errors.js';
import { inputDefect } from '../../src/ir/lint.js';
import { readModelFile } from '../../src/onnx/deferred.js';
import type { DeferOptions } from '../../src/onnx/deferred.js';
import { loadModelBytes, loadModelFile } from '../../src/onnx/load.js';
import { serializeModel } from '../../src/onnx/save.js';
import { FUTURE_FIELDS, ROOT, small } from '../support/fixtures.js';
import { residualBlockBytes } from './bad-models.js';
import { MUTATIONS, mutate, rng } from './mutate.js';

const CASES = Number(process.env.SE_INJECT_FUZZ_CASES ?? 4000);
const REGRESSIONS = path.join(ROOT, 'fixtures/bad/fuzz-regressions');

const SEEDS: Record<string, Uint8Array> = {
  residual_block: residualBlockBytes(),
  'future-fields': new Uint8Array(readFileSync(FUTURE_FIELDS)),
  tiny_densenet: new Uint8Array(readFileSync(small('tiny_densenet.onnx'))),
  tiny_inception: new Uint8Array(readFileSync(small('tiny_inception.onnx'))),
  tiny_efficientnet: new Uint8Array(readFileSync(small('tiny_efficientnet.onnx'))),
};

type Outcome = 'converted' | 'unchanged' | SeInjectError['kind'];

/** The library path a pipeline takes; throws only for outcomes that are bugs. */
function convert(bytes: Uint8Array): Outcome {
  try {
    const model = loadModelBytes(bytes, { label: 'fuzzed model' });
    const { inserted } = inject(model);
    const again = loadModelBytes(serializeModel(model), { label: 'output' });
    const defect = inputDefect(again.graph);
    if (defect) throw new Error(`the output is not well-formed: ${defect}`);
    return inserted ? 'converted' : 'unchanged';
  } catch (e) {
    if (e instanceof SeInjectError && e.kind !== 'internal') return e.kind;
    throw e;
  }
}

type Loaded = { error: string } | { report: string; bytes: string };

/** Load (whole or with weights left in the file), inject, serialize: the outcome as comparable text. */
async function loadInjectSerialize(file: string, defer: DeferOptions): Promise<Loaded> {
  try {
    const model = await loadModelFile(file, { defer });
    const report = inject(model, { seed: 5 });
    return { report: JSON.stringify({ ...report, file: undefined }), bytes: Buffer.from(serializeModel(model)).toString('base64') };
  } catch (e) {
    if (e instanceof SeInjectError && e.kind !== 'internal') return { error: `${e.kind}: ${e.message}` };
    throw e;
  }
}

describe('the deferred reader (large weights left in the file)', () => {
  it(`agrees with the whole read on ${Math.ceil(CASES / 8)} mutations: the same error, or the same report and bytes`, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'se-inject-fuzz-deferred-'));
    const seeds = { ...SEEDS, tiny_resnet: new Uint8Array(readFileSync(small('tiny_resnet.onnx'))) };
    const names = Object.keys(seeds);
    const tally = { holes: 0, errors: 0, converted: 0 };
    try {
      for (let seed = 0; seed < Math.ceil(CASES / 8); seed++) {
        const name = names[seed % names.length]!;
        const kind = MUTATIONS[Math.floor(seed / names.length) % MUTATIONS.length]!;
        const file = path.join(dir, `${seed}.onnx`);
        writeFileSync(file, mutate(seeds[name as keyof typeof seeds]!, kind, rng(1_000_000 + seed)));
        if (readModelFile(file, { fromFileBytes: 0, minTensorBytes: 0 }).deferred) tally.holes++;
        const whole = await loadInjectSerialize(file, false);
        const deferred = await loadInjectSerialize(file, { fromFileBytes: 0, minTensorBytes: 0 });
        expect(deferred, `${name} ${kind} seed ${seed}`).toEqual(whole);
        if ('error' in whole) tally.errors++;
        else tally.converted++;
        rmSync(file);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (process.env.SE_INJECT_FUZZ_VERBOSE) console.log(tally);
    // The comparison means something only if many inputs had holes and both outcomes occur.
    expect(tally.holes).toBeGreaterThan(CASES / 40);
    expect(tally.errors).toBeGreaterThan(0);
    expect(tally.converted).toBeGreaterThan(0);
  });
});

describe('fuzzer', () => {
  it(`${CASES} seeded mutations end in success or a clear error`, () => {
    const names = Object.keys(SEEDS);
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    for (let seed = 0; seed < CASES; seed++) {
      const name = names[seed % names.length]!;
      const kind = MUTATIONS[Math.floor(seed / names.length) % MUTATIONS.length]!;
      const input = mutate(SEEDS[name]!, kind, rng(seed));
      try {
        const outcome = convert(input);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      } catch (e) {
        const file = path.join(REGRESSIONS, `${name}-${seed}-${kind}.onnx`);
        mkdirSync(REGRESSIONS, { recursive: true });
        writeFileSync(file, input);
        failures.push(`${path.relative(ROOT, file)}: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
    expect(failures).toEqual([]);
    // The mutations must reach the passes, not only the wire reader.
    expect(outcomes.converted).toBeGreaterThan(CASES / 10);
    expect(outcomes.input).toBeGreaterThan(CASES / 10);
  });

  it('a declared length of 2^62 is refused before anything is allocated for it', () => {
    const huge = Uint8Array.of(0x08, 0x08, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x0a);
    expect(() => loadModelBytes(huge)).toThrow(/field length 4611686018427388000 runs past the end of the message/);
  });
});

describe('fuzz regressions (fixtures/bad/fuzz-regressions)', () => {
  const files = readdirSync(REGRESSIONS).filter((f) => f.endsWith('.onnx'));

  it.each(files)('%s', (file) => {
    expect(['converted', 'unchanged', 'input', 'unsupported', 'usage', 'output']).toContain(convert(readFileSync(path.join(REGRESSIONS, file))));
  });
});
