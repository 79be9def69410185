/**
 * Colour overlay of a segmentation: the image blended with the class colours, plus a legend of the
 * classes present.
 *
 * Legend: a box in a corner of the image (top-left by default) over a semi-opaque dark background,
 * one row per class present in `labels`, sorted by area (descending, ties by class index): a colour
 * swatch, the class name and its share of the image ("12.3%", "<0.1%" for a non-zero share under
 * 0.05%). Class names: a name with synonyms ("person, human, people") shows its first non-empty
 * synonym ("person"; "class <index>" if there is none), transliterated to the built-in font
 * (see `bitmap-font.ts`), whitespace collapsed, shortened to 32 characters with a final "…". With
 * more classes present than `maxLegendEntries` (or than fit the image height) a last row reads
 * "… N more".
 *
 * Text scale: `legendScale(width, height)` = max(1, ⌊min(width, 4/3 · height) / 500⌋), i.e. 1 up to
 * ~1000 px (5 × 7-pixel capitals, readable at 300 px wide), 8 at 4000 × 3000. If the legend does
 * not fit at that scale the scale is lowered; at scale 1 names may be shortened and rows dropped
 * (with "… N more"); if not even one row with a 3-character name fits (tiny images), there is no
 * legend. Nothing is ever drawn outside the image.
 */

import { SedsegError, assertRgbImage, type RgbImage } from '@sedseg/core';
import { CELL_WIDTH, GLYPH_ASCENT, GLYPH_HEIGHT, LINE_HEIGHT, drawText, transliterate, type RgbTarget } from './bitmap-font.js';
import { classPalette } from './palette.js';

export type LegendCorner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

export interface OverlayOptions {
  /** Class colours, `classes.length × 3` RGB or more (default `classPalette(classes.length)`). */
  palette?: Uint8Array;
  /** Weight of the class colour in [0, 1] (default 0.5). */
  alpha?: number;
  /** Draw the legend (default true). */
  legend?: boolean;
  /** Most class rows in the legend before "… N more" (default 20). */
  maxLegendEntries?: number;
  /** Where the legend goes (default 'top-left'). */
  legendCorner?: LegendCorner;
}

/** Longest class name shown, in characters (longer ones end with "…"). */
export const LEGEND_NAME_MAX_CHARS = 32;

// Legend geometry, in font pixels (multiplied by the scale).
const MARGIN = 4; // between the image border and the box
const PAD = 4; // inside the box
const SWATCH_W = 9;
const SWATCH_H = GLYPH_ASCENT;
const GAP_SWATCH = 4; // swatch → name
const GAP_SHARE = 8; // name → percentage
const BACKGROUND = [12, 12, 12] as const;
const BACKGROUND_OPACITY = 0.7;
const NAME_COLOR = [240, 240, 240] as const;
const SHARE_COLOR = [200, 200, 200] as const;
const MORE_COLOR = [170, 170, 170] as const;
const SWATCH_BORDER = [225, 225, 225] as const;

/**
 * The overlay as a new image (inputs untouched): every pixel is
 * `round((1 − alpha) · image + alpha · colour(label))` per channel, then the legend is drawn on top.
 * `labels` holds one class index in [0, classes.length) per pixel (row-major); `areas[i]` is the
 * share of the image (a fraction in [0, 1]) of class i (a missing or non-finite value is replaced
 * by the share counted in `labels`). Throws `SedsegError` (`E_ARGUMENT`) on inconsistent arguments
 * (a label out of range names its pixel); never because the image is small.
 */
export function renderOverlay(
  image: RgbImage,
  labels: Int32Array,
  classes: readonly string[],
  areas: readonly number[],
  options: OverlayOptions = {},
): RgbImage {
  assertRgbImage(image);
  const { width, height } = image;
  const n = width * height;
  const classCount = classes.length;
  if (labels.length !== n) throw new SedsegError('E_ARGUMENT', `renderOverlay: ${labels.length} labels for a ${width}×${height} image`);
  if (classCount < 1) throw new SedsegError('E_ARGUMENT', 'renderOverlay: no classes');
  if (areas.length !== classCount) throw new SedsegError('E_ARGUMENT', `renderOverlay: ${areas.length} areas for ${classCount} classes`);
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new SedsegError('E_ARGUMENT', `renderOverlay: alpha must be in [0, 1], got ${alpha}`);
  const maxEntries = options.maxLegendEntries ?? 20;
  if (!(maxEntries >= 0)) throw new SedsegError('E_ARGUMENT', `renderOverlay: invalid maxLegendEntries ${maxEntries}`);
  const palette = options.palette ?? classPalette(classCount);
  if (palette.length < classCount * 3) {
    throw new SedsegError('E_ARGUMENT', `renderOverlay: palette has ${Math.floor(palette.length / 3)} colours for ${classCount} classes`);
  }

  // Blend, counting pixels per class on the way.
  const counts = new Float64Array(classCount);
  const keep = 1 - alpha;
  const tint = new Float64Array(classCount * 3);
  for (let i = 0; i < classCount * 3; i++) tint[i] = alpha * palette[i]!;
  const src = image.data;
  const out = new Uint8Array(n * 3);
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const c = labels[i]!;
    if (!(c >= 0 && c < classCount)) {
      throw new SedsegError('E_ARGUMENT', `renderOverlay: pixel (${i % width}, ${Math.floor(i / width)}) has label ${c}, outside [0, ${classCount})`);
    }
    counts[c]!++;
    const t = c * 3;
    out[o] = Math.round(keep * src[o]! + tint[t]!);
    out[o + 1] = Math.round(keep * src[o + 1]! + tint[t + 1]!);
    out[o + 2] = Math.round(keep * src[o + 2]! + tint[t + 2]!);
  }
  const result: RgbImage = { width, height, data: out };

  if (options.legend ?? true) {
    const present: { index: number; share: number }[] = [];
    for (let c = 0; c < classCount; c++) {
      if (counts[c]! === 0) continue;
      const a = areas[c];
      present.push({ index: c, share: typeof a === 'number' && Number.isFinite(a) ? a : counts[c]! / n });
    }
    present.sort((a, b) => b.share - a.share || a.index - b.index);
    const entries = present.map(({ index, share }) => ({
      name: legendName(classes[index] ?? '', index),
      share: formatShare(share),
      color: [palette[index * 3]!, palette[index * 3 + 1]!, palette[index * 3 + 2]!] as const,
    }));
    drawLegend(result, entries, maxEntries, options.legendCorner ?? 'top-left');
  }
  return result;
}

/**
 * The name shown for a class: its first non-empty synonym ("person, human" → "person",
 * ", dog" → "dog"), transliterated to the built-in font, whitespace collapsed, at most
 * {@link LEGEND_NAME_MAX_CHARS} characters (longer: cut, ending in "…"). An empty name shows as
 * "class <index>".
 */
export function legendName(name: string, index = 0): string {
  const first = name.split(',').find((synonym) => synonym.trim() !== '') ?? '';
  let s = transliterate(first).replace(/\s+/g, ' ').trim();
  if (s === '') s = `class ${index}`;
  return truncate(s, LEGEND_NAME_MAX_CHARS);
}

/** A share (fraction in [0, 1]) as a percentage with one decimal: 0.1234 → "12.3%"; tiny but non-zero → "<0.1%". */
export function formatShare(share: number): string {
  const p = share * 100;
  if (p > 0 && p < 0.05) return '<0.1%';
  return `${p.toFixed(1)}%`;
}

/** Text scale for the legend of a `width × height` image (see the module comment). */
export function legendScale(width: number, height: number): number {
  return Math.max(1, Math.floor(Math.min(width, (height * 4) / 3) / 500));
}

/** `s` (drawable characters only) cut to `max` characters, the last one "…" if cut. */
function truncate(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 1) return '…'.slice(0, max);
  return chars.slice(0, max - 1).join('').trimEnd() + '…';
}

interface LegendEntry {
  name: string;
  share: string;
  color: readonly [number, number, number];
}

interface LegendLayout {
  scale: number;
  rows: LegendEntry[];
  more: string | null;
  nameChars: number;
  shareChars: number;
  /** Box size in font pixels. */
  boxW: number;
  boxH: number;
}

const chars = (s: string): number => [...s].length;
const textW = (nChars: number): number => (nChars > 0 ? nChars * CELL_WIDTH - 1 : 0);

/** Layout at `scale`, or null if it does not fit (`strict`: every row and full names required). */
function layoutAt(width: number, height: number, entries: LegendEntry[], maxEntries: number, scale: number, strict: boolean): LegendLayout | null {
  const availW = Math.floor(width / scale) - 2 * MARGIN - 2 * PAD;
  const availH = Math.floor(height / scale) - 2 * MARGIN - 2 * PAD;
  const maxRows = Math.floor((availH + LINE_HEIGHT - GLYPH_HEIGHT) / LINE_HEIGHT);
  if (maxRows < 1) return null;
  let shown = Math.min(entries.length, maxEntries);
  const wanted = shown + (shown < entries.length ? 1 : 0);
  if (wanted > maxRows) {
    if (strict) return null;
    shown = maxRows - 1;
  }
  if (shown < 1) return null;
  const rows = entries.slice(0, shown);
  const more = shown < entries.length ? `… ${entries.length - shown} more` : null;
  const shareChars = Math.max(...rows.map((r) => chars(r.share)));
  const longest = Math.max(...rows.map((r) => chars(r.name)));
  const fixed = SWATCH_W + GAP_SWATCH + GAP_SHARE + textW(shareChars);
  const nameChars = Math.min(longest, Math.floor((availW - fixed + 1) / CELL_WIDTH));
  if (nameChars < (strict ? longest : Math.min(longest, 3))) return null;
  const rowW = fixed + textW(nameChars);
  const moreW = more === null ? 0 : textW(chars(more));
  if (moreW > availW) return null;
  const lines = rows.length + (more === null ? 0 : 1);
  return {
    scale,
    rows,
    more,
    nameChars,
    shareChars,
    boxW: 2 * PAD + Math.max(rowW, moreW),
    boxH: 2 * PAD + lines * LINE_HEIGHT - (LINE_HEIGHT - GLYPH_HEIGHT),
  };
}

function drawLegend(target: RgbImage, entries: LegendEntry[], maxEntries: number, corner: LegendCorner): void {
  if (entries.length === 0 || maxEntries < 1) return;
  const { width, height } = target;
  let layout: LegendLayout | null = null;
  for (let s = legendScale(width, height); s >= 1 && layout === null; s--) {
    layout = layoutAt(width, height, entries, maxEntries, s, s > 1);
  }
  if (layout === null) return; // too small for any legend
  const s = layout.scale;
  const boxW = layout.boxW * s;
  const boxH = layout.boxH * s;
  const margin = MARGIN * s;
  const x0 = corner.endsWith('left') ? margin : width - margin - boxW;
  const y0 = corner.startsWith('top') ? margin : height - margin - boxH;
  shadeRect(target, x0, y0, boxW, boxH, BACKGROUND, BACKGROUND_OPACITY);

  const swatchX = x0 + PAD * s;
  const nameX = swatchX + (SWATCH_W + GAP_SWATCH) * s;
  const shareRight = nameX + (textW(layout.nameChars) + GAP_SHARE + textW(layout.shareChars)) * s;
  const inset = Math.max(1, Math.floor(s / 2));
  let y = y0 + PAD * s;
  for (const row of layout.rows) {
    fillRect(target, swatchX, y, SWATCH_W * s, SWATCH_H * s, SWATCH_BORDER);
    fillRect(target, swatchX + inset, y + inset, SWATCH_W * s - 2 * inset, SWATCH_H * s - 2 * inset, row.color);
    drawText(target, nameX, y, truncate(row.name, layout.nameChars), NAME_COLOR, s);
    drawText(target, shareRight - textW(chars(row.share)) * s, y, row.share, SHARE_COLOR, s);
    y += LINE_HEIGHT * s;
  }
  if (layout.more !== null) drawText(target, swatchX, y, layout.more, MORE_COLOR, s);
}

/** Clips the rectangle to the target; returns [xa, ya, xb, yb) or null when empty. */
function clip(target: RgbTarget, x: number, y: number, w: number, h: number): [number, number, number, number] | null {
  const xa = Math.max(0, x);
  const ya = Math.max(0, y);
  const xb = Math.min(target.width, x + w);
  const yb = Math.min(target.height, y + h);
  return xa < xb && ya < yb ? [xa, ya, xb, yb] : null;
}

function fillRect(target: RgbTarget, x: number, y: number, w: number, h: number, color: readonly number[]): void {
  const r = clip(target, x, y, w, h);
  if (r === null) return;
  const [xa, ya, xb, yb] = r;
  const { data, width } = target;
  for (let py = ya; py < yb; py++) {
    for (let o = (py * width + xa) * 3, end = (py * width + xb) * 3; o < end; o += 3) {
      data[o] = color[0]!;
      data[o + 1] = color[1]!;
      data[o + 2] = color[2]!;
    }
  }
}

function shadeRect(target: RgbTarget, x: number, y: number, w: number, h: number, color: readonly number[], opacity: number): void {
  const r = clip(target, x, y, w, h);
  if (r === null) return;
  const [xa, ya, xb, yb] = r;
  const { data, width } = target;
  const keep = 1 - opacity;
  const t0 = opacity * color[0]!;
  const t1 = opacity * color[1]!;
  const t2 = opacity * color[2]!;
  for (let py = ya; py < yb; py++) {
    for (let o = (py * width + xa) * 3, end = (py * width + xb) * 3; o < end; o += 3) {
      data[o] = Math.round(keep * data[o]! + t0);
      data[o + 1] = Math.round(keep * data[o + 1]! + t1);
      data[o + 2] = Math.round(keep * data[o + 2]! + t2);
    }
  }
}
