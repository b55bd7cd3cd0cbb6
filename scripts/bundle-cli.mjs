// The CLI as one file (dist/src/cli/se-inject.bundle.cjs): tsc's output of src/cli/main.ts and
// everything it imports, yargs included, bundled by esbuild, so that a run loads one module instead
// of some sixty. What a run may not need stays outside and loads on first use, from tsc's output next
// to the bundle: validation (src/validate/runtime.js, providers.js, and through them onnxruntime-node)
// and `se-inject serve` (cli/serve.js, node:http). The package's bin (dist/src/cli/se-inject.js, from
// scripts/cli-loader.mjs) runs the bundle with V8's code cache for it, se-inject.bundle.cache, which
// this script makes from a conversion of a small model. `npm run build` runs tsc, then this.

import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = path.join(root, 'dist/src/cli');
const require = createRequire(import.meta.url);

// main.ts takes yargs' CommonJS build (it wraps --help between words) through createRequire, which a
// bundler cannot follow: the bundle takes the same file through a require it can.
const YARGS_CALL = "createRequire(import.meta.url)('yargs/yargs')";
/** Modules a run may not need, imported on first use, and left as tsc wrote them (importer → specifiers). */
const LAZY = [
  { importer: path.join('validate', 'lazy.js'), specifiers: /^\.\/(runtime|providers)\.js$/, from: '../validate/' },
  { importer: path.join('cli', 'main.js'), specifiers: /^\.\/serve\.js$/, from: './' },
];

const plugin = {
  name: 'se-inject-cli',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/]cli[\\/]main\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(YARGS_CALL)) throw new Error(`${args.path} no longer loads yargs by ${YARGS_CALL}: update scripts/bundle-cli.mjs`);
      return { contents: text.replace(YARGS_CALL, `require(${JSON.stringify(require.resolve('yargs/yargs'))})`), loader: 'js' };
    });
    b.onResolve({ filter: /^\.\/[a-z-]+\.js$/ }, (args) => {
      const lazy = LAZY.find((l) => args.importer.endsWith(l.importer) && l.specifiers.test(args.path) && args.kind === 'dynamic-import');
      return lazy ? { path: `${lazy.from}${path.basename(args.path)}`, external: true } : undefined;
    });
  },
};

// CommonJS, so that the bin can compile it as a vm.Script, the one kind of code V8 caches on request.
const bundled = await build({
  entryPoints: [path.join(cliDir, 'main.js')],
  outfile: path.join(cliDir, 'se-inject.bundle.cjs'),
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['onnxruntime-node'],
  // The bin hands the bundle its own path as __filename: import.meta.url stays the bin's.
  define: { 'import.meta.url': '__seImportMetaUrl' },
  plugins: [plugin],
  logLevel: 'warning',
  legalComments: 'none',
});
// The bundle is compiled inside a function wrapper, where a #! line is a syntax error; its line takes
// import.meta.url's value, after the "use strict" that keeps the ES modules' strict mode.
const STRICT_START = /^#!.*\n"use strict";\n/;
if (!STRICT_START.test(bundled.outputFiles[0].text)) throw new Error('the CLI bundle no longer starts with #! and "use strict": update scripts/bundle-cli.mjs');
// import() in a script V8 rebuilt from a code cache finds no loader on Node 20 (the script's host-defined
// options are not restored): the bundle's dynamic imports go through the bin's, which is an ES module.
const DYNAMIC_IMPORT = /(?<![\w$.])import\((?=")/g;
const bundleText = bundled.outputFiles[0].text
  .replace(STRICT_START, '"use strict"; const __seImportMetaUrl = require("node:url").pathToFileURL(__filename).href;\n')
  .replace(DYNAMIC_IMPORT, '__seImport(');
if (/(?<![\w$.])import\(/.test(bundleText)) throw new Error('the CLI bundle has an import() of a computed specifier: route it through __seImport in scripts/bundle-cli.mjs');
const bundleFile = path.join(cliDir, 'se-inject.bundle.cjs');
await writeFile(bundleFile, bundleText);
const bin = path.join(cliDir, 'se-inject.js');
await copyFile(path.join(root, 'scripts/cli-loader.mjs'), bin);

// The code cache, from a conversion of a committed small model; the output goes to a temporary folder.
const work = await mkdtemp(path.join(tmpdir(), 'se-inject-code-cache-'));
try {
  const args = [bundleFile, bin, path.join(cliDir, 'se-inject.bundle.cache'), path.join(root, 'fixtures/small/tiny_resnet.onnx'), path.join(work, 'out.onnx')];
  execFileSync(process.execPath, [path.join(root, 'scripts/cli-code-cache.mjs'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
} finally {
  await rm(work, { recursive: true, force: true });
}
