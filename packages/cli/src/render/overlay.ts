/**
 * Colour overlay of a segmentation: the image blended with the class colours, plus a legend of the
 * classes present in a panel BESIDE the image, so that the legend never hides a pixel of it.
 *
 * Canvas: the blended image at (0, 0), unchanged, and the legend panel on its right
 * (x ≥ image width; dark background). The canvas is `image width + panel width` wide and
 * `max(image height, panel height)` tall: the panel is as tall as the image, except when the image
 * is too short to list even {@link MIN_LEGEND_LINES} lines; then the canvas grows downwards and
 * the strip below the image is the panel's background colour. With `legend: false` (or
 * `maxLegendEntries: 0`) the overlay is exactly the image size.
 *
 * Legend rows: the classes present in `labels`, sorted by area (descending, ties by class index),
 * each a colour swatch, the class name and its share of the image ("12.3%", "<0.1%" for a
 * non-zero share under 0.05%): the largest classes, as many as fit the panel height (and at most
 * `maxLegendEntries`, default no limit); when classes are left out a last line reads "+ N more".
 *
 * Class names ({@link legendName}): synonyms (the internal form "person, people") are shown
 * joined with "|" ("person|people", as `--classes` takes them), each trimmed, whitespace
 * collapsed, transliterated to the built-in font (see `bitmap-font.ts`), and cut to
 * {@link LEGEND_NAME_MAX_CHARS} characters ending in "…". An empty name shows as "class <index>".
 *
 * Text scale ({@link legendScale}): every font pixel is an s × s block with
 * s = max(1, ⌊min(width, 4/3 · height) / 500⌋): 1 up to ~1000 px (5 × 7-pixel capitals, the
 * smallest legible size, kept for tiny images), 2 at 1920 × 1080, 8 at 4000 × 3000, so the legend
 * keeps its size relative to the image when the overlay is viewed fitted to a screen.
 */

import { SedsegError, assertRgbImage, type RgbImage } from '@sedseg/core';
import { displayClassName } from '../class-display.js';
import { CELL_WIDTH, GLYPH_ASCENT, GLYPH_HEIGHT, LINE_HEIGHT, drawText, transliterate, type RgbTarget } from './bitmap-font.js';
import { classPalette } from './palette.js';

export interface OverlayOptions {
  /** Class colours, `classes.length × 3` RGB or more (default `classPalette(classes.length)`). */
  palette?: Uint8Array;
  /** Weight of the class colour in [0, 1] (default 0.5). */
  alpha?: number;
  /** Add the legend panel (default true); without it the overlay is the image size. */
  legend?: boolean;
  /** Most class rows in the legend before "+ N more" (default: as many as fit; 0: no legend panel). */
  maxLegendEntries?: number;
}

/** Longest class name shown, in characters (longer ones end with "…"). */
export const LEGEND_NAME_MAX_CHARS = 32;
/** Fewest lines the legend panel holds (the canvas grows below a shorter image to fit them). */
export const MIN_LEGEND_LINES = 6;
/** Default `maxLegendEntries`: as many rows as fit the panel. */
export const DEFAULT_LEGEND_ENTRIES = Infinity;

// Panel geometry, in font pixels (multiplied by the scale).
const PAD = 6; // inside the panel, around the rows
const SWATCH_W = 9;
const SWATCH_H = GLYPH_ASCENT;
const GAP_SWATCH = 4; // swatch → name
const GAP_SHARE = 8; // name → percentage
const BACKGROUND = [24, 24, 24] as const;
const NAME_COLOR = [240, 240, 240] as const;
const SHARE_COLOR = [200, 200, 200] as const;
const MORE_COLOR = [170, 170, 170] as const;
const SWATCH_BORDER = [225, 225, 225] as const;

/** One class row of the legend. */
export interface LegendEntry {
  /** Class index. */
  index: number;
  /** Name as shown ({@link legendName}). */
  name: string;
  /** Share as shown ({@link formatShare}). */
  share: string;
}

/** Where everything goes on the overlay canvas (image pixels unless said otherwise). */
export interface OverlayLayout {
  /** Canvas size: the image plus the legend panel on its right. */
  width: number;
  height: number;
  /** The image occupies [0, imageWidth) × [0, imageHeight). */
  imageWidth: number;
  imageHeight: number;
  /** The panel occupies [panelX, width) × [0, height); panelWidth 0 when there is no legend. */
  panelX: number;
  panelWidth: number;
  /** Text scale (font pixel = scale × scale image pixels). */
  scale: number;
  /** Rows drawn, largest area first. */
  rows: LegendEntry[];
  /** The last line ("+ N more") when classes are left out, else null. */
  more: string | null;
}

/**
 * The overlay as a new image (inputs untouched): in the image region every pixel is
 * `round((1 − alpha) · image + alpha · colour(label))` per channel; the legend panel is on the
 * right (see the module comment and {@link overlayLayout}). `labels` holds one class index in
 * [0, classes.length) per pixel (row-major); `areas[i]` is the share of the image (a fraction in
 * [0, 1]) of class i (a missing or non-finite value is replaced by the share counted in
 * `labels`). Throws `SedsegError` (`E_ARGUMENT`) on inconsistent arguments (a label out of range
 * names its pixel); never because the image is small or the classes many.
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
  const maxEntries = options.maxLegendEntries ?? DEFAULT_LEGEND_ENTRIES;
  if (!(maxEntries >= 0 && (Number.isInteger(maxEntries) || maxEntries === Infinity))) {
    throw new SedsegError('E_ARGUMENT', `renderOverlay: maxLegendEntries must be an integer ≥ 0 (or Infinity), got ${maxEntries}`);
  }
  const palette = options.palette ?? classPalette(classCount);
  if (palette.length < classCount * 3) {
    throw new SedsegError('E_ARGUMENT', `renderOverlay: palette has ${Math.floor(palette.length / 3)} colours for ${classCount} classes`);
  }

  // Count the pixels of each class (checking the labels), lay the canvas out, then blend into it.
  const counts = new Float64Array(classCount);
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    if (!(c >= 0 && c < classCount)) {
      throw new SedsegError('E_ARGUMENT', `renderOverlay: pixel (${i % width}, ${Math.floor(i / width)}) has label ${c}, outside [0, ${classCount})`);
    }
    counts[c]!++;
  }
  let layout: OverlayLayout | undefined;
  if (options.legend !== false && maxEntries > 0) {
    const present: { index: number; share: number }[] = [];
    for (let c = 0; c < classCount; c++) {
      if (counts[c]! === 0) continue;
      const a = areas[c];
      present.push({ index: c, share: typeof a === 'number' && Number.isFinite(a) ? a : counts[c]! / n });
    }
    present.sort((a, b) => b.share - a.share || a.index - b.index);
    const entries: LegendEntry[] = present.map(({ index, share }) => ({ index, name: legendName(classes[index] ?? '', index), share: formatShare(share) }));
    layout = overlayLayout(width, height, entries, maxEntries);
  }
  const canvasW = layout?.width ?? width;
  const canvasH = layout?.height ?? height;
  const out: RgbImage = { width: canvasW, height: canvasH, data: new Uint8Array(canvasW * canvasH * 3) };
  if (layout !== undefined) fillRect(out, 0, 0, canvasW, canvasH, BACKGROUND);

  const keep = 1 - alpha;
  const tint = new Float64Array(classCount * 3);
  for (let i = 0; i < classCount * 3; i++) tint[i] = alpha * palette[i]!;
  const src = image.data;
  const data = out.data;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0, o = y * canvasW * 3; x < width; x++, i++, o += 3) {
      const t = labels[i]! * 3;
      const s = i * 3;
      data[o] = Math.round(keep * src[s]! + tint[t]!);
      data[o + 1] = Math.round(keep * src[s + 1]! + tint[t + 1]!);
      data[o + 2] = Math.round(keep * src[s + 2]! + tint[t + 2]!);
    }
  }
  if (layout !== undefined) drawLegend(out, layout, palette);
  return out;
}

/**
 * The name shown for a class: its synonyms ("person, people", split like the model splits them)
 * each trimmed and joined with "|" ("person|people"; empty synonyms dropped), transliterated to
 * the built-in font, whitespace collapsed, at most {@link LEGEND_NAME_MAX_CHARS} characters
 * (longer: cut, ending in "…"). A name with nothing to show is "class <index>".
 */
export function legendName(name: string, index = 0): string {
  const shown = transliterate(displayClassName(name)).replace(/\s+/g, ' ').trim();
  return truncate(shown !== '' ? shown : `class ${index}`, LEGEND_NAME_MAX_CHARS);
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

/**
 * The canvas and legend layout for a `width × height` image and the legend `entries` (sorted,
 * largest first): rows = the first min(entries, `maxEntries`) that fit the image height at
 * {@link legendScale}, at least {@link MIN_LEGEND_LINES} lines (the canvas then grows below the
 * image); "+ N more" as the last line when some are left out. No entries or `maxEntries` 0: no
 * panel (canvas = image).
 */
export function overlayLayout(width: number, height: number, entries: readonly LegendEntry[], maxEntries = DEFAULT_LEGEND_ENTRIES): OverlayLayout {
  const none: OverlayLayout = { width, height, imageWidth: width, imageHeight: height, panelX: width, panelWidth: 0, scale: 1, rows: [], more: null };
  if (entries.length === 0 || maxEntries < 1) return none;
  const s = legendScale(width, height);
  const wanted = Math.min(entries.length, maxEntries);
  const wantedLines = wanted + (wanted < entries.length ? 1 : 0);
  const fitLines = Math.floor((Math.floor(height / s) - 2 * PAD + (LINE_HEIGHT - GLYPH_HEIGHT)) / LINE_HEIGHT);
  const lines = Math.min(wantedLines, Math.max(fitLines, MIN_LEGEND_LINES));
  const shown = lines === wantedLines ? wanted : lines - 1;
  const rows = entries.slice(0, shown);
  const more = shown < entries.length ? `+ ${entries.length - shown} more` : null;
  const nameChars = Math.max(...rows.map((r) => chars(r.name)));
  const shareChars = Math.max(...rows.map((r) => chars(r.share)));
  const rowW = SWATCH_W + GAP_SWATCH + textW(nameChars) + GAP_SHARE + textW(shareChars);
  const panelWidth = (2 * PAD + Math.max(rowW, more === null ? 0 : textW(chars(more)))) * s;
  const panelHeight = (2 * PAD + lines * LINE_HEIGHT - (LINE_HEIGHT - GLYPH_HEIGHT)) * s;
  return {
    width: width + panelWidth,
    height: Math.max(height, panelHeight),
    imageWidth: width,
    imageHeight: height,
    panelX: width,
    panelWidth,
    scale: s,
    rows,
    more,
  };
}

/** `s` (drawable characters only) cut to `max` characters, the last one "…" if cut. */
function truncate(s: string, max: number): string {
  const cs = [...s];
  if (cs.length <= max) return s;
  if (max <= 1) return '…'.slice(0, max);
  return `${cs
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

const chars = (s: string): number => [...s].length;
const textW = (nChars: number): number => (nChars > 0 ? nChars * CELL_WIDTH - 1 : 0);

function drawLegend(target: RgbImage, layout: OverlayLayout, palette: Uint8Array): void {
  const s = layout.scale;
  const nameChars = Math.max(0, ...layout.rows.map((r) => chars(r.name)));
  const shareChars = Math.max(0, ...layout.rows.map((r) => chars(r.share)));
  const swatchX = layout.panelX + PAD * s;
  const nameX = swatchX + (SWATCH_W + GAP_SWATCH) * s;
  const shareRight = nameX + (textW(nameChars) + GAP_SHARE + textW(shareChars)) * s;
  const inset = Math.max(1, Math.floor(s / 2));
  let y = PAD * s;
  for (const row of layout.rows) {
    const color = [palette[row.index * 3]!, palette[row.index * 3 + 1]!, palette[row.index * 3 + 2]!];
    fillRect(target, swatchX, y, SWATCH_W * s, SWATCH_H * s, SWATCH_BORDER);
    fillRect(target, swatchX + inset, y + inset, SWATCH_W * s - 2 * inset, SWATCH_H * s - 2 * inset, color);
    drawText(target, nameX, y, row.name, NAME_COLOR, s);
    drawText(target, shareRight - textW(chars(row.share)) * s, y, row.share, SHARE_COLOR, s);
    y += LINE_HEIGHT * s;
  }
  if (layout.more !== null) drawText(target, swatchX, y, layout.more, MORE_COLOR, s);
}

/** Fills a rectangle, clipped to the target. */
function fillRect(target: RgbTarget, x: number, y: number, w: number, h: number, color: readonly number[]): void {
  const xa = Math.max(0, x);
  const ya = Math.max(0, y);
  const xb = Math.min(target.width, x + w);
  const yb = Math.min(target.height, y + h);
  if (xa >= xb || ya >= yb) return;
  const { data, width } = target;
  for (let py = ya; py < yb; py++) {
    for (let o = (py * width + xa) * 3, end = (py * width + xb) * 3; o < end; o += 3) {
      data[o] = color[0]!;
      data[o + 1] = color[1]!;
      data[o + 2] = color[2]!;
    }
  }
}
