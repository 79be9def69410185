export { OrtOps, createOrtOps, OPSET, CLASS_SENTINEL, type OrtOpsOptions, type TracedStage } from './ort-ops.js';
export { LazyTensor } from './graph/lazy-tensor.js';
export { serializeOnnxModel, type OnnxGraph, type OnnxNode, type OnnxInitializer, type OnnxValueInfo, type OnnxAttribute, type OnnxDataType } from './onnx/onnx-model.js';
export { exportStageGraphs, MANIFEST_FORMAT, type ExportOptions, type ExportedFile, type StageManifest, type ManifestStage, type ManifestValue } from './export-stages.js';
