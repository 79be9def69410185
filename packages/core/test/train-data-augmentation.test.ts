/**
 * The training augmentation against the detectron2 / OpenCV / PyTorch semantics it follows:
 * ResizeShortestEdge sizes computed by hand, torch legacy nearest for labels, the category-area
 * crop's retries, flip and padding, the SSD colour distortion.
 */
import { describe, expect, it } from 'vitest';
import {
  augmentTrainingSample,
  chooseCrop,
  colorAugSsd,
  flipSample,
  hsvToRgbOpenCv,
  resizeLabelsNearest,
  resizeShortestEdge,
  rgbToHsvOpenCv,
  SED_TRAIN_AUGMENTATION,
  SeededRandom,
  type TrainAugmentationOptions,
  torchNearestIndices,
  trainAugmentationOptions,
} from '../src/index.js';

/** A stream whose int() draws are scripted (to drive the crop retries). */
function scripted(ints: number[]): SeededRandom {
  let k = 0;
  return {
    int: (lo: number, hi: number) => {
      const v = ints[k++];
      if (v === undefined || v < lo || v >= hi) throw new Error(`scripted draw ${k - 1}: ${v} not in [${lo}, ${hi})`);
      return v;
    },
  } as unknown as SeededRandom;
}

/** An image whose red channel is 10 × the label, to check image/label alignment. */
function tagged(width: number, height: number, label: (x: number, y: number) => number) {
  const labels = new Uint8Array(width * height);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = label(x, y);
      labels[y * width + x] = v;
      data.set([v * 10, x, y], (y * width + x) * 3);
    }
  }
  return { image: { width, height, data }, labels: { width, height, data: labels } };
}

const plain = (o: Partial<TrainAugmentationOptions>): TrainAugmentationOptions => ({
  ...SED_TRAIN_AUGMENTATION,
  minSizeTrain: [0],
  colorAug: false,
  flip: false,
  sizeDivisibility: 0,
  ...o,
});

describe('ResizeShortestEdge', () => {
  it('gives detectron2 get_output_shape sizes (short side, long-side cap, int(x + 0.5))', () => {
    const { image, labels } = tagged(640, 480, () => 1);
    // 480×640, short 768: scale 1.6 → 768×1024
    let r = resizeShortestEdge(image, labels, 768, 2666);
    expect([r.image.height, r.image.width, r.labels.height, r.labels.width]).toEqual([768, 1024, 768, 1024]);
    // 100×1000: 768×7680 > 2666 → ×2666/7680: 266.6 → 267, 2666
    const wide = tagged(1000, 100, () => 0);
    r = resizeShortestEdge(wide.image, wide.labels, 768, 2666);
    expect([r.image.height, r.image.width]).toEqual([267, 2666]);
    // 500×333 (portrait): 768/333 · 500 = 1153.15… → 1153×768
    const tall = tagged(333, 500, () => 0);
    r = resizeShortestEdge(tall.image, tall.labels, 768, 2666);
    expect([r.image.height, r.image.width]).toEqual([1153, 768]);
    // short side 0: detectron2's NoOpTransform
    r = resizeShortestEdge(image, labels, 0, 2666);
    expect([r.image.height, r.image.width]).toEqual([480, 640]);
  });

  it('resizes labels with torch legacy nearest (floor(dst · scale)), not PIL pixel centres', () => {
    expect([...torchNearestIndices(3, 5)]).toEqual([0, 0, 1, 1, 2]); // PIL would give [0, 0, 1, 2, 2]
    expect([...torchNearestIndices(3, 6)]).toEqual([0, 0, 1, 1, 2, 2]);
    expect([...torchNearestIndices(5, 2)]).toEqual([0, 2]);
    expect([...torchNearestIndices(4, 4)]).toEqual([0, 1, 2, 3]);
    const out = resizeLabelsNearest({ width: 3, height: 1, data: Uint16Array.of(7, 8, 65535) }, 5, 2);
    expect(out.data).toBeInstanceOf(Uint16Array);
    expect([...out.data]).toEqual([7, 7, 8, 8, 65535, 7, 7, 8, 8, 65535]);
  });
});

describe('RandomCrop_CategoryAreaConstraint', () => {
  // 10×10: class 0 except columns 8–9 (class 1); crop 5×5, limit 0.75: only x0 = 5 passes
  // (x0 < 4: one class; x0 = 4: 20 of 25 ≥ 18.75)
  const labels = { width: 10, height: 10, data: Uint8Array.from({ length: 100 }, (_, i) => (i % 10 >= 8 ? 1 : 0)) };

  it('retries windows that break the area limit and keeps the first that passes', () => {
    const c = chooseCrop(labels, [5, 5], 0.75, 255, scripted([0, 0, 2, 4, 1, 5, 3, 3]));
    expect(c).toEqual({ y0: 1, x0: 5, width: 5, height: 5, attempts: 3 });
  });

  it('uses the 10th window when none passes, ignores the ignore label, and draws once without a limit', () => {
    const draws = Array.from({ length: 20 }, (_, k) => (k % 2 === 0 ? (k / 2) % 6 : 0)); // (y0, x0) = (k mod 6, 0)
    expect(chooseCrop(labels, [5, 5], 0.75, 255, scripted(draws))).toEqual({ y0: 3, x0: 0, width: 5, height: 5, attempts: 10 });
    // ignore pixels do not count: (0, 255, 0) is one class → rejected; (255, 0, 1) passes
    const ign = { width: 4, height: 1, data: Uint8Array.of(0, 255, 0, 1) }; // counting 255 would accept x0 = 0
    expect(chooseCrop(ign, [1, 3], 0.75, 255, scripted([0, 0, 0, 1])).x0).toBe(1);
    expect(chooseCrop(labels, [5, 5], 1.0, 255, scripted([2, 3]))).toEqual({ y0: 2, x0: 3, width: 5, height: 5, attempts: 1 });
  });

  it('crops min(crop, image) and pads right/bottom to sizeDivisibility (image 128, labels ignore)', () => {
    const { image, labels: lab } = tagged(6, 4, (x) => x % 3);
    const out = augmentTrainingSample(image, lab, plain({ cropSize: [8, 8], sizeDivisibility: 8 }), new SeededRandom(1));
    expect([out.image.width, out.image.height, out.labels.width, out.labels.height]).toEqual([8, 8, 8, 8]);
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        const inside = x < 6 && y < 4;
        expect(out.labels.data[y * 8 + x]).toBe(inside ? x % 3 : 255);
        expect(out.image.data[(y * 8 + x) * 3]).toBe(inside ? (x % 3) * 10 : 128);
      }
    }
  });
});

describe('flip and alignment', () => {
  it('flips labels and image together', () => {
    const { image, labels } = tagged(3, 2, (x, y) => x + 3 * y);
    const f = flipSample(image, { ...labels, data: Int32Array.from(labels.data) });
    expect([...f.labels.data]).toEqual([2, 1, 0, 5, 4, 3]);
    expect([...f.image.data.filter((_, i) => i % 3 === 0)]).toEqual([20, 10, 0, 50, 40, 30]);
  });

  it('keeps image and labels aligned through crop, flip and pad; both flip outcomes occur', () => {
    const { image, labels } = tagged(40, 30, (x, y) => ((x >> 3) + (y >> 3)) % 5);
    const options = plain({ cropSize: [16, 20], flip: true, sizeDivisibility: 24 });
    const flips = new Set<boolean>();
    for (let seed = 0; seed < 12; seed++) {
      const out = augmentTrainingSample(image, labels, options, new SeededRandom(seed));
      expect([out.image.width, out.image.height]).toEqual([24, 24]);
      for (let y = 0; y < 24; y++) {
        for (let x = 0; x < 24; x++) {
          const p = y * 24 + x;
          if (x < 20 && y < 16) expect(out.image.data[p * 3]).toBe(10 * out.labels.data[p]!);
          else expect([out.labels.data[p], out.image.data[p * 3]]).toEqual([255, 128]);
        }
      }
      // green = source x: decreasing along a row when flipped
      flips.add(out.image.data[1]! > out.image.data[19 * 3 + 1]!);
    }
    expect(flips).toEqual(new Set([true, false]));
  });

  it('is a pure function of the stream', () => {
    const { image, labels } = tagged(50, 40, (x, y) => (x * y) % 7);
    const options = trainAugmentationOptions(32);
    const a = augmentTrainingSample(image, labels, options, new SeededRandom(5, 2, 9, 1));
    const b = augmentTrainingSample(image, labels, options, new SeededRandom(5, 2, 9, 1));
    expect(a).toEqual(b);
    expect(a.image.data.length).toBe(32 * 32 * 3);
  });
});

describe('ColorAugSSDTransform', () => {
  it('converts like OpenCV 8-bit BGR↔HSV (hue 0…179)', () => {
    const rgb = Uint8Array.of(255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128, 255, 255, 0, 10, 20, 30);
    expect([...rgbToHsvOpenCv(rgb)]).toEqual([0, 255, 255, 60, 255, 255, 120, 255, 255, 0, 0, 128, 30, 255, 255, 105, 170, 30]);
    expect([...hsvToRgbOpenCv(Uint8Array.of(0, 255, 255, 60, 255, 255, 120, 255, 255, 0, 0, 128))]).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128]);
    // greys survive the round trip exactly; colours within OpenCV's quantisation
    const greys = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    expect(hsvToRgbOpenCv(rgbToHsvOpenCv(greys))).toEqual(greys);
    const rng = new SeededRandom(3);
    const colours = Uint8Array.from({ length: 3000 }, () => rng.int(0, 256));
    const back = hsvToRgbOpenCv(rgbToHsvOpenCv(colours));
    let worst = 0;
    for (let i = 0; i < colours.length; i++) worst = Math.max(worst, Math.abs(back[i]! - colours[i]!));
    expect(worst).toBeLessThanOrEqual(6);
  });

  it('changes colours, never labels, and is deterministic per stream', () => {
    const { image, labels } = tagged(16, 12, (x) => x % 4);
    const options = plain({ cropSize: [12, 16], colorAug: true });
    let changed = 0;
    for (let seed = 0; seed < 8; seed++) {
      const out = augmentTrainingSample(image, labels, options, new SeededRandom(seed));
      expect([...out.labels.data]).toEqual([...labels.data]);
      expect(out.image.data).toBeInstanceOf(Uint8Array);
      if (out.image.data.some((v, i) => v !== image.data[i])) changed++;
      expect(colorAugSsd(image, new SeededRandom(seed))).toEqual(colorAugSsd(image, new SeededRandom(seed)));
    }
    expect(changed).toBeGreaterThan(0);
  });
});

describe('options', () => {
  it('scales the authors configuration to a crop size', () => {
    expect(trainAugmentationOptions(768)).toEqual({ ...SED_TRAIN_AUGMENTATION });
    expect(trainAugmentationOptions(384)).toMatchObject({ minSizeTrain: [384], maxSizeTrain: 1333, cropSize: [384, 384], sizeDivisibility: 384 });
    expect(() => trainAugmentationOptions(0)).toThrow(/crop size must be a positive integer/);
    expect(() => trainAugmentationOptions(64, { minSizeTrain: [] })).toThrow(/minSizeTrain/);
  });
});
