// `se-inject serve` serves the page and the runtime's WebAssembly, to this machine only, and nothing else.

import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/fixtures.js';

const CLI = path.join(ROOT, 'dist/src/cli/main.js');

describe('se-inject serve', () => {
  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let origin = '';
  let stderr = '';
  server.stderr.on('data', (d) => (stderr += d));

  beforeAll(async () => {
    origin = await new Promise<string>((resolve) => createInterface({ input: server.stdout }).once('line', (l) => resolve(l.trim().replace(/\/$/, ''))));
    // stdout and stderr are separate pipes: the message may come a moment after the URL.
    while (!stderr.includes('\n')) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(() => void server.kill('SIGTERM'));

  it('prints its URL on 127.0.0.1 and says it serves this machine only', () => {
    expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stderr).toMatch(/serving the web page at http:\/\/127\.0\.0\.1:\d+\/ to this machine only/);
  });

  it('serves the page, its script and the runtime WebAssembly with their types', async () => {
    const page = await fetch(`${origin}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toMatch(/<script src="app\.js"><\/script>/);
    expect((await fetch(`${origin}/app.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const wasm = await fetch(`${origin}/ort/ort-wasm-simd-threaded.jsep.wasm`, { method: 'HEAD' });
    expect([wasm.status, wasm.headers.get('content-type')]).toEqual([200, 'application/wasm']);
  });

  it('serves nothing else: no other file of the package, no path outside, no other method', async () => {
    for (const p of ['/package.json', '/../package.json', '/%2e%2e/package.json', '/ort/../package.json', '/ort/ort.node.min.js', '/dist/web/app.js']) {
      expect((await fetch(`${origin}${p}`)).status, p).toBe(404);
    }
    expect((await fetch(`${origin}/`, { method: 'POST', body: 'x' })).status).toBe(404);
  });

  it('refuses to listen beyond this machine', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--host', '0.0.0.0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('se-inject: error: --host 0.0.0.0: the page is served to this machine only; use 127.0.0.1, localhost or ::1\n');
  });
});
