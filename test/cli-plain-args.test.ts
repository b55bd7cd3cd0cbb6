// The plain command line `MODEL -o OUT [switches]` is read without yargs: it must come out exactly as
// yargs reads it, and every other command line must be left to yargs.

import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { describe, expect, it } from 'vitest';
import { injectOptions } from '../src/cli/main.js';
import { plainInjectArgs } from '../src/cli/plain-args.js';

const yargs = createRequire(import.meta.url)('yargs/yargs') as (argv: string[]) => Argv;

/** What yargs hands the inject command's handler, by the names the handler reads (camelCase). */
function yargsArgs(argv: string[]): Record<string, unknown> {
  let seen: Record<string, unknown> | undefined;
  yargs(argv).command('$0 <model> [more..]', '', injectOptions, (a) => { seen = a as Record<string, unknown>; }).strict().fail((msg, err) => { throw err ?? new Error(msg); }).parseSync();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(seen!)) if (/^[a-z][A-Za-z]*$/.test(k) && k.length > 1 && k !== 'more' && v !== undefined) out[k] = v;
  return out;
}

describe('the plain command line', () => {
  it('reads as yargs reads it', () => {
    for (const line of [
      'm.onnx -o out.onnx',
      '-o out.onnx m.onnx',
      'dir/m.onnx --output o/out.onnx --force -q',
      'm.onnx -o out.onnx -f --quiet --json',
      'm.onnx -o out.onnx --markdown --explain --debug',
      'm.onnx -o out.onnx --in-place --external-data --fsync',
      'a=b.onnx -o x.y.onnx',
    ]) {
      const argv = line.split(' ');
      expect(plainInjectArgs(argv), line).toEqual(yargsArgs(argv));
    }
  });

  it('leaves every other command line to yargs', () => {
    for (const line of [
      'm.onnx', '-o out.onnx', 'm.onnx -o', 'm.onnx -o -q', 'm.onnx -o out.onnx --ratio 8', 'm.onnx -o out.onnx -r 8',
      'm.onnx -o out.onnx --force --force', 'm.onnx -o a.onnx -o b.onnx', 'm.onnx n.onnx -o out.onnx', 'm.onnx -o out.onnx --help',
      'm.onnx -o out.onnx --version', 'report m.onnx -o out.onnx', 'serve -o x', 'm.onnx --output=out.onnx', 'm.onnx -o out.onnx --no-force',
      'm.onnx -o out.onnx --', '12 -o out.onnx', 'm.onnx -o 0x1f', 'm.onnx -o out.onnx --validate', 'm.onnx -o out.onnx --out-dir d',
    ]) {
      expect(plainInjectArgs(line.split(' ')), line).toBeUndefined();
    }
    expect(plainInjectArgs(['', '-o', 'out.onnx'])).toBeUndefined();
  });
});
