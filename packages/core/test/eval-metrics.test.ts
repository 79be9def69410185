/**
 * The evaluation's metric code against the reference's own numbers: the confusion counts and
 * metrics of expected.json recomputed from the reference's prediction PNGs and the ground truth
 * of both mini datasets (an exact check of label reading, counting and the formulas), plus the
 * confusion matrix's integer safety and errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfusionMatrix, clampBackground, semSegMetrics } from '../src/index.js';
import { readLabelFile } from '../src/node.js';
import { referencePath } from './helpers/reference.js';

interface Block {
  mIoU: number;
  mIoU_gt_classes_only: number;
  fwIoU: number;
  mACC: number;
  pACC: number;
  IoU: (number | null)[];
  ACC: (number | null)[];
  num_classes_in_gt: number;
  num_classes_in_gt_or_pred: number;
  tp_total: number;
  valid_pixels_total: number;
  confusion_nonzero: [number, number, number][];
}
interface Expected {
  settings: { num_classes: number; ignore_label: number };
  images: {
    gt_file: string;
    prediction_file: string;
    prediction_file_cer: string;
    ignore_pixels: number;
    valid_pixels: number;
    gt_classes: number[];
    height: number;
    width: number;
  }[];
  full: Block;
  cer_top8: Block;
}

const close = (a: number | null, b: number | null): void => {
  if (b === null) expect(a).toBeNull();
  else expect(Math.abs((a as number) - b)).toBeLessThan(1e-9);
};

describe.each(['ade150-mini', 'pc459-mini'])('metrics of %s from the reference predictions', (name) => {
  const root = referencePath('eval', name);
  const expected = JSON.parse(readFileSync(`${root}/expected.json`, 'utf8')) as Expected;
  const T = expected.settings.num_classes;

  it.each([
    ['full', 'prediction_file'],
    ['cer_top8', 'prediction_file_cer'],
  ] as const)('%s: confusion counts and every metric equal expected.json', async (block, key) => {
    const conf = new ConfusionMatrix(T);
    for (const im of expected.images) {
      const gt = await readLabelFile(`${root}/${im.gt_file}`);
      const pred = await readLabelFile(`${root}/${im[key]}`);
      expect([gt.width, gt.height]).toEqual([im.width, im.height]);
      conf.addLabels(pred.data, gt.data, { ignoreLabel: expected.settings.ignore_label, source: im.gt_file, width: gt.width });
    }
    const ref = expected[block];
    expect(conf.nonzero()).toEqual(ref.confusion_nonzero);
    const m = semSegMetrics(conf);
    close(m.mIoU, ref.mIoU_gt_classes_only);
    close(m.mIoU_v06, ref.mIoU);
    close(m.fwIoU, ref.fwIoU);
    close(m.mACC, ref.mACC);
    close(m.pACC, ref.pACC);
    expect(m.classesInGt).toBe(ref.num_classes_in_gt);
    expect(m.classesInGtOrPred).toBe(ref.num_classes_in_gt_or_pred);
    expect(m.correctPixels).toBe(ref.tp_total);
    expect(m.validPixels).toBe(ref.valid_pixels_total);
    for (const [i, v] of m.iou.entries()) close(v, ref.IoU[i]!);
    for (const [i, v] of m.acc.entries()) close(v, ref.ACC[i]!);
  });

  it('reads every label file exactly (classes present, ignore and valid pixel counts)', async () => {
    for (const im of expected.images) {
      const gt = await readLabelFile(`${root}/${im.gt_file}`);
      let ignore = 0;
      const classes = new Set<number>();
      for (const v of gt.data) {
        if (v === expected.settings.ignore_label) ignore++;
        else classes.add(v);
      }
      expect(ignore).toBe(im.ignore_pixels);
      expect(gt.data.length - ignore).toBe(im.valid_pixels);
      expect([...classes].sort((a, b) => a - b)).toEqual(im.gt_classes);
    }
  });
});

describe('ConfusionMatrix', () => {
  it('counts exactly past 2^32 (float64 counts, no 32-bit overflow)', () => {
    const m = new ConfusionMatrix(3);
    const big = 2 ** 32 - 5;
    m.addEntries([
      [1, 1, big],
      [1, 1, big],
      [2, 3, 7],
    ]);
    m.addLabels(Int32Array.of(1, 1, 0), Uint16Array.of(1, 1, 9), { ignoreLabel: 9 });
    expect(m.get(1, 1)).toBe(2 * big + 2);
    expect(m.get(0, 3)).toBe(1);
    expect(m.nonzero()).toEqual([
      [0, 3, 1],
      [1, 1, 2 * big + 2],
      [2, 3, 7],
    ]);
    const metrics = semSegMetrics(m);
    expect(metrics.validPixels).toBe(2 * big + 2);
    expect(metrics.ignoredPixels).toBe(8);
    expect(metrics.pACC).toBe(100);
    expect(() => m.addEntries([[1, 1, 2 ** 53 - 100]])).toThrow(/exceeds 2\^53/);
    expect(() => m.addEntries([[0, 0, 2 ** 53]])).toThrow(/bad confusion entry/);
  });

  it('merges: the sum of two matrices equals counting everything in one', () => {
    const pred = Int32Array.from({ length: 50 }, (_, i) => (i * 7) % 4);
    const gt = Uint8Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? 255 : (i * 3) % 4));
    const whole = new ConfusionMatrix(4);
    whole.addLabels(pred, gt, { ignoreLabel: 255 });
    const a = new ConfusionMatrix(4);
    const b = new ConfusionMatrix(4);
    a.addLabels(pred.subarray(0, 20), gt.subarray(0, 20), { ignoreLabel: 255 });
    b.addLabels(pred.subarray(20), gt.subarray(20), { ignoreLabel: 255 });
    a.merge(b);
    expect(a.nonzero()).toEqual(whole.nonzero());
    expect(() => a.merge(new ConfusionMatrix(5))).toThrow(/5 classes into one of 4/);
  });

  it('refuses a label value that is neither a class nor the ignore label, naming file, value and pixel', () => {
    const m = new ConfusionMatrix(150);
    const gt = new Uint8Array(12).fill(3);
    gt[7] = 151;
    expect(() => m.addLabels(new Int32Array(12), gt, { ignoreLabel: 255, source: 'x/ADE_1.png', width: 4 })).toThrow(
      'x/ADE_1.png: label value 151 at pixel (x 3, y 1) is neither a class (0…149) nor the ignore label 255',
    );
    expect(m.nonzero()).toEqual([]); // nothing counted from the bad image
    expect(() => m.addEntries([[0, 151, 1]], 'a.json')).toThrow(/a\.json: bad confusion entry \[0,151,1\]/);
  });

  it('VOC-20b: predictions of background prompts (≥ 20) count as background', () => {
    expect(Array.from(clampBackground(Int32Array.of(0, 19, 20, 21, 58), 20))).toEqual([0, 19, 20, 20, 20]);
  });

  it('metrics by hand: mIoU over gt classes, v0.6 over gt or pred, fwIoU, mACC, pACC', () => {
    // T = 3; gt: class 0 ×4, class 1 ×2; pred puts one class-0 pixel in class 2 (never in gt)
    const m = new ConfusionMatrix(3);
    m.addLabels(Int32Array.of(0, 0, 0, 2, 1, 0, 1), Uint8Array.of(0, 0, 0, 0, 1, 1, 255), { ignoreLabel: 255 });
    const r = semSegMetrics(m);
    const iou0 = 3 / (4 + 4 - 3);
    const iou1 = 1 / (2 + 1 - 1);
    expect(r.iou[0]).toBeCloseTo(100 * iou0, 12);
    expect(r.iou[1]).toBeCloseTo(100 * iou1, 12);
    expect(r.iou[2]).toBeNull();
    expect(r.mIoU).toBeCloseTo((100 * (iou0 + iou1)) / 2, 12);
    expect(r.mIoU_v06).toBeCloseTo((100 * (iou0 + iou1)) / 3, 12);
    expect(r.fwIoU).toBeCloseTo(100 * (iou0 * (4 / 6) + iou1 * (2 / 6)), 12);
    expect(r.mACC).toBeCloseTo(100 * ((3 / 4 + 1 / 2) / 2), 12);
    expect(r.pACC).toBeCloseTo((100 * 4) / 6, 12);
    expect(r.ignoredPixels).toBe(1);
  });
});
