import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import sharp from 'sharp';
import { SedsegError, type RgbImage } from '@sedseg/core';
import { describeFileType } from './file-type.js';
import { DEFAULT_MAX_PIXELS, formatMegapixels } from './pixel-limit.js';

export interface ReadImageOptions {
  /** Largest width × height accepted, checked from the header before decoding (default 100 M). */
  maxPixels?: number;
  /** Corrupt data the decoder works around (a damaged JPEG scan) fails the read instead of being a warning. */
  strict?: boolean;
}

export interface DecodedImage {
  image: RgbImage;
  /** What the decoder worked around (e.g. "Corrupt JPEG data: bad Huffman code"); empty when clean. */
  warnings: string[];
}

function openReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
}

/** Refuses anything but a regular file without blocking (a FIFO opened for reading waits for a writer). */
async function checkRegularFile(path: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new SedsegError('E_IO', `${path}: cannot open (${(e as NodeJS.ErrnoException).code === 'EISDIR' ? 'is a folder' : openReason(e)})`, { cause: e });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new SedsegError('E_IO', `${path}: ${describeFileType(info)}, not an image file`);
  } finally {
    await handle.close();
  }
}

/** libvips' summary lines ("read gave 2 warnings") repeat what the messages say. */
function cleanWarnings(raw: readonly string[]): string[] {
  const out = raw.map((w) => w.trim().replace(/\s+/g, ' ')).filter((w) => w !== '' && !/^read gave \d+ warnings?$/.test(w));
  return [...new Set(out)];
}

/**
 * Decodes an image file (JPEG, PNG, WebP, TIFF, GIF, AVIF, …) to 8-bit sRGB: EXIF orientation
 * applied, alpha dropped. Only regular files are read; images larger than `maxPixels` are
 * refused from their header; data the decoder had to work around come back as `warnings`
 * (or fail the read with `strict`).
 */
export async function readImageFile(path: string, options: ReadImageOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  await checkRegularFile(path);
  const fail = (e: unknown): never => {
    const why = ((e as Error).message ?? String(e)).split('\n')[0];
    throw new SedsegError('E_FORMAT', `${path}: not a readable image (${why})`, { cause: e });
  };
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(path, { limitInputPixels: false }).metadata());
  } catch (e) {
    fail(e);
  }
  if (width !== undefined && height !== undefined && width * height > maxPixels) {
    throw new SedsegError(
      'E_UNSUPPORTED',
      `${path}: ${width}×${height} is ${formatMegapixels(width * height)}, above the limit of ${formatMegapixels(maxPixels)} (--max-pixels raises it)`,
    );
  }
  const warnings: string[] = [];
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(path, { failOn: 'error', limitInputPixels: maxPixels })
      .on('warning', (message: string) => warnings.push(message))
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    return fail(e);
  }
  const { data, info } = decoded;
  if (info.channels !== 3) fail(new Error(`decoded to ${info.channels} channels`));
  const clean = cleanWarnings(warnings);
  if (options.strict && clean.length > 0) {
    throw new SedsegError('E_CORRUPT', `${path}: bad image data (the decoder warned: ${clean.join('; ')}); refused by --strict`);
  }
  return { image: { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }, warnings: clean };
}

/** {@link readImageFile} for callers that only want the pixels (warnings are dropped). */
export async function readRgbImage(path: string, options: ReadImageOptions = {}): Promise<RgbImage> {
  return (await readImageFile(path, options)).image;
}

/** Image size from the header, EXIF orientation applied (as the decoder will). */
export async function readImageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const m = await sharp(path).metadata();
    const swap = (m.orientation ?? 1) >= 5;
    return swap ? { width: m.height!, height: m.width! } : { width: m.width!, height: m.height! };
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${path}: not a readable image (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
}
