// se-inject's own version, for --version and the metadata written into every model. A constant, so
// that the core needs no file system (browser bundles, single-file CLI builds); test/core-bundle.test.ts
// fails when it differs from package.json's "version".

export const VERSION = '0.1.0';

export function toolVersion(): string {
  return VERSION;
}
