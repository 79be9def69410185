/**
 * The training data of `sedseg train`: the class list, the folder pair (a custom one or a named
 * split under the datasets root) and a scan of every pair before the first step, so that a bad
 * label (another size than its image, a value that is neither a class nor the ignore label) is
 * named at once rather than hours into a run.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkLabelValues, parseClassList, SedsegError, trainDataset } from '@sedseg/core';
import { openTrainingFolder, readLabelFile, type TrainingFolder } from '@sedseg/core/node';
import { readClassesFile } from './class-list.js';
import { readImageSize, readRgbImage } from './image-io.js';
import type { TrainDatasetSettings } from './train-settings.js';

/** A class file: a JSON array of names (.json), else a typed list ("grass, red circle, a|b"). */
export async function readTrainClasses(path: string): Promise<string[]> {
  if (/\.json$/i.test(path)) return readClassesFile(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SedsegError('E_IO', `${path}: cannot read the class file (${(e as Error).message})`, { cause: e });
  }
  try {
    return parseClassList(text.trim());
  } catch (e) {
    throw new SedsegError('E_ARGUMENT', `${path}: ${(e as Error).message}`, { cause: e });
  }
}

export interface TrainDataRequest {
  /** A named split (with `root`), or undefined for `imageDir`/`labelDir`. */
  dataset?: string;
  root?: string;
  imageDir?: string;
  labelDir?: string;
  imageExt: string;
  labelExt: string;
  ignoreLabel: number;
  /** From --classes-file; a named split defaults to its vocabulary. */
  classes?: string[];
}

export interface TrainData {
  folder: TrainingFolder;
  settings: TrainDatasetSettings;
  imageDir: string;
  labelDir: string;
  /** Classes no label uses. */
  unusedClasses: string[];
}

export async function openTrainData(request: TrainDataRequest): Promise<TrainData> {
  let imageDir: string;
  let labelDir: string;
  let { imageExt, labelExt, ignoreLabel } = request;
  let classes = request.classes;
  if (request.dataset !== undefined) {
    const layout = trainDataset(request.dataset);
    imageDir = join(request.root ?? 'datasets', layout.imageDir);
    labelDir = join(request.root ?? 'datasets', layout.labelDir);
    ({ imageExt, labelExt, ignoreLabel } = layout);
    if (classes !== undefined && classes.length !== layout.classNames.length) {
      throw new SedsegError('E_ARGUMENT', `the class file has ${classes.length} classes but ${layout.name}'s labels have ${layout.classNames.length}`);
    }
    classes ??= [...layout.classNames];
  } else {
    imageDir = request.imageDir!;
    labelDir = request.labelDir!;
  }
  if (classes === undefined) throw new SedsegError('E_ARGUMENT', 'no class list');
  const folder = await openTrainingFolder({ imageDir, labelDir, imageExt, labelExt, classNames: classes, ignoreLabel, readImage: (p) => readRgbImage(p) });
  const unusedClasses = await scanPairs(folder);
  const names = folder.pairs.map((p) => [basename(p.image), basename(p.label)]);
  return {
    folder,
    imageDir,
    labelDir,
    unusedClasses,
    settings: {
      name: request.dataset === undefined ? 'custom' : trainDataset(request.dataset).name,
      samples: folder.size,
      pairs_sha256: createHash('sha256').update(JSON.stringify(names)).digest('hex'),
      image_ext: imageExt,
      label_ext: labelExt,
      ignore_label: ignoreLabel,
    },
  };
}

/** Checks every pair (label values and sizes); returns the classes no label uses. */
async function scanPairs(folder: TrainingFolder): Promise<string[]> {
  const t = folder.classNames.length;
  const used = new Uint8Array(t);
  for (const pair of folder.pairs) {
    const labels = await readLabelFile(pair.label);
    const size = await readImageSize(pair.image);
    if (labels.width !== size.width || labels.height !== size.height) {
      throw new SedsegError('E_ARGUMENT', `${pair.label} is ${labels.width}×${labels.height} but its image ${pair.image} is ${size.width}×${size.height}`);
    }
    checkLabelValues(pair.label, labels, t, folder.ignoreLabel);
    for (const v of labels.data) if (v < t) used[v] = 1;
  }
  return folder.classNames.filter((_, k) => used[k] === 0);
}
