// One error type for everything a user can cause. Its message is the one line the CLI prints: what is
// wrong, where (file, node, tensor), and what to do. `cause` keeps the low-level reason for --debug.

export const EXIT_CODES = {
  ok: 0,
  internal: 1,
  usage: 2,
  input: 3,
  unsupported: 4,
  nothingToInsert: 5,
  validationFailed: 6,
  output: 7,
} as const;

export type ErrorKind = Exclude<keyof typeof EXIT_CODES, 'ok' | 'nothingToInsert' | 'validationFailed'>;

export class SeInjectError extends Error {
  readonly exitCode: number;
  constructor(readonly kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    // Names and paths come from the model or the command line; whatever escaped quote() is escaped here,
    // so the message stays one line and no terminal escape reaches the user's screen.
    super(escapeControls(message), options);
    this.name = 'SeInjectError';
    this.exitCode = EXIT_CODES[kind];
  }
}

export function inputError(message: string, cause?: unknown): SeInjectError {
  return new SeInjectError('input', message, { cause });
}

export function describeCause(cause: unknown): string {
  return escapeControls(cause instanceof Error ? cause.message : String(cause));
}

/**
 * User-controlled text (a path, a tensor or node name, an external-data location) as a message shows
 * it: unchanged when it is printable, otherwise in double quotes with every control character escaped
 * (`"a\nb"`, `"\x1b[31m"`), so a newline cannot fake a second line and ANSI escapes never reach the
 * terminal. An empty name shows as "".
 */
export function quote(text: string): string {
  return text !== '' && !UNPRINTABLE.test(text) ? text : `"${escapeControls(text.replace(/["\\]/g, '\\$&'))}"`;
}

// C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides (which reorder
// what the terminal shows).
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu');
const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A report (any JSON-like value) whose strings have every control character escaped: names from the
 * model, laid out into a table, cannot move the cursor, clear the screen or start a line. Parts with
 * nothing to escape (all of a typical report) are the value's own: a report of 10^5 blocks is walked
 * once, not copied.
 */
export function escapedStrings<T>(value: T): T {
  if (typeof value === 'string') return escapeControls(value) as T;
  if (Array.isArray(value)) return escapedArray(value) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return escapedObject(value as Record<string, unknown>) as T;
  return value;
}

function escapedArray(items: readonly unknown[]): readonly unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const v = escapedStrings(items[i]);
    if (!copy && v !== items[i]) copy = items.slice(0, i);
    copy?.push(v);
  }
  return copy ?? items;
}

function escapedObject(o: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(o);
  // Built from the first key or value that changes: the object is rebuilt in its key order, its unchanged parts shared.
  let entries: [string, unknown][] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!, v = o[k];
    const key = escapeControls(k), escaped = escapedStrings(v);
    if (!entries && (key !== k || escaped !== v)) entries = keys.slice(0, i).map((before) => [before, o[before]]);
    entries?.push([key, escaped]);
  }
  return entries ? Object.fromEntries(entries) : o;
}

/** Text with every control character escaped: what a one-line message may print. */
export function escapeControls(text: string): string {
  if (isPlainAscii(text)) return text;
  return text.replace(UNPRINTABLE_ALL, (c) => {
    const code = c.codePointAt(0)!;
    return SHORT[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

/** Printable ASCII only: nothing to escape (checked without a regular expression, for reports of 10^5 names). */
function isPlainAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
