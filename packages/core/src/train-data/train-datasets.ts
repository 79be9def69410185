/**
 * Training splits by name, laid out as the authors' preparation scripts leave them under the
 * datasets root (`$DETECTRON2_DATASETS`):
 *
 * | name | registration | images | labels | T | ignore |
 * | --- | --- | --- | --- | --- | --- |
 * | coco-stuff | coco_2017_train_stuff_all_sem_seg (the authors' `DATASETS.TRAIN`) | coco-stuff/images/train2017/*.jpg | coco-stuff/annotations_detectron2/train2017/*.png | 171 | 255 |
 * | ade150 | — (not registered by the authors) | ADEChallengeData2016/images/training/*.jpg | ADEChallengeData2016/annotations_detectron2/training/*.png | 150 | 255 |
 *
 * COCO-Stuff labels are `prepare_coco_stuff.py`'s: the stuffthingmaps ids mapped to the 171
 * contiguous train ids (`COCO_CATEGORIES[*].trainId`, the order of vocabularies coco171),
 * anything else 255. ADE20K-150 training labels are `prepare_ade20k_150.py`'s conversion
 * (`value − 1`, so 0 becomes 255), which the authors' script runs for `validation` only: add
 * `training` to its loop to make them.
 */
import { SedsegError } from '../errors.js';
import type { EvalDataset } from '../eval/datasets.js';
import { VOCABULARIES, type VocabularyName } from '../vocabularies/index.js';

export type TrainDatasetName = 'coco-stuff' | 'ade150';

/** Folders, extensions, ignore label and vocabulary as for the evaluation datasets. */
export interface TrainDatasetLayout extends Pick<EvalDataset, 'imageDir' | 'labelDir' | 'imageExt' | 'labelExt' | 'ignoreLabel' | 'vocabulary' | 'classNames'> {
  name: TrainDatasetName;
  /** The authors' detectron2 registration, when they register this split. */
  registration?: string;
}

const layout = (name: TrainDatasetName, registration: string | undefined, imageDir: string, labelDir: string, vocabulary: VocabularyName): TrainDatasetLayout =>
  Object.freeze({
    name,
    ...(registration !== undefined ? { registration } : {}),
    imageDir,
    labelDir,
    imageExt: 'jpg',
    labelExt: 'png',
    ignoreLabel: 255,
    vocabulary,
    classNames: VOCABULARIES[vocabulary].classes,
  });

export const TRAIN_DATASETS: Readonly<Record<TrainDatasetName, TrainDatasetLayout>> = Object.freeze({
  'coco-stuff': layout(
    'coco-stuff',
    'coco_2017_train_stuff_all_sem_seg',
    'coco-stuff/images/train2017',
    'coco-stuff/annotations_detectron2/train2017',
    'coco171',
  ),
  ade150: layout('ade150', undefined, 'ADEChallengeData2016/images/training', 'ADEChallengeData2016/annotations_detectron2/training', 'ade150'),
});

export const TRAIN_DATASET_NAMES: readonly TrainDatasetName[] = Object.freeze(Object.keys(TRAIN_DATASETS) as TrainDatasetName[]);

/** The layout by name (case, spaces, dashes and underscores ignored: "COCO_Stuff", "ade-150"). */
export function trainDataset(name: string): TrainDatasetLayout {
  const key = name.toLowerCase().replace(/[\s\-_]+/g, '');
  const found = TRAIN_DATASET_NAMES.find((n) => n.replace(/-/g, '') === key);
  if (found === undefined) throw new SedsegError('E_ARGUMENT', `unknown training dataset "${name}" (training datasets: ${TRAIN_DATASET_NAMES.join(', ')})`);
  return TRAIN_DATASETS[found];
}
