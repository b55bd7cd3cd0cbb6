// Sealed groups: nodes and initializers the IR holds as one compact record until something reads them.
//
// An inserted SE block is eight nodes and four weights that nothing after the rewrite looks into: the
// report counts them from the block's template and the encoder writes their bytes. Held as JS objects,
// 20,000 blocks cost 160,000 nodes' worth of arrays, strings and map entries; held as records, they cost
// a name prefix and their weights. A sealed group never changes what a reader sees: reading a graph's
// `nodes` or `initializers` (or asking the Graph about any value) expands every group into ordinary
// nodes first, so only the encoder, which asks for the layout here, ever meets one.

import type { GraphProto, NodeProto, TensorProto } from './types.js';

export interface SealedGroup {
  /** The op type of each of its nodes, in order (what an op count reads without expanding it). */
  readonly opTypes: readonly string[];
  /** How many bytes `writeNodes` and `writeInitializers` write, known without writing them. */
  readonly nodeBytesLength: number;
  readonly initializerBytesLength: number;
  /** Writes its nodes as GraphProto `node` fields (tag, length, NodeProto each), in order. */
  writeNodes(out: ByteSink): void;
  /** Writes its weights as GraphProto `initializer` fields, in order. */
  writeInitializers(out: ByteSink): void;
  /** Its nodes and initializers as IR objects, equal to what the encodings hold. */
  expand(): { nodes: NodeProto[]; initializers: TensorProto[] };
}

/** Where a group writes its bytes (the encoder's writer), straight into the buffer that is written out. */
export interface ByteSink {
  /** Claims the next `n` bytes, which the caller fills before writing anything else; returns where they start in `buffer`. */
  claim(n: number): number;
  /** The buffer the last claim is in. */
  readonly buffer: Uint8Array;
  /** Bytes written as they are: large ones are kept as views, not copied, so they must not change afterwards. */
  raw(bytes: Uint8Array): void;
}

/** A graph's nodes and initializers with its sealed groups not expanded: what the encoder writes. */
export interface SealedLayout {
  /** The nodes in order, each sealed group in its place among them. */
  readonly entries: readonly (NodeProto | SealedGroup)[];
  /** The graph's own initializers; every group's follow them, in the order of `groups`. */
  readonly initializers: readonly TensorProto[];
  readonly groups: readonly SealedGroup[];
}

const layouts = new WeakMap<GraphProto, SealedLayout>();

/** The graph's layout while it holds sealed groups; undefined once (or if never) they are expanded. */
export function sealedLayout(g: GraphProto): SealedLayout | undefined {
  return layouts.get(g);
}

export function isSealed(e: NodeProto | SealedGroup): e is SealedGroup {
  return typeof (e as SealedGroup).expand === 'function';
}

/**
 * Makes reading (or replacing) `g.nodes` and `g.initializers` expand the groups first: `expand` (the
 * Graph's) registers the new nodes and calls `unsealed`, which puts plain arrays back. Only graph.ts calls this.
 */
export function sealInto(g: GraphProto, layout: SealedLayout, expand: () => void): void {
  layouts.set(g, layout);
  for (const key of ['nodes', 'initializers'] as const) {
    Object.defineProperty(g, key, {
      configurable: true, enumerable: true,
      get: () => (expand(), g[key]),
      set: (v) => {
        expand();
        (g as unknown as Record<string, unknown>)[key] = v;
      },
    });
  }
}

/** Puts plain data properties back (after expansion). */
export function unsealed(g: GraphProto, nodes: NodeProto[], initializers: TensorProto[]): void {
  layouts.delete(g);
  Object.defineProperty(g, 'nodes', { configurable: true, enumerable: true, writable: true, value: nodes });
  Object.defineProperty(g, 'initializers', { configurable: true, enumerable: true, writable: true, value: initializers });
}
