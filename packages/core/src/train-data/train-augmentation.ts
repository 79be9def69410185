/**
 * The authors' training augmentation (`MaskFormerSemanticDatasetMapper` in xb534/SED with the
 * detectron2 transforms), one step per function, in the mapper's order:
 *
 * 1. `ResizeShortestEdge(MIN_SIZE_TRAIN, MAX_SIZE_TRAIN, "choice")`: short side = a size drawn
 *    from the list, long side capped; image by PIL bilinear, labels by torch nearest;
 * 2. `RandomCrop_CategoryAreaConstraint("absolute", CROP.SIZE, SINGLE_CATEGORY_MAX_AREA,
 *    ignore)`: a crop of `min(crop, image)` per side; with an area limit < 1, up to 10 windows
 *    are drawn until no single class (ignore excluded) covers ≥ the limit and ≥ 2 classes show;
 * 3. `ColorAugSSDTransform` (image only);
 * 4. `RandomFlip()`: horizontal with p 0.5;
 * 5. pad right/bottom to `SIZE_DIVISIBILITY` (image 128, labels ignore) — the mapper pads to
 *    exactly that size (`size_divisibility − size`), not to a multiple of it.
 *
 * Random draws happen in the same order as in detectron2 (size, crop y, crop x per attempt,
 * colour, flip), from one stream per sample.
 */
import { SedsegError } from '../errors.js';
import { pilResizeBilinear } from '../eval/pil-resize.js';
import { resizeShortestEdgeSize } from '../eval/test-resize.js';
import { assertRgbImage, type RgbImage } from '../image/rgb-image.js';
import { colorAugSsd } from './color-aug-ssd.js';
import { resizeLabelsNearest } from './label-resize.js';
import { assertLabelImage, cropRaster, flipRasterHorizontal, type LabelImage, padRasterTo, type Raster } from './raster.js';
import type { SeededRandom } from './seeded-random.js';

export interface TrainAugmentationOptions {
  /** `INPUT.MIN_SIZE_TRAIN`: short-side lengths, one drawn per sample ("choice"); 0 = no resize. */
  minSizeTrain: readonly number[];
  /** `INPUT.MAX_SIZE_TRAIN`: cap of the long side after the resize. */
  maxSizeTrain: number;
  /** `INPUT.CROP.SIZE` (`"absolute"`): [height, width]. */
  cropSize: readonly [number, number];
  /** `INPUT.CROP.SINGLE_CATEGORY_MAX_AREA`; 1 disables the constraint. */
  singleCategoryMaxArea: number;
  /** `MODEL.SEM_SEG_HEAD.IGNORE_VALUE`. */
  ignoreLabel: number;
  /** `INPUT.COLOR_AUG_SSD`. */
  colorAug: boolean;
  /** `RandomFlip()` (horizontal, p 0.5). */
  flip: boolean;
  /** `INPUT.SIZE_DIVISIBILITY`: output side after padding; ≤ 0: no padding. */
  sizeDivisibility: number;
}

/** The authors' values (configs/convnextB_768.yaml over configs/config.yaml). */
export const SED_TRAIN_AUGMENTATION: Readonly<TrainAugmentationOptions> = Object.freeze({
  minSizeTrain: Object.freeze([768]),
  maxSizeTrain: 2666,
  cropSize: Object.freeze([768, 768] as const),
  singleCategoryMaxArea: 1.0,
  ignoreLabel: 255,
  colorAug: true,
  flip: true,
  sizeDivisibility: 768,
});

/** Image padding value of the mapper (`F.pad(image, …, value=128)`). */
export const IMAGE_PAD_VALUE = 128;

/**
 * The authors' augmentation scaled to a square crop of side `crop`: short side `crop`, long-side
 * cap `round(crop · 2666 / 768)`, crop `crop × crop`, padding to `crop`; the rest unchanged.
 * At 768 this is exactly the authors' configuration.
 */
export function trainAugmentationOptions(crop: number, overrides: Partial<TrainAugmentationOptions> = {}): TrainAugmentationOptions {
  if (!Number.isInteger(crop) || crop < 1) throw new SedsegError('E_ARGUMENT', `crop size must be a positive integer, got ${crop}`);
  const base = SED_TRAIN_AUGMENTATION;
  const options: TrainAugmentationOptions = {
    ...base,
    minSizeTrain: [crop],
    maxSizeTrain: Math.round((crop * base.maxSizeTrain) / base.minSizeTrain[0]!),
    cropSize: [crop, crop],
    sizeDivisibility: crop,
    ...overrides,
  };
  validateTrainAugmentationOptions(options);
  return options;
}

/** Refuses options the pipeline cannot apply, naming the field. */
export function validateTrainAugmentationOptions(o: TrainAugmentationOptions): void {
  const bad = (what: string): never => {
    throw new SedsegError('E_ARGUMENT', `augmentation: ${what}`);
  };
  if (o.minSizeTrain.length === 0 || o.minSizeTrain.some((s) => !Number.isInteger(s) || s < 0))
    bad(`minSizeTrain must be integers ≥ 0, got [${o.minSizeTrain}]`);
  if (!(o.maxSizeTrain > 0)) bad(`maxSizeTrain must be > 0, got ${o.maxSizeTrain}`);
  if (o.cropSize.length !== 2 || o.cropSize.some((s) => !Number.isInteger(s) || s < 1)) bad(`cropSize must be two positive integers, got [${o.cropSize}]`);
  if (!(o.singleCategoryMaxArea > 0)) bad(`singleCategoryMaxArea must be > 0, got ${o.singleCategoryMaxArea}`);
  if (!Number.isInteger(o.ignoreLabel) || o.ignoreLabel < 0) bad(`ignoreLabel must be an integer ≥ 0, got ${o.ignoreLabel}`);
  if (!Number.isInteger(o.sizeDivisibility)) bad(`sizeDivisibility must be an integer, got ${o.sizeDivisibility}`);
}

/** An augmented sample: image and labels of the same size (`sizeDivisibility`² when padding). */
export interface AugmentedSample {
  image: RgbImage;
  labels: { width: number; height: number; data: Int32Array };
}

type Sample = { image: Raster<Uint8Array | Uint8ClampedArray>; labels: Raster<Int32Array> };

const toSample = (image: RgbImage, labels: { width: number; height: number; data: Int32Array }): Sample => ({
  image: { width: image.width, height: image.height, channels: 3, data: image.data },
  labels: { width: labels.width, height: labels.height, channels: 1, data: labels.data },
});

/** Step 1's draw: `np.random.choice(short_edge_length)`. */
export function sampleShortEdge(minSizeTrain: readonly number[], rng: SeededRandom): number {
  return rng.choice(minSizeTrain);
}

/** Step 1: detectron2 `ResizeShortestEdge` with a drawn short side (0: unchanged, as NoOpTransform). */
export function resizeShortestEdge(image: RgbImage, labels: LabelImage, shortEdge: number, maxSize: number): AugmentedSample {
  const int = Int32Array.from(labels.data);
  if (shortEdge === 0) return { image, labels: { width: labels.width, height: labels.height, data: int } };
  const { height, width } = resizeShortestEdgeSize(image.height, image.width, shortEdge, maxSize);
  return {
    image: pilResizeBilinear(image, width, height),
    labels: resizeLabelsNearest({ width: labels.width, height: labels.height, data: int }, width, height),
  };
}

export interface CropWindow {
  x0: number;
  y0: number;
  width: number;
  height: number;
  /** Windows drawn (1 without the area constraint, up to 10 with it). */
  attempts: number;
}

/**
 * Step 2's window: `RandomCrop("absolute")` (size `min(crop, image)` per side, `y0` then `x0`
 * uniform), or with `singleCategoryMaxArea < 1` detectron2's `RandomCrop_CategoryAreaConstraint`:
 * up to 10 windows, stopping at the first with ≥ 2 non-ignored classes and the largest count
 * `< sum · limit`; if none passes, the 10th is used.
 */
export function chooseCrop(
  labels: { width: number; height: number; data: ArrayLike<number> },
  cropSize: readonly [number, number],
  singleCategoryMaxArea: number,
  ignoreLabel: number,
  rng: SeededRandom,
): CropWindow {
  const h = labels.height;
  const w = labels.width;
  const ch = Math.min(cropSize[0], h);
  const cw = Math.min(cropSize[1], w);
  const draw = (): { y0: number; x0: number } => {
    const y0 = rng.int(0, h - ch + 1);
    const x0 = rng.int(0, w - cw + 1);
    return { y0, x0 };
  };
  if (singleCategoryMaxArea >= 1.0) return { ...draw(), width: cw, height: ch, attempts: 1 };
  const counts = new Map<number, number>();
  let win = { y0: 0, x0: 0 };
  let attempts = 0;
  for (; attempts < 10; ) {
    win = draw();
    attempts++;
    counts.clear();
    for (let y = win.y0; y < win.y0 + ch; y++) {
      for (let x = win.x0; x < win.x0 + cw; x++) {
        const v = labels.data[y * w + x]!;
        if (v !== ignoreLabel) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
    }
    let sum = 0;
    let max = 0;
    for (const c of counts.values()) {
      sum += c;
      if (c > max) max = c;
    }
    if (counts.size > 1 && max < sum * singleCategoryMaxArea) break;
  }
  return { ...win, width: cw, height: ch, attempts };
}

const fromRasters = (image: Sample['image'], labels: Sample['labels']): AugmentedSample => ({
  image: { width: image.width, height: image.height, data: image.data },
  labels: { width: labels.width, height: labels.height, data: labels.data },
});

/** Step 2: cut the window out of image and labels. */
export function cropSample(sample: AugmentedSample, c: CropWindow): AugmentedSample {
  const s = toSample(sample.image, sample.labels);
  return fromRasters(cropRaster(s.image, c.x0, c.y0, c.width, c.height), cropRaster(s.labels, c.x0, c.y0, c.width, c.height));
}

/** Step 4: mirror image and labels together. */
export function flipSample(image: RgbImage, labels: { width: number; height: number; data: Int32Array }): AugmentedSample {
  const s = toSample(image, labels);
  return fromRasters(flipRasterHorizontal(s.image), flipRasterHorizontal(s.labels));
}

/** Step 5: pad (or, as F.pad with a negative amount, cut) right/bottom to `size × size`. */
export function padSample(image: RgbImage, labels: { width: number; height: number; data: Int32Array }, size: number, ignoreLabel: number): AugmentedSample {
  if (size <= 0) return { image, labels };
  const s = toSample(image, labels);
  return fromRasters(padRasterTo(s.image, size, size, IMAGE_PAD_VALUE), padRasterTo(s.labels, size, size, ignoreLabel));
}

/** The mapper's augmentation of one sample with the random stream `rng`. */
export function augmentTrainingSample(image: RgbImage, labels: LabelImage, options: TrainAugmentationOptions, rng: SeededRandom): AugmentedSample {
  assertRgbImage(image);
  assertLabelImage(labels);
  if (image.width !== labels.width || image.height !== labels.height) {
    throw new SedsegError('E_ARGUMENT', `image ${image.width}×${image.height} and labels ${labels.width}×${labels.height} differ in size`);
  }
  validateTrainAugmentationOptions(options);
  let out = resizeShortestEdge(image, labels, sampleShortEdge(options.minSizeTrain, rng), options.maxSizeTrain);
  const window = chooseCrop(out.labels, options.cropSize, options.singleCategoryMaxArea, options.ignoreLabel, rng);
  out = cropSample(out, window);
  if (options.colorAug) out = { image: colorAugSsd(out.image, rng), labels: out.labels };
  // RandomFlip: `np.random.uniform() < 0.5`
  if (options.flip && rng.float() < 0.5) out = flipSample(out.image, out.labels);
  return padSample(out.image, out.labels, options.sizeDivisibility, options.ignoreLabel);
}
