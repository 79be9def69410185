/**
 * A small synthetic segmentation dataset, deterministic from a seed, that a tiny model can learn
 * in a few hundred steps: a textured grass background and 2–4 coloured shapes per image, each
 * class with its own colour, texture and pixel noise. Class names are plain English phrases so
 * that CLIP-like text embeddings differ ("grass", "red circle", "blue square", "yellow
 * triangle", "white stripe"). Optionally the 1-pixel outline of every shape is labelled
 * `ignore` (255), as annotation borders are in real datasets.
 *
 * Image `i` always contains shape class `1 + (i mod 4)` (painted last, so it stays visible):
 * any 4 consecutive images contain every class.
 */
import { SedsegError } from '../errors.js';
import type { RgbImage } from '../image/rgb-image.js';
import { RANDOM_STREAM, SeededRandom } from './seeded-random.js';

export const SYNTHETIC_CLASS_NAMES: readonly string[] = Object.freeze(['grass', 'red circle', 'blue square', 'yellow triangle', 'white stripe']);

export const SYNTHETIC_IGNORE_LABEL = 255;

export interface SyntheticOptions {
  /** Image width (default 64). */
  width?: number;
  /** Image height (default 64). */
  height?: number;
  /** Label the 1-pixel outline of each shape 255 (default true). */
  ignoreBorders?: boolean;
}

export interface SyntheticSample {
  image: RgbImage;
  labels: { width: number; height: number; data: Uint8Array };
  classNames: readonly string[];
}

/** Base colour and noise amplitude per class. */
const LOOKS: readonly { rgb: readonly [number, number, number]; noise: number }[] = [
  { rgb: [70, 140, 55], noise: 22 },
  { rgb: [205, 45, 40], noise: 18 },
  { rgb: [40, 70, 200], noise: 18 },
  { rgb: [230, 205, 45], noise: 16 },
  { rgb: [235, 235, 230], noise: 10 },
];

/** Per-class texture term (grass blades, a checker on the square, bands on the stripe). */
function texture(cls: number, x: number, y: number): number {
  switch (cls) {
    case 0:
      return ((x * 7 + ((y * 3) >> 2)) % 5) * 6 - 12;
    case 2:
      return ((x >> 2) + (y >> 2)) % 2 === 0 ? 12 : -12;
    case 4:
      return (x + y) % 6 < 3 ? 8 : -8;
    default:
      return 0;
  }
}

type Inside = (x: number, y: number) => boolean;

/** A random shape of class `cls` (1…4) in a W×H image. */
function shapeOf(cls: number, width: number, height: number, rng: SeededRandom): Inside {
  const m = Math.min(width, height);
  const cx = rng.uniform(0.2, 0.8) * width;
  const cy = rng.uniform(0.2, 0.8) * height;
  const r = rng.uniform(0.12, 0.25) * m;
  switch (cls) {
    case 1:
      return (x, y) => (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r;
    case 2:
      return (x, y) => Math.abs(x + 0.5 - cx) <= r && Math.abs(y + 0.5 - cy) <= r;
    case 3: {
      // upright triangle: apex above the centre, base below
      const top = cy - r;
      const base = cy + r;
      return (x, y) => {
        const py = y + 0.5;
        if (py < top || py > base) return false;
        const half = ((py - top) / (base - top)) * r * 1.1;
        return Math.abs(x + 0.5 - cx) <= half;
      };
    }
    default: {
      // a band through (cx, cy) at a random angle
      const angle = rng.uniform(0, Math.PI);
      const nx = Math.cos(angle);
      const ny = Math.sin(angle);
      const halfWidth = rng.uniform(0.05, 0.09) * m;
      return (x, y) => Math.abs((x + 0.5 - cx) * nx + (y + 0.5 - cy) * ny) <= halfWidth;
    }
  }
}

/** Sample `index` of the dataset of seed `seed`. */
export function syntheticSample(seed: number, index: number, options: SyntheticOptions = {}): SyntheticSample {
  const width = options.width ?? 64;
  const height = options.height ?? 64;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 8 || height < 8) {
    throw new SedsegError('E_ARGUMENT', `synthetic image size must be integers ≥ 8, got ${width}×${height}`);
  }
  const rng = new SeededRandom(seed, RANDOM_STREAM.synthetic, index);
  const guaranteed = 1 + (index % 4);
  const others = [1, 2, 3, 4].filter((c) => c !== guaranteed);
  const extra = rng.int(1, 4); // 1–3 more shapes
  const classes: number[] = [];
  for (let k = 0; k < extra; k++) classes.push(others.splice(rng.int(0, others.length), 1)[0]!);
  classes.push(guaranteed);

  const labels = new Uint8Array(width * height); // 0 = grass
  for (const cls of classes) {
    const inside = shapeOf(cls, width, height, rng);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (inside(x, y)) labels[y * width + x] = cls;
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const cls = labels[p]!;
      const look = LOOKS[cls]!;
      const t = texture(cls, x, y);
      for (let c = 0; c < 3; c++) {
        const v = look.rgb[c]! + t + rng.int(-look.noise, look.noise + 1);
        data[p * 3 + c] = Math.min(Math.max(v, 0), 255);
      }
    }
  }
  if (options.ignoreBorders ?? true) markBorders(labels, width, height);
  return { image: { width, height, data }, labels: { width, height, data: labels }, classNames: SYNTHETIC_CLASS_NAMES };
}

/** Labels 255 every shape pixel with a 4-neighbour of another class (the shape's outline). */
function markBorders(labels: Uint8Array, width: number, height: number): void {
  const src = labels.slice();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = src[y * width + x]!;
      if (v === 0) continue;
      const differs =
        (x > 0 && src[y * width + x - 1] !== v) ||
        (x < width - 1 && src[y * width + x + 1] !== v) ||
        (y > 0 && src[(y - 1) * width + x] !== v) ||
        (y < height - 1 && src[(y + 1) * width + x] !== v);
      if (differs) labels[y * width + x] = SYNTHETIC_IGNORE_LABEL;
    }
  }
}

/** Samples 0 … count−1 of the dataset of seed `seed`. */
export function syntheticDataset(count: number, seed: number, options: SyntheticOptions = {}): SyntheticSample[] {
  if (!Number.isInteger(count) || count < 1) throw new SedsegError('E_ARGUMENT', `synthetic dataset size must be a positive integer, got ${count}`);
  return Array.from({ length: count }, (_, i) => syntheticSample(seed, i, options));
}
