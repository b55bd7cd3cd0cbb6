// What a host (Node's files, a browser's File/Blob) tells the core about where a model's bytes live.
// Types only: the IR and the codec see these, never a file system. The Node host is src/onnx/load.ts,
// deferred.ts, save.ts and commit.ts; the browser host is src/host/browser.ts.

/** A readable range of bytes: a file, a Blob. `read` returns exactly `length` bytes or throws. */
export interface ByteSource {
  /** Shown in messages. */
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

/** The same, where reads are asynchronous (a browser's Blob.slice().arrayBuffer()). */
export interface AsyncByteSource {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A byte range of an input (a file path on Node, a source name in a browser): a piece of output that is copied, not held. */
export interface FileRegion {
  file: string;
  offset: number;
  length: number;
}

/** Bytes of a loaded model still in its input: [start, end) in both the input and the buffer. */
export interface Deferred {
  file: string;
  /** Sorted, disjoint. */
  holes: Array<{ start: number; end: number }>;
  /** The file as it was scanned; a save refuses a file that changed since (or was replaced). */
  size: number;
  mtimeMs: number;
  ino: number;
}

/** What identifies a file and its contents without reading them (see src/onnx/stamp.ts). */
export interface FileStamp {
  /** Absolute path, symbolic links resolved. */
  file: string;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** A file the loaded model reads from: its own file, or one of its external data files. */
export interface InputFile extends FileStamp {
  role: 'model' | 'data';
}
