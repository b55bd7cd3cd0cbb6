// The evidence behind src/onnx/wire.ts: the onnx-proto package (ONNX 1.10 schema, protobufjs 6) loses
// data on a plain decode → encode, which se-inject's reader/writer does not.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadModelBytes } from '../src/onnx/load.js';
import { serializeModel } from '../src/onnx/save.js';
import { FUTURE_FIELDS } from './support/fixtures.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as {
  onnx: { ModelProto: { decode(b: Uint8Array): unknown; encode(m: unknown): { finish(): Uint8Array } } };
};

describe('why se-inject does not use onnx-proto for I/O', () => {
  const bytes = readFileSync(FUTURE_FIELDS);

  it('onnx-proto drops node metadata_props and the unknown field on a round trip', () => {
    const again = Buffer.from(onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish());
    expect(again.length).toBeLessThan(bytes.length);
    expect(again.includes(Buffer.from('pkg.torch.onnx.stack_trace'))).toBe(false);
    expect(again.includes(Buffer.from('graph.note'))).toBe(false);
  });

  it('se-inject gives back every byte', () => {
    const again = Buffer.from(serializeModel(loadModelBytes(bytes)));
    expect(again.equals(bytes)).toBe(true);
    expect(again.includes(Buffer.from('pkg.torch.onnx.stack_trace'))).toBe(true);
  });
});
