/**
 * The paper's evaluation datasets as the authors register them (`sed/data/datasets/*.py`, all
 * through detectron2 `load_sem_seg`, under `$DETECTRON2_DATASETS`, default `datasets`):
 *
 * | name | registration | images | labels | T | ignore |
 * | --- | --- | --- | --- | --- | --- |
 * | ade150 | ade20k_150_test_sem_seg | ADEChallengeData2016/images/validation/*.jpg | ADEChallengeData2016/annotations_detectron2/validation/*.png | 150 | 255 |
 * | ade847 | ade20k_full_sem_seg_freq_val_all | ADE20K_2021_17_01/images_detectron2/validation/*.jpg | ADE20K_2021_17_01/annotations_detectron2/validation/*.tif (16-bit) | 847 | 65535 |
 * | pc59 | context_59_test_sem_seg | VOCdevkit/VOC2010/JPEGImages/*.jpg | VOCdevkit/VOC2010/annotations_detectron2/pc59_val/*.png | 59 | 255 |
 * | pc459 | context_459_test_sem_seg | VOCdevkit/VOC2010/JPEGImages/*.jpg | VOCdevkit/VOC2010/annotations_detectron2/pc459_val/*.tif (16-bit) | 459 | 459 |
 * | voc20 | voc_2012_test_sem_seg | VOCdevkit/VOC2012/JPEGImages/*.jpg | VOCdevkit/VOC2012/annotations_detectron2/val/*.png | 20 | 255 |
 * | voc20b | voc_2012_test_background_sem_seg | VOCdevkit/VOC2012/JPEGImages/*.jpg | VOCdevkit/VOC2012/annotations_detectron2_bg/val/*.png | 21 | 255 |
 *
 * VOC-20b (`evaluator_type="sem_seg_background"`, the authors' `VOCbEvaluator`): the model runs
 * on the 59 prompts of `voc20b.json` (20 VOC classes, then 39 background concepts); every
 * prediction ≥ 20 becomes 20 ("background", which `prepare_voc.py` writes for VOC's class 0
 * in `annotations_detectron2_bg`), and the metrics are over 21 classes.
 */
import { SedsegError } from '../errors.js';
import { VOCABULARIES, type VocabularyName } from '../vocabularies/index.js';

export type EvalDatasetName = 'ade150' | 'ade847' | 'pc59' | 'pc459' | 'voc20' | 'voc20b';

export interface EvalDataset {
  name: EvalDatasetName;
  /** The authors' detectron2 registration name. */
  registration: string;
  /** Image folder, relative to the datasets root. */
  imageDir: string;
  /** Ground-truth folder, relative to the datasets root. */
  labelDir: string;
  /** detectron2 `load_sem_seg` extensions (matched with `endswith`, no dot). */
  imageExt: string;
  labelExt: string;
  /** Ground-truth value of unlabelled pixels. */
  ignoreLabel: number;
  /** The vocabulary the model is prompted with (`TEST_CLASS_JSON`). */
  vocabulary: VocabularyName;
  /** Classes of the metrics (T): the vocabulary's size, or 21 for voc20b. */
  numClasses: number;
  /** Predictions ≥ this become this class before counting (voc20b: 20 = background). */
  backgroundFrom?: number;
  /** Class names of the metrics (length T). */
  classNames: readonly string[];
}

function dataset(
  name: EvalDatasetName,
  registration: string,
  imageDir: string,
  labelDir: string,
  labelExt: string,
  ignoreLabel: number,
  vocabulary: VocabularyName,
): EvalDataset {
  const vocab = VOCABULARIES[vocabulary];
  const backgroundFrom = vocab.backgroundFrom;
  const classNames = backgroundFrom !== undefined ? [...vocab.classes.slice(0, backgroundFrom), 'background'] : vocab.classes;
  return Object.freeze({
    name,
    registration,
    imageDir,
    labelDir,
    imageExt: 'jpg',
    labelExt,
    ignoreLabel,
    vocabulary,
    numClasses: classNames.length,
    ...(backgroundFrom !== undefined ? { backgroundFrom } : {}),
    classNames: Object.freeze([...classNames]),
  });
}

export const EVAL_DATASETS: Readonly<Record<EvalDatasetName, EvalDataset>> = Object.freeze({
  ade150: dataset(
    'ade150',
    'ade20k_150_test_sem_seg',
    'ADEChallengeData2016/images/validation',
    'ADEChallengeData2016/annotations_detectron2/validation',
    'png',
    255,
    'ade150',
  ),
  ade847: dataset(
    'ade847',
    'ade20k_full_sem_seg_freq_val_all',
    'ADE20K_2021_17_01/images_detectron2/validation',
    'ADE20K_2021_17_01/annotations_detectron2/validation',
    'tif',
    65535,
    'ade847',
  ),
  pc59: dataset('pc59', 'context_59_test_sem_seg', 'VOCdevkit/VOC2010/JPEGImages', 'VOCdevkit/VOC2010/annotations_detectron2/pc59_val', 'png', 255, 'pc59'),
  pc459: dataset(
    'pc459',
    'context_459_test_sem_seg',
    'VOCdevkit/VOC2010/JPEGImages',
    'VOCdevkit/VOC2010/annotations_detectron2/pc459_val',
    'tif',
    459,
    'pc459',
  ),
  voc20: dataset('voc20', 'voc_2012_test_sem_seg', 'VOCdevkit/VOC2012/JPEGImages', 'VOCdevkit/VOC2012/annotations_detectron2/val', 'png', 255, 'voc20'),
  voc20b: dataset(
    'voc20b',
    'voc_2012_test_background_sem_seg',
    'VOCdevkit/VOC2012/JPEGImages',
    'VOCdevkit/VOC2012/annotations_detectron2_bg/val',
    'png',
    255,
    'voc20b',
  ),
});

export const EVAL_DATASET_NAMES: readonly EvalDatasetName[] = Object.freeze(Object.keys(EVAL_DATASETS) as EvalDatasetName[]);

/** The dataset by name (case and dashes ignored: "ADE-150", "pc_459"). */
export function evalDataset(name: string): EvalDataset {
  const key = name.toLowerCase().replace(/[\s\-_]+/g, '');
  if (!Object.hasOwn(EVAL_DATASETS, key)) {
    throw new SedsegError('E_ARGUMENT', `unknown dataset "${name}" (datasets: ${EVAL_DATASET_NAMES.join(', ')})`);
  }
  return EVAL_DATASETS[key as EvalDatasetName];
}
