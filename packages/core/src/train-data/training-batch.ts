/**
 * The batch of one training iteration: the sampler's indices, each sample read and augmented
 * with its own stream `(seed, augmentation, iteration, slot)`, stacked NHWC. Everything is a
 * pure function of (dataset, options, iteration): resuming at iteration i gives the batch an
 * uninterrupted run would have seen.
 */
import { SedsegError } from '../errors.js';
import { augmentTrainingSample, type TrainAugmentationOptions } from './train-augmentation.js';
import { augmentationRandom, TrainingSampler } from './training-batches.js';
import type { TrainingDataset } from './training-dataset.js';

export interface TrainingBatchOptions {
  seed: number;
  batchSize: number;
  augmentation: TrainAugmentationOptions;
  /** Reuse a sampler across iterations (its permutation cache); made from the options if absent. */
  sampler?: TrainingSampler;
}

export interface TrainingBatch {
  iteration: number;
  /** Dataset indices, in batch order. */
  indices: number[];
  /** Sample names, in batch order. */
  names: string[];
  batchSize: number;
  height: number;
  width: number;
  /** B×H×W×3 uint8 RGB. */
  images: Uint8Array;
  /** B×H×W class indices (the ignore label where unlabelled or padded). */
  labels: Int32Array;
}

export async function loadTrainingBatch(dataset: TrainingDataset, iteration: number, options: TrainingBatchOptions): Promise<TrainingBatch> {
  const sampler = options.sampler ?? new TrainingSampler(dataset.size, options.batchSize, options.seed);
  if (sampler.numSamples !== dataset.size || sampler.batchSize !== options.batchSize || sampler.seed !== options.seed) {
    throw new SedsegError('E_ARGUMENT', 'the sampler was made for another dataset size, batch size or seed');
  }
  // the mapper pads and crops with the dataset's ignore label (`meta.ignore_label`)
  const augmentation = { ...options.augmentation, ignoreLabel: dataset.ignoreLabel };
  const indices = sampler.batch(iteration);
  const samples = await Promise.all(
    indices.map(async (index, slot) => {
      const s = await dataset.read(index);
      return { name: s.name, ...augmentTrainingSample(s.image, s.labels, augmentation, augmentationRandom(options.seed, iteration, slot)) };
    }),
  );
  const { width, height } = samples[0]!.image;
  const odd = samples.find((s) => s.image.width !== width || s.image.height !== height);
  if (odd !== undefined) {
    throw new SedsegError(
      'E_ARGUMENT',
      `augmented samples differ in size (${samples[0]!.name}: ${width}×${height}, ${odd.name}: ${odd.image.width}×${odd.image.height}): set sizeDivisibility to pad them to one size`,
    );
  }
  const images = new Uint8Array(indices.length * height * width * 3);
  const labels = new Int32Array(indices.length * height * width);
  samples.forEach((s, k) => {
    images.set(s.image.data, k * height * width * 3);
    labels.set(s.labels.data, k * height * width);
  });
  return { iteration, indices, names: samples.map((s) => s.name), batchSize: indices.length, height, width, images, labels };
}
