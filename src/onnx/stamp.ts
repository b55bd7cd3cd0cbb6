// What identifies a file and its contents without reading them: device and inode (which file it is),
// size, and modification and change times in nanoseconds (whether anyone wrote to it). The change time
// cannot be set back by `touch`, so a file written in place with its old size and mtime is still caught.

import type { BigIntStats } from 'node:fs';

import type { FileStamp } from '../host/types.js';

export type { FileStamp, InputFile } from '../host/types.js';

export function stampOf(file: string, s: BigIntStats): FileStamp {
  return { file, dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
}

export function sameFile(a: { dev: bigint; ino: bigint }, b: { dev: bigint; ino: bigint }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export function unchanged(before: FileStamp, now: BigIntStats): boolean {
  return sameFile(before, now) && before.size === now.size && before.mtimeNs === now.mtimeNs && before.ctimeNs === now.ctimeNs;
}
