/**
 * `ftfy.fix_text` with ftfy 6.3's default configuration, as open_clip calls it.
 *
 * The text is fixed line by line (segments end after "\n"); each segment is passed through, until
 * nothing changes: `unescape_html` (only while no segment so far contained "<": ftfy's "auto"
 * mode), `fix_encoding` (mojibake, see ftfy-encoding.ts), `fix_c1_controls`,
 * `fix_latin_ligatures`, `fix_character_width`, `uncurl_quotes`, `fix_line_breaks`,
 * `fix_surrogates`, `remove_terminal_escapes`, `remove_control_chars` and NFC normalization.
 *
 * Checked against ftfy 6.3.1 on ~60 000 generated strings (mojibake in ten codecs, HTML
 * entities, controls, ligatures, full-width forms, quotes, line breaks): identical output.
 * Known differences from Python ftfy (none affect ordinary text):
 * - Unicode data comes from the JS engine (ICU), not from Python's `unicodedata`: characters
 *   assigned in Unicode versions that only one of them knows may normalize differently.
 * - A JS string cannot tell an explicit surrogate pair from the astral character it encodes, so
 *   `fix_surrogates` only has lone surrogates to replace (with U+FFFD), as ftfy would.
 * - Segments longer than `max_decode_length` (10^6) are cut at 10^6 UTF-16 units, ftfy cuts at
 *   10^6 code points.
 */
import { decodeHTMLStrict } from 'entities';
import { fixC1Controls, fixEncoding } from './ftfy-encoding.js';
import { pythonHtmlUnescape } from './html-unescape.js';

const MAX_DECODE_LENGTH = 1_000_000;

/** Text ftfy leaves untouched: printable ASCII, tab, LF, FF — no '&', CR, ESC or other controls. */
const UNTOUCHED_RE = /^[\t\n\f\x20-\x25\x27-\x7e]*$/;

// --- unescape_html -------------------------------------------------------------------------

const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's `HTML_ENTITIES` lookup of a `&name;` string. */
function ftfyNamedEntity(ref: string): string | undefined {
  const exact = decodeHTMLStrict(ref);
  if (exact !== ref) return exact;
  // ftfy also decodes the all-caps spelling of an all-lowercase entity name ("&EACUTE;" → "É"),
  // unless that spelling already means something to html.unescape.
  const name = ref.slice(1, -1);
  const lower = name.toLowerCase();
  if (lower === name || name.toUpperCase() !== name) return undefined;
  const lowerRef = `&${lower};`;
  const value = decodeHTMLStrict(lowerRef);
  if (value === lowerRef || pythonHtmlUnescape(ref) !== ref) return undefined;
  return value.toUpperCase();
}

/** `fixes.unescape_html`: only complete references ending in ';' (ftfy is conservative). */
function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(FTFY_ENTITY_RE, (ref) => {
    if (ref.charCodeAt(1) !== 0x23 /* # */) return ftfyNamedEntity(ref) ?? ref;
    // A numeric reference counts only if html.unescape consumed its ';' too.
    const decoded = pythonHtmlUnescape(ref);
    return decoded.includes(';') ? ref : decoded;
  });
}

// --- the character-level fixes ---------------------------------------------------------------

/** `chardata.LIGATURES`: Latin ligatures and digraphs that are copy/paste accidents. */
const LIGATURES: Readonly<Record<string, string>> = {
  '\u0132': 'IJ',
  '\u0133': 'ij',
  '\u0149': '\u02bcn',
  '\u01f1': 'DZ',
  '\u01f2': 'Dz',
  '\u01f3': 'dz',
  '\u01c4': 'D\u017d',
  '\u01c5': 'D\u017e',
  '\u01c6': 'd\u017e',
  '\u01c7': 'LJ',
  '\u01c8': 'Lj',
  '\u01c9': 'lj',
  '\u01ca': 'NJ',
  '\u01cb': 'Nj',
  '\u01cc': 'nj',
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': '\u017ft', // ſt, with a long s (ftfy's choice; it stays ſ through NFC and lower-casing)
  '\ufb06': 'st',
};
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

/** `fixes.fix_latin_ligatures`. */
function fixLatinLigatures(text: string): string {
  return text.replace(LIGATURE_RE, (ch) => LIGATURES[ch] ?? ch);
}

const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

/** `fixes.fix_character_width`: full/half-width forms → NFKC; U+3000 ideographic space → ' '. */
function fixCharacterWidth(text: string): string {
  return text.replace(WIDTH_RE, (ch) => (ch === '\u3000' ? ' ' : ch.normalize('NFKC')));
}

/** `fixes.uncurl_quotes` (ftfy 6.3 also straightens U+02BC MODIFIER LETTER APOSTROPHE). */
function uncurlQuotes(text: string): string {
  return text.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'");
}

/** `fixes.fix_line_breaks`: CRLF, CR, U+2028, U+2029, U+0085 → "\n". */
function fixLineBreaks(text: string): string {
  return text.replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n');
}

/** `fixes.fix_surrogates`: lone surrogates → U+FFFD (JS strings keep proper pairs as one character). */
function fixSurrogates(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** `fixes.remove_terminal_escapes`: ANSI escapes (Python's `\d` is any decimal digit). */
function removeTerminalEscapes(text: string): string {
  return text.replace(/\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu, '');
}

/** `fixes.remove_control_chars`: C0 controls but tab/LF/FF/CR, DEL, U+206A–U+206F, BOM, U+FFF9–U+FFFC. */
function removeControlChars(text: string): string {
  return text.replace(/[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, '');
}

// --- fix_text --------------------------------------------------------------------------------

/** `ftfy.fix_and_explain` on one segment, without the explanation. */
function fixSegment(segment: string, unescapeHtml: boolean): string {
  let text = segment;
  for (;;) {
    const before = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = fixLatinLigatures(text);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = fixSurrogates(text);
    text = removeTerminalEscapes(text);
    text = removeControlChars(text);
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

/** `ftfy.fix_text(text)` with the default configuration. */
export function fixText(text: string): string {
  if (UNTOUCHED_RE.test(text)) return text;
  let out = '';
  let unescapeHtml = true;
  for (let pos = 0; pos < text.length; ) {
    let end = text.indexOf('\n', pos) + 1;
    if (end === 0) end = text.length;
    if (end - pos > MAX_DECODE_LENGTH) end = pos + MAX_DECODE_LENGTH;
    const segment = text.slice(pos, end);
    // "auto": once a segment contains '<' the text may be HTML, and entities are left alone
    // in it and in every later segment.
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false;
    out += fixSegment(segment, unescapeHtml);
    pos = end;
  }
  return out;
}
