// The plainest command line, `se-inject MODEL -o OUT` with switches such as --force and -q, read
// without yargs. Loading yargs and building its parser of some fifty options is a fifth of a small
// model's run; this line needs none of it. Anything else (another option, a value to check, --help, a
// command, a switch given twice) returns undefined and goes to yargs, so every message and every
// parse other than this one stays yargs'.

import { VALIDATION_DEFAULTS } from './defaults.js';

/** The switches read here, as yargs names them in its result (each defaults to false, --fsync to unset). */
const SWITCHES: Readonly<Record<string, string>> = {
  '--force': 'force', '-f': 'force', '--in-place': 'inPlace', '--external-data': 'externalData', '--fsync': 'fsync',
  '--json': 'json', '--markdown': 'markdown', '--explain': 'explain', '--quiet': 'quiet', '-q': 'quiet', '--debug': 'debug',
};
const COMMANDS = new Set(['report', 'validate', 'serve']);

/** What yargs gives the inject command when no other option is typed: its defaults. */
function defaults(): Record<string, unknown> {
  return {
    force: false, inPlace: false, externalData: false, validate: false, strict: false,
    json: false, markdown: false, explain: false, quiet: false, debug: false, ...VALIDATION_DEFAULTS,
  };
}

/** A word yargs takes as it is: not a flag, not a number, not empty. */
function plainWord(s: string | undefined): s is string {
  return s !== undefined && s !== '' && !s.startsWith('-') && Number.isNaN(Number(s));
}

/** The arguments of `MODEL -o OUT [switches]` as yargs would parse them, or undefined for any other command line. */
export function plainInjectArgs(argv: readonly string[]): Record<string, unknown> | undefined {
  const args = defaults();
  const seen = new Set<string>();
  let model: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const key = arg === '-o' || arg === '--output' ? 'output' : SWITCHES[arg];
    if (key !== undefined) {
      if (seen.has(key)) return undefined;
      seen.add(key);
      if (key !== 'output') args[key] = true;
      else if (plainWord(argv[i + 1])) args.output = argv[++i];
      else return undefined;
    } else if (model === undefined && plainWord(arg) && !COMMANDS.has(arg)) model = arg;
    else return undefined;
  }
  if (model === undefined || args.output === undefined) return undefined;
  args.model = model;
  return args;
}
