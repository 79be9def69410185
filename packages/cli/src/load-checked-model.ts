import type { BackendOps, SedModel, SedProgress, SegmentMemoryEstimate } from '@sedseg/core';
import { loadSedModel } from '@sedseg/core/node';
import { checkSegmentMemory } from './memory-check.js';

export interface CheckedModelRequest<T> {
  ops: BackendOps<T>;
  weightsPath: string;
  configPath?: string;
  cacheDir?: string;
  /** What the runs will ask for: the memory estimate is made for it before loading. */
  resolution: number;
  classes: number;
  pooling: number;
  topK?: number;
  maxMemory: { bytes: number; given: boolean };
  onProgress(progress: SedProgress): void;
}

/**
 * Checks that a run of this size fits the memory limit (before anything large is loaded), then
 * loads the model on `ops`: the common start of `segment` and `eval`.
 */
export async function loadCheckedModel<T>(request: CheckedModelRequest<T>): Promise<{ model: SedModel<T>; memory: SegmentMemoryEstimate }> {
  const { ops } = request;
  const memory = await checkSegmentMemory(
    {
      weightsPath: request.weightsPath,
      ...(request.configPath !== undefined ? { configPath: request.configPath } : {}),
      resolution: request.resolution,
      classes: request.classes,
      pooling: request.pooling,
      ...(request.topK !== undefined ? { topK: request.topK } : {}),
      ...(ops.preferredClassChunk !== undefined ? { classChunk: ops.preferredClassChunk } : {}),
    },
    request.maxMemory,
  );
  const model = await loadSedModel(request.weightsPath, {
    backend: ops,
    onProgress: request.onProgress,
    // a run's class list is fixed: the text tower is needed once, not while the images run
    releaseTextEncoderAfterUse: true,
    ...(request.configPath !== undefined ? { configPath: request.configPath } : {}),
    ...(request.cacheDir !== undefined ? { cacheDir: request.cacheDir } : {}),
  });
  return { model, memory };
}
