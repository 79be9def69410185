/**
 * SED's input pipeline (DESIGN.md §3.1): per-channel normalisation with CLIP's mean and std,
 * then a bilinear resize (align_corners = false, no antialias) to R×R; aspect ratio not kept.
 */
import { SedsegError } from '../errors.js';
import { assertRgbImage, type RgbImage } from './rgb-image.js';
import { resizeBilinearPlanes } from './resize-bilinear.js';

export const CLIP_PIXEL_MEAN: readonly number[] = [122.7709383, 116.7460125, 104.09373615];
export const CLIP_PIXEL_STD: readonly number[] = [68.5005327, 66.6321579, 70.323163];

/** Checks a model input side R: a positive multiple of 32 (the encoder downsamples 32×). */
export function validateResolution(resolution: number): number {
  if (!Number.isInteger(resolution) || resolution < 32 || resolution % 32 !== 0) {
    throw new SedsegError('E_ARGUMENT', `resolution must be a positive multiple of 32, got ${resolution}`);
  }
  return resolution;
}

/** (x − mean) / std per channel, HWC uint8 → CHW float32 [3, H, W] at the image's own size. */
export function normalizeImage(image: RgbImage): Float32Array {
  assertRgbImage(image);
  const { width: W, height: H, data } = image;
  const chw = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(CLIP_PIXEL_MEAN[c]!);
    const std = Math.fround(CLIP_PIXEL_STD[c]!);
    const plane = c * H * W;
    for (let i = 0; i < H * W; i++) chw[plane + i] = Math.fround(Math.fround(data[i * 3 + c]! - mean) / std);
  }
  return chw;
}

/** Returns the 1×3×R×R float32 model input for an RGB image. */
export function preprocessImage(image: RgbImage, resolution: number): Float32Array {
  assertRgbImage(image);
  validateResolution(resolution);
  const chw = normalizeImage(image);
  return resizeBilinearPlanes(chw, 3, image.height, image.width, resolution, resolution, false);
}
