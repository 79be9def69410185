/**
 * Python's `html.unescape` (CPython 3.x `html/__init__.py`), which open_clip applies twice.
 *
 * - Numeric references `&#65;` / `&#x41;` (the `;` is optional): code points 0x80–0x9F and a few
 *   others are replaced per HTML5 (`_invalid_charrefs`, e.g. `&#x80;` → "€", `&#0;` → U+FFFD,
 *   `&#13;` → "\r"); surrogates and values above U+10FFFF become U+FFFD; the HTML5 "invalid
 *   code points" (C0/C1 controls other than tab, LF, FF, CR; U+FDD0–U+FDEF; U+xFFFE/U+xFFFF) are
 *   removed.
 * - Named references: the run of up to 32 characters other than `\t \n \f space < & # ;`, with an
 *   optional `;`, decoded when it is an HTML5 entity name; otherwise its longest prefix that is
 *   one of the legacy names allowed without `;` (`&ampx` → "&x"); otherwise left as is.
 *   Named lookups use the `entities` package's WHATWG table and longest-match decoder, which on
 *   such a run gives exactly Python's result.
 */
import { decodeHTML, DecodingMode } from 'entities';

const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** `html._invalid_charrefs`: 0x00, CR and the C1 range (Windows-1252 characters). */
const INVALID_CHARREFS = new Map<number, string>([
  [0x00, '\ufffd'],
  [0x0d, '\r'],
  [0x80, '\u20ac'],
  [0x81, '\x81'],
  [0x82, '\u201a'],
  [0x83, '\u0192'],
  [0x84, '\u201e'],
  [0x85, '\u2026'],
  [0x86, '\u2020'],
  [0x87, '\u2021'],
  [0x88, '\u02c6'],
  [0x89, '\u2030'],
  [0x8a, '\u0160'],
  [0x8b, '\u2039'],
  [0x8c, '\u0152'],
  [0x8d, '\x8d'],
  [0x8e, '\u017d'],
  [0x8f, '\x8f'],
  [0x90, '\x90'],
  [0x91, '\u2018'],
  [0x92, '\u2019'],
  [0x93, '\u201c'],
  [0x94, '\u201d'],
  [0x95, '\u2022'],
  [0x96, '\u2013'],
  [0x97, '\u2014'],
  [0x98, '\u02dc'],
  [0x99, '\u2122'],
  [0x9a, '\u0161'],
  [0x9b, '\u203a'],
  [0x9c, '\u0153'],
  [0x9d, '\x9d'],
  [0x9e, '\u017e'],
  [0x9f, '\u0178'],
]);

/** `html._invalid_codepoints`: references to these decode to nothing. */
function isInvalidCodePoint(cp: number): boolean {
  return (
    (cp >= 0x01 && cp <= 0x08) ||
    cp === 0x0b ||
    (cp >= 0x0e && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

/** Value of a decimal/hex digit string, or Infinity when it is beyond U+10FFFF (Python ints are unbounded). */
function parseCodePoint(digits: string, radix: 10 | 16): number {
  const trimmed = digits.replace(/^0+/, '');
  if (trimmed.length > (radix === 16 ? 6 : 7)) return Infinity;
  return trimmed === '' ? 0 : parseInt(trimmed, radix);
}

function numericCharref(cp: number): string {
  const replaced = INVALID_CHARREFS.get(cp);
  if (replaced !== undefined) return replaced;
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
  if (isInvalidCodePoint(cp)) return '';
  return String.fromCodePoint(cp);
}

function replaceCharref(match: string, ref: string): string {
  if (ref.charCodeAt(0) === 0x23 /* # */) {
    const hex = ref[1] === 'x' || ref[1] === 'X';
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
    return numericCharref(parseCodePoint(digits, hex ? 16 : 10));
  }
  // The run holds no '&', so the decoder sees exactly one reference: the whole name (with its
  // ';') if it is one, else the longest legacy prefix, else nothing — Python's rule.
  return decodeHTML(match, DecodingMode.Legacy);
}

/** Python's `html.unescape`. */
export function pythonHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF_RE, replaceCharref);
}
