// Tracing: operators that record, stages traced into ONNX graphs (no runtime needed).
export { TracingOps, type TracedStage } from './tracing-ops.js';
export { LazyTensor, type LazyKind, type OpAttr, type OpRecord } from './graph/lazy-tensor.js';
export { DYNAMIC_SIZES, type DynamicSizeName } from './graph/dynamic-sizes.js';
export type { CompiledGraph, CompileOptions } from './graph/compile-graph.js';
export { countFlops, opFlops, type FlopCount } from './graph/count-flops.js';
export { OPSET } from './opset.js';
// Running: traced graphs compiled into sessions of a runtime given structurally.
export { OnnxSessionOps, type OnnxSessionOpsOptions } from './session-ops.js';
export type { OnnxRuntime, OnnxRuntimeSession, OnnxRuntimeTensor } from './runtime.js';
export { PrebuiltStages, baseStageName, type PrebuiltGraphReader } from './prebuilt-stages.js';
// The ONNX protobuf writer.
export {
  serializeOnnxModel,
  type OnnxModelOptions,
  type OnnxGraph,
  type OnnxNode,
  type OnnxInitializer,
  type OnnxValueInfo,
  type OnnxAttribute,
  type OnnxDataType,
} from './onnx/onnx-model.js';
// The stage export (graphs and manifest as bytes; writing files is the caller's).
export {
  exportStageGraphs,
  MANIFEST_FORMAT,
  type ExportOptions,
  type ExportedFile,
  type StageManifest,
  type ManifestStage,
  type ManifestValue,
  type ManifestArray,
} from './export-stages.js';
