#!/usr/bin/env node
// se-inject's bin (copied to dist/src/cli/se-inject.js by scripts/bundle-cli.mjs). It runs the CLI
// bundle (se-inject.bundle.cjs, next to it) with V8's code cache for it (se-inject.bundle.cache,
// made at build time), so that a run deserializes the compiled CLI instead of compiling 550 KB of
// JavaScript. Node v20 has no module.enableCompileCache; this is what it would do, for one file. Where
// V8 refuses the cache (another Node version, other V8 flags) it compiles as if there were none.
// Nothing is written here at run time: an installed package may be read-only.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const bin = fileURLToPath(import.meta.url);
const dir = fileURLToPath(new URL('.', import.meta.url)).replace(/[\\/]$/, '');
const bundle = fileURLToPath(new URL('se-inject.bundle.cjs', import.meta.url));
let cachedData;
try {
  cachedData = readFileSync(new URL('se-inject.bundle.cache', import.meta.url));
} catch {
  // No cache: compile.
}
// The wrapper Node puts around CommonJS, on the bundle's first line so that its line numbers hold, with
// one more parameter: import() for the bundle (Node 20 loses the loader of a script compiled from a
// code cache), resolved from this file, which sits next to the bundle.
// scripts/cli-code-cache.mjs makes the cache from the same text: change the two together.
const source = `(function (exports, require, module, __filename, __dirname, __seImport) {${readFileSync(bundle, 'utf8')}\n})`;
const script = new Script(source, { filename: bundle, cachedData });
const module = { exports: {} };
// __filename is the bin's: the CLI checks that it was started as the entry point, and runs itself for --out-dir.
script.runInThisContext()(module.exports, createRequire(bundle), module, bin, dir, (specifier) => import(specifier));
