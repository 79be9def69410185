/**
 * The class embeddings cut into chunks of `classChunk` classes, on the backend: the cost map and
 * everything per class after it run a chunk at a time, so memory does not grow with the classes.
 */
import { SedsegError } from '../../errors.js';
import { splitClasses, type ClassChunks } from './class-chunks.js';
import type { DecoderRunState } from './decoder-run-state.js';

/**
 * `textFeatures` [T, P, D] (a backend tensor, or host float32 values T·P·D row-major) as chunks.
 * Chunks made here are owned by the run; a backend tensor that fits in one chunk is used as is.
 */
export function textFeatureChunks<T>(run: DecoderRunState<T>, textFeatures: Float32Array | T, classCount: number, classChunk: number): ClassChunks<T> {
  const { ops, tensors } = run;
  const parts: T[] = [];
  const counts: number[] = [];
  if (textFeatures instanceof Float32Array) {
    const p = run.arch.prompt_channel;
    if (textFeatures.length % (classCount * p) !== 0) {
      throw new SedsegError('E_ARGUMENT', `text features: ${textFeatures.length} values do not make ${classCount} classes × ${p} prompts × D`);
    }
    const d = textFeatures.length / (classCount * p);
    for (let start = 0; start < classCount; start += classChunk) {
      const n = Math.min(classChunk, classCount - start);
      parts.push(tensors.keep(ops.constant(textFeatures.subarray(start * p * d, (start + n) * p * d), [n, p, d], 'text_features')));
      counts.push(n);
    }
  } else {
    const ts = ops.shape(textFeatures);
    if (ts[0] !== classCount) throw new SedsegError('E_ARGUMENT', `text features [${ts.join(', ')}] do not hold ${classCount} classes`);
    const split = splitClasses(ops, textFeatures, classChunk);
    for (const part of split.parts) parts.push(part === textFeatures ? part : tensors.keep(part));
    counts.push(...split.counts);
  }
  return { parts, counts };
}
