export { OrtOps, createOrtOps, OPSET, type OrtOpsOptions, type TracedStage } from './ort-ops.js';
export { DYNAMIC_SIZES, type DynamicSizeName } from './graph/dynamic-sizes.js';
export { LazyTensor } from './graph/lazy-tensor.js';
export { serializeOnnxModel, type OnnxGraph, type OnnxNode, type OnnxInitializer, type OnnxValueInfo, type OnnxAttribute, type OnnxDataType } from './onnx/onnx-model.js';
export { exportStageGraphs, MANIFEST_FORMAT, type ExportOptions, type ExportedFile, type StageManifest, type ManifestStage, type ManifestValue } from './export-stages.js';
export { ortBackend } from './ort-backend.js';
