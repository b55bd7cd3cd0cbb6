// Where the tests find models, and the independent judges they call.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');
export const CACHE = path.join(ROOT, 'fixtures/cache');
export const SMALL = path.join(ROOT, 'fixtures/small');
export const FUTURE_FIELDS = path.join(ROOT, 'fixtures/future-fields.onnx');

export const cached = (name: string) => path.join(CACHE, name);
export const small = (name: string) => path.join(SMALL, name);

export interface CheckResult { path: string; ok: boolean; error?: string; skipped?: string }

/** onnx.checker.check_model(full_check=True) on each file, in one python process. */
export function onnxCheck(files: string[]): CheckResult[] {
  const out = execFileSync('/usr/bin/python3', [path.join(ROOT, 'test/support/check_model.py'), ...files], { encoding: 'utf8', maxBuffer: 1 << 24 });
  return out.trim().split('\n').map((l) => JSON.parse(l) as CheckResult);
}

export function tempDir(prefix = 'se-inject-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
