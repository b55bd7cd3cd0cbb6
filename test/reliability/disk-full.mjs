// `node --import ./disk-full.mjs ...`: a disk that fills mid-write. Every FileHandle write goes through,
// then, once 4 KiB have been written in total, fails with ENOSPC as the kernel reports it. Mounting a
// tiny tmpfs would be the real thing, but needs privileges CI may not have.

import { promises as fsp } from 'node:fs';

const probe = await fsp.open(process.execPath, 'r');
const FileHandle = Object.getPrototypeOf(probe);
await probe.close();

let budget = 4096;
for (const name of ['write', 'writev']) {
  const original = FileHandle[name];
  FileHandle[name] = async function (...args) {
    const result = await original.apply(this, args);
    budget -= result.bytesWritten;
    if (budget < 0) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    return result;
  };
}
