// Browser entry of the se-inject package: `import { convertBytes, loadModel, analyze, inject,
// serializeModel, formatText } from 'se-inject'` under the "browser" export condition (bundlers pick it
// with --platform=browser), or `dist/src/browser.js` directly. The same API as the Node entry for bytes
// in memory, with no Node module anywhere below it (test/core-bundle.test.ts bundles it with esbuild
// and fails if one is reached):
//   convertBytes(bytes, options?) → { report, bytes? }      bytes in, bytes out (undefined: nothing inserted)
//   loadModel(bytes | Blob | File, { label, defer }?) → Promise<Model>;  loadModelBytes(bytes, { label }?) → Model
//   serializeModelBlob(model) → Blob: the output to download; in a Web Worker a big File's weights are
//     never read (src/host/browser.ts), and the Blob refers to them as slices of the input File
//   analyze(model, options?) → Report (dry run);  inject(model, options?) → Report (mutates the model)
//   serializeModel(model) → Uint8Array;  formatText(report, options?) / formatMarkdown(report) → string
// Options are the library's InjectOptions (ratio, block, init, seed, stages, at, exclude, ...); errors
// are SeInjectError with kind and exitCode, as on Node. Models with external data need the Node entry.

import { loadModelBlob } from './host/browser.js';
import type { BlobLoadOptions } from './host/browser.js';
import { loadModelBytes } from './onnx/decode.js';
import type { LoadOptions } from './onnx/decode.js';
import type { Model } from './ir/model.js';

export { blobSource, loadModelBlob, loadModelSource, serializeModelBlob } from './host/browser.js';
export type { BlobByteSource, BlobLoadOptions } from './host/browser.js';
export type { ByteSource } from './host/types.js';

export { analyze, inject, convertBytes } from './core.js';
export type { SEInjectOptions } from './core.js';
export { loadModelBytes };
export type { LoadOptions };
export { serializeModel } from './onnx/encode.js';
export { Model, cloneModel } from './ir/model.js';
export { Graph } from './ir/graph.js';
export type { ReplaceUsesOptions } from './ir/graph.js';
export type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './ir/types.js';
export { lintGraph } from './ir/lint.js';
export { DEFAULT_OPTIONS } from './inject.js';
export type { InjectOptions } from './inject.js';
export type { Report } from './report/format.js';
export type { SEReport, BlockReport, StageReport, CandidateReport } from './report/build.js';
export type { ModelSummary } from './report/summary.js';
export { formatText, formatMarkdown } from './report/format.js';
export { SeInjectError, EXIT_CODES } from './errors.js';
export type { Family, Placement } from './se/site.js';
export { VERSION } from './version.js';

/**
 * Loads a model from bytes, or from a Blob/File: in a Web Worker a big File is scanned and its large
 * weights stay in it; on the main thread it is read whole (the browser's limit on one ArrayBuffer applies).
 */
export async function loadModel(input: Uint8Array | Blob, options: LoadOptions & BlobLoadOptions = {}): Promise<Model> {
  return input instanceof Uint8Array ? loadModelBytes(input, options) : loadModelBlob(input, options);
}
