/**
 * Test helper: compares an `sedseg eval` run (its --out JSON and --save-predictions folder) with
 * the reference's golden data in `reference/eval/<name>-mini`: every predicted pixel must equal
 * the reference's prediction except where the reference marks a near tie (bit 0 of near_ties/
 * for the full path, bit 1 for CER); the run's confusion counts must then equal the reference
 * predictions' counts with the near-tie pixels taken from the run (so every count difference is
 * a near tie), and both mIoU formulas within 0.05 points.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfusionMatrix, semSegMetrics } from '@sedseg/core';
import { readLabelFile } from '@sedseg/core/node';
import { REFERENCE_DIR } from './run-cli.js';

/** The run the reference's eval data was made with: the tiny model at R = 320 (pooling 1, the default), on ort. */
export const TINY_EVAL_ARGS: readonly string[] = ['--weights', join(REFERENCE_DIR, 'tiny/model.pth'), '--resolution', '320', '--backend', 'ort'];

export interface GoldenImage {
  image_file: string;
  gt_file: string;
  prediction_file: string;
  prediction_file_cer: string;
  near_tie_file: string;
  height: number;
  width: number;
  resized_height: number;
  resized_width: number;
  decoded_rgb_sha256: string;
  resized_rgb_sha256: string;
  postprocess_crop: [number, number];
  cer_top8: { kept_per_stage: [number, number, number] };
}

export interface GoldenBlock {
  mIoU: number;
  mIoU_gt_classes_only: number;
  confusion_nonzero: [number, number, number][];
}

export interface Golden {
  root: string;
  settings: { num_classes: number; ignore_label: number };
  images: GoldenImage[];
  full: GoldenBlock;
  cer_top8: GoldenBlock;
}

export function golden(name: 'ade150-mini' | 'pc459-mini'): Golden {
  const root = join(REFERENCE_DIR, 'eval', name);
  return { root, ...(JSON.parse(readFileSync(join(root, 'expected.json'), 'utf8')) as Omit<Golden, 'root'>) };
}

export interface GoldenComparison {
  /** Pixels differing from the reference's prediction where it marks no near tie (must be 0). */
  differingOutsideTies: number;
  /** Pixels differing at near ties (allowed). */
  differingAtTies: number;
  /** Confusion entries differing from the reference predictions' counts. */
  confusionEntriesDiffering: number;
  /** The run's counts equal the reference counts with the near-tie pixels taken from the run. */
  countsExplainedByTies: boolean;
  /** Run minus reference, percent points. */
  mIoUDiff: number;
  mIoUv06Diff: number;
}

interface RunResult {
  confusion: [number, number, number][];
  metrics: { mIoU: number; mIoU_v06: number };
  images: { image: string }[];
}

/** Compares `result` (evaluated on `images`, a subset or all) and its saved predictions with the golden data. */
export async function compareWithGolden(g: Golden, path: 'full' | 'cer', result: RunResult, predictionsDir: string): Promise<GoldenComparison> {
  const T = g.settings.num_classes;
  const bit = path === 'full' ? 1 : 2;
  const names = new Set(result.images.map((im) => im.image));
  const used = g.images.filter((im) => names.has(im.image_file.split('/').pop()!));
  const reference = new ConfusionMatrix(T);
  const patched = new ConfusionMatrix(T);
  let differingOutsideTies = 0;
  let differingAtTies = 0;
  for (const im of used) {
    const stem = im.image_file
      .split('/')
      .pop()!
      .replace(/\.jpg$/, '');
    const gt = await readLabelFile(join(g.root, im.gt_file));
    const ref = await readLabelFile(join(g.root, path === 'full' ? im.prediction_file : im.prediction_file_cer));
    const ties = await readLabelFile(join(g.root, im.near_tie_file));
    const ours = await readLabelFile(join(predictionsDir, `${stem}.png`));
    const mixed = new Int32Array(ref.data.length);
    for (let i = 0; i < ref.data.length; i++) {
      const tie = (ties.data[i]! & bit) !== 0;
      if (ours.data[i] !== ref.data[i]) {
        if (tie) differingAtTies++;
        else differingOutsideTies++;
      }
      mixed[i] = tie ? ours.data[i]! : ref.data[i]!;
    }
    reference.addLabels(ref.data, gt.data, { ignoreLabel: g.settings.ignore_label });
    patched.addLabels(mixed, gt.data, { ignoreLabel: g.settings.ignore_label });
  }
  const key = (e: number[]): string => e.join(',');
  const refEntries = new Set(reference.nonzero().map(key));
  const runEntries = new Set(result.confusion.map(key));
  const confusionEntriesDiffering = [...refEntries].filter((e) => !runEntries.has(e)).length + [...runEntries].filter((e) => !refEntries.has(e)).length;
  const refMetrics = semSegMetrics(reference);
  return {
    differingOutsideTies,
    differingAtTies,
    confusionEntriesDiffering,
    countsExplainedByTies: JSON.stringify(patched.nonzero()) === JSON.stringify(result.confusion),
    mIoUDiff: result.metrics.mIoU - refMetrics.mIoU!,
    mIoUv06Diff: result.metrics.mIoU_v06 - refMetrics.mIoU_v06!,
  };
}
