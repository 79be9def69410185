import { describe, expect, it } from 'vitest';
import type { RgbImage } from '@sedseg/core';
import {
  LEGEND_NAME_MAX_CHARS,
  MIN_LEGEND_LINES,
  formatShare,
  legendName,
  legendScale,
  overlayLayout,
  renderOverlay,
  type LegendEntry,
} from '../../src/render/overlay.js';
import { classPalette } from '../../src/render/palette.js';

function gradient(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x * 7) & 255;
      data[o + 1] = (y * 5) & 255;
      data[o + 2] = (x + y) & 255;
    }
  }
  return { width, height, data };
}

/** Labels in vertical stripes of `count` classes; areas counted from them. */
function stripes(width: number, height: number, count: number): { labels: Int32Array; areas: number[] } {
  const labels = new Int32Array(width * height);
  for (let i = 0; i < labels.length; i++) labels[i] = Math.floor(((i % width) * count) / width);
  const areas = new Array<number>(count).fill(0);
  for (const l of labels) areas[l]! += 1 / labels.length;
  return { labels, areas };
}

function blended(image: RgbImage, labels: Int32Array, palette: Uint8Array, alpha: number, x: number, y: number): number[] {
  const i = y * image.width + x;
  const c = labels[i]!;
  return [0, 1, 2].map((k) => Math.round((1 - alpha) * image.data[i * 3 + k]! + alpha * palette[c * 3 + k]!));
}

/** Byte equality (vitest's deep equality is slow on large typed arrays). */
const same = (a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const pixel = (img: RgbImage, x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

/** True when the image region [0, w) × [0, h) of `overlay` is byte for byte `plain` (w × h). */
function imageRegionIs(overlay: RgbImage, plain: RgbImage): boolean {
  if (overlay.width < plain.width || overlay.height < plain.height) return false;
  const row = plain.width * 3;
  for (let y = 0; y < plain.height; y++) {
    const a = overlay.data.subarray(y * overlay.width * 3, y * overlay.width * 3 + row);
    if (!same(a, plain.data.subarray(y * row, (y + 1) * row))) return false;
  }
  return true;
}

/** Distinct colours in a rectangle of the image, as "r,g,b" strings. */
function coloursIn(img: RgbImage, x0: number, y0: number, x1: number, y1: number): Set<string> {
  const seen = new Set<string>();
  for (let y = Math.max(0, y0); y < Math.min(img.height, y1); y++)
    for (let x = Math.max(0, x0); x < Math.min(img.width, x1); x++) seen.add(pixel(img, x, y).join());
  return seen;
}

const BACKGROUND = '24,24,24';
const NAME = '240,240,240';
const MORE = '170,170,170';
const entry = (index: number, name = `class${index}`, share = '1.0%'): LegendEntry => ({ index, name, share });

describe('renderOverlay', () => {
  const classes = ['wall, brick wall', 'sky', 'Straße', 'café table', 'tree'];

  it('blends every pixel exactly and leaves the input untouched', () => {
    const image = gradient(320, 240);
    const before = image.data.slice();
    const { labels, areas } = stripes(320, 240, 5);
    const out = renderOverlay(image, labels, classes, areas, { legend: false });
    expect([out.width, out.height]).toEqual([320, 240]);
    expect(out.data).not.toBe(image.data);
    expect(same(image.data, before)).toBe(true);
    const palette = classPalette(5);
    const mismatches: string[] = [];
    for (let y = 0; y < 240; y++) {
      for (let x = 0; x < 320; x++) if (pixel(out, x, y).join() !== blended(image, labels, palette, 0.5, x, y).join()) mismatches.push(`${x},${y}`);
    }
    expect(mismatches).toEqual([]);
    // another alpha and a custom palette
    const custom = Uint8Array.from({ length: 15 }, (_, i) => i * 17);
    const o2 = renderOverlay(image, labels, classes, areas, { legend: false, alpha: 0.3, palette: custom });
    expect(pixel(o2, 300, 200)).toEqual(blended(image, labels, custom, 0.3, 300, 200));
    expect(same(renderOverlay(image, labels, classes, areas, { legend: false, alpha: 0 }).data, image.data)).toBe(true);
    // no legend rows asked: image size too
    const o3 = renderOverlay(image, labels, classes, areas, { maxLegendEntries: 0 });
    expect([o3.width, o3.height]).toEqual([320, 240]);
    expect(same(o3.data, out.data)).toBe(true);
  });

  it('puts the legend in a panel beside the image: the image region is exactly the blend', () => {
    const image = gradient(320, 240);
    const { labels, areas } = stripes(320, 240, 5);
    const plain = renderOverlay(image, labels, classes, areas, { legend: false });
    const out = renderOverlay(image, labels, classes, areas);
    expect(out.height).toBe(240);
    expect(out.width).toBeGreaterThan(320 + 60);
    expect(imageRegionIs(out, plain)).toBe(true);
    // the panel: background, the swatch of each class (all equal areas → class order), names
    const panel = coloursIn(out, 320, 0, out.width, 240);
    expect(panel.has(BACKGROUND)).toBe(true);
    expect(panel.has(NAME)).toBe(true);
    const palette = classPalette(5);
    for (let k = 0; k < 5; k++) expect(pixel(out, 320 + 6 + 4, 6 + 11 * k + 3)).toEqual([...palette.subarray(k * 3, k * 3 + 3)]);
    // below the last row: background only
    expect(coloursIn(out, 320, 6 + 11 * 5, out.width, 240)).toEqual(new Set([BACKGROUND]));
  });

  it('lists only classes present, by area, with "+ N more" past the limit', () => {
    const width = 900;
    const height = 700; // legend scale 1: rows every 11 px from y = 6 (panel padding)
    const image = gradient(width, height);
    const names = Array.from({ length: 40 }, (_, i) => `class${i}`);
    const { labels, areas: stripeAreas } = stripes(width, height, 30); // classes 30–39 absent
    const areas = [...stripeAreas, ...new Array<number>(10).fill(0)];
    areas[7] = 0.5; // the legend trusts `areas` for the order and the percentages
    areas[3] = 0.4;
    const lastTextRow = (img: RgbImage): number => {
      let last = -1;
      for (let y = 0; y < img.height; y++) if (coloursIn(img, width, y, img.width, y + 1).size > 1) last = y;
      return last;
    };
    const linesOf = (img: RgbImage): number => Math.floor((lastTextRow(img) - 6) / 11) + 1;
    const out = renderOverlay(image, labels, names, areas);
    expect(linesOf(out)).toBe(30); // every class present fits: no "+ N more"
    expect(coloursIn(out, width, 6 + 29 * 11, out.width, 6 + 30 * 11).has(MORE)).toBe(false);
    const twenty = renderOverlay(image, labels, names, areas, { maxLegendEntries: 20 });
    expect(linesOf(twenty)).toBe(21); // 20 + "+ 10 more"
    expect(coloursIn(twenty, width, 6 + 20 * 11, twenty.width, 6 + 20 * 11 + 9).has(MORE)).toBe(true);
    expect(linesOf(renderOverlay(image, labels, names, areas, { maxLegendEntries: 3 }))).toBe(4);
    expect(linesOf(renderOverlay(image, labels, names, areas, { maxLegendEntries: 30 }))).toBe(30);
    expect(linesOf(renderOverlay(image, labels, names, areas, { maxLegendEntries: Infinity }))).toBe(30);
    const palette = classPalette(40);
    const colour = (c: number) => [...palette.subarray(c * 3, c * 3 + 3)];
    expect(pixel(out, width + 10, 9)).toEqual(colour(7));
    expect(pixel(out, width + 10, 20)).toEqual(colour(3));
    expect(pixel(out, width + 10, 31)).toEqual(colour(0));
    expect(() => renderOverlay(image, labels, names, areas, { maxLegendEntries: -1 })).toThrow(/maxLegendEntries/);
  });

  it('keeps a 300×200 image with 150 classes visible: the top classes beside it, "+ N more"', () => {
    const image = gradient(300, 200);
    const names = Array.from({ length: 150 }, (_, i) => `ade class number ${i}`);
    const { labels } = stripes(300, 200, 150); // 2 columns each
    const areas = Array.from({ length: 150 }, (_, i) => (i === 149 ? 0.2 : 0.8 / 149)); // class 149 is the largest
    const plain = renderOverlay(image, labels, names, areas, { legend: false });
    const out = renderOverlay(image, labels, names, areas);
    expect(out.height).toBe(200);
    expect(imageRegionIs(out, plain)).toBe(true);
    // (200 − 2·6 + 2) / 11 → 17 lines: 16 classes + "+ 134 more"
    const entries = names.map((n, i) => entry(i, legendName(n, i), formatShare(areas[i]!)));
    entries.sort((a, b) => areas[b.index]! - areas[a.index]! || a.index - b.index);
    const layout = overlayLayout(300, 200, entries);
    expect(layout.rows.length).toBe(16);
    expect(layout.rows[0]!.index).toBe(149);
    expect(layout.more).toBe('+ 134 more');
    expect([layout.width, layout.height, layout.scale]).toEqual([out.width, 200, 1]);
    expect(pixel(out, 300 + 10, 9)).toEqual([...classPalette(150).subarray(149 * 3, 150 * 3)]);
    expect(coloursIn(out, 300, 6 + 16 * 11, out.width, 6 + 16 * 11 + 9).has(MORE)).toBe(true);
  });

  it('gives a 20×20 image a legible legend: the canvas grows below it, the image stays whole', () => {
    const image = gradient(20, 20);
    const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const { labels, areas } = stripes(20, 20, 10);
    const plain = renderOverlay(image, labels, names, areas, { legend: false });
    const out = renderOverlay(image, labels, names, areas);
    expect(imageRegionIs(out, plain)).toBe(true);
    // MIN_LEGEND_LINES lines at scale 1: 5 classes + "+ 5 more"
    expect(out.height).toBe(2 * 6 + MIN_LEGEND_LINES * 11 - 2);
    expect(coloursIn(out, 0, 20, 20, out.height)).toEqual(new Set([BACKGROUND])); // the strip below the image
    expect(coloursIn(out, 20, 6 + 5 * 11, out.width, 6 + 5 * 11 + 9).has(MORE)).toBe(true);
    expect(
      overlayLayout(
        20,
        20,
        names.map((_, i) => entry(i)),
      ).more,
    ).toBe('+ 5 more');
    // one class: one row, no growth beyond what the row needs
    const single = renderOverlay(image, new Int32Array(400), ['only'], [1]);
    expect(single.height).toBe(2 * 6 + 9);
    expect(imageRegionIs(single, renderOverlay(image, new Int32Array(400), ['only'], [1], { legend: false }))).toBe(true);
  });

  it('never throws for tiny images', () => {
    for (const [w, h] of [
      [1, 1],
      [8, 8],
      [3, 50],
      [50, 3],
      [40, 30],
      [64, 16],
    ] as const) {
      const image = gradient(w, h);
      const count = Math.min(w, 3);
      const { labels, areas } = stripes(w, h, count);
      const names = ['a', 'b', 'c'].slice(0, count);
      const out = renderOverlay(image, labels, names, areas);
      expect(out.width).toBeGreaterThan(w);
      expect(out.height).toBeGreaterThanOrEqual(h);
      expect(imageRegionIs(out, renderOverlay(image, labels, names, areas, { legend: false }))).toBe(true);
    }
  });

  it('scales the legend text with the image size (4000×3000: scale 8), the image untouched', () => {
    expect(legendScale(20, 20)).toBe(1);
    expect(legendScale(300, 225)).toBe(1);
    expect(legendScale(640, 480)).toBe(1);
    expect(legendScale(1920, 1080)).toBe(2);
    expect(legendScale(4000, 3000)).toBe(8);
    expect(legendScale(4000, 300)).toBe(1);
    const names = ['wall', 'sky', 'floor', 'tree'];
    const big = gradient(4000, 3000);
    const { labels, areas } = stripes(4000, 3000, 4);
    const out = renderOverlay(big, labels, names, areas);
    const plain = renderOverlay(big, labels, names, areas, { legend: false });
    expect(imageRegionIs(out, plain)).toBe(true);
    const entries = names.map((n, i) => entry(i, n, formatShare(areas[i]!)));
    const layout = overlayLayout(4000, 3000, entries);
    expect(layout.scale).toBeGreaterThan(1);
    expect(out.width - 4000).toBe(layout.panelWidth);
    expect(layout.panelWidth).toBe(8 * overlayLayout(640, 480, entries).panelWidth);
    // the first swatch is 8× bigger: its colour spans more than 40 pixels across
    const first = [...classPalette(4).subarray(0, 3)].join();
    let run = 0;
    for (let x = 4000; x < out.width; x++) if (pixel(out, x, 6 * 8 + 20).join() === first) run++;
    expect(run).toBeGreaterThan(40);
  });

  it('cuts long names with an ellipsis and keeps the panel to the longest name shown', () => {
    const long = 'an extraordinarily long class name that goes on and on';
    const short = overlayLayout(300, 200, [entry(0, legendName('wall'), '100.0%')]);
    const cut = overlayLayout(300, 200, [entry(0, legendName(long), '100.0%')]);
    expect(cut.rows[0]!.name).toBe('an extraordinarily long class n…');
    expect([...cut.rows[0]!.name].length).toBe(LEGEND_NAME_MAX_CHARS);
    expect(cut.panelWidth - short.panelWidth).toBe((LEGEND_NAME_MAX_CHARS - 4) * 6);
    const image = gradient(100, 60);
    const out = renderOverlay(image, new Int32Array(6000), [long], [1]);
    expect(out.width).toBe(100 + cut.panelWidth);
  });

  it('handles non-ASCII, empty and very long names', () => {
    const image = gradient(400, 300);
    const names = ['日本語', 'naïve café, coffee shop', '', ' , ', 'x'.repeat(200), '😀 emoji', 'Ærøskøbing'];
    const { labels, areas } = stripes(400, 300, names.length);
    const out = renderOverlay(image, labels, names, areas);
    expect(imageRegionIs(out, renderOverlay(image, labels, names, areas, { legend: false }))).toBe(true);
  });

  it('rejects inconsistent arguments', () => {
    const image = gradient(4, 2);
    const labels = Int32Array.of(0, 1, 0, 1, 0, 1, 2, 1);
    expect(() => renderOverlay(image, labels, ['a', 'b'], [0.5, 0.5])).toThrow(/pixel \(2, 1\) has label 2/);
    expect(() => renderOverlay(image, labels.subarray(1), ['a', 'b', 'c'], [0, 0, 0])).toThrow(/7 labels/);
    expect(() => renderOverlay(image, labels, ['a', 'b', 'c'], [0.5, 0.5])).toThrow(/2 areas for 3 classes/);
    expect(() => renderOverlay(image, labels, ['a', 'b', 'c'], [0, 0, 0], { alpha: 1.5 })).toThrow(/alpha/);
    expect(() => renderOverlay(image, labels, ['a', 'b', 'c'], [0, 0, 0], { palette: new Uint8Array(6) })).toThrow(/palette/);
  });
});

describe('legend text', () => {
  it('shows synonyms trimmed and joined with "|", transliterated and shortened', () => {
    expect(legendName('person, people')).toBe('person|people');
    expect(legendName('person, human, people')).toBe('person|human|people');
    expect(legendName('bed ')).toBe('bed'); // ADE-150's "bed " with its trailing space
    expect(legendName('Straße')).toBe('Strasse');
    expect(legendName(', dog')).toBe('dog');
    expect(legendName('a, , b')).toBe('a|b');
    expect(legendName(' , ', 3)).toBe('class 3');
    expect(legendName('', 7)).toBe('class 7');
    expect(legendName('  two   words ')).toBe('two words');
    const long = legendName('a'.repeat(50));
    expect([...long].length).toBe(LEGEND_NAME_MAX_CHARS);
    expect(long.endsWith('…')).toBe(true);
    const synonyms = legendName('person, individual, someone, somebody, mortal, soul');
    expect(synonyms).toBe('person|individual|someone|someb…');
  });

  it('formats shares with one decimal', () => {
    expect(formatShare(0.1234)).toBe('12.3%');
    expect(formatShare(1)).toBe('100.0%');
    expect(formatShare(0)).toBe('0.0%');
    expect(formatShare(0.0001)).toBe('<0.1%');
  });
});
