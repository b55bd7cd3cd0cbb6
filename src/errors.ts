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
    super(message, options);
    this.name = 'SeInjectError';
    this.exitCode = EXIT_CODES[kind];
  }
}

export function inputError(message: string, cause?: unknown): SeInjectError {
  return new SeInjectError('input', message, { cause });
}

export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}
