/**
 * The periodic evaluation of `sedseg train`: the current weights segment every validation image
 * at the training crop resolution (decoder pooling 1, the authors' evaluation setting) and core's
 * ConfusionMatrix / semSegMetrics give detectron2's metrics. Simpler than `sedseg eval`'s protocol
 * (no test-time resize of the image): a number to watch during training, not a benchmark result.
 */
import { ConfusionMatrix, type SedModel, SedsegError, semSegMetrics } from '@sedseg/core';
import { type EvalPair, listEvalPairs, readLabelFile } from '@sedseg/core/node';
import { readRgbImage } from './image-io.js';

export interface ValidationSet {
  pairs: readonly EvalPair[];
  classes: readonly string[];
  ignoreLabel: number;
}

export interface ValidationResult {
  mIoU: number | null;
  fwIoU: number | null;
  mACC: number | null;
  pACC: number | null;
  iou: (number | null)[];
  images: number;
  seconds: number;
}

export async function openValidationSet(
  imageDir: string,
  labelDir: string,
  imageExt: string,
  labelExt: string,
  classes: readonly string[],
  ignoreLabel: number,
): Promise<ValidationSet> {
  const { pairs } = await listEvalPairs(imageDir, labelDir, imageExt, labelExt);
  if (pairs.length === 0) throw new SedsegError('E_ARGUMENT', `the validation set ${imageDir} + ${labelDir} is empty`);
  return { pairs, classes, ignoreLabel };
}

export async function validate(model: SedModel, set: ValidationSet, resolution: number): Promise<ValidationResult> {
  const started = performance.now();
  const conf = new ConfusionMatrix(set.classes.length);
  for (const pair of set.pairs) {
    const image = await readRgbImage(pair.image);
    const gt = await readLabelFile(pair.label);
    if (gt.width !== image.width || gt.height !== image.height) {
      throw new SedsegError('E_ARGUMENT', `${pair.label} is ${gt.width}×${gt.height} but its image ${pair.image} is ${image.width}×${image.height}`);
    }
    const seg = await model.segment(image, { classes: set.classes, resolution, pooling: 1 });
    conf.addLabels(seg.labels, gt.data, { ignoreLabel: set.ignoreLabel, source: pair.label, width: gt.width });
  }
  const m = semSegMetrics(conf);
  return { mIoU: m.mIoU, fwIoU: m.fwIoU, mACC: m.mACC, pACC: m.pACC, iou: m.iou, images: set.pairs.length, seconds: (performance.now() - started) / 1000 };
}
