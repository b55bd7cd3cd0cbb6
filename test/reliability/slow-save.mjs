// `node slow-save.mjs INPUT OUTPUT [options-json]`: a conversion whose writes each take 150 ms, so a
// test can signal or kill it mid-write. Prints "writing" once the first byte goes out. With
// SE_INJECT_SLOW_OPEN_MS, the first temporary's creation takes that long after the file exists (as when
// libuv's threads are busy), and "opened" is printed once it does.
import { promises as fsp } from 'node:fs';

const openDelay = Number(process.env.SE_INJECT_SLOW_OPEN_MS ?? 0);
if (openDelay) {
  const open = fsp.open;
  let first = true;
  fsp.open = async function (file, ...rest) {
    const fh = await open.call(this, file, ...rest);
    if (first && String(file).endsWith('.tmp')) {
      first = false;
      process.stdout.write('opened\n');
      await new Promise((r) => setTimeout(r, openDelay));
    }
    return fh;
  };
}

const [input, output, json] = process.argv.slice(2);
const probe = await fsp.open(process.execPath, 'r');
const FileHandle = Object.getPrototypeOf(probe);
await probe.close();
let announced = false;
for (const name of ['write', 'writev']) {
  const original = FileHandle[name];
  FileHandle[name] = async function (...args) {
    if (!announced) {
      announced = true;
      process.stdout.write('writing\n');
    }
    await new Promise((r) => setTimeout(r, 150));
    return original.apply(this, args);
  };
}
const { convertFile } = await import(new URL('../../dist/src/api.js', import.meta.url).href);
await convertFile(input, output, JSON.parse(json ?? '{}'));
process.stdout.write('done\n');
