// The data model of a loaded ONNX model: the messages se-inject reads and writes, as plain values. The
// codec (src/onnx/proto.ts) builds them from bytes and encodes them back; the IR (graph.ts, model.ts) and
// everything above it work on them and import nothing from the codec.

export interface Extra {
  no: number;
  bytes: Uint8Array;
}

export interface StringPair {
  key: string;
  value: string;
  src?: Uint8Array;
}

export interface OpsetId {
  domain: string;
  version: number;
  src?: Uint8Array;
}

export enum DataType {
  UNDEFINED = 0, FLOAT = 1, UINT8 = 2, INT8 = 3, UINT16 = 4, INT16 = 5, INT32 = 6, INT64 = 7, STRING = 8,
  BOOL = 9, FLOAT16 = 10, DOUBLE = 11, UINT32 = 12, UINT64 = 13, COMPLEX64 = 14, COMPLEX128 = 15,
  BFLOAT16 = 16, FLOAT8E4M3FN = 17, FLOAT8E4M3FNUZ = 18, FLOAT8E5M2 = 19, FLOAT8E5M2FNUZ = 20,
  UINT4 = 21, INT4 = 22, FLOAT4E2M1 = 23,
}

export const FLOAT_TYPES: ReadonlySet<number> = new Set([
  DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE, DataType.BFLOAT16, DataType.FLOAT8E4M3FN,
  DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2, DataType.FLOAT8E5M2FNUZ, DataType.FLOAT4E2M1,
]);

export interface TensorProto {
  name: string;
  dataType: number;
  /** A decoded tensor's list is frozen and shared by the tensors of one shape: assign a new list to change it. */
  dims: number[];
  /** View into the loaded buffer (or a fresh array for tensors se-inject made). */
  rawData?: Uint8Array;
  /** Set when data_location is EXTERNAL: the entries of `external_data` (location, offset, length, ...). */
  externalData: StringPair[];
  dataLocation: number;
  extras: Extra[];
  /** The original encoding; a decoded tensor's is read through its prototype, as a node's is. */
  src?: Uint8Array;
}

export interface Dim {
  value?: number;
  param?: string;
}

export interface TensorType {
  elemType: number;
  shape?: Dim[];
}

export interface ValueInfoProto {
  name: string;
  /** Only tensor types are decoded; sequences, maps and optionals keep `src` and stay opaque. */
  type?: TensorType;
  src?: Uint8Array;
}

export enum AttrType {
  UNDEFINED = 0, FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5, FLOATS = 6, INTS = 7, STRINGS = 8,
  TENSORS = 9, GRAPHS = 10, SPARSE_TENSOR = 11, SPARSE_TENSORS = 12, TYPE_PROTO = 13, TYPE_PROTOS = 14,
}

export interface AttributeProto {
  readonly name: string;
  readonly type: AttrType;
  readonly f?: number;
  readonly i?: number;
  readonly s?: string;
  readonly ints?: readonly number[];
  readonly floats?: readonly number[];
  readonly t?: TensorProto;
  /** Subgraphs (If/Loop/Scan bodies), kept as their encoded bytes. */
  readonly graphs?: readonly Uint8Array[];
  /** Names the subgraphs read from enclosing scopes (what they use and do not define), found by the decoder. */
  readonly captures?: readonly string[];
  readonly src?: Uint8Array;
}

/**
 * A node, read-only: outside the IR nothing writes a node's fields. Graph's methods (setInput,
 * replaceUses, ...) edit them and drop `src`; the encoder writes `src` back only while every field is
 * still the one decoded with it, so an edit made any other way is re-encoded, never lost. A decoded
 * node's `src` is read through its prototype: a spread copy leaves it behind and is encoded from its fields.
 */
export interface NodeProto {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly AttributeProto[];
  readonly metadataProps: readonly StringPair[];
  readonly extras: readonly Extra[];
  readonly src?: Uint8Array;
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  /** Names defined by sparse_initializer entries (the entries themselves stay in extras). */
  sparseInitializerNames: string[];
  extras: Extra[];
}

export interface ModelProto {
  irVersion: number;
  opsetImport: OpsetId[];
  producerName: string;
  producerVersion: string;
  graph: GraphProto;
  metadataProps: StringPair[];
  extras: Extra[];
  /** True when the buffer held a graph field; a ModelProto without one is not a model. */
  hasGraph: boolean;
}


/**
 * A model-local function (ModelProto.functions), as inlining needs it: the model keeps the functions
 * as the bytes it read, and the codec (src/onnx/functions.ts) decodes this view of them.
 */
export interface LocalFunction {
  name: string;
  domain: string;
  /** FunctionProto.overload (IR 10): a call names it in its own overload field. */
  overload: string;
  inputs: string[];
  outputs: string[];
  /** Attribute defaults (attribute_proto); attributes listed by name only have none. */
  defaults: AttributeProto[];
  nodes: NodeProto[];
  opsetImport: OpsetId[];
  /** The body's attributes that stand for one of the call's (ref_attr_name), with the name they refer to. */
  refs: ReadonlyMap<AttributeProto, string>;
}
