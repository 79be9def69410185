/**
 * detectron2's semantic-segmentation metrics from a confusion matrix (percent). With
 * `tp = diag(conf)[:T]`, `pos_gt = conf[:T, :T].sum(axis=0)`, `pos_pred = conf[:T, :T].sum(axis=1)`:
 *
 * - `ACC[c] = tp/pos_gt`, `IoU[c] = tp/(pos_gt + pos_pred − tp)` for classes with `pos_gt > 0`
 *   (null otherwise);
 * - `mIoU` = mean IoU over the classes present in the ground truth (the current detectron2
 *   `SemSegEvaluator`, which the authors' `train_net.py` uses);
 * - `mIoU_v06` = sum of the defined IoU / number of classes with `pos_gt + pos_pred > 0` (the
 *   detectron2 v0.6 formula, kept in the authors' `plain_train_net.py` evaluator);
 * - `fwIoU` = Σ IoU·pos_gt / Σ pos_gt; `mACC` = mean of the defined ACC; `pACC` = Σ tp / Σ pos_gt.
 *
 * Ignore-column pixels (gt = T) count nowhere. Metrics of an empty matrix are null.
 */
import type { ConfusionMatrix } from './confusion-matrix.js';

export interface SemSegMetrics {
  mIoU: number | null;
  mIoU_v06: number | null;
  fwIoU: number | null;
  mACC: number | null;
  pACC: number | null;
  /** Per class, percent; null where the class has no ground-truth pixel. */
  iou: (number | null)[];
  acc: (number | null)[];
  classesInGt: number;
  classesInGtOrPred: number;
  /** Σ tp and Σ pos_gt (correct and evaluated pixels). */
  correctPixels: number;
  validPixels: number;
  /** Pixels whose ground truth is the ignore label. */
  ignoredPixels: number;
}

export function semSegMetrics(conf: ConfusionMatrix): SemSegMetrics {
  const T = conf.numClasses;
  const n = T + 1;
  const c = conf.counts;
  const tp = new Float64Array(T);
  const posGt = new Float64Array(T);
  const posPred = new Float64Array(T);
  let ignoredPixels = 0;
  for (let p = 0; p < n; p++) {
    for (let g = 0; g < n; g++) {
      const v = c[p * n + g]!;
      if (v === 0) continue;
      if (g === T) {
        ignoredPixels += v;
        continue;
      }
      if (p === T) continue; // predictions are never T; kept out of every sum like detectron2's [:-1, :-1]
      posGt[g]! += v;
      posPred[p]! += v;
      if (p === g) tp[p]! += v;
    }
  }
  const iou: (number | null)[] = new Array<number | null>(T).fill(null);
  const acc: (number | null)[] = new Array<number | null>(T).fill(null);
  let validPixels = 0;
  let correctPixels = 0;
  for (let k = 0; k < T; k++) {
    validPixels += posGt[k]!;
    correctPixels += tp[k]!;
  }
  let classesInGt = 0;
  let classesInGtOrPred = 0;
  let iouSum = 0;
  let accSum = 0;
  let fw = 0;
  for (let k = 0; k < T; k++) {
    if (posGt[k]! + posPred[k]! > 0) classesInGtOrPred++;
    if (posGt[k]! > 0) {
      classesInGt++;
      const a = tp[k]! / posGt[k]!;
      const u = tp[k]! / (posGt[k]! + posPred[k]! - tp[k]!);
      acc[k] = 100 * a;
      iou[k] = 100 * u;
      accSum += a;
      iouSum += u;
      fw += u * (posGt[k]! / validPixels);
    }
  }
  const pct = (v: number, d: number): number | null => (d > 0 ? (100 * v) / d : null);
  return {
    mIoU: pct(iouSum, classesInGt),
    mIoU_v06: pct(iouSum, classesInGtOrPred),
    fwIoU: classesInGt > 0 ? 100 * fw : null,
    mACC: pct(accSum, classesInGt),
    pACC: pct(correctPixels, validPixels),
    iou,
    acc,
    classesInGt,
    classesInGtOrPred,
    correctPixels,
    validPixels,
    ignoredPixels,
  };
}
