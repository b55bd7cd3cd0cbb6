// Inputs that are wrong as files rather than as models: devices, garbage and files at or past protobuf's
// 2 GiB limit. The large ones are sparse (ftruncate): they cost no disk, and the kernel hands back
// zeros for their holes, so each test shows how much se-inject reads, not how fast the disk is.

import { execFile } from 'node:child_process';
import fs, { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quote, SeInjectError } from '../../src/errors.js';
import { loadModelFile } from '../../src/onnx/load.js';
import { ROOT, small, tempDir } from '../support/fixtures.js';

const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const GiB = 2 ** 30;
const tmp = tempDir('se-inject-bad-files-');
afterAll(() => tmp.cleanup());

function run(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
    });
  });
}

/** A file of `size` bytes that begins with `head` and is a hole after it. */
function sparse(name: string, size: number, head: Uint8Array = new Uint8Array()): string {
  const file = path.join(tmp.dir, name);
  const fd = openSync(file, 'w');
  writeSync(fd, head);
  ftruncateSync(fd, size);
  closeSync(fd);
  return file;
}

function varint(v: number): number[] {
  const out: number[] = [];
  for (; v >= 128; v = Math.floor(v / 128)) out.push((v % 128) | 128);
  return [...out, v];
}

/** A real model followed by the tag and length of an unknown top-level field that fills the file with zeros. */
function modelThenUnknownField(size: number): Uint8Array {
  const model = readFileSync(small('tiny_resnet.onnx'));
  const tag = varint(100 * 8 + 2);
  const len = varint(size - model.length - tag.length - 5);
  expect(len).toHaveLength(5);
  return Uint8Array.from([...model, ...tag, ...len]);
}

/** Bytes `fs.readSync` hands back while `fn` runs: what se-inject read of a file. */
async function bytesRead(fn: () => Promise<unknown>): Promise<number> {
  let read = 0;
  const original = fs.readSync;
  (fs as unknown as Record<string, unknown>).readSync = (fd: number, buf: Uint8Array, offset: number, length: number, position: number) => {
    const n = original(fd, buf, offset, length, position);
    read += n;
    return n;
  };
  syncBuiltinESMExports();
  try {
    await fn();
  } finally {
    (fs as unknown as Record<string, unknown>).readSync = original;
    syncBuiltinESMExports();
  }
  return read;
}

/** model { ir_version 8, graph { initializer { dims: <n zero varints> } } }, sparse after its header. */
function packedDimsFile(name: string, n: number): string {
  const dims = [0x0a, ...varint(n)];
  const tensor = [0x2a, ...varint(dims.length + n)];
  const graph = [0x3a, ...varint(tensor.length + dims.length + n)];
  const head = Uint8Array.from([0x08, 0x08, ...graph, ...tensor, ...dims]);
  return sparse(name, head.length + n, head);
}

function oneLine(stderr: string): string {
  expect(stderr).toMatch(/^se-inject: error: [^\n]*\n$/);
  return stderr.slice('se-inject: error: '.length, -1);
}

describe('files that are not models', () => {
  it.each(['/dev/zero', '/dev/urandom'])('%s is refused as a device, not as an empty file', async (device) => {
    const { code, stderr } = await run([device, '-o', path.join(tmp.dir, 'out.onnx')]);
    expect(oneLine(stderr)).toBe(`${device} is a character device, not a regular file; give the path of a .onnx file`);
    expect(code).toBe(3);
  });

  it('1.5 GiB of zeros is refused at byte 0 after reading a few kilobytes of it', async () => {
    const file = sparse('zeros.onnx', 1.5 * GiB);
    const read = await bytesRead(() => expect(loadModelFile(file)).rejects.toThrow(/is not an ONNX model: the protobuf is malformed \(invalid field number 0 at byte 0\)/));
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(1024 * 1024);
  });

  it.each([2, 3])('%i GiB of zeros gets the same one line, not a Node range error', async (gib) => {
    const file = sparse(`zeros-${gib}.onnx`, gib * GiB);
    const { code, stderr } = await run([file, '-o', path.join(tmp.dir, 'out.onnx')]);
    expect(oneLine(stderr)).toMatch(/zeros-\d\.onnx is not an ONNX model: the protobuf is malformed \(invalid field number 0 at byte 0\)/);
    expect(stderr).not.toMatch(/out of range/);
    expect(code).toBe(3);
  });

  it('a well-formed file over 2 GiB without external data is refused by its size, in one line', async () => {
    const file = sparse('big.onnx', 2.5 * GiB, modelThenUnknownField(2.5 * GiB));
    const { code, stderr } = await run([file, '-o', path.join(tmp.dir, 'out.onnx')]);
    expect(oneLine(stderr)).toMatch(/big\.onnx is 2\.50 GiB, over protobuf's 2 GiB limit for one message: no ONNX reader can load it; save the model with its weights as external data/);
    expect(code).toBe(3);
  });

  it('1.5 GiB of well-formed packed dims is refused by count, not decoded until memory runs out', async () => {
    const file = packedDimsFile('dims.onnx', 1.5 * GiB - 64);
    const { code, stderr } = await run([file, '-o', path.join(tmp.dir, 'out.onnx')]);
    expect(oneLine(stderr)).toMatch(/dims\.onnx holds more than 16,777,216 protobuf fields and values \(nodes, names, dims, attribute values; a field kept undecoded counts 4\) at byte \d+; no model is that large in its structure, so it is refused/);
    expect(code).toBe(3);
    // ... by the length of the field, without reading what it holds.
    const read = await bytesRead(() => expect(loadModelFile(file)).rejects.toThrow(/holds more than 16,777,216 protobuf fields/));
    expect(read).toBeLessThanOrEqual(1024 * 1024);
  }, 120_000);

  it('millions of small unknown top-level fields are refused by count before their views fill memory', async () => {
    // 4.5 million 3-byte fields (field 100, varint 0) after a real model: 13 MB on disk, each a kept view.
    const model = readFileSync(small('tiny_resnet.onnx'));
    const count = 4_500_000;
    const bytes = new Uint8Array(model.length + 3 * count);
    bytes.set(model);
    for (let i = model.length; i < bytes.length; i += 3) bytes.set([0xa0, 0x06, 0x00], i);
    const file = path.join(tmp.dir, 'repeated.onnx');
    writeFileSync(file, bytes);
    const { code, stderr } = await run([file, '-o', path.join(tmp.dir, 'out.onnx')]);
    expect(oneLine(stderr)).toMatch(/repeated\.onnx holds more than 16,777,216 protobuf fields and values .* at byte \d+; no model is that large/);
    expect(code).toBe(3);
  }, 120_000);
});

describe('files that cannot be read', () => {
  // Root reads any file: the runs drop to the nobody user (setpriv), as an ordinary user would be.
  const root = process.getuid?.() === 0;
  const asUser = (args: string[]) => (root ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]]) as [string, string[]];
  const runAsUser = (args: string[]) => new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(...asUser(args), { encoding: 'utf8' }, (err, _stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stderr }));
  });
  const hasSetpriv = !root || fs.existsSync('/usr/bin/setpriv');

  function readableFolder(): string {
    fs.chmodSync(tmp.dir, 0o711); // the user passes through the test's folder
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'unreadable-'));
    fs.chmodSync(dir, 0o777); // and writes the output here
    return dir;
  }

  it.runIf(hasSetpriv)('a model file without read permission: exit 3, one line saying to make it readable', async () => {
    const dir = readableFolder();
    const model = path.join(dir, 'model.onnx');
    fs.copyFileSync(small('tiny_resnet.onnx'), model);
    fs.chmodSync(model, 0o000);
    const { code, stderr } = await runAsUser([model, '-o', path.join(dir, 'out.onnx'), '-q']);
    expect(code).toBe(3);
    expect(stderr).toMatch(/^se-inject: error: .*model\.onnx: permission denied \(EACCES\); make the file readable\n$/);
    expect(fs.readdirSync(dir)).toEqual(['model.onnx']);
  });

  it.runIf(hasSetpriv)('an external data file without read permission: refused at load (exit 3), not after the work with "read it again"', async () => {
    const dir = readableFolder();
    const model = path.join(dir, 'model.onnx');
    await new Promise<void>((resolve, reject) => execFile('/usr/bin/python3', ['-c', [
      'import onnx, sys',
      "onnx.save_model(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=True, location='model.onnx.data', size_threshold=0)",
    ].join('\n'), small('tiny_resnet.onnx'), model], (e) => (e ? reject(e) : resolve())));
    fs.chmodSync(model, 0o644);
    fs.chmodSync(`${model}.data`, 0o000);
    for (const args of [[model, '-o', path.join(dir, 'out.onnx'), '-q'], ['report', model, '-q']]) {
      const { code, stderr } = await runAsUser(args);
      expect(code).toBe(3);
      expect(stderr).toMatch(/^se-inject: error: .*model\.onnx: external data file model\.onnx\.data of tensor \S+ cannot be read \(EACCES\); make it readable\n$/);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.data']);
  });
});

describe('quote: user-controlled text in messages', () => {
  it('leaves printable names alone and escapes every control character inside quotes', () => {
    expect(quote('se/stage1.block1/gate')).toBe('se/stage1.block1/gate');
    expect(quote('a b "c"')).toBe('a b "c"');
    expect(quote('')).toBe('""');
    expect(quote('w.bin\nse-inject: wrote x')).toBe('"w.bin\\nse-inject: wrote x"');
    expect(quote('\u001b[31mred\u001b[0m')).toBe('"\\x1b[31mred\\x1b[0m"');
    expect(quote('a\u202eb"\\')).toBe('"a\\u202eb\\"\\\\"');
  });

  it('SeInjectError keeps every message on one line whatever it is given', () => {
    const e = new SeInjectError('input', 'node x\ny\r\u001b[2J reads z');
    expect(e.message).toBe('node x\\ny\\r\\x1b[2J reads z');
  });
});
