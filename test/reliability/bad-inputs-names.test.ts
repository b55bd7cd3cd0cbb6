// Inputs that already use the names se-inject generates. Every new tensor and node name must be fresh
// against every name in the model — value_info, nodes, graph inputs and outputs, initializers, sparse
// initializers, model-local functions and values inside subgraphs — or the output is invalid (a
// value_info of another type for a new tensor, two producers of one name, a shadowed outer name).

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from '../../src/api.js';
import { loadModelBytes } from '../../src/onnx/load.js';
import { AttrType, DataType, decodeModel, encodeModel, encodeTensor } from '../../src/onnx/proto.js';
import type { ModelProto } from '../../src/onnx/proto.js';
import { serializeModel } from '../../src/onnx/save.js';
import { WireWriter } from '../../src/onnx/wire.js';
import { modelNames } from '../../src/se/names.js';
import { ROOT, onnxCheck, tempDir } from '../support/fixtures.js';
import { floatInit, tensorInfo } from '../validate/build-model.js';
import { residualBlockBytes } from './bad-models.js';

const tmp = tempDir('se-inject-names-');
afterAll(() => tmp.cleanup());

const TAKEN = 'se/stage1.block1/gate';

function edited(edit: (m: ModelProto) => void): Uint8Array {
  const m = decodeModel(residualBlockBytes());
  edit(m);
  return encodeModel(m).toBytes();
}

/** A model-local function named like a generated tensor, in its own domain, with one Relu inside. */
function functionField(name: string): Uint8Array {
  const node = new WireWriter();
  node.stringField(1, 'fx');
  node.stringField(2, 'se/stage1.block1/relu');
  node.stringField(4, 'Relu');
  const fn = new WireWriter();
  fn.stringField(1, name);
  fn.stringField(4, 'fx');
  fn.stringField(5, 'se/stage1.block1/relu');
  fn.messageField(7, node);
  const opset = new WireWriter();
  opset.varintField(2, 13);
  fn.messageField(9, opset);
  fn.stringField(10, 'local');
  const field = new WireWriter();
  field.messageField(25, fn);
  return field.toBytes();
}

/** An If on a constant condition whose branches define `inner`, a name SE would otherwise generate. */
function withSubgraph(m: ModelProto, inner: string): void {
  const branch = (value: number) => {
    const g = new WireWriter();
    const k = new WireWriter();
    k.stringField(2, inner);
    k.stringField(4, 'Constant');
    const attr = new WireWriter();
    attr.stringField(1, 'value');
    attr.messageField(5, encodeTensor(floatInit('', [1], [value])));
    attr.varintField(20, AttrType.TENSOR);
    k.messageField(5, attr);
    g.messageField(1, k);
    g.stringField(2, `branch${value}`);
    const out = new WireWriter();
    out.stringField(1, inner);
    const type = new WireWriter();
    const tt = new WireWriter();
    tt.varintField(1, DataType.FLOAT);
    type.messageField(1, tt);
    out.messageField(2, type);
    g.messageField(12, out);
    return g;
  };
  const ifNode = new WireWriter();
  ifNode.stringField(1, 'cond');
  ifNode.stringField(2, 'picked');
  ifNode.stringField(3, 'pick');
  ifNode.stringField(4, 'If');
  for (const [name, value] of [['then_branch', 1], ['else_branch', 2]] as const) {
    const attr = new WireWriter();
    attr.stringField(1, name);
    attr.messageField(6, branch(value));
    attr.varintField(20, AttrType.GRAPH);
    ifNode.messageField(5, attr);
  }
  const reencoded = decodeModel(wrapNode(ifNode.toBytes())).graph.nodes[0]!;
  m.graph.nodes.push(reencoded);
  m.graph.initializers.push({ name: 'cond', dataType: DataType.BOOL, dims: [], rawData: Uint8Array.of(1), externalData: [], dataLocation: 0, extras: [] });
  m.graph.outputs.push(tensorInfo('picked', [1]));
}

function wrapNode(node: Uint8Array): Uint8Array {
  const g = new WireWriter();
  g.bytesField(1, node);
  const model = new WireWriter();
  model.bytesField(7, g.toBytes());
  return model.toBytes();
}

const CASES: Array<[string, (m: ModelProto) => void, string]> = [
  ['a value_info of another type (INT64[7])', (m) => m.graph.valueInfo.push(tensorInfo(TAKEN, [7], DataType.INT64)), TAKEN],
  ['a node name', (m) => { m.graph.nodes[1] = { ...m.graph.nodes[1]!, name: 'se/stage1.block1/scale', src: undefined }; }, 'se/stage1.block1/scale'],
  ['an unused initializer', (m) => m.graph.initializers.push(floatInit('se/stage1.block1/fc1.weight', [2])), 'se/stage1.block1/fc1.weight'],
  ['a graph output', (m) => { m.graph.nodes[3] = { ...m.graph.nodes[3]!, outputs: ['se/stage1.block1/fc2'], src: undefined }; m.graph.outputs[0] = tensorInfo('se/stage1.block1/fc2', [1, 4, 4, 4]); }, 'se/stage1.block1/fc2'],
  ['a model-local function', (m) => {
    m.extras.push({ no: 25, bytes: functionField('se/stage1.block1/squeeze') });
    m.opsetImport.push({ domain: 'local', version: 1 });
  }, 'se/stage1.block1/squeeze'],
  ['a value inside a subgraph', (m) => withSubgraph(m, 'se/stage1.block1/fc1'), 'se/stage1.block1/fc1'],
];

describe('generated names are fresh against every name in the model', () => {
  it('the committed input that once gave an invalid output converts into a valid one through the CLI', () => {
    const out = path.join(tmp.dir, 'once-failed.onnx');
    const cli = path.join(ROOT, 'dist/src/cli/main.js');
    const r = spawnSync(process.execPath, [cli, path.join(ROOT, 'fixtures/bad/once-failed/value-info-named-like-se.onnx'), '-o', out, '-q'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [check] = onnxCheck([out]);
    expect(check!.ok, check!.error).toBe(true);
  });

  it.each(CASES)('%s', (label, edit, planted) => {
    const input = edited(edit);
    const model = loadModelBytes(input, { label });
    expect(modelNames(model).has(planted)).toBe(true);
    const before = modelNames(model);
    const initializersBefore = model.graph.proto.initializers.length;
    const report = inject(model, { init: 'preserve' });
    expect(report.inserted).toBe(1);
    const added = model.graph.nodes.filter((n) => n.metadataProps.some((p) => p.key === 'se-inject.block'));
    const newNames = [...added.flatMap((n) => [n.name, ...n.outputs]), ...model.graph.proto.initializers.slice(initializersBefore).map((t) => t.name)];
    expect(newNames.filter((n) => n.startsWith('se/')).length).toBeGreaterThan(8);
    const reused = newNames.filter((n) => before.has(n));
    expect(reused).toEqual([]);
    const file = path.join(tmp.dir, `${label.replace(/\W+/g, '_')}.onnx`);
    writeFileSync(file, serializeModel(model));
    writeFileSync(`${file}.input.onnx`, input);
    const [inputCheck, outputCheck] = onnxCheck([`${file}.input.onnx`, file]);
    expect(inputCheck!.ok, inputCheck!.error).toBe(true);
    expect(outputCheck!.ok, outputCheck!.error).toBe(true);
  });
});

describe('names with control characters', () => {
  it('reach neither the report table nor a message raw: the terminal shows them escaped', () => {
    const evil = 'c1\u001b[2J\nse-inject: wrote /etc/passwd';
    const file = path.join(tmp.dir, 'evil-names.onnx');
    writeFileSync(file, edited((m) => {
      m.graph.nodes[0] = { ...m.graph.nodes[0]!, name: evil, src: undefined };
      m.graph.nodes[3] = { ...m.graph.nodes[3]!, name: `${evil}/add`, src: undefined };
    }));
    const cli = path.join(ROOT, 'dist/src/cli/main.js');
    for (const format of [[], ['--markdown'], ['--explain']]) {
      const r = spawnSync(process.execPath, [cli, 'report', file, ...format], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      if (format[0] === '--explain') expect(r.stdout).toContain('c1\\x1b[2J\\nse-inject: wrote /etc/passwd/add');
      expect(r.stdout + r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
      expect(r.stdout).not.toMatch(/^se-inject: wrote/m);
    }
  });
});
