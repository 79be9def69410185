import { describe, expect, it } from 'vitest';
import type { RgbImage } from '@sedseg/core';
import { formatShare, legendName, legendScale, renderOverlay } from '../../src/render/overlay.js';
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
const same = (a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

const pixel = (img: RgbImage, x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('renderOverlay', () => {
  const classes = ['wall, brick wall', 'sky', 'Straße', 'café table', 'tree'];

  it('blends every pixel exactly and leaves the input untouched', () => {
    const image = gradient(320, 240);
    const before = image.data.slice();
    const { labels, areas } = stripes(320, 240, 5);
    const out = renderOverlay(image, labels, classes, areas, { legend: false });
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
  });

  it('draws a legend in the top-left corner only', () => {
    const image = gradient(320, 240);
    const { labels, areas } = stripes(320, 240, 5);
    const plain = renderOverlay(image, labels, classes, areas, { legend: false });
    const out = renderOverlay(image, labels, classes, areas);
    expect(out.width).toBe(320);
    expect(out.height).toBe(240);
    // far from the legend: the plain blend
    const palette = classPalette(5);
    expect(pixel(out, 310, 230)).toEqual(blended(image, labels, palette, 0.5, 310, 230));
    let changedInCorner = 0;
    let changedElsewhere = 0;
    for (let y = 0; y < 240; y++) {
      for (let x = 0; x < 320; x++) {
        if (pixel(out, x, y).join() === pixel(plain, x, y).join()) continue;
        if (x < 160 && y < 120) changedInCorner++;
        else changedElsewhere++;
      }
    }
    expect(changedInCorner).toBeGreaterThan(1000);
    expect(changedElsewhere).toBe(0);
    // the swatch of the largest class (all equal here → class 0 first) is drawn in its colour
    let found = false;
    for (let y = 0; y < 40 && !found; y++) for (let x = 0; x < 40 && !found; x++) found = pixel(out, x, y).join() === [...palette.subarray(0, 3)].join();
    expect(found).toBe(true);
  });

  it('can put the legend in another corner', () => {
    const image = gradient(320, 240);
    const { labels, areas } = stripes(320, 240, 5);
    const plain = renderOverlay(image, labels, classes, areas, { legend: false });
    const out = renderOverlay(image, labels, classes, areas, { legendCorner: 'bottom-right' });
    expect(pixel(out, 5, 5)).toEqual(pixel(plain, 5, 5));
    expect(pixel(out, 310, 230)).not.toEqual(pixel(plain, 310, 230));
  });

  it('lists only classes present, by area, with "… N more" past the limit', () => {
    const width = 900;
    const height = 700; // legend scale 1: box at (4, 4), 4 px padding, 11 px per line
    const image = gradient(width, height);
    const names = Array.from({ length: 40 }, (_, i) => `class${i}`);
    const { labels, areas: stripeAreas } = stripes(width, height, 30); // classes 30–39 absent
    const areas = [...stripeAreas, ...new Array<number>(10).fill(0)];
    areas[7] = 0.5; // the legend trusts `areas` for the order and the percentages
    areas[3] = 0.4;
    const plain = renderOverlay(image, labels, names, areas, { legend: false });
    const boxHeight = (img: RgbImage) => {
      let rows = 0;
      for (let y = 0; y < height; y++) if (pixel(img, 5, y).join() !== pixel(plain, 5, y).join()) rows++;
      return rows;
    };
    const lines = (n: number) => 2 * 4 + n * 11 - 2;
    expect(boxHeight(renderOverlay(image, labels, names, areas))).toBe(lines(21)); // 20 + "… 10 more"
    expect(boxHeight(renderOverlay(image, labels, names, areas, { maxLegendEntries: 3 }))).toBe(lines(4));
    expect(boxHeight(renderOverlay(image, labels, names, areas, { maxLegendEntries: 100 }))).toBe(lines(30));
    expect(boxHeight(renderOverlay(image, labels, names, areas, { maxLegendEntries: 30 }))).toBe(lines(30));
    expect(boxHeight(renderOverlay(image, labels, names, areas, { maxLegendEntries: 0 }))).toBe(0);
    // swatches (inside a 1-px border) of the first rows: class 7, then class 3, then class 0
    const out = renderOverlay(image, labels, names, areas);
    const palette = classPalette(40);
    const colour = (c: number) => [...palette.subarray(c * 3, c * 3 + 3)];
    expect(pixel(out, 10, 10)).toEqual(colour(7));
    expect(pixel(out, 10, 21)).toEqual(colour(3));
    expect(pixel(out, 10, 32)).toEqual(colour(0));
  });

  it('shrinks the legend to the image height', () => {
    const image = gradient(300, 100);
    const names = Array.from({ length: 30 }, (_, i) => `c${i}`);
    const { labels, areas } = stripes(300, 100, 30);
    const plain = renderOverlay(image, labels, names, areas, { legend: false });
    const out = renderOverlay(image, labels, names, areas);
    let rows = 0;
    for (let y = 0; y < 100; y++) if (pixel(out, 5, y).join() !== pixel(plain, 5, y).join()) rows++;
    expect(rows).toBe(2 * 4 + 7 * 11 - 2); // (100 − 8 margin − 8 padding + 2) / 11 → 7 lines: 6 classes + "… 24 more"
  });

  it('never throws for tiny images and skips a legend that does not fit', () => {
    for (const [w, h] of [[1, 1], [8, 8], [3, 50], [50, 3], [40, 30], [64, 16]] as const) {
      const image = gradient(w, h);
      const { labels, areas } = stripes(w, h, Math.min(w, 3));
      const names = ['a', 'b', 'c'].slice(0, Math.min(w, 3));
      const out = renderOverlay(image, labels, names, areas);
      expect(out.data.length).toBe(w * h * 3);
    }
    const image = gradient(8, 8);
    const { labels, areas } = stripes(8, 8, 2);
    const plain = renderOverlay(image, labels, ['x', 'y'], areas, { legend: false });
    expect(same(renderOverlay(image, labels, ['x', 'y'], areas).data, plain.data)).toBe(true);
  });

  it('handles non-ASCII, empty and very long names', () => {
    const image = gradient(400, 300);
    const names = ['日本語', 'naïve café, coffee shop', '', ' , ', 'x'.repeat(200), '😀 emoji', 'Ærøskøbing'];
    const { labels, areas } = stripes(400, 300, names.length);
    expect(() => renderOverlay(image, labels, names, areas)).not.toThrow();
  });

  it('scales the legend with the image size', () => {
    expect(legendScale(300, 225)).toBe(1);
    expect(legendScale(640, 480)).toBe(1);
    expect(legendScale(1920, 1080)).toBe(2);
    expect(legendScale(4000, 3000)).toBe(8);
    expect(legendScale(4000, 300)).toBe(1);
    const big = gradient(4000, 3000);
    const { labels, areas } = stripes(4000, 3000, 4);
    const out = renderOverlay(big, labels, ['wall', 'sky', 'floor', 'tree'], areas);
    // the legend box reaches further than 8 × a scale-1 box would
    const plain = renderOverlay(big, labels, ['wall', 'sky', 'floor', 'tree'], areas, { legend: false });
    let maxY = 0;
    for (let y = 0; y < 1000; y++) if (pixel(out, 40, y).join() !== pixel(plain, 40, y).join()) maxY = y;
    expect(maxY).toBeGreaterThan(300);
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
  it('shows the first synonym, transliterated and shortened', () => {
    expect(legendName('person, human, people')).toBe('person');
    expect(legendName('Straße')).toBe('Strasse');
    expect(legendName(', dog')).toBe('dog');
    expect(legendName(' , ', 3)).toBe('class 3');
    expect(legendName('', 7)).toBe('class 7');
    expect(legendName('  two   words ')).toBe('two words');
    const long = legendName('a'.repeat(50));
    expect([...long].length).toBe(32);
    expect(long.endsWith('…')).toBe(true);
  });

  it('formats shares with one decimal', () => {
    expect(formatShare(0.1234)).toBe('12.3%');
    expect(formatShare(1)).toBe('100.0%');
    expect(formatShare(0)).toBe('0.0%');
    expect(formatShare(0.0001)).toBe('<0.1%');
  });
});
