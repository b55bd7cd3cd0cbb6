// Defaults of the validation options, in a file that loads nothing: yargs declares them from here
// (validate.ts), and the plain command line, read without yargs (plain-args.ts), takes the same ones.
export const VALIDATION_DEFAULTS = { ep: 'auto', runs: 20, threads: 1 } as const;
