/**
 * Refusing a `segment` run the machine cannot hold, before it starts: the peak memory is
 * estimated from the model's sizes and the run's settings (`estimateSegmentMemory` in core,
 * calibrated on the ort CPU backend; an upper bound elsewhere) and compared with a limit: the
 * machine's physical memory, or `--max-memory`. Over it, the run would swap for a long time or be
 * killed; a one-line refusal with the estimate and what lowers it is better.
 */
import { totalmem } from 'node:os';
import {
  architectureFromWeights,
  DEFAULT_CLASS_CHUNK,
  estimateSegmentMemory,
  SedsegError,
  type SedArchitecture,
  type SegmentMemoryEstimate,
} from '@sedseg/core';
import { findConfig, openWeightsFile } from '@sedseg/core/node';
import { UsageError } from './usage-error.js';

const GiB = 2 ** 30;

/** `--max-memory G` (GiB, may be fractional) → bytes; default: the machine's physical memory. */
export function maxMemoryOption(value: string | undefined, command: string): { bytes: number; given: boolean } {
  if (value === undefined) return { bytes: totalmem(), given: false };
  const g = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(g > 0)) throw new UsageError(`--max-memory must be a positive number of GiB, got "${value}"`, command);
  return { bytes: g * GiB, given: true };
}

export interface MemoryCheckRequest {
  weightsPath: string;
  configPath?: string;
  resolution: number;
  classes: number;
  pooling: number;
  topK?: number;
  /** `ops.preferredClassChunk` of the backend that will run. */
  classChunk?: number;
}

const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

/** Estimates the run's peak memory; refuses (E_ARGUMENT, one line) when it is above `limit`. */
export async function checkSegmentMemory(request: MemoryCheckRequest, limit: { bytes: number; given: boolean }): Promise<SegmentMemoryEstimate> {
  const store = await openWeightsFile(request.weightsPath);
  let architecture: SedArchitecture;
  try {
    const config = await findConfig(request.weightsPath, request.configPath);
    architecture = architectureFromWeights(store, config ? { config: config.config, configSource: config.path } : {}).architecture;
  } finally {
    await store.close();
  }
  const estimate = estimateSegmentMemory({
    architecture,
    resolution: request.resolution,
    classes: request.classes,
    pooling: request.pooling,
    classChunk: request.classChunk ?? DEFAULT_CLASS_CHUNK,
    textEncoderKept: false, // loadCheckedModel releases it after the class embeddings
    ...(request.topK !== undefined ? { topK: request.topK } : {}),
  });
  if (estimate.bytes > limit.bytes) {
    const what = `R=${request.resolution}, ${request.classes} class${request.classes === 1 ? '' : 'es'}, pooling ${request.pooling}`;
    const limitText = limit.given
      ? `the --max-memory of ${gib(limit.bytes)}`
      : `the ${gib(limit.bytes)} of memory of this machine (--max-memory raises the limit)`;
    const lower = [request.pooling === 1 ? '--pooling 2' : undefined, 'a lower --resolution', 'fewer classes'].filter(Boolean).join(', ');
    throw new SedsegError(
      'E_ARGUMENT',
      `this run (${what}) needs about ${gib(estimate.bytes)} (estimated peak, in the ${estimate.phase}), more than ${limitText}; try ${lower}`,
    );
  }
  return estimate;
}
