/**
 * Decoder pooling at inference: the window of the AvgPool in front of each class attention
 * (`MODEL.SEM_SEG_HEAD.POOLING_SIZES`). The authors train with [2, 2] (the config files, and the
 * `decoder_pooling` a config or the default gives the architecture) but evaluate every benchmark
 * with [1, 1] (their `eval.sh`): the class attention then runs at every pixel. The paper's numbers
 * come from pooling 1, so that is the default at inference whatever the training config says.
 */
import { SedsegError } from '../../errors.js';
import type { SedArchitecture } from '../../architecture/sed-architecture.js';

/** Pooling used at inference unless the caller asks otherwise (the authors' evaluation setting). */
export const DEFAULT_INFERENCE_POOLING = 1;

/**
 * Checks a pooling window for a model input side R: a positive integer that divides the smallest
 * map the class attention runs on (2·R/32), so pooled rows cover the map exactly.
 */
export function validatePooling(pooling: number, resolution?: number): number {
  if (!Number.isInteger(pooling) || pooling < 1) throw new SedsegError('E_ARGUMENT', `decoder pooling must be a positive integer (1 or 2), got ${pooling}`);
  if (resolution !== undefined) {
    const smallest = (2 * resolution) / 32;
    if (smallest % pooling !== 0) {
      throw new SedsegError(
        'E_ARGUMENT',
        `decoder pooling ${pooling} does not divide the first decoder map (${smallest}×${smallest} at resolution ${resolution})`,
      );
    }
  }
  return pooling;
}

/** The architecture with its decoder pooling set to `pooling`×`pooling` (the weights do not depend on it). */
export function withDecoderPooling<A extends Pick<SedArchitecture, 'decoder_pooling'>>(arch: A, pooling: number): A {
  validatePooling(pooling);
  if (arch.decoder_pooling.length === 2 && arch.decoder_pooling[0] === pooling && arch.decoder_pooling[1] === pooling) return arch;
  return { ...arch, decoder_pooling: [pooling, pooling] };
}
