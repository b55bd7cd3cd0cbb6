// Finds se-inject's built library (dist/) from wherever these scripts sit: bench/gpu/ in the repository,
// or the root of the unpacked bundle, where dist/ lies next to them.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The folder holding dist/src/, nearest above this file. */
export function libraryRoot() {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'dist', 'src', 'onnx', 'load.js'))) return dir;
    if (path.dirname(dir) === dir) {
      throw new Error(`no dist/src/onnx/load.js above ${start}; run \`npm run build\` in the repository first`);
    }
  }
}

/** Imports one module of the built library, e.g. libraryModule('onnx/load.js'). */
export function libraryModule(file) {
  return import(pathToFileURL(path.join(libraryRoot(), 'dist', 'src', file)).href);
}

/** ONNX float element types whose bytes are weights: FLOAT, FLOAT16, DOUBLE, BFLOAT16. */
export const FLOAT_TYPES = new Map([[1, 'float32'], [10, 'float16'], [11, 'float64'], [16, 'bfloat16']]);

/** Exits with one line naming the script and what went wrong. */
export function die(script, message) {
  process.stderr.write(`${script}: error: ${message}\n`);
  process.exit(2);
}
