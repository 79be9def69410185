/**
 * The result of `sedseg eval` (its `--out` JSON) and of `sedseg eval merge`: built from image
 * records (eval-state.ts) or from the confusion counts of other results; the metrics are always
 * recomputed from the summed counts, so a merge of shards equals the single run exactly.
 */
import { type ConfusionEntry, ConfusionMatrix, semSegMetrics } from '@sedseg/core';
import type { EvalImageRecord } from './eval-state.js';
import type { EvalSettings } from './eval-settings.js';
import { formatCount, table } from './format.js';
import type { Shard } from './shard-option.js';

export const RESULT_FORMAT = 'sedseg-eval-result/1';

export interface EvalResultImage {
  index: number;
  image: string;
  label: string;
  height: number;
  width: number;
  kept_per_stage: [number, number, number] | null;
  seconds: number;
}

export interface EvalResult {
  format: string;
  settings: EvalSettings;
  /** The shard this run evaluated; null for a whole run or a merge. */
  shard: Shard | null;
  /** Result files merged into this one (merge only). */
  merged_from?: string[];
  /** Pairs in the dataset (after --limit); `images` lists those evaluated. */
  dataset_images: number;
  complete: boolean;
  metrics: { mIoU: number | null; mIoU_v06: number | null; fwIoU: number | null; mACC: number | null; pACC: number | null };
  classes: string[];
  iou: (number | null)[];
  acc: (number | null)[];
  classes_in_gt: number;
  classes_in_gt_or_pred: number;
  pixels: { evaluated: number; correct: number; ignored: number };
  /** Non-zero entries of the (T+1)×(T+1) matrix as [pred, gt, count], gt = T for ignore, sorted by pred then gt. */
  confusion: ConfusionEntry[];
  cer: { topk: number; mean_kept_per_stage: [number, number, number] } | null;
  speed: { images: number; seconds: number; images_per_second: number | null };
  images: EvalResultImage[];
  environment: Record<string, unknown>;
}

export function buildResult(options: {
  settings: EvalSettings;
  shard: Shard | null;
  datasetImages: number;
  classNames: readonly string[];
  confusion: ConfusionMatrix;
  images: EvalResultImage[];
  environment: Record<string, unknown>;
  mergedFrom?: string[];
}): EvalResult {
  const { settings, confusion } = options;
  const images = [...options.images].sort((a, b) => a.index - b.index);
  const m = semSegMetrics(confusion);
  const seconds = images.reduce((s, im) => s + im.seconds, 0);
  let cer: EvalResult['cer'] = null;
  if (settings.topk !== null) {
    const sums = [0, 0, 0];
    for (const im of images) for (let s = 0; s < 3; s++) sums[s]! += im.kept_per_stage?.[s] ?? 0;
    const n = Math.max(1, images.length);
    cer = { topk: settings.topk, mean_kept_per_stage: [sums[0]! / n, sums[1]! / n, sums[2]! / n] };
  }
  const indices = new Set(images.map((im) => im.index));
  return {
    format: RESULT_FORMAT,
    settings,
    shard: options.shard,
    ...(options.mergedFrom ? { merged_from: options.mergedFrom } : {}),
    dataset_images: options.datasetImages,
    complete: indices.size === options.datasetImages,
    metrics: { mIoU: m.mIoU, mIoU_v06: m.mIoU_v06, fwIoU: m.fwIoU, mACC: m.mACC, pACC: m.pACC },
    classes: [...options.classNames],
    iou: m.iou,
    acc: m.acc,
    classes_in_gt: m.classesInGt,
    classes_in_gt_or_pred: m.classesInGtOrPred,
    pixels: { evaluated: m.validPixels, correct: m.correctPixels, ignored: m.ignoredPixels },
    confusion: confusion.nonzero(),
    cer,
    speed: { images: images.length, seconds, images_per_second: seconds > 0 ? images.length / seconds : null },
    images,
    environment: options.environment,
  };
}

/** The confusion matrix of image records. */
export function confusionOfRecords(numClasses: number, records: Iterable<EvalImageRecord>): ConfusionMatrix {
  const m = new ConfusionMatrix(numClasses);
  for (const r of records) m.addEntries(r.confusion, `state record of ${r.image}`);
  return m;
}

const pct = (v: number | null): string => (v === null ? '—' : v.toFixed(2));

/** The terminal report: metrics, settings line and the per-class table (classes with ground truth). */
export function formatResult(r: EvalResult): string {
  const s = r.settings;
  const lines: string[] = [];
  const scope = r.shard ? ` (shard ${r.shard.index}/${r.shard.count})` : r.complete ? '' : ` (${r.images.length} of ${r.dataset_images} images)`;
  lines.push(
    `${s.dataset}${scope}: ${r.images.length} image(s), ${formatCount(r.pixels.evaluated)} pixels evaluated, ${formatCount(r.pixels.ignored)} ignored`,
  );
  const perClass: string[][] = [['class', 'IoU', 'Acc']];
  r.iou.forEach((v, i) => {
    if (v !== null) perClass.push([`${i} ${r.classes[i]}`, pct(v), pct(r.acc[i] ?? null)]);
  });
  if (perClass.length > 1) {
    lines.push(`per class (percent; the ${r.classes_in_gt} classes with ground truth):`);
    lines.push(table(perClass));
  }
  const m = r.metrics;
  lines.push(
    `mIoU ${pct(m.mIoU)}  fwIoU ${pct(m.fwIoU)}  mACC ${pct(m.mACC)}  pACC ${pct(m.pACC)}  (percent; mIoU over the ${r.classes_in_gt} classes in the ground truth; detectron2 v0.6 formula over the ${r.classes_in_gt_or_pred} classes in ground truth or prediction: ${pct(m.mIoU_v06)})`,
  );
  const cer = r.cer
    ? `CER top-${r.cer.topk} (classes kept per stage on average: ${r.cer.mean_kept_per_stage.map((v) => v.toFixed(1)).join(' / ')})`
    : 'full decoder';
  const speed = r.speed.images_per_second === null ? '' : `; ${r.speed.images_per_second.toFixed(3)} images/s`;
  lines.push(
    `settings: R ${s.resolution}, pooling ${s.decoder_pooling}, ${cer}, test resize ${s.min_size_test}/${s.max_size_test}, ${s.prompt_classes} prompts (${s.vocabulary}), ${s.num_classes} classes, ignore ${s.ignore_label}, model ${s.model.file}${speed}`,
  );
  return lines.join('\n');
}
