// Every code block of README.md, run as written in a fresh copy of the repository (its tracked files,
// no node_modules, no dist, no test/.tmp): shell blocks run, the library example runs, sample output is
// compared with what the tool prints. Synopses (```text) are not commands.

import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, cached, tempDir } from './support/fixtures.js';

interface Block { lang: string; body: string; line: number }

function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(markdown));) blocks.push({ lang: m[1]!, body: m[2]!, line: markdown.slice(0, m.index).split('\n').length });
  return blocks;
}

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const blocks = codeBlocks(readme);
const tmp = tempDir('se-inject-readme-');
afterAll(() => tmp.cleanup());
const clone = path.join(tmp.dir, 'se-inject');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

// Asynchronous, so that the test worker keeps answering vitest while npm ci and the build run.
function sh(script: string): Promise<{ code: number; out: string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-eo', 'pipefail', '-c', script], { cwd: clone, env, encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`, stdout, stderr });
    });
  });
}

/** Sample output may leave lines out with a line `…`, and a part of a line (a folder) with `…`; the rest
 * must appear, in order. */
function expectSample(actual: string, sample: string[]) {
  const lines = actual.split('\n');
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  let at = 0;
  for (const want of sample) {
    if (want === '…') continue;
    const re = new RegExp(`^${want.split('…').map(escape).join('.*')}$`);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    expect(found, `README sample line not printed (in this order) by the tool:\n${want}\n--- the tool printed:\n${actual}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

beforeAll(() => {
  mkdirSync(clone);
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const f of files) {
    if (!existsSync(path.join(ROOT, f))) continue;
    mkdirSync(path.dirname(path.join(clone, f)), { recursive: true });
    copyFileSync(path.join(ROOT, f), path.join(clone, f));
  }
});

describe('README code blocks, run as written from a fresh copy', () => {
  it('every block is of a kind this test runs or names its runner', () => {
    for (const b of blocks) expect(['sh', 'js', 'console', 'text'], `README.md line ${b.line}`).toContain(b.lang);
  });

  it('the shell blocks run (install, build, convert, validate)', async () => {
    for (const b of blocks.filter((x) => x.lang === 'sh')) {
      if (/npm test/.test(b.body)) {
        // The test command is what runs this file; .ci/run runs the same one.
        expect(readFileSync(path.join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
        continue;
      }
      if (/^npm install se-inject/m.test(b.body)) {
        // Installing the published package is what test/packaging.test.ts does with the packed tarball.
        expect(readFileSync(path.join(ROOT, 'test/packaging.test.ts'), 'utf8')).toContain("'npm', ['install'");
        continue;
      }
      const r = await sh(b.body);
      expect(r.code, `README.md line ${b.line}:\n${b.body}\n${r.out}`).toBe(0);
    }
    expect(existsSync(path.join(clone, 'tiny_se_resnet.onnx'))).toBe(true);
  }, 900_000);

  it('the library example runs and prints what it promises', async () => {
    const [js, ...more] = blocks.filter((b) => b.lang === 'js');
    expect(more).toEqual([]);
    writeFileSync(path.join(clone, 'readme-example.mjs'), js!.body);
    const r = await sh(`node readme-example.mjs`);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/^6 SE blocks, \+1582 params \(paper: 1344\)$/m);
    expect(r.stdout).toMatch(/^\d+ SE blocks; wrote \d+ bytes$/m);
    expect(r.stdout).toMatch(/^2×16 2×32$/m);
    expect(r.stdout).toMatch(/refused \(input, exit 3\): .*not an ONNX model/);
    expect(existsSync(path.join(clone, 'test/.tmp'))).toBe(false);
  });

  it('sample output is what the tool prints today', async () => {
    symlinkSync(cached('resnet50_op13.onnx'), path.join(clone, 'resnet50.onnx'));
    for (const b of blocks.filter((x) => x.lang === 'console')) {
      const [command, ...sample] = b.body.trimEnd().split('\n');
      expect(command, `README.md line ${b.line}`).toMatch(/^\$ /);
      const r = await sh(`${command!.slice(2)} 2>&1`);
      expect(r.code, r.out).toBe(0);
      expectSample(r.stdout, sample);
    }
  });
});
