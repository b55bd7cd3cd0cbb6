// `se-inject serve`: the web page (dist/web, built by web/build.mjs) on http://127.0.0.1, with the
// WebAssembly of the installed onnxruntime-web under /ort/. Only those files are served, only to this
// machine; the page itself sends nothing anywhere (its Content-Security-Policy allows its own origin).

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeInjectError } from '../errors.js';

export interface ServeArgs {
  port: number;
  host: string;
  quiet: boolean;
}

const PAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web');
const PAGE_FILES: Record<string, string> = { '/': 'index.html', '/index.html': 'index.html', '/app.js': 'app.js', '/worker.js': 'worker.js' };
const RUNTIME_FILE = /^\/ort\/(ort-wasm-simd-threaded(?:\.[a-z]+)?\.(?:wasm|mjs))$/;
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm' };
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** onnxruntime-web's dist folder, where its .wasm files are; undefined when it is not installed. */
function runtimeDir(): string | undefined {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  } catch {
    return undefined;
  }
}

function fileFor(url: string, ortDir: string | undefined): string | undefined {
  const pathname = new URL(url, 'http://localhost').pathname;
  const page = PAGE_FILES[pathname];
  if (page) return path.join(PAGE_DIR, page);
  const runtime = RUNTIME_FILE.exec(pathname)?.[1];
  return runtime && ortDir ? path.join(ortDir, runtime) : undefined;
}

function respond(req: IncomingMessage, res: ServerResponse, ortDir: string | undefined): void {
  const file = req.method === 'GET' || req.method === 'HEAD' ? fileFor(req.url ?? '/', ortDir) : undefined;
  if (!file || !existsSync(file)) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-length': statSync(file).size,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** Serves until SIGINT/SIGTERM; prints the URL on stdout. */
export async function serveCommand(a: ServeArgs): Promise<number> {
  if (!LOCAL_HOSTS.has(a.host)) throw new SeInjectError('usage', `--host ${a.host}: the page is served to this machine only; use 127.0.0.1, localhost or ::1`);
  if (!existsSync(path.join(PAGE_DIR, 'index.html')) || !existsSync(path.join(PAGE_DIR, 'app.js'))) {
    throw new SeInjectError('unsupported', `the web page is not built (${PAGE_DIR} has no index.html and app.js); run npm run build in the se-inject checkout`);
  }
  const ortDir = runtimeDir();
  const server = createServer((req, res) => respond(req, res, ortDir));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new SeInjectError('usage', `cannot listen on ${a.host}:${a.port} (${e.code ?? e.message}); choose another --port`, { cause: e })));
    server.listen(a.port, a.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : a.port;
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  process.stdout.write(`http://${host}:${port}/\n`);
  if (!a.quiet) {
    process.stderr.write(`se-inject: serving the web page at http://${host}:${port}/ to this machine only; Ctrl-C stops\n`);
    if (!ortDir) process.stderr.write('se-inject: note: onnxruntime-web is not installed, so the page cannot validate (npm install onnxruntime-web); converting works\n');
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
