/**
 * detectron2's `ColorAugSSDTransform` (projects/PointRend, used by the authors' mapper with
 * `COLOR_AUG_SSD: True`): the SSD photometric distortions on a uint8 image.
 *
 * - brightness (p ½): `x + β`, β ~ U(−32, 32);
 * - then, in one of two orders chosen with p ½: contrast, saturation, hue / saturation, hue,
 *   contrast;
 * - contrast (p ½): `x · α`, α ~ U(0.5, 1.5);
 * - saturation (p ½): BGR → HSV, `S · α`, α ~ U(0.5, 1.5), HSV → BGR;
 * - hue (p ½): BGR → HSV, `H ← (H + δ) mod 180`, δ integer in [−18, 18], HSV → BGR.
 *
 * `convert` is numpy float32 arithmetic (`x.astype(float32) · α + β`, the Python float taken as
 * float32), clipped to 0…255 and truncated to uint8. The HSV round trips are OpenCV's 8-bit
 * `cvtColor` (hue 0…179): `COLOR_BGR2HSV` in fixed point with OpenCV's division tables (its SIMD
 * and scalar paths agree), `COLOR_HSV2BGR` in float32 as OpenCV's SIMD path computes it, which
 * truncates `·255` to uint8 (OpenCV's scalar path, used for the last few pixels of a row block,
 * rounds instead: at most 1 level on those pixels). Labels are untouched. The random draws use
 * the given stream in the transform's order; they cannot reproduce Python's `random` sequence.
 */
import type { RgbImage } from '../image/rgb-image.js';
import type { SeededRandom } from './seeded-random.js';

export const COLOR_AUG_SSD = Object.freeze({
  brightnessDelta: 32,
  contrastLow: 0.5,
  contrastHigh: 1.5,
  saturationLow: 0.5,
  saturationHigh: 1.5,
  hueDelta: 18,
});

const HSV_SHIFT = 12;
const HSV_ROUND = 1 << (HSV_SHIFT - 1);

/** OpenCV's `sdiv_table` and `hdiv_table180` (`saturate_cast<int>` rounds half to even). */
const tables = (() => {
  const roundEven = (v: number): number => {
    const r = Math.round(v);
    return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  const sdiv = new Int32Array(256);
  const hdiv = new Int32Array(256);
  for (let i = 1; i < 256; i++) {
    sdiv[i] = roundEven((255 << HSV_SHIFT) / i);
    hdiv[i] = roundEven((180 << HSV_SHIFT) / (6 * i));
  }
  return { sdiv, hdiv };
})();

/** `cv2.cvtColor(bgr, COLOR_BGR2HSV)` of interleaved RGB bytes, written as H, S, V bytes. */
export function rgbToHsvOpenCv(rgb: Uint8Array | Uint8ClampedArray): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i]!;
    const g = rgb[i + 1]!;
    const b = rgb[i + 2]!;
    const v = Math.max(r, g, b);
    const diff = v - Math.min(r, g, b);
    const s = (diff * tables.sdiv[v]! + HSV_ROUND) >> HSV_SHIFT;
    let h = v === r ? g - b : v === g ? b - r + 2 * diff : r - g + 4 * diff;
    h = (h * tables.hdiv[diff]! + HSV_ROUND) >> HSV_SHIFT;
    if (h < 0) h += 180;
    out[i] = h;
    out[i + 1] = s;
    out[i + 2] = v;
  }
  return out;
}

const f32 = Math.fround;
const HSCALE = f32(6 / 180);
const INV255 = f32(1 / 255);

function toByte(x: number): number {
  // v_trunc then v_pack_u / v_pack saturate to 0…255
  return Math.min(Math.max(Math.trunc(f32(x * 255)), 0), 255);
}

/** `cv2.cvtColor(hsv, COLOR_HSV2BGR)` (8-bit, hue 0…179) written back as RGB bytes. */
export function hsvToRgbOpenCv(hsv: Uint8Array): Uint8Array {
  const out = new Uint8Array(hsv.length);
  for (let i = 0; i < hsv.length; i += 3) {
    const s = f32(hsv[i + 1]! * INV255);
    const v = f32(hsv[i + 2]! * INV255);
    const hh = f32(hsv[i]! * HSCALE);
    const pre = Math.trunc(hh);
    const h = f32(hh - pre);
    const sector = pre - 6 * Math.trunc(f32(pre * f32(1 / 6)));
    const tab1 = f32(v * f32(1 - s));
    const tab2 = f32(v * f32(1 - f32(s * h)));
    const tab3 = f32(v * f32(1 - f32(s * f32(1 - h))));
    // OpenCV's sector table {b, g, r}: 0 {1,3,0} 1 {1,0,2} 2 {3,0,1} 3 {0,2,1} 4 {0,1,3} 5 {2,1,0}
    const order = SECTORS[sector] ?? SECTORS[0]!;
    const pick = (k: number): number => (k === 0 ? v : k === 1 ? tab1 : k === 2 ? tab2 : tab3);
    out[i + 2] = toByte(pick(order[0]));
    out[i + 1] = toByte(pick(order[1]));
    out[i] = toByte(pick(order[2]));
  }
  return out;
}

const SECTORS: readonly (readonly [number, number, number])[] = [
  [1, 3, 0],
  [1, 0, 2],
  [3, 0, 1],
  [0, 2, 1],
  [0, 1, 3],
  [2, 1, 0],
];

/** numpy `clip(x.astype(float32) · α + β, 0, 255).astype(uint8)` on channel `channel` of `stride` (all when stride 1). */
function convert(data: Uint8Array, alpha: number, beta: number, channel = 0, stride = 1): void {
  const a = f32(alpha);
  const b = f32(beta);
  for (let i = channel; i < data.length; i += stride) {
    const x = f32(f32(data[i]! * a) + b);
    data[i] = x <= 0 ? 0 : x >= 255 ? 255 : Math.trunc(x);
  }
}

function brightness(data: Uint8Array, rng: SeededRandom): Uint8Array {
  if (rng.int(0, 2)) convert(data, 1, rng.uniform(-COLOR_AUG_SSD.brightnessDelta, COLOR_AUG_SSD.brightnessDelta));
  return data;
}

function contrast(data: Uint8Array, rng: SeededRandom): Uint8Array {
  if (rng.int(0, 2)) convert(data, rng.uniform(COLOR_AUG_SSD.contrastLow, COLOR_AUG_SSD.contrastHigh), 0);
  return data;
}

function saturation(data: Uint8Array, rng: SeededRandom): Uint8Array {
  if (!rng.int(0, 2)) return data;
  const hsv = rgbToHsvOpenCv(data);
  convert(hsv, rng.uniform(COLOR_AUG_SSD.saturationLow, COLOR_AUG_SSD.saturationHigh), 0, 1, 3);
  return hsvToRgbOpenCv(hsv);
}

function hue(data: Uint8Array, rng: SeededRandom): Uint8Array {
  if (!rng.int(0, 2)) return data;
  const hsv = rgbToHsvOpenCv(data);
  const delta = rng.int(-COLOR_AUG_SSD.hueDelta, COLOR_AUG_SSD.hueDelta + 1);
  for (let i = 0; i < hsv.length; i += 3) hsv[i] = (((hsv[i]! + delta) % 180) + 180) % 180;
  return hsvToRgbOpenCv(hsv);
}

/** The SSD colour distortion of `image` (a new image; the input is not modified). */
export function colorAugSsd(image: RgbImage, rng: SeededRandom): RgbImage {
  let data = brightness(new Uint8Array(image.data), rng);
  if (rng.int(0, 2)) {
    data = hue(saturation(contrast(data, rng), rng), rng);
  } else {
    data = contrast(hue(saturation(data, rng), rng), rng);
  }
  return { width: image.width, height: image.height, data };
}
