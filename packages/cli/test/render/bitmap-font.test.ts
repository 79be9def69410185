import { describe, expect, it } from 'vitest';
import { CELL_WIDTH, GLYPH_HEIGHT, LINE_HEIGHT, drawText, measureText, transliterate } from '../../src/render/bitmap-font.js';

function canvas(width: number, height: number) {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

/** The lit pixels of a canvas as rows of '#' and '.'. */
function ascii(c: { width: number; height: number; data: Uint8Array }): string[] {
  const rows: string[] = [];
  for (let y = 0; y < c.height; y++) {
    let r = '';
    for (let x = 0; x < c.width; x++) r += c.data[(y * c.width + x) * 3] ? '#' : '.';
    rows.push(r);
  }
  return rows;
}

describe('bitmap font', () => {
  it('draws a glyph pixel for pixel', () => {
    const c = canvas(5, 9);
    expect(drawText(c, 0, 0, 'A', [255, 255, 255])).toBe(5);
    expect(ascii(c)).toEqual(['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#', '.....', '.....']);
    const g = canvas(5, 9);
    drawText(g, 0, 0, 'g', [255, 0, 0]);
    expect(ascii(g).slice(6)).toEqual(['.####', '....#', '.###.']); // descender
  });

  it('scales and colours', () => {
    const c = canvas(12, 20);
    drawText(c, 1, 2, '.', [10, 20, 30], 2);
    // '.' is a 2×2 block at columns 1–2, rows 5–6 → 4×4 image pixels at (1 + 2, 2 + 10)
    const lit: [number, number][] = [];
    for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) if (c.data[(y * c.width + x) * 3]) lit.push([x, y]);
    expect(lit.length).toBe(16);
    expect(lit[0]).toEqual([3, 12]);
    expect(lit[15]).toEqual([6, 15]);
    expect([...c.data.subarray((12 * 12 + 3) * 3, (12 * 12 + 3) * 3 + 3)]).toEqual([10, 20, 30]);
  });

  it('measures text', () => {
    expect(measureText('', 1)).toEqual({ width: 0, height: GLYPH_HEIGHT });
    expect(measureText('abc', 1)).toEqual({ width: 3 * CELL_WIDTH - 1, height: GLYPH_HEIGHT });
    expect(measureText('ab\nabcd', 3)).toEqual({ width: (4 * CELL_WIDTH - 1) * 3, height: (LINE_HEIGHT + GLYPH_HEIGHT) * 3 });
    expect(measureText('Straße', 1).width).toBe(7 * CELL_WIDTH - 1); // ß → ss
    expect(() => measureText('a', 0)).toThrow(/scale/);
    expect(() => measureText('a', 1.5)).toThrow(/scale/);
  });

  it('transliterates what it cannot draw', () => {
    expect(transliterate('café Ünïcode Straße Ærøskøbing łódź')).toBe('cafe Unicode Strasse AEroskobing lodz');
    expect(transliterate('ﬁle²')).toBe('file2');
    expect(transliterate('“quoted” – dash…')).toBe('"quoted" - dash…');
    expect(transliterate('e\u0301')).toBe('e'); // already decomposed
    expect(transliterate('日本 😀 α')).toBe('?? ? ?');
    expect(transliterate('a\tb\u00a0c')).toBe('a b c');
  });

  it('clips anything outside the target without throwing', () => {
    const c = canvas(8, 8);
    expect(() => drawText(c, -20, -3, 'Hello, wörld! 日本', [255, 255, 255], 3)).not.toThrow();
    expect(() => drawText(c, 100, 100, 'x', [255, 255, 255])).not.toThrow();
    expect(() => drawText(canvas(1, 1), 0, 0, 'W', [255, 255, 255], 4)).not.toThrow();
    const d = canvas(3, 3);
    drawText(d, -1, -1, 'A', [255, 255, 255]);
    expect(ascii(d)).toEqual(['...', '...', '###']); // rows 1–3, columns 1–3 of 'A'
  });
});
