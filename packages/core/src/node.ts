/**
 * Node.js-only helpers of @sedseg/core (file access). The main entry stays free of `node:`
 * imports so that it bundles for the browser.
 */
export { fileSource } from './node/file-source.js';
export { pathExists } from './node/path-exists.js';
export { entryExists, stageFile, writeFileAtomic, type StagedFile, type OverwriteHint } from './node/atomic-write.js';
export { writeSafetensorsFile, type WriteSafetensorsOptions } from './node/write-safetensors.js';
export { writePthFile, type WritePthFileOptions } from './node/write-pth-file.js';
export { openWeightsFile, findConfig, readConfigFile, configCandidates, type LoadedConfig } from './node/open-weights-file.js';
export { loadDefaultTokenizer } from './node/default-tokenizer.js';
export { ClassEmbeddingDiskCache } from './node/class-embedding-disk-cache.js';
export { loadSedModel, type LoadSedModelOptions } from './node/load-sed-model.js';
export { resolveWeights, modelCacheFile, type ResolveWeightsOptions, type ResolvedWeights } from './node/resolve-weights.js';
export {
  KNOWN_MODELS,
  findKnownModel,
  knownModelNames,
  knownModelUrl,
  modelUrlEnvVar,
  type KnownModel,
  type KnownModelUrlOptions,
} from './node/known-models.js';
export {
  downloadFile,
  type DownloadFileOptions,
  type DownloadResult,
  type DownloadEvent,
  type DownloadProgress,
  type DownloadWait,
} from './node/download-file.js';
export { verifyCheckpointFile } from './node/verify-checkpoint-file.js';
export { referenceDirectory } from './node/reference-directory.js';
export { readLabelFile, decodePngLabels, decodeTiffLabels, type LabelMap } from './node/label-file.js';
export { listEvalPairs, type EvalPair, type EvalPairs } from './node/eval-pairs.js';
export {
  openTrainingFolder,
  openTrainingDataset,
  scanTrainingLabels,
  type OpenTrainingFolderOptions,
  type OpenTrainingDatasetOptions,
  type TrainingFolder,
  type ReadImageFn,
  type LabelScan,
} from './node/training-folder.js';
export { writeSyntheticDataset, type WrittenSyntheticDataset } from './node/synthetic-dataset.js';
export { encodePng8 } from './node/png-write.js';
