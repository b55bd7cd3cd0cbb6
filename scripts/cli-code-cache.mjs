// Makes V8's code cache for the CLI bundle (node scripts/cli-code-cache.mjs BUNDLE BIN CACHE MODEL OUT):
// compiles the bundle as the bin does (scripts/cli-loader.mjs: same wrapper text, same filename), runs
// a conversion of MODEL to OUT through it, then serializes what V8 compiled, so that the functions a
// run calls come compiled, not only the top level. Run as plain node, no flags, as a user's run is:
// V8 refuses a cache made under other flags.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

const [bundle, bin, cache, model, out] = process.argv.slice(2);
const source = `(function (exports, require, module, __filename, __dirname, __seImport) {${readFileSync(bundle, 'utf8')}\n})`;
const script = new Script(source, { filename: bundle });
process.argv = [process.execPath, bin, model, '-o', out, '--force', '--quiet', '--json'];
let written = false;
process.on('beforeExit', () => {
  if (written) return;
  written = true;
  if (process.exitCode) throw new Error(`the conversion that warms the code cache failed (exit ${process.exitCode})`);
  writeFileSync(cache, script.createCachedData());
  const check = new Script(source, { filename: bundle, cachedData: readFileSync(cache) });
  if (check.cachedDataRejected) throw new Error('V8 refused the code cache just made');
});
const module = { exports: {} };
const fromBundle = (specifier) => import(new URL(specifier, pathToFileURL(bundle)).href);
script.runInThisContext()(module.exports, createRequire(bundle), module, bin, bin.replace(/[\\/][^\\/]*$/, ''), fromBundle);
