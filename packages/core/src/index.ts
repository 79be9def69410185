export { SedsegError, isSedsegError, type SedsegErrorCode } from './errors.js';
export * from './tensor/dtype.js';
export * from './tensor/host-tensor.js';
export * from './io/byte-source.js';
export type { TensorInfo, WeightStore } from './weights/weight-store.js';

// prompts and vocabularies
export { IMAGENET_TEMPLATES } from './prompts/imagenet-templates.js';
export {
  SYNONYM_SEPARATOR,
  splitSynonyms,
  fillTemplate,
  classPrompts,
  combineClassEmbeddings,
  type ClassPrompts,
} from './prompts/class-prompts.js';
export * from './vocabularies/index.js';

// architecture
export * from './architecture/sed-architecture.js';
export { parseArchitectureConfig } from './architecture/architecture-config.js';
export { expectedWeightShapes, weightPart, OPTIONAL_WEIGHTS, type WeightPart } from './architecture/expected-weights.js';
export {
  architectureFromWeights,
  checkWeights,
  assertWeightsComplete,
  type InferredArchitecture,
  type InferOptions,
  type WeightCheck,
  type MisShapedWeight,
  type FieldOrigin,
} from './architecture/infer-architecture.js';
export { countParameters, type ParameterCounts } from './architecture/parameter-count.js';

// tensors and checkpoints
export * from './tensor/float-convert.js';
export {
  openSafetensors,
  safetensorsHeader,
  serializeSafetensors,
  checkTensorForWrite,
  safetensorsDTypeName,
  MAX_SAFETENSORS_HEADER_BYTES,
  type SafetensorsStore,
  type SafetensorsLayout,
} from './checkpoint/safetensors.js';
export { memoryWeightStore } from './weights/memory-store.js';
export { openWeights, sniffWeightsFormat, type WeightsFormat } from './weights/open-weights.js';
export { openPth, PTH_GLOBALS, MAX_PICKLE_BYTES, MAX_STATE_DICT_DEPTH, MAX_BROADCAST_BYTES } from './checkpoint/pth-reader.js';
export { MAX_PICKLE_OBJECTS, MAX_PICKLE_INT_BYTES, MAX_PICKLE_INT_DIGITS } from './checkpoint/pickle.js';
export { writePth, pthStatePickle, contiguousStrides, TORCH_STORAGE_TYPES, type WritePthOptions } from './checkpoint/pth-writer.js';
export { PickleEmitter } from './checkpoint/pickle-writer.js';
export { ZipStreamWriter, type ByteSink, type ZipStreamWriterOptions } from './io/zip-writer.js';
export {
  openZip,
  looksLikeZip,
  DEFAULT_MAX_INFLATED_BYTES,
  DEFAULT_INFLATE_CACHE_BYTES,
  MAX_CENTRAL_DIRECTORY_BYTES,
  type ZipArchive,
  type ZipEntry,
  type ZipRange,
  type OpenZipOptions,
} from './io/zip-reader.js';

// model building blocks
export type { Ops, BackendOps, RequiredOps, OptionalOps, Conv2dOptions, MatmulOptions, Shape } from './ops/ops.js';
export {
  registerBackend,
  unregisterBackend,
  listBackends,
  getBackend,
  resolveBackend,
  type ResolveBackendOptions,
  type ResolvedBackend,
  type BackendFallback,
} from './backends/backend-registry.js';
export {
  DEVICES,
  assertBackendDefinition,
  parseDevice,
  type BackendDefinition,
  type BackendOptions,
  type Device,
  type DeviceName,
} from './backends/backend-definition.js';
export { completeOps, defaultComposites, REQUIRED_OPS, DEFAULTED_OPS, type DefaultedOp } from './ops/composites.js';
export { normalizeAxis } from './ops/ops.js';
export type { RgbImage } from './image/rgb-image.js';
export { assertRgbImage } from './image/rgb-image.js';
export { normalizeImage, preprocessImage, validateResolution, CLIP_PIXEL_MEAN, CLIP_PIXEL_STD } from './image/preprocess.js';
export { resizeBilinearPlanes, bilinearTaps, bilinearMatrix } from './image/resize-bilinear.js';
export { topKSurvivors, maskToIndices } from './model/decoder-run/category-early-rejection.js';
export { uploadParams, scoped, type ModelParams } from './model/model-params.js';

// text
export {
  ClipTokenizer,
  CLIP_CONTEXT_LENGTH,
  CLIP_MERGE_COUNT,
  eotIndex,
  maxEotPosition,
  type ClipTokenizerOptions,
} from './tokenizer/clip-tokenizer.js';
export { cleanText } from './tokenizer/text-cleaning.js';
export {
  ClassEmbeddingCache,
  DEFAULT_CLASS_CACHE_ENTRIES,
  type ClassEmbeddingPersistence,
  type ClassEmbeddingCacheOptions,
} from './model/classes/class-embedding-cache.js';
export { computeClassEmbeddings, classEmbeddingsCounted, type ClassEmbeddingOptions, type CountedClassEmbeddings } from './model/classes/class-embeddings.js';
export { classMapsAtImageSize, labelAreas, keptPerRejection, segmentationOf, type SegmentationRun } from './model/segmentation-output.js';
export { templateSetKey } from './model/classes/template-set-key.js';
export type { TextTokenizer } from './model/classes/text-tokenizer.js';
export { encodeTexts, type EncodeTextsOptions } from './model/encoders/text-encoder.js';
export { encodeImage, type ImageFeatures } from './model/encoders/image-encoder.js';
export {
  decoderInputForward,
  costMapForward,
  appearanceGuidanceForward,
  decoderLayerForward,
  type DecoderImageFeatures,
  type DecoderArchitecture,
} from './model/decoder/decoder-forward.js';
export { runDecoder, type RunDecoderOptions } from './model/decoder-run/run-decoder.js';
export type { DecoderResult } from './model/decoder-run/decoder-result.js';
export { isHostTensor } from './model/decoder-run/decoder-trace.js';
export { DECODER_STEP_WEIGHTS } from './model/decoder-run/decoder-progress.js';
export { DEFAULT_INFERENCE_POOLING, validatePooling, withDecoderPooling } from './model/decoder/decoder-pooling.js';
export {
  estimateSegmentMemory,
  maxResolution,
  parameterCounts,
  MAX_TENSOR_BYTES,
  RESOLUTION_STEP,
  type SegmentMemoryRequest,
  type SegmentMemoryEstimate,
  type SegmentMemoryParts,
  type SegmentMemoryPhase,
} from './model/memory-estimate.js';
export { imageEncoderStageOf, IMAGE_FEATURE_NAMES } from './model/stages/image-encoder-stage.js';
export {
  appearanceGuidanceStageOf,
  decoderInputStageOf,
  decoderLayerStageOf,
  decoderLayerPoolStageOf,
  decoderLayerAttentionStageOf,
  decoderLayerMergeStageOf,
  decoderLayerMergeGuidanceStageOf,
  decoderLayerSumsStageOf,
  decoderLayerFromSumsStageOf,
  type DecoderInputStageOptions,
  type DecoderLayerOutput,
} from './model/stages/decoder-stages.js';
export { DEFAULT_CLASS_CHUNK, splitClasses, gatherClassChunks, joinClassChunks, type ClassChunks } from './model/decoder-run/class-chunks.js';
export { runStage, type Stage, type StageInput, type StageTensors } from './ops/stage.js';
export { textEncoderStageOf, textEncoderStageInputs } from './model/stages/text-encoder-stage.js';
export {
  logitsToLabels,
  logitsToProbabilities,
  cerOutputToLabels,
  cerOutputToProbabilities,
  probabilitiesToLabels,
  classMeans,
} from './model/postprocess.js';
export {
  SedModel,
  validateClassNames,
  type SedModelLoadOptions,
  type SegmentOptions,
  type Segmentation,
  type SegmentTimings,
  type SedProgress,
  type SedPhase,
  type TraceFn,
} from './model/sed-model.js';
export { parseClassList, formatClassList } from './prompts/class-list-text.js';
export { layerNorm2d, type NormWeights } from './model/blocks/layer-norm-2d.js';
export { convNextBlock, type ConvNextBlockWeights } from './model/blocks/convnext-block.js';
export { causalMask } from './model/encoders/text-encoder.js';
export { fnv1a64Hex } from './hash/fnv1a64.js';
export { classEmbeddingKey, tokenizerFingerprint, EMBEDDING_VERSION, type ClassEmbeddingKeyParts } from './model/classes/class-embedding-key.js';

// evaluation (the paper's benchmarks with the authors' protocol)
export { pilResizeBilinear, pilBilinearTaps } from './eval/pil-resize.js';
export { resizeShortestEdgeSize, TEST_MIN_SIZE, TEST_MAX_SIZE, type ImageSize } from './eval/test-resize.js';
export { evalInput, semSegPostprocessLabels, type EvalInput } from './eval/sem-seg-postprocess.js';
export { ConfusionMatrix, clampBackground, type ConfusionEntry, type LabelArray, type AddLabelsOptions } from './eval/confusion-matrix.js';
export { semSegMetrics, type SemSegMetrics } from './eval/sem-seg-metrics.js';
export { EVAL_DATASETS, EVAL_DATASET_NAMES, evalDataset, type EvalDataset, type EvalDatasetName } from './eval/datasets.js';

// training (the authors recipe; backends that record gradients run it)
export * from './train/index.js';

// training data (the authors' training mapper, sampler and a synthetic dataset)
export { SeededRandom, randomStream, RANDOM_STREAM } from './train-data/seeded-random.js';
export { TrainingSampler, batchIndices, epochPermutation, augmentationRandom } from './train-data/training-batches.js';
export { assertLabelImage, cropRaster, flipRasterHorizontal, padRasterTo, type LabelImage, type PixelArray, type Raster } from './train-data/raster.js';
export { resizeLabelsNearest, torchNearestIndices } from './train-data/label-resize.js';
export { colorAugSsd, rgbToHsvOpenCv, hsvToRgbOpenCv, COLOR_AUG_SSD } from './train-data/color-aug-ssd.js';
export {
  augmentTrainingSample,
  trainAugmentationOptions,
  validateTrainAugmentationOptions,
  sampleShortEdge,
  resizeShortestEdge,
  chooseCrop,
  cropSample,
  flipSample,
  padSample,
  SED_TRAIN_AUGMENTATION,
  IMAGE_PAD_VALUE,
  type TrainAugmentationOptions,
  type AugmentedSample,
  type CropWindow,
} from './train-data/train-augmentation.js';
export {
  checkTrainingSample,
  checkLabelValues,
  checkTrainingClasses,
  memoryTrainingDataset,
  type TrainingDataset,
  type TrainingSample,
} from './train-data/training-dataset.js';
export { loadTrainingBatch, type TrainingBatch, type TrainingBatchOptions } from './train-data/training-batch.js';
export { TRAIN_DATASETS, TRAIN_DATASET_NAMES, trainDataset, type TrainDatasetLayout, type TrainDatasetName } from './train-data/train-datasets.js';
export {
  syntheticSample,
  syntheticDataset,
  SYNTHETIC_CLASS_NAMES,
  SYNTHETIC_IGNORE_LABEL,
  type SyntheticOptions,
  type SyntheticSample,
} from './train-data/synthetic-shapes.js';
