// Public entry of the se-inject package. Each name is re-exported from the module that owns it.

export { loadModel, analyze, inject, listSites, convertBytes, convertFile, saveModel, serializeModel } from './api.js';
export type { SEInjectOptions, ConvertFileOptions } from './api.js';
export { loadModelFile, loadModelBytes } from './onnx/load.js';
export type { LoadFileOptions, LoadOptions } from './onnx/load.js';
export type { SaveOptions, SaveResult } from './onnx/save.js';
export { Model, cloneModel } from './ir/model.js';
export { Graph } from './ir/graph.js';
export { lintGraph } from './ir/lint.js';
export { DEFAULT_OPTIONS } from './inject.js';
export type { InjectOptions } from './inject.js';
export type { Report } from './report/format.js';
export type { SEReport, BlockReport, StageReport, CandidateReport } from './report/build.js';
export type { ModelSummary } from './report/summary.js';
export { formatText, formatMarkdown } from './report/format.js';
export { SeInjectError, EXIT_CODES } from './errors.js';
export type { Family, Placement } from './se/site.js';
export type { ValidationResult, ValidateOptions, ModelSource } from './validate/runtime.js';
export type { ProviderChoice, ProviderRequest, ProviderProbe } from './validate/providers.js';
export { validateModels, selectProvider } from './validate/lazy.js';
export { VERSION } from './version.js';
export type { ReplaceUsesOptions } from './ir/graph.js';
export type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from './ir/types.js';
