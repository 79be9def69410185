/**
 * A training dataset on disk: an image folder and a label folder paired by file name exactly as
 * detectron2 `load_sem_seg` pairs them (`listEvalPairs`), labels read with `readLabelFile` (PNG
 * or TIFF, values as stored) and every sample checked against the class list when it is read.
 * Image decoding is the caller's (`readImage`): the core has no JPEG decoder, the CLI has sharp.
 */
import { join } from 'node:path';
import { SedsegError } from '../errors.js';
import type { RgbImage } from '../image/rgb-image.js';
import { trainDataset } from '../train-data/train-datasets.js';
import { checkLabelValues, checkTrainingClasses, checkTrainingSample, type TrainingDataset } from '../train-data/training-dataset.js';
import { type EvalPair, listEvalPairs } from './eval-pairs.js';
import { readLabelFile } from './label-file.js';

export type ReadImageFn = (path: string) => Promise<RgbImage>;

export interface OpenTrainingFolderOptions {
  imageDir: string;
  labelDir: string;
  /** Image extension without the dot (default "jpg"). */
  imageExt?: string;
  /** Label extension without the dot (default "png"). */
  labelExt?: string;
  /** Class `k` is label value `k`. */
  classNames: readonly string[];
  /** Label value of unlabelled pixels (default 255). */
  ignoreLabel?: number;
  /** Decodes an image file to 8-bit RGB. */
  readImage: ReadImageFn;
}

export interface TrainingFolder extends TrainingDataset {
  readonly pairs: readonly EvalPair[];
  /** Files left out because the other folder has no file of their stem. */
  readonly unpairedImages: number;
  readonly unpairedLabels: number;
}

/** Lists the pairs of a folder pair; reading a sample checks it (`checkTrainingSample`). */
export async function openTrainingFolder(options: OpenTrainingFolderOptions): Promise<TrainingFolder> {
  const ignoreLabel = options.ignoreLabel ?? 255;
  const classNames = checkTrainingClasses(options.classNames, ignoreLabel);
  const { pairs, unpairedImages, unpairedLabels } = await listEvalPairs(
    options.imageDir,
    options.labelDir,
    options.imageExt ?? 'jpg',
    options.labelExt ?? 'png',
  );
  if (pairs.length === 0) throw new SedsegError('E_ARGUMENT', `the training dataset ${options.imageDir} + ${options.labelDir} is empty`);
  const read = async (index: number) => {
    const pair = pairs[index];
    if (pair === undefined) throw new SedsegError('E_ARGUMENT', `sample ${index} is outside the dataset (0…${pairs.length - 1})`);
    const [image, labels] = await Promise.all([options.readImage(pair.image), readLabelFile(pair.label)]);
    const sample = { name: pair.label, image, labels };
    checkTrainingSample(sample, classNames.length, ignoreLabel);
    return sample;
  };
  return { size: pairs.length, classNames, ignoreLabel, pairs, unpairedImages, unpairedLabels, read };
}

export interface OpenTrainingDatasetOptions {
  /** A name of `TRAIN_DATASETS` ("coco-stuff", "ade150"). */
  dataset: string;
  /** The datasets root (`$DETECTRON2_DATASETS`). */
  root: string;
  readImage: ReadImageFn;
}

/** A named training split under `root`, with its vocabulary as the class list. */
export async function openTrainingDataset(options: OpenTrainingDatasetOptions): Promise<TrainingFolder> {
  const layout = trainDataset(options.dataset);
  return openTrainingFolder({
    imageDir: join(options.root, layout.imageDir),
    labelDir: join(options.root, layout.labelDir),
    imageExt: layout.imageExt,
    labelExt: layout.labelExt,
    classNames: layout.classNames,
    ignoreLabel: layout.ignoreLabel,
    readImage: options.readImage,
  });
}

export interface LabelScan {
  /** Pixels per class over every label file (index = class). */
  classPixels: Float64Array;
  ignoredPixels: number;
  /** Classes of the list that no label file uses. */
  unusedClasses: string[];
}

/**
 * Reads every label file of the folder (not the images) before training: stops at the first
 * value outside the class list, naming the file, and reports the classes no label uses.
 */
export async function scanTrainingLabels(folder: TrainingFolder): Promise<LabelScan> {
  const t = folder.classNames.length;
  const classPixels = new Float64Array(t);
  let ignoredPixels = 0;
  for (const pair of folder.pairs) {
    const labels = await readLabelFile(pair.label);
    checkLabelValues(pair.label, labels, t, folder.ignoreLabel);
    for (const v of labels.data) {
      if (v < t) classPixels[v]!++;
      else ignoredPixels++;
    }
  }
  const unusedClasses = folder.classNames.filter((_, k) => classPixels[k] === 0);
  return { classPixels, ignoredPixels, unusedClasses };
}
