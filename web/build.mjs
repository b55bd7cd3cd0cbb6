// Builds the web page into dist/web/ (index.html, app.js, and worker.js, which converts off the main thread) with esbuild: the core through its browser
// entry (src/browser.ts), the page's code, and onnxruntime-web's JavaScript. The runtime's WebAssembly
// (onnxruntime-web/dist/*.wasm, 28 MB) is not copied: `se-inject serve` serves it from the installed
// onnxruntime-web. The build fails if any Node built-in is reachable: the page has no Node stubs.
// Usage: node web/build.mjs   (npm run build runs it)

import { builtinModules } from 'node:module';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'dist/web');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** A Node built-in reached from the page is a build error, never a stub. */
const noNode = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!BUILTINS.has(args.path) && !args.path.startsWith('node:')) return undefined;
      return { errors: [{ text: `the page reaches the Node module ${args.path} (from ${path.relative(ROOT, args.importer)})` }] };
    });
  },
};

export async function buildPage({ quiet = false } = {}) {
  mkdirSync(OUT, { recursive: true });
  await build({
    entryPoints: { app: path.join(ROOT, 'web/src/app.ts'), worker: path.join(ROOT, 'web/src/worker.ts') },
    outdir: OUT,
    bundle: true,
    platform: 'browser',
    // A classic script, so that the page also opens from disk (browsers refuse module scripts at file://).
    format: 'iife',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    // The validation code's tensors (src/validate/tensors.ts) take the Tensor class of onnxruntime-node
    // on Node; onnxruntime-web exports the same class (onnxruntime-common) for the page.
    alias: { 'onnxruntime-node': 'onnxruntime-web' },
    // onnxruntime-web finds its .wasm through ort.env.wasm.wasmPaths, which the page sets.
    define: { 'import.meta.url': '"./"' },
    logLevel: quiet ? 'error' : 'warning',
    plugins: [noNode],
  });
  copyFileSync(path.join(ROOT, 'web/index.html'), path.join(OUT, 'index.html'));
  return { dir: OUT, appBytes: statSync(path.join(OUT, 'app.js')).size, workerBytes: statSync(path.join(OUT, 'worker.js')).size };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { dir, appBytes, workerBytes } = await buildPage();
  process.stdout.write(`web page: ${path.relative(ROOT, dir)}/index.html, app.js ${(appBytes / 1024).toFixed(0)} KiB, worker.js ${(workerBytes / 1024).toFixed(0)} KiB\n`);
}
