// What the CLI says about mistakes in the command line itself: the flag nearest to a misspelt one, a
// second model path where -o was meant, and a number that is not a number, echoed as it was typed.

import { SeInjectError } from '../errors.js';
import { closest } from '../options.js';

/** What yargs knows of the declared options: every name and alias, and which ones take numbers. */
export interface DeclaredOptions {
  names: string[];
  numbers: string[];
  /** Options that take a list: given twice, they hold both values. */
  arrays: string[];
  aliases: Record<string, string[]>;
}

/** Rewrites yargs' "Unknown argument(s): ..." into one line that says what was probably meant. */
export function unknownArguments(message: string, declared: DeclaredOptions): string {
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  if (!m) return `${message} (see se-inject --help)`;
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const args = m[1]!.split(', ');
  // yargs names `--expect-eqal` twice, also as expectEqal.
  const parts = args.filter((arg) => arg === kebab(arg) || !args.includes(kebab(arg))).map((arg) => {
    if (/\.onnx$/i.test(arg)) return `${arg} is a second model path: give the output with -o ${arg}`;
    const near = closest(arg, declared.names.filter((n) => n.length > 1 && n === kebab(n)));
    return near ? `unknown option --${arg}; did you mean --${near}?` : `unknown option --${arg}`;
  });
  return `${parts.join('; ')} (see se-inject --help)`;
}

/** The text typed after a flag (`--ratio=eight`, `--ratio eight`, `-r eight`), for messages. */
export function typedValue(argv: readonly string[], flags: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    for (const f of flags) {
      const flag = f.length === 1 ? `-${f}` : `--${f}`;
      if (argv[i] === flag) found = argv[i + 1] ?? '';
      else if (argv[i]!.startsWith(`${flag}=`)) found = argv[i]!.slice(flag.length + 1);
    }
  }
  return found;
}

/** yargs turns `--ratio eight` into NaN; say what was typed instead. */
export function checkNumbers(args: Record<string, unknown>, argv: readonly string[], declared: DeclaredOptions): void {
  for (const name of declared.numbers) {
    const v = args[name];
    const bad = (x: unknown) => typeof x === 'number' && Number.isNaN(x);
    if (!(Array.isArray(v) ? v.some(bad) : bad(v))) continue;
    const flags = [name, ...(declared.aliases[name] ?? [])];
    const typed = typedValue(argv, flags);
    throw new SeInjectError('usage', `--${name} takes a number, got ${typed === undefined ? 'none' : JSON.stringify(typed)}`);
  }
}

/**
 * An option that takes one value, typed twice (`-o a.onnx -o b.onnx`, `--bias --no-bias`): yargs keeps
 * both in a list, which would reach the run as an output path or a switch that is neither. Say so instead.
 */
export function checkRepeated(args: Record<string, unknown>, declared: DeclaredOptions): void {
  for (const name of declared.names) {
    const v = args[name];
    if (name.length < 2 || /[A-Z]/.test(name) || declared.arrays.includes(name) || !Array.isArray(v)) continue;
    const given = v.map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x))).join(', ');
    throw new SeInjectError('usage', `--${name} is given ${v.length} times (${given}); give it once (see se-inject --help)`);
  }
}
