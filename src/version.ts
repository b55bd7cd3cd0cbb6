// se-inject's own version, from its package.json (found next to this module's folders, however the
// package is installed or bundled), for --version and the metadata written into every model.

import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function toolVersion(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'se-inject' && pkg.version) return (cached = pkg.version);
    }
    const up = path.dirname(dir);
    if (up === dir) return (cached = 'unknown');
    dir = up;
  }
}
