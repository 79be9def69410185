import { SedsegError } from '../errors.js';

/** An 8-bit RGB image, pixels interleaved row by row (H×W×3). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/** Checks that `image` is a well-formed RGB image (3 bytes per pixel). */
export function assertRgbImage(image: RgbImage, what = 'image'): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SedsegError('E_ARGUMENT', `${what}: invalid size ${width}×${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new SedsegError('E_ARGUMENT', `${what}: ${data.length} bytes for ${width}×${height} RGB (expected ${width * height * 3})`);
  }
}
