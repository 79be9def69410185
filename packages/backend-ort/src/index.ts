export { OrtOps, createOrtOps, type OrtOpsOptions } from './ort-ops.js';
// The tracer, the ONNX writer and the export live in @sedseg/onnx; re-exported for existing callers.
export {
  OPSET,
  DYNAMIC_SIZES,
  LazyTensor,
  serializeOnnxModel,
  exportStageGraphs,
  MANIFEST_FORMAT,
  type TracedStage,
  type DynamicSizeName,
  type OnnxGraph,
  type OnnxNode,
  type OnnxInitializer,
  type OnnxValueInfo,
  type OnnxAttribute,
  type OnnxDataType,
  type ExportOptions,
  type ExportedFile,
  type StageManifest,
  type ManifestStage,
  type ManifestValue,
} from '@sedseg/onnx';
export { ortBackend } from './ort-backend.js';
