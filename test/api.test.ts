// The README's library example, run exactly as written (extracted from README.md), plus the API's
// promises: typed results, bytes and files, no side effects at import.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/fixtures.js';

describe('library API', () => {
  it('the README example runs as written', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Library API'));
    const code = /```js\n([\s\S]*?)```/.exec(section)![1]!;
    mkdirSync(path.join(ROOT, 'test/.tmp'), { recursive: true });
    const file = path.join(ROOT, 'test/.tmp/readme-example.mjs');
    writeFileSync(file, code);
    const out = execFileSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toMatch(/^6 SE blocks, \+1582 params \(paper: 1344\)$/m);
    expect(out).toMatch(/^2×16 2×32$/m);
    expect(out).toMatch(/refused \(input, exit 3\): .*not an ONNX model/);
  });

  it('importing se-inject has no side effects and exposes the documented names', async () => {
    const before = process.listenerCount('exit');
    const api = await import('../src/index.js');
    expect(process.listenerCount('exit')).toBe(before);
    for (const name of ['loadModel', 'analyze', 'inject', 'convertBytes', 'convertFile', 'saveModel', 'serializeModel', 'validateModels', 'selectProvider', 'SeInjectError']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
