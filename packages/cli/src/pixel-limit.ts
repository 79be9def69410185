/**
 * `--max-pixels N`: the largest decoded image accepted (width × height), checked from the
 * image's header before it is decoded. Decoding is what costs: a 16000×16000 PNG of 249 kB
 * took 122 s and 3.8 GB. The label map is written at the image's size and the overlay at most
 * about 1.5× its width (the legend panel beside it), so the limit bounds their memory too.
 */
import { UsageError } from './usage-error.js';

/** 100 megapixels: a 12 000 × 8 000 photo passes, a 16 000 × 16 000 scan does not. */
export const DEFAULT_MAX_PIXELS = 100_000_000;
/** The largest limit accepted: 3 bytes a pixel must stay within one buffer. */
export const HARD_MAX_PIXELS = 1_000_000_000;

/** Parses `N` (pixels) or `NM` (megapixels, e.g. `250M`). */
export function maxPixelsOption(text: string | undefined, command: string): number {
  if (text === undefined) return DEFAULT_MAX_PIXELS;
  const m = /^(\d+)([mM]?)$/.exec(text.trim());
  const n = m ? Number(m[1]) * (m[2] ? 1_000_000 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--max-pixels must be a positive number of pixels (e.g. 250000000 or 250M), got "${text}"`, command);
  if (n > HARD_MAX_PIXELS) throw new UsageError(`--max-pixels must be at most ${HARD_MAX_PIXELS / 1e6}M, got ${formatMegapixels(n)}`, command);
  return n;
}

/** `256 megapixels`, `12.5 megapixels`, `3,072 pixels`. */
export function formatMegapixels(pixels: number): string {
  if (pixels < 1e6) return `${pixels.toLocaleString('en-US')} pixels`;
  const mp = pixels / 1e6;
  return `${mp >= 100 || Number.isInteger(mp) ? mp.toFixed(0) : mp.toFixed(1)} megapixels`;
}
