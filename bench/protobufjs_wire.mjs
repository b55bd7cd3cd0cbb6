// Can protobufjs's wire-level Reader/Writer carry the varint/field work of src/onnx/wire.ts?
//
//   node bench/protobufjs_wire.mjs [ROUNDS] [MODEL.onnx ...]     (after npm run build; default models:
//   fixtures/cache's resnet50, inception_v3, mobilenet_v2; add a 40,001-node chain with
//   /usr/bin/python3 bench/make_chain.py chain 20000 /tmp/chain20k.onnx)
//
// Reading: the walk the decoder makes (model → graph → nodes, attributes, tensors, value infos; every
// field's number, type, value and byte span), once with wire.ts's WireReader and once with protobufjs's
// Reader over the same buffer; both must find the same fields. Writing: every node of the model encoded
// afresh (no original bytes), with wire.ts's WireWriter (chunks of views) and protobufjs's Writer (one
// buffer at finish); both must give the same bytes. Medians of ROUNDS (default 15), interleaved. Also
// printed: what each says for a truncated message, and whether protobufjs bundles for a browser without eval.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { build } from 'esbuild';
import { ROOT, median } from './lib.mjs';

const cached = (name) => path.join(ROOT, 'fixtures/cache', name);

const require = createRequire(import.meta.url);
const protobuf = require('protobufjs/minimal');
const wire = await import(path.join(ROOT, 'dist/src/onnx/wire.js'));
const proto = await import(path.join(ROOT, 'dist/src/onnx/proto.js'));
const api = await import(path.join(ROOT, 'dist/src/index.js'));

const rounds = Number(process.argv[2] ?? 15);
const models = process.argv.slice(3).length ? process.argv.slice(3) : ['resnet50_op13.onnx', 'inception_v3_op13.onnx', 'mobilenet_v2_op13.onnx'].map(cached);

// Which length-delimited fields hold a message the decoder descends into, per message kind.
const CHILD = {
  model: { 7: 'graph' },
  graph: { 1: 'node', 5: 'tensor', 11: 'value', 12: 'value', 13: 'value' },
  node: { 5: 'attr' },
  attr: { 5: 'tensor' },
  tensor: {},
  value: {},
};

function walkOwn(buf, kind, acc) {
  const r = new wire.WireReader(buf);
  while (!r.done()) {
    const f = r.field();
    acc.fields++;
    acc.sum += f.no + f.num + f.bytes.byteLength;
    const child = CHILD[kind][f.no];
    if (child && f.type === 2) walkOwn(f.payload, child, acc);
  }
}

function walkPbjs(buf, kind, acc) {
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const no = tag >>> 3;
    const type = tag & 7;
    let num = 0;
    let payload;
    if (type === 0) num = r.uint64().toNumber?.() ?? 0;
    else if (type === 1) r.skip(8);
    else if (type === 5) num = r.fixed32();
    else if (type === 2) {
      payload = r.bytes(); // a view (subarray) for a Uint8Array
      num = payload.byteLength;
    } else r.skipType(type);
    acc.fields++;
    acc.sum += no + num + (r.pos - start);
    const child = CHILD[kind][no];
    if (child && type === 2) walkPbjs(payload, child, acc);
  }
}

function encodeOwn(nodes) {
  let n = 0;
  for (const node of nodes) n += proto.encodeNode({ ...node, src: undefined }).toBytes().byteLength;
  return n;
}

function pbjsNode(node) {
  const w = protobuf.Writer.create();
  for (const i of node.inputs) w.uint32(10).string(i);
  for (const o of node.outputs) w.uint32(18).string(o);
  if (node.name) w.uint32(26).string(node.name);
  w.uint32(34).string(node.opType);
  for (const a of node.attributes) {
    w.uint32(42).fork();
    w.uint32(10).string(a.name);
    if (a.f !== undefined) w.uint32(21).float(a.f);
    if (a.i !== undefined) w.uint32(24).int64(a.i);
    if (a.s !== undefined) w.uint32(34).string(a.s);
    for (const v of a.floats ?? []) w.uint32(61).float(v);
    for (const v of a.ints ?? []) w.uint32(64).int64(v);
    w.uint32(160).int32(a.type);
    w.ldelim();
  }
  if (node.domain) w.uint32(58).string(node.domain);
  for (const p of node.metadataProps) {
    if (p.src) {
      w.uint32(74).bytes(p.src);
      continue;
    }
    w.uint32(74).fork();
    if (p.key) w.uint32(10).string(p.key);
    if (p.value) w.uint32(18).string(p.value);
    w.ldelim();
  }
  return w.finish();
}

function encodePbjs(nodes) {
  let n = 0;
  for (const node of nodes) n += pbjsNode(node).byteLength;
  return n;
}

/** ms per call of fn, over REPEAT calls (one walk of a small model takes well under a millisecond). */
const REPEAT = 10;
function time(fn) {
  let out;
  const t = process.hrtime.bigint();
  for (let i = 0; i < REPEAT; i++) out = fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6 / REPEAT, out };
}

for (const file of models) {
  const buf = new Uint8Array(readFileSync(file));
  const m = proto.decodeModel(buf);
  // Every node of the model, and what an injection encodes: its new SE nodes and the readers it rewired.
  const injected = api.loadModelBytes(buf);
  api.inject(injected, { init: 'preserve' });
  const fresh = injected.graph.nodes.filter((n) => !n.src);
  for (const [what, nodes] of [['nodes', m.graph.nodes], ['new or edited nodes after inject', fresh]]) measure(file, buf, what, nodes.filter((n) => !n.attributes.some((a) => a.graphs || a.t || a.type > 8)));
}

function measure(file, buf, what, nodes) {
  const own = [], pbjs = [], ownW = [], pbjsW = [];
  let fieldsOwn = 0, fieldsPbjs = 0;
  // The first 3 rounds warm the JIT up for both and are not counted.
  for (let i = -3; i < rounds; i++) {
    const a = { fields: 0, sum: 0 }, b = { fields: 0, sum: 0 };
    const ra = time(() => { a.fields = a.sum = 0; walkOwn(buf, 'model', a); });
    const rb = time(() => { b.fields = b.sum = 0; walkPbjs(buf, 'model', b); });
    if (a.fields !== b.fields || a.sum !== b.sum) throw new Error(`${file}: the readers disagree (${a.fields}/${a.sum} vs ${b.fields}/${b.sum})`);
    [fieldsOwn, fieldsPbjs] = [a.fields, b.fields];
    const x = time(() => encodeOwn(nodes)), y = time(() => encodePbjs(nodes));
    if (x.out !== y.out) throw new Error(`${file}: the writers disagree (${x.out} vs ${y.out} bytes)`);
    if (i < 0) continue;
    own.push(ra.ms);
    pbjs.push(rb.ms);
    ownW.push(x.ms);
    pbjsW.push(y.ms);
  }
  const same = nodes.every((n) => Buffer.from(proto.encodeNode({ ...n, src: undefined }).toBytes()).equals(Buffer.from(pbjsNode(n))));
  console.log(`${path.basename(file)} (${(buf.byteLength / 2 ** 20).toFixed(0)} MB, ${fieldsOwn} fields walked): read wire.ts ${median(own).toFixed(2)} ms, protobufjs ${median(pbjs).toFixed(2)} ms (×${(median(pbjs) / median(own)).toFixed(2)}); ` +
    `encode ${nodes.length} ${what} wire.ts ${median(ownW).toFixed(2)} ms, protobufjs ${median(pbjsW).toFixed(2)} ms (×${(median(pbjsW) / median(ownW)).toFixed(2)}), same bytes: ${same}`);
  if (fieldsOwn !== fieldsPbjs) throw new Error('field counts differ');
}


// A message cut inside a field: what each reader says.
const cut = new Uint8Array([0x3a, 0x10, 0x0a, 0x02]);
try {
  walkOwn(cut, 'model', { fields: 0, sum: 0 });
} catch (e) {
  console.log(`truncated message, wire.ts: ${e.constructor.name}: ${e.message}`);
}
try {
  walkPbjs(cut, 'model', { fields: 0, sum: 0 });
} catch (e) {
  console.log(`truncated message, protobufjs: ${e.constructor.name}: ${e.message}`);
}

// A browser bundle of protobufjs/minimal: size and whether it calls eval (refused under a strict CSP).
const bundled = await build({ stdin: { contents: `export { Reader, Writer } from 'protobufjs/minimal';`, resolveDir: ROOT }, bundle: true, platform: 'browser', format: 'esm', write: false, minify: true, logLevel: 'silent' });
const text = bundled.outputFiles[0].text;
console.log(`protobufjs/minimal bundled for a browser: ${(text.length / 1024).toFixed(1)} KiB minified, eval: ${/\beval\(/.test(text)}`);
