#!/usr/bin/env node
// deps.mjs — prints, one a line and relative to the repository root, the node_modules folders that
// se-inject needs at run time: the package's dependencies and theirs, resolved the way Node resolves
// them. onnxruntime-node's own dependencies other than onnxruntime-common (adm-zip, global-agent) serve
// only its install step, which fetches CUDA libraries over the network; the bundle has none, so they
// stay behind.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { libraryRoot } from './library.mjs';

const INSTALL_ONLY = new Set(['adm-zip', 'global-agent']);

const root = libraryRoot();
const found = new Set();

/** The folder of package `name` as seen from folder `from`: the node_modules folders Node would search. */
function packageDir(name, from) {
  const searched = createRequire(path.join(from, 'package.json')).resolve.paths(name) ?? [];
  const hit = searched.map((dir) => path.join(dir, name)).find((dir) => existsSync(path.join(dir, 'package.json')));
  if (!hit) throw new Error(`${name}, a dependency of ${from}, is not installed; run \`npm ci\``);
  return hit;
}

function visit(dir) {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (INSTALL_ONLY.has(name)) continue;
    const sub = packageDir(name, dir);
    if (found.has(sub)) continue;
    found.add(sub);
    visit(sub);
  }
}

visit(root);
for (const dir of [...found].sort()) console.log(path.relative(root, dir));
