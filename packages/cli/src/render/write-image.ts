/** Encodes RGB images with sharp and writes them to files. */

import { extname } from 'node:path';
import sharp from 'sharp';
import { SedsegError, assertRgbImage, type RgbImage } from '@sedseg/core';
import { writeFileAtomic } from '@sedseg/core/node';

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
 * Encodes `image` (8-bit RGB) as `format`. PNG: lossless (zlib level 6); JPEG: quality 90
 * (4:2:0); WebP: quality 90 (lossy). `E_ARGUMENT` for a malformed image, `E_FORMAT` when the
 * encoder fails.
 */
export async function encodeRgbImage(image: RgbImage, format: ImageFormat): Promise<Buffer> {
  assertRgbImage(image);
  const { width, height, data } = image;
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pipeline = sharp(input, { raw: { width, height, channels: 3 }, limitInputPixels: false });
  if (format === 'jpeg') pipeline = pipeline.jpeg({ quality: 90 });
  else if (format === 'webp') pipeline = pipeline.webp({ quality: 90 });
  else pipeline = pipeline.png({ compressionLevel: 6 });
  try {
    return await pipeline.toBuffer();
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new SedsegError('E_FORMAT', `cannot encode a ${width}×${height} ${format.toUpperCase()} image (${why})`, { cause: e });
  }
}

/**
 * Encodes `image` and writes it to `path`, replacing what is there: `format` if given, else by
 * extension (see {@link imageFormatForPath}). Written through a temporary file in the same
 * folder, so `path` never holds half an image. The parent folder must exist. Errors are
 * `SedsegError`s: `E_ARGUMENT` for a malformed image, `E_IO` when the file cannot be written.
 */
export async function writeRgbImage(path: string, image: RgbImage, format?: ImageFormat): Promise<void> {
  const fmt = format ?? imageFormatForPath(path);
  let bytes: Buffer;
  try {
    bytes = await encodeRgbImage(image, fmt);
  } catch (e) {
    if (e instanceof SedsegError && e.code === 'E_FORMAT') throw new SedsegError('E_IO', `${path}: ${e.message}`, { cause: e });
    throw e;
  }
  await writeFileAtomic(path, bytes, { overwrite: true });
}
