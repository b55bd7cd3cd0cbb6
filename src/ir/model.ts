// A loaded model: the lossless ModelProto, its graph IR, and where external tensor data lives.
// The model knows no files: bytes it does not hold (weights left in the input file, external data) are
// read through the `StoredBytes` the host that loaded it supplies.

import type { Deferred, InputFile } from '../host/types.js';
import type { ModelProto, OpsetId, TensorProto } from './types.js';
import { Graph } from './graph.js';

export interface ExternalRef {
  /** Absolute, resolved path of the data file (checked to lie inside the model's folder). */
  file: string;
  offset: number;
  length: number;
}

/** Reads the bytes a model does not hold in memory; supplied by the host that loaded it (Node: src/host/node.ts). */
export interface StoredBytes {
  /** The real bytes of views into `ModelSource.bytes`, holes (deferred weights) filled from the input. */
  gather(chunks: readonly Uint8Array[]): Uint8Array;
  /** The bytes of an external-data region. */
  external(ref: ExternalRef): Uint8Array;
}

export interface ModelSource {
  /**
   * The buffer the model was decoded from; tensor views point into it. Holes listed in `deferred`
   * (large weights of a big file) are not read until the save: there the buffer holds zeros.
   */
  bytes: Uint8Array;
  deferred?: Deferred;
  external: Map<TensorProto, ExternalRef>;
  /** The files this model was read from, as they were then: a save never writes over them unless asked to. */
  inputs: readonly InputFile[];
  sourceDir?: string;
  label: string;
  /** How bytes outside memory are read; absent when the model holds every byte (bytes loaded without external data). */
  stored?: StoredBytes;
}

export class Model {
  readonly graph: Graph;
  constructor(readonly proto: ModelProto, readonly source: ModelSource) {
    this.graph = new Graph(proto.graph);
  }

  get label(): string {
    return this.source.label;
  }

  /** Version of the default ONNX domain ('' or 'ai.onnx'). */
  get opset(): number {
    return opsetVersion(this.proto.opsetImport, '');
  }

  externalRef(t: TensorProto): ExternalRef | undefined {
    return this.source.external.get(t);
  }

  /** The bytes of an initializer's data as stored, wherever they are: in memory, deferred or external. */
  tensorBytes(t: TensorProto): Uint8Array {
    const ref = this.externalRef(t);
    if (ref) return this.stored().external(ref);
    if (!t.rawData) return new Uint8Array();
    return this.source.deferred ? this.stored().gather([t.rawData]) : t.rawData.slice();
  }

  private stored(): StoredBytes {
    if (!this.source.stored) throw new Error(`IR: ${this.label} keeps bytes outside memory but was loaded without a reader for them`);
    return this.source.stored;
  }

  setMetadata(key: string, value: string): void {
    const existing = this.proto.metadataProps.find((p) => p.key === key);
    if (existing) Object.assign(existing, { value, src: undefined });
    else this.proto.metadataProps.push({ key, value });
  }
}

export function opsetVersion(imports: readonly OpsetId[], domain: string): number {
  const want = domain === 'ai.onnx' ? '' : domain;
  const hit = imports.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === want);
  return hit?.version ?? 0;
}

/**
 * A copy that shares every tensor byte and untouched message with the original but whose graph can be
 * rewritten independently: a dry run injects into a clone. Nodes are copied (passes rewire inputs);
 * tensors, value infos and extras are shared because no pass mutates them.
 */
export function cloneModel(model: Model): Model {
  const p = model.proto;
  const g = p.graph;
  const graph = {
    ...g,
    // Node arrays are frozen and Graph edits replace them, so a copy of each node may share them; `src`
    // is copied by name, as a decoded node may keep it off its own properties.
    nodes: g.nodes.map((n) => ({ ...n, src: n.src })),
    initializers: g.initializers.slice(),
  };
  return new Model({ ...p, graph, metadataProps: p.metadataProps.map((m) => ({ ...m })) }, model.source);
}
