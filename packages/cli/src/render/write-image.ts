/** Writes an RGB image to a file with sharp. */

import { extname } from 'node:path';
import sharp from 'sharp';
import { SedsegError, assertRgbImage, type RgbImage } from '@sedseg/core';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/**
 * The format for an output path by its extension (case-insensitive): .jpg/.jpeg → 'jpeg',
 * .webp → 'webp', anything else (.png, none, unknown) → 'png'.
 */
export function imageFormatForPath(path: string): ImageFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.webp') return 'webp';
  return 'png';
}

/**
 * Encodes `image` (8-bit RGB) and writes it to `path`, overwriting it: `format` if given, else by
 * extension (see {@link imageFormatForPath}). PNG: lossless (zlib level 6); JPEG: quality 90 (4:2:0);
 * WebP: quality 90 (lossy). The parent folder must exist. Errors are `SedsegError`s: `E_ARGUMENT`
 * for a malformed image, `E_IO` when the file cannot be written.
 */
export async function writeRgbImage(path: string, image: RgbImage, format?: ImageFormat): Promise<void> {
  assertRgbImage(image);
  const fmt = format ?? imageFormatForPath(path);
  const { width, height, data } = image;
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pipeline = sharp(input, { raw: { width, height, channels: 3 }, limitInputPixels: false });
  if (fmt === 'jpeg') pipeline = pipeline.jpeg({ quality: 90 });
  else if (fmt === 'webp') pipeline = pipeline.webp({ quality: 90 });
  else pipeline = pipeline.png({ compressionLevel: 6 });
  try {
    await pipeline.toFile(path);
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new SedsegError('E_IO', `${path}: cannot write ${fmt.toUpperCase()} image (${why})`, { cause: e });
  }
}
