/**
 * Which samples make the batch of an iteration. detectron2's `TrainingSampler` yields an
 * infinite stream: `randperm(N)` with a seeded generator, again and again, and the loader cuts
 * it into batches of `IMS_PER_BATCH`. Here the stream is the concatenation of epoch
 * permutations, epoch `e` shuffled by its own stream `(seed, sampler, e)`; stream position `p`
 * is `perm_{⌊p/N⌋}[p mod N]` and iteration `i` takes positions `i·B … i·B + B − 1`. So a batch is
 * a pure function of `(N, B, seed, i)` — resuming at iteration `i` needs nothing else — and
 * every sample appears once per epoch (a batch may straddle two epochs, as in detectron2).
 */
import { SedsegError } from '../errors.js';
import { RANDOM_STREAM, SeededRandom } from './seeded-random.js';

function checkCount(value: number, what: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new SedsegError('E_ARGUMENT', `${what} must be an integer ≥ ${min}, got ${value}`);
}

/** The shuffled order of epoch `epoch` (a permutation of 0 … numSamples−1). */
export function epochPermutation(numSamples: number, seed: number, epoch: number): Uint32Array {
  checkCount(numSamples, 'number of samples', 1);
  checkCount(epoch, 'epoch', 0);
  return new SeededRandom(seed, RANDOM_STREAM.sampler, epoch).permutation(numSamples);
}

/**
 * The batches of a training run. Holds the permutation of the last epoch it used, a cache only:
 * `batch(i)` is the same whatever was asked before.
 */
export class TrainingSampler {
  private cachedEpoch = -1;
  private cached: Uint32Array = new Uint32Array(0);

  constructor(
    readonly numSamples: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    checkCount(numSamples, 'number of samples', 1);
    checkCount(batchSize, 'batch size', 1);
    checkCount(seed, 'seed', 0);
  }

  /** The sample at position `position` of the infinite shuffled stream. */
  sampleAt(position: number): number {
    const epoch = Math.floor(position / this.numSamples);
    if (epoch !== this.cachedEpoch) {
      this.cached = epochPermutation(this.numSamples, this.seed, epoch);
      this.cachedEpoch = epoch;
    }
    return this.cached[position - epoch * this.numSamples]!;
  }

  /** Sample indices of iteration `iteration` (0-based), in batch order. */
  batch(iteration: number): number[] {
    checkCount(iteration, 'iteration', 0);
    const start = iteration * this.batchSize;
    if (!Number.isSafeInteger(start + this.batchSize)) throw new SedsegError('E_ARGUMENT', `iteration ${iteration} is too large`);
    return Array.from({ length: this.batchSize }, (_, k) => this.sampleAt(start + k));
  }

  /** The epoch (0-based) in which iteration `iteration` starts. */
  epochOf(iteration: number): number {
    return Math.floor((iteration * this.batchSize) / this.numSamples);
  }
}

/** `new TrainingSampler(numSamples, batchSize, seed).batch(iteration)`. */
export function batchIndices(numSamples: number, batchSize: number, seed: number, iteration: number): number[] {
  return new TrainingSampler(numSamples, batchSize, seed).batch(iteration);
}

/**
 * The augmentation stream of batch slot `slot` of iteration `iteration`: independent of the
 * sampler's and of every other (iteration, slot), so re-running one iteration alone gives the
 * same crops, flips and colours.
 */
export function augmentationRandom(seed: number, iteration: number, slot: number): SeededRandom {
  return new SeededRandom(seed, RANDOM_STREAM.augmentation, iteration, slot);
}
