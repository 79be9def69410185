/**
 * open_clip's text cleaning, with Python's semantics:
 *
 *     text = ftfy.fix_text(text)                     # ftfy.ts
 *     text = html.unescape(html.unescape(text))      # html-unescape.ts
 *     text = text.strip()
 *     text = regex.sub(r'\s+', ' ', text).strip()    # open_clip imports `regex` as `re`
 *     text = text.lower()
 *
 * (open_clip 3.x collapses with `' '.join(text.split())` instead: the same here, because the only
 * characters on which `str.split` and `regex`'s `\s` disagree, U+001C–U+001F, cannot survive
 * ftfy and html.unescape.)
 *
 * The whitespace sets differ, between the Python functions and from JS: `str.strip()` removes what
 * `str.isspace()` accepts (U+001C–U+001F and U+0085 included), the `regex` module's `\s` has
 * U+0085 but not U+001C–U+001F, and JS `\s` has neither but adds U+FEFF.
 */
import { fixText } from './ftfy.js';
import { pythonHtmlUnescape } from './html-unescape.js';

/** The `regex` module's `\s` (Unicode White_Space) as a character-class body. */
export const PY_REGEX_WHITESPACE = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Python `str.isspace()` as a character-class body (adds the information separators U+001C–U+001F). */
const PY_STR_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const STRIP_RE = new RegExp(`^[${PY_STR_WHITESPACE}]+|[${PY_STR_WHITESPACE}]+$`, 'g');
const WHITESPACE_RUN_RE = new RegExp(`[${PY_REGEX_WHITESPACE}]+`, 'g');

/** Python `str.strip()` (no argument). */
export function pythonStrip(text: string): string {
  return text.replace(STRIP_RE, '');
}

/** `regex.sub(r'\s+', ' ', text).strip()`: open_clip's `whitespace_clean`. */
export function collapseWhitespace(text: string): string {
  return pythonStrip(text.replace(WHITESPACE_RUN_RE, ' '));
}

/**
 * Python `str.lower()`. JS `toLowerCase()` implements the same Unicode full lower-case mapping:
 * 'İ' → 'i̇' and the Final_Sigma rule ('ΑΣ' → 'ας', a lone 'Σ' → 'σ') — CPython applies that
 * rule too, and both use the same definitions of "cased" and "case-ignorable". Only characters
 * assigned in different Unicode versions can differ.
 */
export function pythonLower(text: string): string {
  return text.toLowerCase();
}

/** Plain printable ASCII (tab/LF/FF allowed) without '&' or CR: fix_text and unescape leave it alone. */
const PLAIN_ASCII_RE = /^[\t\n\f\x20-\x25\x27-\x7e]*$/;

/** The whole cleaning pipeline of open_clip's `SimpleTokenizer.encode`, before the regex split. */
export function cleanText(text: string): string {
  let t = text;
  if (!PLAIN_ASCII_RE.test(t)) {
    t = fixText(t);
    t = pythonHtmlUnescape(pythonHtmlUnescape(t));
  }
  return pythonLower(collapseWhitespace(pythonStrip(t)));
}
