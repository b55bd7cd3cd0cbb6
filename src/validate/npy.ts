// NumPy's .npy format (versions 1–3), for validation on real inputs (--inputs) and for saving outputs
// (--save-outputs): a magic string, a header dict {descr, fortran_order, shape}, then the raw C-order
// array. Only little-endian numeric and bool types, the ones ONNX Runtime takes.

import { SeInjectError } from '../errors.js';

export type NpyType = 'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';

export interface NpyArray {
  type: NpyType;
  shape: number[];
  data: Float32Array | Float64Array | Uint16Array | Int8Array | Uint8Array | Int16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
}

const DESCR: Record<string, NpyType> = {
  '<f4': 'float32', '<f8': 'float64', '<f2': 'float16', '|i1': 'int8', '|u1': 'uint8', '<i2': 'int16', '<u2': 'uint16',
  '<i4': 'int32', '<u4': 'uint32', '<i8': 'int64', '<u8': 'uint64', '|b1': 'bool',
};
const ARRAYS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, bool: Uint8Array,
} as const;
const MAGIC = '\x93NUMPY';

export function readNpy(bytes: Uint8Array, label: string): NpyArray {
  const bad = (what: string) => new SeInjectError('input', `${label} is not a NumPy .npy array se-inject can read: ${what}; save it with numpy.save (little-endian, C order)`);
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) throw bad('no .npy magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const [len, start] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const header = new TextDecoder().decode(bytes.subarray(start, start + len));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const type = descr ? DESCR[descr] : undefined;
  if (!type) throw bad(`element type ${descr ?? '(none)'}`);
  if (/'fortran_order':\s*True/.test(header)) throw bad('Fortran order');
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw bad('no shape');
  const shape = shapeText.split(',').map((d) => d.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const Ctor = ARRAYS[type];
  const body = bytes.subarray(start + len);
  if (body.length !== count * Ctor.BYTES_PER_ELEMENT) throw bad(`${body.length} data bytes for shape (${shape.join(', ')})`);
  // Copied: the body need not be aligned for its element type.
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(body);
  return { type, shape, data };
}

export function writeNpy(a: NpyArray): Uint8Array {
  const descr = Object.entries(DESCR).find(([, t]) => t === a.type)![0];
  const shape = a.shape.length === 1 ? `${a.shape[0]},` : a.shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape}), }`;
  // Header padded with spaces and a newline so that the data starts on a 64-byte boundary.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + a.data.byteLength);
  out.set([...MAGIC].map((c) => c.charCodeAt(0)), 0);
  out.set([1, 0, header.length & 0xff, header.length >> 8], 6);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), 10 + header.length);
  return out;
}
