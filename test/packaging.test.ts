// se-inject as a dependency of a new project: the packed tarball installs with only the npm registry
// (from npm's cache when it holds the packages), `npx se-inject` converts a model and reports its own
// version, the library imports from an .mjs file, and validation without onnxruntime-node (an optional
// peer dependency) says in one line what to install.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, onnxCheck, small, tempDir } from './support/fixtures.js';

const tmp = tempDir('se-inject-consumer-');
afterAll(() => tmp.cleanup());
const project = path.join(tmp.dir, 'project');
const version = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;

// npm run test exports npm_config_* and npm_package_* for this repository; the consumer must not see them.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

interface Ran { code: number; stdout: string; stderr: string }

// Asynchronous, so that the test worker keeps answering vitest while npm works.
function run(cmd: string, args: string[], cwd = project): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, encoding: 'utf8', timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let install: Ran;
beforeAll(async () => {
  const packed = await run('npm', ['pack', '--pack-destination', tmp.dir, '--silent'], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  const tarball = readdirSync(tmp.dir).find((f) => f.endsWith('.tgz'))!;
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(tmp.dir, tarball)]);
}, 300_000);

describe('installed as a dependency', () => {
  it('no folder above the project lends it onnxruntime-node', () => {
    // Node resolves a package from every node_modules above the importing file; one in the temp folder's
    // ancestors would make this project look as if it had installed the optional peer.
    const lenders: string[] = [];
    for (let dir = path.dirname(project); ; dir = path.dirname(dir)) {
      if (existsSync(path.join(dir, 'node_modules/onnxruntime-node'))) lenders.push(path.join(dir, 'node_modules'));
      if (path.dirname(dir) === dir) break;
    }
    expect(lenders, `remove or move ${lenders.join(', ')}: it lends onnxruntime-node to every project below it`).toEqual([]);
  });

  it('installs without onnxruntime-node and without warnings', () => {
    expect(install.code, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/warn/i);
    expect(existsSync(path.join(project, 'node_modules/se-inject/dist/src/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(project, 'node_modules/onnxruntime-node'))).toBe(false);
  });

  it('npx se-inject --version prints se-inject\'s version, not the project\'s', async () => {
    const r = await run('npx', ['se-inject', '--version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('npx se-inject converts a committed fixture', async () => {
    const out = path.join(project, 'tiny_se.onnx');
    const r = await run('npx', ['se-inject', small('tiny_resnet.onnx'), '-o', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ inserted: 6, output: out, params: { added: 1582 } });
    expect(onnxCheck([out])[0]).toMatchObject({ ok: true });
  });

  it('--validate without onnxruntime-node: exit 4 and one line naming what to install', async () => {
    const r = await run('npx', ['se-inject', small('tiny_resnet.onnx'), '-o', path.join(project, 'v.onnx'), '--validate', '-q']);
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/onnxruntime-node is not installed: npm install onnxruntime-node/);
  });

  it('the library imports and converts from an .mjs file', async () => {
    const script = path.join(project, 'convert.mjs');
    writeFileSync(script, [
      "import { convertFile, validateModels } from 'se-inject';",
      `const { report, saved } = await convertFile(${JSON.stringify(small('tiny_inception.onnx'))}, 'lib.onnx', { init: 'preserve' });`,
      'console.log(`${report.inserted} ${saved.path}`);',
      "await validateModels('a.onnx', 'b.onnx').catch((e) => console.log(`${e.kind}: ${e.message}`));",
    ].join('\n'));
    const r = await run(process.execPath, [script]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+ .*lib\.onnx$/m);
    expect(r.stdout).toMatch(/^unsupported: validation runs on ONNX Runtime, and onnxruntime-node is not installed/m);
    expect(onnxCheck([path.join(project, 'lib.onnx')])[0]).toMatchObject({ ok: true });
  });
});
