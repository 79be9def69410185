/**
 * `sedseg eval` against the reference's golden data (reference/eval), within the suite's time:
 * the test-time resize of every image bit for bit (decoded and resized SHA-256), the full path
 * on the first ADE-150 image and the CER top-8 path on the PC-459 image whose post-process crop
 * is effective (40×2800 → 37×2560). Every predicted pixel equals the reference's except at its
 * near ties, and the confusion counts differ only there. eval-acceptance.test.ts runs all images
 * of both datasets on both paths (SEDSEG_EVAL_ACCEPTANCE=1; several minutes).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalInput } from '@sedseg/core';
import { readImageFile } from '../src/image-io.js';
import { compareWithGolden, golden, TINY_EVAL_ARGS } from './eval-golden.js';
import { runCliAsync } from './run-cli.js';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sedseg-eval-golden-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(['ade150-mini', 'pc459-mini'] as const)('test-time resize of %s', (name) => {
  it('decodes each JPEG and resizes it (ResizeShortestEdge + Pillow bilinear) bit for bit', async () => {
    const g = golden(name);
    for (const im of g.images) {
      const { image } = await readImageFile(join(g.root, im.image_file));
      expect(createHash('sha256').update(image.data).digest('hex'), im.image_file).toBe(im.decoded_rgb_sha256);
      const prepared = evalInput(image);
      expect([prepared.resized.height, prepared.resized.width]).toEqual([im.resized_height, im.resized_width]);
      expect(createHash('sha256').update(prepared.input.data).digest('hex'), im.image_file).toBe(im.resized_rgb_sha256);
      expect([prepared.crop(320).height, prepared.crop(320).width]).toEqual(im.postprocess_crop);
    }
  });
});

interface Result {
  metrics: { mIoU: number; mIoU_v06: number } & Record<string, number>;
  confusion: [number, number, number][];
  iou: (number | null)[];
  acc: (number | null)[];
  images: { image: string; kept_per_stage: number[] | null }[];
  settings: Record<string, unknown>;
  cer: { topk: number; mean_kept_per_stage: number[] } | null;
  speed: { images_per_second: number };
}

async function evaluate(args: string[], tag: string): Promise<{ result: Result; predictions: string; stdout: string }> {
  const out = join(work, `${tag}.json`);
  const predictions = join(work, `${tag}-predictions`);
  const r = await runCliAsync(['eval', ...args, ...TINY_EVAL_ARGS, '--out', out, '--save-predictions', predictions, '--cache-dir', join(work, 'cache')], {
    timeout: 120_000,
  });
  expect(r.stderr + r.stdout).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(0);
  return { result: JSON.parse(readFileSync(out, 'utf8')) as Result, predictions, stdout: r.stdout };
}

describe('sedseg eval against the golden data (tiny model, R 320, pooling 1)', () => {
  it('ADE-150, full path, first image: labels equal the reference except at near ties', async () => {
    const g = golden('ade150-mini');
    const { result, predictions, stdout } = await evaluate(['--dataset', 'ade150', '--root', g.root, '--limit', '1'], 'ade150-full');
    const c = await compareWithGolden(g, 'full', result, predictions);
    expect(c.differingOutsideTies).toBe(0);
    expect(c.countsExplainedByTies).toBe(true);
    expect(Math.abs(c.mIoUDiff)).toBeLessThan(0.05);
    expect(Math.abs(c.mIoUv06Diff)).toBeLessThan(0.05);
    // the JSON's form
    expect(Object.keys(result.metrics).sort()).toEqual(['fwIoU', 'mACC', 'mIoU', 'mIoU_v06', 'pACC']);
    expect(result.iou).toHaveLength(150);
    expect(result.acc).toHaveLength(150);
    const sorted = [...result.confusion].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(result.confusion).toEqual(sorted);
    expect(result.images.map((im) => im.image)).toEqual(['ADE_val_00000001.jpg']);
    expect(result.settings).toMatchObject({
      dataset: 'ade150',
      resolution: 320,
      decoder_pooling: 1,
      topk: null,
      ignore_label: 255,
      num_classes: 150,
      limit: 1,
    });
    expect(result.cer).toBeNull();
    expect(result.speed.images_per_second).toBeGreaterThan(0);
    expect(stdout).toMatch(/mIoU \d+\.\d\d {2}fwIoU \d+\.\d\d {2}mACC \d+\.\d\d {2}pACC \d+\.\d\d/);
  }, 120_000);

  it('PC-459, CER top-8, the 40×2800 image (effective post-process crop): labels and kept classes as the reference', async () => {
    const g = golden('pc459-mini');
    const im = g.images.find((i) => i.image_file.endsWith('2009_001011.jpg'))!;
    expect(im.postprocess_crop).toEqual([37, 80]);
    // a datasets root with only this pair, in the authors' layout
    const root = join(work, 'pc459-one');
    const images = join(root, 'VOCdevkit/VOC2010/JPEGImages');
    const labels = join(root, 'VOCdevkit/VOC2010/annotations_detectron2/pc459_val');
    mkdirSync(images, { recursive: true });
    mkdirSync(labels, { recursive: true });
    symlinkSync(join(g.root, im.image_file), join(images, '2009_001011.jpg'));
    symlinkSync(join(g.root, im.gt_file), join(labels, '2009_001011.tif'));
    const { result, predictions } = await evaluate(['--dataset', 'pc459', '--root', root, '--topk', '8'], 'pc459-cer');
    expect(result.images[0]!.kept_per_stage).toEqual(im.cer_top8.kept_per_stage);
    expect(result.cer).toEqual({ topk: 8, mean_kept_per_stage: im.cer_top8.kept_per_stage });
    const c = await compareWithGolden(g, 'cer', result, predictions);
    expect(c.differingOutsideTies).toBe(0);
    expect(c.countsExplainedByTies).toBe(true);
    expect(Math.abs(c.mIoUDiff)).toBeLessThan(0.05);
    expect(Math.abs(c.mIoUv06Diff)).toBeLessThan(0.05);
  }, 120_000);
});
