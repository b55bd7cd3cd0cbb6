// The API's promises: no side effects at import, the documented names exported. (The README's library
// example runs in test/readme.test.ts.)

import { describe, expect, it } from 'vitest';

describe('library API', () => {
  it('importing se-inject has no side effects and exposes the documented names', async () => {
    const before = process.listenerCount('exit');
    const api = await import('../src/index.js');
    expect(process.listenerCount('exit')).toBe(before);
    for (const name of ['loadModel', 'analyze', 'inject', 'convertBytes', 'convertFile', 'saveModel', 'serializeModel', 'validateModels', 'selectProvider', 'SeInjectError']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
