// The CLI as one file (dist/src/cli/se-inject.js, the package's bin): tsc's output of src/cli/main.ts
// and everything it imports, yargs included, bundled by esbuild, so that a run loads one module
// instead of some sixty. What a run may not need stays outside and loads on first use, from tsc's
// output next to the bundle: validation (src/validate/runtime.js, providers.js, and through them
// onnxruntime-node) and `se-inject serve` (cli/serve.js, node:http). `npm run build` runs tsc, then this.

import { readFile } from 'node:fs/promises';
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

await build({
  entryPoints: [path.join(cliDir, 'main.js')],
  outfile: path.join(cliDir, 'se-inject.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['onnxruntime-node'],
  // CommonJS inside an ES module (yargs) needs require, __filename and __dirname.
  banner: {
    js: [
      "import { createRequire as __seCreateRequire } from 'node:module';",
      "import { fileURLToPath as __seFileURLToPath } from 'node:url';",
      'const require = __seCreateRequire(import.meta.url);',
      'const __filename = __seFileURLToPath(import.meta.url);',
      "const __dirname = __filename.replace(/[\\\\/][^\\\\/]*$/, '');",
    ].join('\n'),
  },
  plugins: [plugin],
  logLevel: 'warning',
  legalComments: 'none',
});
