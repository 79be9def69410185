/**
 * A small built-in bitmap font, so that legends can be drawn without a font file or a native
 * text renderer.
 *
 * Glyphs are 5 pixels wide and 9 tall: rows 0–6 hold capitals and digits (row 6 is the baseline
 * row), rows 7–8 the descenders of g, j, p, q, y, comma and underscore. Each glyph sits in a cell of
 * 6 × 11 pixels (one blank column between characters, two blank rows between lines). At `scale`
 * s every font pixel becomes an s × s block.
 *
 * Covered: printable ASCII (U+0020–U+007E) and the ellipsis "…". Any other character is
 * transliterated (see {@link transliterate}): compatibility-decomposed (NFKD, a superset of NFD)
 * with combining marks stripped (é → e, Ü → U, ﬁ → fi, ² → 2), a few letters without a
 * decomposition spelled out (ß → ss, æ → ae, ø → o, ł → l, þ → th, …), typographic quotes and
 * dashes made plain; what is still not drawable becomes "?".
 */

import { SedsegError } from '@sedseg/core';

/** Width of a glyph in font pixels. */
export const GLYPH_WIDTH = 5;
/** Height of a glyph in font pixels, descenders included (ascent 7 + descent 2). */
export const GLYPH_HEIGHT = 9;
/** Height from the top of a glyph to the bottom of its baseline row (capital height). */
export const GLYPH_ASCENT = 7;
/** Horizontal advance per character in font pixels. */
export const CELL_WIDTH = 6;
/** Vertical advance per line in font pixels. */
export const LINE_HEIGHT = 11;

/**
 * One hex byte per glyph row, top row first; bit 4 (0x10) is the leftmost pixel. Trailing blank
 * rows are left out. E.g. 'A' = 0E 11 11 1F 11 11 11:
 *
 *   .###.  0E
 *   #...#  11
 *   #...#  11
 *   #####  1F
 *   #...#  11
 *   #...#  11
 *   #...#  11
 */
// prettier-ignore
const GLYPHS: Readonly<Record<string, string>> = {
  ' ': '',
  '!': '04040404040004',
  '"': '0A0A0A',
  '#': '0A0A1F0A1F0A0A',
  $: '040F140E051E04',
  '%': '18190204081303',
  '&': '0C12140815120D',
  "'": '040404',
  '(': '02040808080402',
  ')': '08040202020408',
  '*': '0004150E1504',
  '+': '0004041F0404',
  ',': '00000000000C0408',
  '-': '0000000E',
  '.': '00000000000C0C',
  '/': '000102040810',
  '0': '0E11131519110E',
  '1': '040C040404040E',
  '2': '0E11010204081F',
  '3': '1F02040201110E',
  '4': '02060A121F0202',
  '5': '1F101E0101110E',
  '6': '0608101E11110E',
  '7': '1F010204080808',
  '8': '0E11110E11110E',
  '9': '0E11110F01020C',
  ':': '000C0C000C0C',
  ';': '000C0C000C0408',
  '<': '02040810080402',
  '=': '00001F001F',
  '>': '08040201020408',
  '?': '0E110102040004',
  '@': '0E11010D15150E',
  A: '0E11111F111111',
  B: '1E11111E11111E',
  C: '0E11101010110E',
  D: '1C12111111121C',
  E: '1F10101E10101F',
  F: '1F10101E101010',
  G: '0E11101711110F',
  H: '1111111F111111',
  I: '0E04040404040E',
  J: '0702020202120C',
  K: '11121418141211',
  L: '1010101010101F',
  M: '111B1515111111',
  N: '11111915131111',
  O: '0E11111111110E',
  P: '1E11111E101010',
  Q: '0E11111115120D',
  R: '1E11111E141211',
  S: '0F10100E01011E',
  T: '1F040404040404',
  U: '1111111111110E',
  V: '11111111110A04',
  W: '1111111515150A',
  X: '11110A040A1111',
  Y: '11110A04040404',
  Z: '1F01020408101F',
  '[': '0E08080808080E',
  '\\': '001008040201',
  ']': '0E02020202020E',
  '^': '040A11',
  _: '000000000000001F',
  '`': '080402',
  a: '00000E010F110F',
  b: '1010161911111E',
  c: '00000E1010110E',
  d: '01010D1311110F',
  e: '00000E111F100E',
  f: '0609081C080808',
  g: '00000F1111110F010E',
  h: '10101619111111',
  i: '04000C0404040E',
  j: '02000602020202120C',
  k: '10101214181412',
  l: '0C04040404040E',
  m: '00001A15151515',
  n: '00001619111111',
  o: '00000E1111110E',
  p: '00001E1111111E1010',
  q: '00000F1111110F0101',
  r: '00001619101010',
  s: '00000F100E011E',
  t: '08081C08080906',
  u: '0000111111130D',
  v: '00001111110A04',
  w: '0000111115150A',
  x: '0000110A040A11',
  y: '0000111111110F010E',
  z: '00001F0204081F',
  '{': '03040408040403',
  '|': '04040404040404',
  '}': '18040402040418',
  '~': '0000081502',
  '\u2026': '00000000000015',
};

/** Decoded glyph rows (GLYPH_HEIGHT bytes each). */
const BITMAPS = new Map<string, Uint8Array>();
for (const [ch, hex] of Object.entries(GLYPHS)) {
  const rows = new Uint8Array(GLYPH_HEIGHT);
  for (let r = 0; r * 2 < hex.length; r++) rows[r] = parseInt(hex.slice(r * 2, r * 2 + 2), 16);
  BITMAPS.set(ch, rows);
}

/** Letters and signs that have no (useful) Unicode decomposition. */
const SPELLED: Readonly<Record<string, string>> = {
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'Th',
  ł: 'l',
  Ł: 'L',
  ı: 'i',
  ħ: 'h',
  Ħ: 'H',
  ŋ: 'n',
  Ŋ: 'N',
  ĸ: 'k',
  ſ: 's',
  '\u2018': "'",
  '\u2019': "'",
  '\u201A': "'",
  '\u201B': "'",
  '\u2032': "'",
  '\u201C': '"',
  '\u201D': '"',
  '\u201E': '"',
  '\u201F': '"',
  '\u2033': '"',
  '«': '"',
  '»': '"',
  '\u2010': '-',
  '\u2011': '-',
  '\u2012': '-',
  '\u2013': '-',
  '\u2014': '-',
  '\u2015': '-',
  '\u2212': '-',
  '·': '.',
  '•': '*',
  '×': 'x',
  '÷': '/',
  '\t': ' ',
};

const COMBINING_MARK = /\p{M}/u;
const SPACE = /\s/u;

function mapChar(ch: string): string {
  if (BITMAPS.has(ch) || ch === '\n') return ch;
  const spelled = SPELLED[ch];
  if (spelled !== undefined) return spelled;
  if (COMBINING_MARK.test(ch)) return '';
  if (ch === '\r' || ch === '\u200B' || ch === '\u200D' || ch === '\uFEFF') return ''; // invisible
  if (SPACE.test(ch)) return ' ';
  let out = '';
  let any = false;
  for (const d of ch.normalize('NFKD')) {
    if (COMBINING_MARK.test(d)) continue;
    if (d === ch) return '?'; // no decomposition
    const m = BITMAPS.has(d) ? d : SPELLED[d];
    if (m === undefined) return '?';
    out += m;
    any = true;
  }
  return any ? out : '?';
}

/**
 * `text` rewritten with only drawable characters (printable ASCII, "…" and "\n"); see the module
 * comment for the rules. One "?" per undrawable code point (not per UTF-16 unit).
 */
export function transliterate(text: string): string {
  let out = '';
  for (const ch of text) out += mapChar(ch);
  return out;
}

/** Size in image pixels of `text` drawn at `scale` (after transliteration; "\n" breaks lines). */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  checkScale(scale);
  const lines = transliterate(text).split('\n');
  let chars = 0;
  for (const line of lines) chars = Math.max(chars, [...line].length);
  return {
    width: chars > 0 ? (chars * CELL_WIDTH - 1) * scale : 0,
    height: ((lines.length - 1) * LINE_HEIGHT + GLYPH_HEIGHT) * scale,
  };
}

/** A mutable RGB image (3 bytes per pixel, row-major), e.g. an `RgbImage` whose buffer may be written. */
export interface RgbTarget {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/**
 * Draws `text` with its top-left corner at (`x`, `y`) (the top of the glyph cells) in `color`
 * (R, G, B in 0–255) at integer `scale` ≥ 1. Only the glyph pixels are written (no background);
 * anything outside `target` is clipped, so any position is valid. Returns the drawn width (as
 * {@link measureText}).
 */
export function drawText(target: RgbTarget, x: number, y: number, text: string, color: ArrayLike<number>, scale = 1): number {
  checkScale(scale);
  const { width, height, data } = target;
  const r = color[0] ?? 0;
  const g = color[1] ?? 0;
  const b = color[2] ?? 0;
  x = Math.round(x);
  y = Math.round(y);
  let maxWidth = 0;
  let lineY = y;
  for (const line of transliterate(text).split('\n')) {
    let cx = x;
    let chars = 0;
    for (const ch of line) {
      const rows = BITMAPS.get(ch) ?? BITMAPS.get('?')!;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        const bits = rows[row]!;
        if (bits === 0) continue;
        const py0 = lineY + row * scale;
        if (py0 >= height || py0 + scale <= 0) continue;
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          if ((bits & (0x10 >> col)) === 0) continue;
          const px0 = cx + col * scale;
          const xa = Math.max(0, px0);
          const xb = Math.min(width, px0 + scale);
          if (xa >= xb) continue;
          const ya = Math.max(0, py0);
          const yb = Math.min(height, py0 + scale);
          for (let py = ya; py < yb; py++) {
            for (let px = xa, o = (py * width + xa) * 3; px < xb; px++, o += 3) {
              data[o] = r;
              data[o + 1] = g;
              data[o + 2] = b;
            }
          }
        }
      }
      cx += CELL_WIDTH * scale;
      chars++;
    }
    if (chars > 0) maxWidth = Math.max(maxWidth, (chars * CELL_WIDTH - 1) * scale);
    lineY += LINE_HEIGHT * scale;
  }
  return maxWidth;
}

function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1) throw new SedsegError('E_ARGUMENT', `text scale must be an integer ≥ 1, got ${scale}`);
}
