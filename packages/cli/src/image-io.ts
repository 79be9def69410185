import { access } from 'node:fs/promises';
import sharp from 'sharp';
import { SedsegError, type RgbImage } from '@sedseg/core';

/**
 * Decodes an image file (JPEG, PNG, WebP, TIFF, GIF, AVIF, …) to 8-bit sRGB: EXIF orientation
 * applied, alpha dropped.
 */
export async function readRgbImage(path: string): Promise<RgbImage> {
  try {
    await access(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SedsegError('E_IO', `${path}: cannot open (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message})`);
  }
  try {
    const { data, info } = await sharp(path, { failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new SedsegError('E_FORMAT', `${path}: not a readable image (${why})`, { cause: e });
  }
}
