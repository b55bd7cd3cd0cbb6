// The core runs in a browser: the package's "browser" export bundles with esbuild --platform=browser and
// no Node module reachable, and the bundle, run where no Node global exists, converts a committed model
// to the same bytes, report and text as the Node library.

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { build } from 'esbuild';
import type { Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import * as node from '../src/index.js';
import type { Report } from '../src/index.js';
import { ROOT, small } from './support/fixtures.js';

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Records every Node built-in the bundle would reach (esbuild would otherwise fail or, with stubs, hide it). */
function nodeBuiltins(reached: string[]): Plugin {
  return {
    name: 'no-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (!BUILTINS.has(args.path) && !args.path.startsWith('node:')) return undefined;
        reached.push(`${args.path} (from ${path.relative(ROOT, args.importer)})`);
        return { path: args.path, external: true };
      });
    },
  };
}

/** The package as a browser bundler sees it: `import 'se-inject'` resolved through "exports" with the browser condition. */
async function bundle(format: 'esm' | 'iife') {
  const reached: string[] = [];
  const result = await build({
    stdin: { contents: `export * from 'se-inject';`, resolveDir: ROOT, sourcefile: 'page.js' },
    bundle: true,
    platform: 'browser',
    format,
    globalName: format === 'iife' ? 'seInject' : undefined,
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [nodeBuiltins(reached)],
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs), reached };
}

type BrowserApi = typeof import('../src/browser.js');

/** Runs the bundle in a fresh realm holding only what a browser page has that the core may use. */
function runInPage(code: string): BrowserApi {
  const page = vm.createContext({ TextDecoder, TextEncoder, Blob, console });
  vm.runInContext(`${code}\nglobalThis.seInject = seInject;`, page);
  for (const name of ['process', 'Buffer', 'require', 'module']) expect(vm.runInContext(`typeof ${name}`, page), name).toBe('undefined');
  return page.seInject as BrowserApi;
}

const plain = (r: Report) => JSON.parse(JSON.stringify(r)) as unknown;

describe('browser entry', () => {
  it('bundles for the browser through the "browser" export condition with no Node module reached', async () => {
    const { inputs, reached } = await bundle('esm');
    expect(reached).toEqual([]);
    expect(inputs).toContain('dist/src/browser.js');
    expect(inputs.filter((f) => /onnx\/(load|save|commit|deferred|stamp)\.js$|validate\/(runtime|providers|lazy)\.js$/.test(f))).toEqual([]);
  });

  it('converts a committed model to the same bytes, report and text as the Node library, with no Node global', async () => {
    const web = runInPage((await bundle('iife')).code);
    const input = new Uint8Array(readFileSync(small('tiny_resnet.onnx')));
    const options = { init: 'preserve' as const, label: 'tiny_resnet.onnx', seed: 3 };
    const a = node.convertBytes(input, options);
    const b = web.convertBytes(input, options);
    expect(a.report.inserted).toBeGreaterThan(0);
    expect(Buffer.from(b.bytes!).equals(Buffer.from(a.bytes!))).toBe(true);
    expect(plain(b.report)).toEqual(plain(a.report));
    expect(web.formatText(b.report, true)).toBe(node.formatText(a.report, true));
    expect(web.formatMarkdown(b.report)).toBe(node.formatMarkdown(a.report));
  });

  it('loads a Blob, analyses without touching the model, injects and serializes as the Node library does', async () => {
    const web = runInPage((await bundle('iife')).code);
    const input = new Uint8Array(readFileSync(small('tiny_shufflenet.onnx')));
    const model = await web.loadModel(new Blob([input]), { label: 'tiny_shufflenet.onnx' });
    const dry = web.analyze(model, { stages: [1] });
    expect(Buffer.from(web.serializeModel(model)).equals(Buffer.from(input))).toBe(true);
    const report = web.inject(model, { stages: [1] });
    const ref = await node.loadModel(input, { label: 'tiny_shufflenet.onnx' });
    const refReport = node.inject(ref, { stages: [1] });
    expect(report.inserted).toBe(dry.inserted);
    expect(plain(report)).toEqual(plain(refReport));
    expect(Buffer.from(web.serializeModel(model)).equals(Buffer.from(node.serializeModel(ref)))).toBe(true);
  });

  it('refuses bad bytes with the same SeInjectError as on Node', async () => {
    const web = runInPage((await bundle('iife')).code);
    const bad = new Uint8Array([1, 2, 3]);
    const fail = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return { name: (e as Error).name, kind: (e as { kind: string }).kind, exitCode: (e as { exitCode: number }).exitCode, message: (e as Error).message };
      }
      throw new Error('accepted bad bytes');
    };
    const b = fail(() => web.loadModelBytes(bad));
    expect(b).toEqual(fail(() => node.loadModelBytes(bad)));
    expect(b.kind).toBe('input');
  });

  it('states the version package.json has', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(node.VERSION).toBe(pkg.version);
  });
});
