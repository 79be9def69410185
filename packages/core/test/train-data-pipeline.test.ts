/**
 * The training data pipeline around the augmentation: PRNG streams, the sampler, the synthetic
 * dataset, dataset validation (in memory and on disk) and batch assembly.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  batchIndices,
  checkTrainingClasses,
  checkTrainingSample,
  epochPermutation,
  loadTrainingBatch,
  memoryTrainingDataset,
  SeededRandom,
  SYNTHETIC_CLASS_NAMES,
  syntheticDataset,
  syntheticSample,
  TrainingSampler,
  trainAugmentationOptions,
  trainDataset,
} from '../src/index.js';
import { decodePngLabels, encodePng8, openTrainingDataset, openTrainingFolder, scanTrainingLabels, writeSyntheticDataset } from '../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'sedseg-train-data-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SeededRandom', () => {
  it('is deterministic per key path and independent across paths', () => {
    const take = (r: SeededRandom) => Array.from({ length: 8 }, () => r.uint32());
    expect(take(new SeededRandom(7, 2, 100, 3))).toEqual(take(new SeededRandom(7, 2, 100, 3)));
    const paths = [[7], [7, 0], [8], [7, 2, 100, 3], [7, 2, 101, 3], [7, 2, 100, 4], [7, 2, 2 ** 40, 3]];
    const firsts = new Set(paths.map((p) => take(new SeededRandom(...p)).join()));
    expect(firsts.size).toBe(paths.length);
    // neighbouring streams are uncorrelated: E[a·b] ≈ 1/4 for independent U(0,1)
    const a = new SeededRandom(1, 2, 3, 0);
    const b = new SeededRandom(1, 2, 3, 1);
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += a.float() * b.float();
    expect(Math.abs(sum / 20000 - 0.25)).toBeLessThan(0.01);
    expect(() => new SeededRandom(-1)).toThrow(/non-negative safe integer/);
  });

  it('draws floats in [0, 1), unbiased ints in [lo, hi), choices and permutations', () => {
    const r = new SeededRandom(11);
    const hist = new Array(7).fill(0);
    for (let i = 0; i < 7000; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
      hist[r.int(-3, 4) + 3]++;
    }
    for (const h of hist) expect(Math.abs(h - 1000)).toBeLessThan(150);
    expect(['a', 'b']).toContain(r.choice(['a', 'b']));
    expect([...r.permutation(50)].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(() => r.int(3, 3)).toThrow(/range/);
  });
});

describe('TrainingSampler', () => {
  it('gives the batch of an iteration as a pure function of (N, B, seed, iteration)', () => {
    const s = new TrainingSampler(10, 3, 42);
    const late = s.batch(17);
    s.batch(0);
    s.batch(5);
    expect(s.batch(17)).toEqual(late);
    expect(batchIndices(10, 3, 42, 17)).toEqual(late);
    expect(batchIndices(10, 3, 43, 17)).not.toEqual(late);
  });

  it('covers every sample once per epoch, with a new order each epoch (batches straddle epochs)', () => {
    const n = 10;
    const stream = Array.from({ length: 10 }, (_, i) => batchIndices(n, 3, 42, i)).flat(); // 30 = 3 epochs
    for (let e = 0; e < 3; e++) {
      const epoch = stream.slice(e * n, (e + 1) * n);
      expect([...epoch].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(epoch).toEqual([...epochPermutation(n, 42, e)]);
    }
    expect(stream.slice(0, n)).not.toEqual(stream.slice(n, 2 * n));
    expect(new TrainingSampler(n, 3, 42).epochOf(4)).toBe(1);
  });
});

describe('synthetic shapes', () => {
  it('is deterministic, has every class in any 4 images, and ignore borders when asked', () => {
    const a = syntheticDataset(4, 9);
    expect(syntheticDataset(4, 9)).toEqual(a);
    expect(syntheticSample(10, 0).image.data).not.toEqual(a[0]!.image.data);
    const values = new Set(a.flatMap((s) => [...s.labels.data]));
    expect([...values].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 255]);
    expect(a[0]!.classNames).toEqual(['grass', 'red circle', 'blue square', 'yellow triangle', 'white stripe']);
    const clean = syntheticSample(9, 1, { ignoreBorders: false, width: 32, height: 24 });
    expect(clean.labels.data.includes(255)).toBe(false);
    expect([clean.image.width, clean.image.height, clean.image.data.length]).toEqual([32, 24, 32 * 24 * 3]);
    // each class has its own colour: mean red of "red circle" pixels well above "blue square" ones
    const meanRed = (cls: number) => {
      let s = 0;
      let n = 0;
      for (const x of a) {
        for (let i = 0; i < x.labels.data.length; i++) {
          if (x.labels.data[i] !== cls) continue;
          s += x.image.data[i * 3]!;
          n++;
        }
      }
      return s / n;
    };
    expect(meanRed(1) - meanRed(2)).toBeGreaterThan(100);
  });
});

describe('training dataset validation', () => {
  const sample = syntheticSample(1, 0);

  it('names the file for a label map of another size, a value outside the classes, a bad class list', () => {
    const labels = { width: 63, height: 64, data: new Uint8Array(63 * 64) };
    expect(() => checkTrainingSample({ name: 'a/x.png', image: sample.image, labels }, 5, 255)).toThrow('a/x.png: label map is 63×64 but the image is 64×64');
    const bad = { ...sample.labels, data: sample.labels.data.slice() };
    bad.data[64 * 2 + 5] = 7;
    expect(() => checkTrainingSample({ name: 'b.png', image: sample.image, labels: bad }, 5, 255)).toThrow(
      'b.png: label value 7 at (x 5, y 2) is not a class: the class list has T = 5 classes (values 0…4) and the ignore label is 255',
    );
    expect(() => memoryTrainingDataset([], SYNTHETIC_CLASS_NAMES, 255)).toThrow('the training dataset is empty');
    expect(() => checkTrainingClasses(['a', 'b', 'a'], 255)).toThrow(/"a" appears twice/);
    expect(() => checkTrainingClasses(['a', 'b', 'c'], 1)).toThrow(/ignore label 1 is also class 1 \("b"\)/);
    // labels using values beyond the class count: a 3-class list for the 5-class synthetic set
    expect(() => memoryTrainingDataset(syntheticDataset(4, 1), ['grass', 'red circle', 'blue square'], 255)).toThrow(
      /sample \d: label value [34] at .* T = 3 classes/,
    );
  });

  it('reads a folder pair written by writeSyntheticDataset, checking each sample and scanning labels', async () => {
    const root = join(dir, 'synthetic');
    const written = await writeSyntheticDataset(root, 6, 5);
    // the core has no RGB decoder: the images are regenerated from the file name
    const readImage = async (path: string) => syntheticSample(5, Number(path.slice(-10, -4))).image;
    const folder = await openTrainingFolder({
      imageDir: written.imageDir,
      labelDir: written.labelDir,
      imageExt: 'png',
      classNames: written.classNames,
      readImage,
    });
    expect(folder.size).toBe(6);
    const s = await folder.read(3);
    expect(s.labels.data).toEqual(syntheticSample(5, 3).labels.data);
    const scan = await scanTrainingLabels(folder);
    expect(scan.unusedClasses).toEqual([]);
    expect(scan.classPixels.reduce((a, b) => a + b, 0) + scan.ignoredPixels).toBe(6 * 64 * 64);

    const short = await openTrainingFolder({
      imageDir: written.imageDir,
      labelDir: written.labelDir,
      imageExt: 'png',
      classNames: ['grass', 'red circle'],
      readImage,
    });
    await expect(scanTrainingLabels(short)).rejects.toThrow(/labels\/\d{6}\.png: label value [234] at .* T = 2 classes/);
    const wrongSize = await openTrainingFolder({
      imageDir: written.imageDir,
      labelDir: written.labelDir,
      imageExt: 'png',
      classNames: written.classNames,
      readImage: async () => syntheticSample(5, 0, { width: 32 }).image,
    });
    await expect(wrongSize.read(0)).rejects.toThrow(/000000\.png: label map is 64×64 but the image is 32×64/);

    mkdirSync(join(dir, 'empty-images'));
    mkdirSync(join(dir, 'empty-labels'));
    writeFileSync(join(dir, 'empty-images', 'a.jpg'), '');
    await expect(
      openTrainingFolder({ imageDir: join(dir, 'empty-images'), labelDir: join(dir, 'empty-labels'), classNames: ['a'], readImage }),
    ).rejects.toThrow(/label folder .*empty-labels: no \*\.png file/);
  });

  it('knows the authors training split layouts', async () => {
    expect(trainDataset('COCO_Stuff')).toMatchObject({
      registration: 'coco_2017_train_stuff_all_sem_seg',
      imageDir: 'coco-stuff/images/train2017',
      labelDir: 'coco-stuff/annotations_detectron2/train2017',
      ignoreLabel: 255,
    });
    expect(trainDataset('coco-stuff').classNames).toHaveLength(171);
    expect(trainDataset('ade-150').labelDir).toBe('ADEChallengeData2016/annotations_detectron2/training');
    expect(() => trainDataset('voc')).toThrow(/unknown training dataset "voc" \(training datasets: coco-stuff, ade150\)/);
    await expect(openTrainingDataset({ dataset: 'ade150', root: join(dir, 'nowhere'), readImage: async () => sample.image })).rejects.toThrow(
      /cannot list \(no such folder\)/,
    );
  });

  it('writes PNGs that read back', () => {
    const png = encodePng8(3, 2, 1, Uint8Array.of(0, 1, 255, 3, 4, 5));
    expect([...decodePngLabels(png).data]).toEqual([0, 1, 255, 3, 4, 5]);
    expect(() => encodePng8(3, 2, 3, new Uint8Array(5))).toThrow(/do not make a 3×2×3 image/);
  });
});

describe('loadTrainingBatch', () => {
  it('stacks augmented samples NHWC, reproducibly per iteration', async () => {
    const dataset = memoryTrainingDataset(syntheticDataset(8, 2), SYNTHETIC_CLASS_NAMES, 255);
    const options = { seed: 3, batchSize: 4, augmentation: trainAugmentationOptions(32) };
    const b = await loadTrainingBatch(dataset, 5, options);
    expect([b.batchSize, b.height, b.width, b.images.length, b.labels.length]).toEqual([4, 32, 32, 4 * 32 * 32 * 3, 4 * 32 * 32]);
    expect(b.indices).toEqual(batchIndices(8, 4, 3, 5));
    const again = await loadTrainingBatch(dataset, 5, { ...options, sampler: new TrainingSampler(8, 4, 3) });
    expect(again).toEqual(b);
    const next = await loadTrainingBatch(dataset, 6, options);
    expect(next.images).not.toEqual(b.images);
    expect(b.labels.every((v) => (v >= 0 && v < 5) || v === 255)).toBe(true);
  });
});
