/**
 * What the training loop reads: a numbered set of image/label samples with the class list the
 * label values index. Sources (a folder pair on disk, an in-memory synthetic set) implement
 * `TrainingDataset`; `checkTrainingSample` is the one validation every sample passes, with
 * messages that name the file.
 */
import { SedsegError } from '../errors.js';
import { assertRgbImage, type RgbImage } from '../image/rgb-image.js';
import { validateClassNames } from '../model/sed-model.js';
import type { LabelImage } from './raster.js';

export interface TrainingSample {
  /** File name (or any name) used in messages. */
  name: string;
  image: RgbImage;
  labels: LabelImage;
}

export interface TrainingDataset {
  /** Number of samples (≥ 1). */
  readonly size: number;
  /** Class `k` is label value `k`. */
  readonly classNames: readonly string[];
  /** Label value of unlabelled pixels (not a class). */
  readonly ignoreLabel: number;
  /** Sample `index` (0 … size−1), already checked with `checkTrainingSample`. */
  read(index: number): Promise<TrainingSample>;
}

/**
 * Refuses a sample whose labels do not fit the image or the class list: a label map of another
 * size than the image, or a value that is neither a class (0 … T−1) nor the ignore label.
 */
export function checkTrainingSample(sample: TrainingSample, numClasses: number, ignoreLabel: number): void {
  const { name, image, labels } = sample;
  assertRgbImage(image, name);
  if (labels.width !== image.width || labels.height !== image.height) {
    throw new SedsegError('E_ARGUMENT', `${name}: label map is ${labels.width}×${labels.height} but the image is ${image.width}×${image.height}`);
  }
  if (labels.data.length !== labels.width * labels.height) {
    throw new SedsegError('E_ARGUMENT', `${name}: ${labels.data.length} label values for ${labels.width}×${labels.height}`);
  }
  checkLabelValues(name, labels, numClasses, ignoreLabel);
}

/** Refuses the first label value that is neither a class (0 … T−1) nor the ignore label, naming file, value, position and T. */
export function checkLabelValues(name: string, labels: LabelImage, numClasses: number, ignoreLabel: number): void {
  const data = labels.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if ((v >= numClasses || v < 0) && v !== ignoreLabel) {
      const x = i % labels.width;
      const y = (i - x) / labels.width;
      throw new SedsegError(
        'E_ARGUMENT',
        `${name}: label value ${v} at (x ${x}, y ${y}) is not a class: the class list has T = ${numClasses} classes (values 0…${numClasses - 1}) and the ignore label is ${ignoreLabel}`,
      );
    }
  }
}

/** Checks a dataset's class list and ignore label (the class list must not contain the ignore value). */
export function checkTrainingClasses(classNames: readonly string[], ignoreLabel: number): string[] {
  const classes = validateClassNames(classNames);
  if (!Number.isInteger(ignoreLabel) || ignoreLabel < 0) throw new SedsegError('E_ARGUMENT', `ignore label must be an integer ≥ 0, got ${ignoreLabel}`);
  if (ignoreLabel < classes.length) {
    throw new SedsegError(
      'E_ARGUMENT',
      `the ignore label ${ignoreLabel} is also class ${ignoreLabel} ("${classes[ignoreLabel]}") of the ${classes.length} classes: choose an ignore label ≥ ${classes.length}`,
    );
  }
  return classes;
}

/** A dataset held in memory (e.g. `syntheticDataset`); every sample is checked once, here. */
export function memoryTrainingDataset(
  samples: readonly { image: RgbImage; labels: LabelImage; name?: string }[],
  classNames: readonly string[],
  ignoreLabel: number,
): TrainingDataset {
  const classes = checkTrainingClasses(classNames, ignoreLabel);
  if (samples.length === 0) throw new SedsegError('E_ARGUMENT', 'the training dataset is empty');
  const checked = samples.map((s, i) => {
    const sample = { name: s.name ?? `sample ${i}`, image: s.image, labels: s.labels };
    checkTrainingSample(sample, classes.length, ignoreLabel);
    return sample;
  });
  return {
    size: checked.length,
    classNames: classes,
    ignoreLabel,
    read: async (index) => {
      const s = checked[index];
      if (s === undefined) throw new SedsegError('E_ARGUMENT', `sample ${index} is outside the dataset (0…${checked.length - 1})`);
      return s;
    },
  };
}
