// Preloaded with `NODE_OPTIONS=--import=<this file's URL>`: every file write of the process (and of the
// se-inject processes a batch starts, which inherit it) waits SE_INJECT_SLOW_WRITE_MS first, so that a
// test can signal a run while its models are being written.
import { promises as fsp } from 'node:fs';

const delay = Number(process.env.SE_INJECT_SLOW_WRITE_MS ?? 150);
const probe = await fsp.open(process.execPath, 'r');
const FileHandle = Object.getPrototypeOf(probe);
await probe.close();
for (const name of ['write', 'writev']) {
  const original = FileHandle[name];
  FileHandle[name] = async function (...args) {
    await new Promise((r) => setTimeout(r, delay));
    return original.apply(this, args);
  };
}
