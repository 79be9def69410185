/**
 * ftfy 6.3 `fix_encoding`: detection and repair of mojibake (UTF-8 decoded with a single-byte
 * codec, e.g. "cafÃ©" → "café"), ported for exact compatibility with `ftfy.fix_text` as run by
 * open_clip. Same steps, same order, same tables:
 *
 * - `isBad`: ftfy's `badness.BADNESS_RE` (character categories of the ~400 characters that occur
 *   in UTF-8 mojibake, and the unlikely sequences of them);
 * - re-encoding with the single-byte codecs ftfy tries (`CHARMAP_ENCODINGS`, its "sloppy"
 *   Windows codecs included: unassigned bytes pass through as Latin-1, byte 0x1A ↔ U+FFFD), with
 *   `restore_byte_a0` and `replace_lossy_sequences`, then decoding as UTF-8 or ftfy's
 *   "utf-8-variants" (CESU-8 surrogate pairs, Java's C0 80 null);
 * - `decode_inconsistent_utf8` (mojibake embedded in otherwise fine text), the Latin-1 →
 *   Windows-1252 fallback and `fix_c1_controls`.
 *
 * Python regex semantics are kept where they differ from JS: `\s` is Python's (includes
 * U+001C–U+001F and U+0085), `\w` is `[\p{L}\p{N}_]`, `.` excludes only "\n".
 * Byte strings are handled as "binary strings" (one char per byte, 0–255).
 */

type CharmapName =
  | 'latin-1'
  | 'sloppy-windows-1252'
  | 'sloppy-windows-1251'
  | 'sloppy-windows-1250'
  | 'sloppy-windows-1253'
  | 'sloppy-windows-1254'
  | 'sloppy-windows-1257'
  | 'iso-8859-2'
  | 'macroman'
  | 'cp437';

/**
 * Bytes 0x80–0xFF of each codec as Python decodes them (the sloppy ones: unassigned bytes
 * decode as in Latin-1). Generated from CPython's codec tables.
 */
const HIGH_HALF: Record<CharmapName, string> = {
  'latin-1':
    '\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0¡¢£¤¥¦§¨©ª«¬\xad®¯°±²³´µ¶·¸¹º»¼½¾¿' +
    'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ',
  'sloppy-windows-1252':
    '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ\xa0¡¢£¤¥¦§¨©ª«¬\xad®¯°±²³´µ¶·¸¹º»¼½¾¿' +
    'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ',
  'sloppy-windows-1251':
    'ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—\x98™љ›њќћџ\xa0ЎўЈ¤Ґ¦§Ё©Є«¬\xad®Ї°±Ііґµ¶·ё№є»јЅѕї' + 'АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклмнопрстуфхцчшщъыьэюя',
  'sloppy-windows-1250':
    '€\x81‚\x83„…†‡\x88‰Š‹ŚŤŽŹ\x90‘’“”•–—\x98™š›śťžź\xa0ˇ˘Ł¤Ą¦§¨©Ş«¬\xad®Ż°±˛ł´µ¶·¸ąş»Ľ˝ľż' +
    'ŔÁÂĂÄĹĆÇČÉĘËĚÍÎĎĐŃŇÓÔŐÖ×ŘŮÚŰÜÝŢßŕáâăäĺćçčéęëěíîďđńňóôőö÷řůúűüýţ˙',
  'sloppy-windows-1253':
    '€\x81‚ƒ„…†‡\x88‰\x8a‹\x8c\x8d\x8e\x8f\x90‘’“”•–—\x98™\x9a›\x9c\x9d\x9e\x9f\xa0΅Ά£¤¥¦§¨©ª«¬\xad®―°±²³΄µ¶·ΈΉΊ»Ό½ΎΏ' +
    'ΐΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡÒΣΤΥΦΧΨΩΪΫάέήίΰαβγδεζηθικλμνξοπρςστυφχψωϊϋόύώÿ',
  'sloppy-windows-1254':
    '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8d\x8e\x8f\x90‘’“”•–—˜™š›œ\x9d\x9eŸ\xa0¡¢£¤¥¦§¨©ª«¬\xad®¯°±²³´µ¶·¸¹º»¼½¾¿' +
    'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏĞÑÒÓÔÕÖ×ØÙÚÛÜİŞßàáâãäåæçèéêëìíîïğñòóôõö÷øùúûüışÿ',
  'sloppy-windows-1257':
    '€\x81‚\x83„…†‡\x88‰\x8a‹\x8c¨ˇ¸\x90‘’“”•–—\x98™\x9a›\x9c¯˛\x9f\xa0¡¢£¤¥¦§Ø©Ŗ«¬\xad®Æ°±²³´µ¶·ø¹ŗ»¼½¾æ' +
    'ĄĮĀĆÄÅĘĒČÉŹĖĢĶĪĻŠŃŅÓŌÕÖ×ŲŁŚŪÜŻŽßąįāćäåęēčéźėģķīļšńņóōõö÷ųłśūüżž˙',
  'iso-8859-2':
    '\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0Ą˘Ł¤ĽŚ§¨ŠŞŤŹ\xadŽŻ°ą˛ł´ľśˇ¸šşťź˝žż' +
    'ŔÁÂĂÄĹĆÇČÉĘËĚÍÎĎĐŃŇÓÔŐÖ×ŘŮÚŰÜÝŢßŕáâăäĺćçčéęëěíîďđńňóôőö÷řůúűüýţ˙',
  macroman: 'ÄÅÇÉÑÖÜáàâäãåçéèêëíìîïñóòôöõúùûü†°¢£§•¶ß®©™´¨≠ÆØ∞±≤≥¥µ∂∑∏π∫ªºΩæø' + '¿¡¬√ƒ≈∆«»…\xa0ÀÃÕŒœ–—“”‘’÷◊ÿŸ⁄€‹›ﬁﬂ‡·‚„‰ÂÊÁËÈÍÎÏÌÓÔ\uf8ffÒÚÛÙıˆ˜¯˘˙˚¸˝˛ˇ',
  cp437: 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' + '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\xa0',
};

/** The codecs ftfy tries, in its order (`chardata.CHARMAP_ENCODINGS`). */
const CHARMAP_ENCODINGS: readonly CharmapName[] = [
  'latin-1',
  'sloppy-windows-1252',
  'sloppy-windows-1251',
  'sloppy-windows-1250',
  'sloppy-windows-1253',
  'sloppy-windows-1254',
  'sloppy-windows-1257',
  'iso-8859-2',
  'macroman',
  'cp437',
];

/** Bytes that strict Windows-1252 leaves unassigned (Python's codec raises on them). */
const WINDOWS_1252_UNDEFINED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);

interface Charmap {
  /** byte → char. */
  readonly decode: readonly string[];
  /** char → byte; exactly the characters `possible_encoding` accepts. */
  readonly encode: ReadonlyMap<string, number>;
}

let charmaps: Map<CharmapName, Charmap> | undefined;

function getCharmaps(): Map<CharmapName, Charmap> {
  if (charmaps) return charmaps;
  charmaps = new Map();
  for (const name of CHARMAP_ENCODINGS) {
    const decode: string[] = [];
    for (let b = 0; b < 0x80; b++) decode.push(String.fromCharCode(b));
    // ftfy's sloppy codecs use byte 0x1A (SUBSTITUTE) for U+FFFD.
    if (name.startsWith('sloppy-')) decode[0x1a] = '\ufffd';
    decode.push(...HIGH_HALF[name]);
    const encode = new Map<string, number>();
    decode.forEach((ch, b) => {
      encode.set(ch, b);
    });
    charmaps.set(name, { decode, encode });
  }
  return charmaps;
}

function charmap(name: CharmapName): Charmap {
  return getCharmaps().get(name)!;
}

/** `chardata.possible_encoding`: every character of `text` has a byte in the codec. */
function possibleEncoding(text: string, name: CharmapName): boolean {
  const { encode } = charmap(name);
  for (const ch of text) if (!encode.has(ch)) return false;
  return true;
}

/** Encodes with a single-byte codec into a binary string (assumes `possibleEncoding`). */
function encodeBinary(text: string, name: CharmapName): string {
  const { encode } = charmap(name);
  let out = '';
  for (const ch of text) out += String.fromCharCode(encode.get(ch)!);
  return out;
}

function binaryToBytes(bin: string): Uint8Array {
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

let strictUtf8: TextDecoder | undefined;

/** Python's strict `bytes.decode('utf-8')`: throws on any invalid sequence, keeps a BOM. */
function decodeUtf8Strict(bin: string): string {
  strictUtf8 ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return strictUtf8.decode(binaryToBytes(bin));
}

/** A CESU-8 surrogate pair `ED A0-AF 80-BF ED B0-BF 80-BF` starting at `i`, as ftfy's regex sees it. */
function cesu8PairAt(bin: string, i: number): number | undefined {
  const n = bin.length;
  if (n - i < 6) return undefined;
  const b1 = bin.charCodeAt(i + 1);
  const b2 = bin.charCodeAt(i + 2);
  const b3 = bin.charCodeAt(i + 3);
  const b4 = bin.charCodeAt(i + 4);
  const b5 = bin.charCodeAt(i + 5);
  const ok =
    b1 >= 0xa0 &&
    b1 <= 0xaf &&
    b2 >= 0x80 &&
    b2 <= 0xbf &&
    b3 === 0xed &&
    b4 >= 0xb0 &&
    b4 <= 0xbf &&
    // Python's `$` also matches before a final "\n": ftfy's pattern lets "\n" stand in for the last byte there.
    ((b5 >= 0x80 && b5 <= 0xbf) || (b5 === 0x0a && i + 6 === n));
  if (!ok) return undefined;
  return ((b1 & 0x0f) << 16) + ((b2 & 0x3f) << 10) + ((b4 & 0x0f) << 6) + (b5 & 0x3f) + 0x10000;
}

/**
 * ftfy's "utf-8-variants" codec: strict UTF-8, plus CESU-8 surrogate pairs and Java's
 * two-byte null `C0 80`. Throws on anything else that is not UTF-8.
 */
function decodeUtf8Variants(bin: string): string {
  let out = '';
  let start = 0;
  let i = 0;
  while (i < bin.length) {
    const b = bin.charCodeAt(i);
    if (b === 0xc0 && i + 1 < bin.length) {
      const next = bin.charCodeAt(i + 1);
      // `\xc0(\x80|$)`: again `$` before a final "\n" is a match, and ftfy consumes both bytes.
      if (next === 0x80 || (next === 0x0a && i + 2 === bin.length)) {
        out += `${decodeUtf8Strict(bin.slice(start, i))}\u0000`;
        i += 2;
        start = i;
        continue;
      }
    } else if (b === 0xed) {
      const cp = cesu8PairAt(bin, i);
      if (cp !== undefined) {
        out += decodeUtf8Strict(bin.slice(start, i)) + String.fromCodePoint(cp);
        i += 6;
        start = i;
        continue;
      }
    }
    i++;
  }
  return out + decodeUtf8Strict(bin.slice(start));
}

// --- fixes that work on bytes ------------------------------------------------------------

/** UTF-8 sequences that would be valid if a byte A0 had not become a space (`chardata.ALTERED_UTF8_RE`). */
const ALTERED_UTF8_RE =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;

const ALTERED_UTF8_TEST_RE = new RegExp(ALTERED_UTF8_RE.source);

/** "Ã " as a word (à), except before Portuguese contractions (`fixes.A_GRAVE_WORD_RE`). */
const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;

/** `fixes.restore_byte_a0`. */
function restoreByteA0(bin: string): string {
  return bin.replace(A_GRAVE_WORD_RE, '\xc3\xa0 ').replace(ALTERED_UTF8_RE, (m) => m.replace(/ /g, '\xa0'));
}

/** UTF-8 sequences whose lost bytes became 0x1A or '?' (`chardata.LOSSY_UTF8_RE`). */
const LOSSY_UTF8_RE = new RegExp(
  [
    '[\\xc2-\\xdf][\\x1a]',
    '[\\xc2-\\xc3][?]',
    '\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]',
    '\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]',
    '[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]',
    '[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]',
    '[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]',
    '[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]',
    '[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]',
    '\\x1a',
  ].join('|'),
  'g',
);

/** `fixes.replace_lossy_sequences`: such sequences become the UTF-8 bytes of U+FFFD. */
function replaceLossySequences(bin: string): string {
  return bin.replace(LOSSY_UTF8_RE, '\xef\xbf\xbd');
}

// --- the badness heuristic ---------------------------------------------------------------

/** Python `re`'s `\s` for str patterns (JS `\s` lacks U+001C–U+001F and U+0085, adds U+FEFF). */
const PY_RE_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** ftfy's `badness.MOJIBAKE_CATEGORIES` (regex character-class fragments). */
const CAT = {
  common: '\u00a0\u00ad\u00b7\u00b4\u2013\u2014\u2015\u2026\u2019',
  c1: '\u0080-\u009f',
  bad: '\u00a6\u00a4\u00a8\u00ac\u00af\u00b8\u0192\u02c6\u02c7\u02d8\u02db\u02dc\u2020\u2021\u2030\u2310\u25ca\ufffd\u00aa\u00ba',
  law: '\u00b6\u00a7',
  currency: '\u00a2\u00a3\u00a5\u20a7\u20ac',
  start: '\u00a1\u00ab\u00bf\u00a9\u0384\u0385\u2018\u201a\u201c\u201e\u2022\u2039\uf8ff',
  end: '\u00ae\u00bb\u02dd\u201d\u203a\u2122',
  numeric:
    '\u00b2\u00b3\u00b9\u00b1\u00bc\u00bd\u00be\u00d7\u00b5\u00f7\u2044\u2202\u2206\u220f\u2211\u221a\u221e\u2229\u222b\u2248\u2260\u2261\u2264\u2265\u2116',
  kaomoji: '\u00d2-\u00d6\u00d9-\u00dc\u00f2-\u00f6\u00f8-\u00fc\u0150\u014c\u016a\u0172\u00b0',
  upperAccented:
    '\u00c0-\u00d1\u00d8\u00dc\u00dd\u0102\u0100\u0104\u0106\u010c\u010e\u0110\u0118\u011a\u0112\u0116\u011e\u0122\u0130\u012a\u0136\u0139\u013d\u0141\u013b\u0143\u0147\u0145\u0152\u0158\u015a\u015e\u0160\u0162\u0164\u016e\u0170\u0178\u0179\u017b\u017d\u0490',
  lowerAccented:
    '\u00df\u00e0-\u00f1\u0103\u0105\u0101\u0107\u010d\u010f\u0111\u0119\u011b\u0113\u0117\u011f\u0123\u012f\u012b\u0137\u013a\u013e\u0142\u013c\u0153\u0155\u015b\u015f\u0161\u0165\u00fc\u017a\u017c\u017e\u0491\ufb01\ufb02',
  upperCommon: '\u00de\u0391-\u03a9\u0386\u0388\u0389\u038a\u038c\u038e\u038f\u03aa\u03ab\u0401-\u042f',
  lowerCommon: '\u03b1-\u03c9\u03ac\u03ad\u03ae\u03af\u03b0\u0430-\u045f',
  box: '\u2502\u250c\u2510\u2518\u251c\u2524\u252c\u253c\u2550-\u256c\u2580\u2584\u2588\u258c\u2590\u2591\u2592\u2593',
};

/** `badness.BADNESS_RE`, alternative by alternative. */
function buildBadnessRegex(): RegExp {
  const c = CAT;
  const s = PY_RE_WHITESPACE;
  const w = '\\p{L}\\p{N}_';
  const arabic = `${c.common}${c.currency}${c.bad}${c.numeric}${c.start}ŸŠ®°µ»`;
  const alternatives = [
    `[${c.c1}]`,
    `[${c.bad}${c.lowerAccented}${c.upperAccented}${c.box}${c.start}${c.end}${c.currency}${c.numeric}${c.law}][${c.bad}]`,
    `[a-zA-Z][${c.lowerCommon}${c.upperCommon}][${c.bad}]`,
    `[${c.bad}][${c.lowerAccented}${c.upperAccented}${c.box}${c.start}${c.end}${c.currency}${c.numeric}${c.law}]`,
    `[${c.lowerAccented}${c.lowerCommon}${c.box}${c.end}${c.currency}${c.numeric}][${c.upperAccented}]`,
    `[${c.box}${c.end}${c.currency}${c.numeric}][${c.lowerAccented}]`,
    `[${c.lowerAccented}${c.box}${c.end}][${c.currency}]`,
    `[${s}][${c.upperAccented}][${c.currency}]`,
    `[${c.upperAccented}${c.box}][${c.numeric}${c.law}]`,
    `[${c.lowerAccented}${c.upperAccented}${c.box}${c.currency}${c.end}][${c.start}][${c.numeric}]`,
    `[${c.lowerAccented}${c.upperAccented}${c.currency}${c.numeric}${c.box}${c.law}][${c.end}][${c.start}]`,
    `[${c.currency}${c.numeric}${c.box}][${c.start}]`,
    `[a-z][${c.upperAccented}][${c.start}${c.currency}]`,
    `[${c.box}][${c.kaomoji}]`,
    `[${c.lowerAccented}${c.upperAccented}${c.currency}${c.numeric}${c.start}${c.end}${c.law}][${c.box}]`,
    `[${c.box}][${c.end}]`,
    `[${c.lowerAccented}${c.upperAccented}][${c.start}${c.end}][${w}]`,
    // the ligature œ when not followed by an unaccented Latin letter
    `[Œœ][^A-Za-z]`,
    // degree signs after capital letters
    `[${c.upperAccented}]°`,
    // common Windows-1252 2-character mojibake
    `[ÂÃÎÐ][€œŠš¢£Ÿž\u00a0\u00ad®©°·»${c.start}${c.end}–—´]`,
    `×[²³]`,
    // Windows-1252 mojibake of Arabic words: four characters
    `[ØÙ][${arabic}][ØÙ][${arabic}]`,
    // Windows-1252 mojibake starting 3-character sequences of some South Asian alphabets
    `à[²µ¹¼½¾]`,
    // MacRoman mojibake
    `√[±∂†≠®™´≤≥¥µø]`,
    `≈[°¢]`,
    `‚Ä[ìîïòôúùû†°¢π]`,
    `‚[âó][àä°ê]`,
    // Windows-1251 mojibake of U+2000-range characters, of Latin-1 / Cyrillic
    `вЂ`,
    `[ВГРС][${c.c1}${c.bad}${c.start}${c.end}${c.currency}°µ][ВГРС]`,
    `ГўВЂВ[^\\n][A-Za-z ]`,
    // Windows-1252 encodings of 'à' and 'á', and of U+00A0 itself
    `Ã[\u00a0¡]`,
    `[a-z][${s}]?[ÃÂ] `,
    `^[ÃÂ] `,
    // Â before the very character it encodes
    `[a-z.,?!${c.end}]Â[ ${c.start}${c.end}]`,
    // Windows-1253 mojibake
    `β€[™\u00a0Ά\u00ad®°]`,
    `[ΒΓΞΟ][${c.c1}${c.bad}${c.start}${c.end}${c.currency}°][ΒΓΞΟ]`,
    // Windows-1257 mojibake of U+2000-range characters
    `ā€`,
  ];
  return new RegExp(alternatives.join('|'), 'u');
}

let badnessRe: RegExp | undefined;

/** ftfy's `badness.is_bad`: does the text contain a sequence that is most likely mojibake? */
export function isBad(text: string): boolean {
  badnessRe ??= buildBadnessRegex();
  return badnessRe.test(text);
}

// --- decode_inconsistent_utf8 --------------------------------------------------------------

/**
 * ftfy's `UTF8_DETECTOR_RE`: runs of what look like UTF-8 lead + continuation bytes in a
 * Latin-1-like codec. `chardata.UTF8_CLUES` is, by construction, the union over Latin-1 and the
 * Windows codecs 1250–1254 and 1257 of the characters of bytes C2–DF (first of 2), E0–EF (first
 * of 3), F0 and F3 (first of 4), and 80–BF plus a space (continuation); the "strict" set drops the
 * space, dashes, quotes, bullet and ellipsis.
 */
function utf8DetectorSource(): string {
  const sources: CharmapName[] = [
    'latin-1',
    'sloppy-windows-1250',
    'sloppy-windows-1251',
    'sloppy-windows-1252',
    'sloppy-windows-1253',
    'sloppy-windows-1254',
    'sloppy-windows-1257',
  ];
  const charsOf = (bytes: number[]): Set<string> => {
    const set = new Set<string>();
    for (const name of sources) for (const b of bytes) set.add(charmap(name).decode[b]!);
    return set;
  };
  const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const cls = (set: Iterable<string>): string => [...set].map((ch) => `\\u{${ch.codePointAt(0)!.toString(16)}}`).join('');
  const continuation = charsOf(range(0x80, 0xbf));
  continuation.add(' ');
  const notStrict = new Set([' ', '–', '—', '―', '‘', '’', '‚', '“', '”', '„', '•', '…']);
  const strict = [...continuation].filter((ch) => !notStrict.has(ch));
  const cont = `[${cls(continuation)}]`;
  return `(?<![${cls(strict)}])(?:[${cls(charsOf(range(0xc2, 0xdf)))}]${cont}|[${cls(charsOf(range(0xe0, 0xef)))}]${cont}{2}|[${cls(charsOf([0xf0, 0xf3]))}]${cont}{3})+`;
}

let utf8Detector: { test: RegExp; all: RegExp } | undefined;

function getUtf8Detector(): { test: RegExp; all: RegExp } {
  if (!utf8Detector) {
    const source = utf8DetectorSource();
    utf8Detector = { test: new RegExp(source, 'u'), all: new RegExp(source, 'gu') };
  }
  return utf8Detector;
}

/** `fixes.decode_inconsistent_utf8`: fixes mojibake runs embedded in otherwise consistent text. */
function decodeInconsistentUtf8(text: string): string {
  return text.replace(getUtf8Detector().all, (run) => (run.length < text.length && isBad(run) ? fixEncoding(run) : run));
}

// --- C1 controls ---------------------------------------------------------------------------

const C1_RE = /[\x80-\x9f]/g;

/** `fixes.fix_c1_controls`: C1 control characters → their Windows-1252 characters (as browsers do). */
export function fixC1Controls(text: string): string {
  if (!/[\x80-\x9f]/.test(text)) return text;
  const table = charmap('sloppy-windows-1252').decode;
  return text.replace(C1_RE, (ch) => table[ch.charCodeAt(0)]!);
}

// --- fix_encoding --------------------------------------------------------------------------

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** `ftfy._fix_encoding_one_step_and_explain` (default config), without the explanation. */
function fixEncodingOneStep(text: string): string {
  if (text.length === 0 || isAscii(text) || !isBad(text)) return text;

  const possible: CharmapName[] = [];
  for (const name of CHARMAP_ENCODINGS) {
    if (!possibleEncoding(text, name)) continue;
    possible.push(name);
    let bin = encodeBinary(text, name);
    if (name !== 'macroman' && ALTERED_UTF8_TEST_RE.test(bin)) bin = restoreByteA0(bin);
    if (name.startsWith('sloppy-')) bin = replaceLossySequences(bin);
    const variants = bin.includes('\xed') || bin.includes('\xc0');
    try {
      return variants ? decodeUtf8Variants(bin) : decodeUtf8Strict(bin);
    } catch {
      // not UTF-8 in this codec: try the next one
    }
  }

  if (getUtf8Detector().test.test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }

  // Latin-1 that was meant as Windows-1252. (ftfy checks for "windows-1252" among the possible
  // codecs first, which never holds since it tries the sloppy variant, so this always runs.)
  if (possible.includes('latin-1')) {
    const bin = encodeBinary(text, 'latin-1');
    let undefinedByte = false;
    for (let i = 0; i < bin.length; i++) if (WINDOWS_1252_UNDEFINED.has(bin.charCodeAt(i))) undefinedByte = true;
    if (!undefinedByte) {
      const table = charmap('sloppy-windows-1252').decode;
      let fixed = '';
      for (let i = 0; i < bin.length; i++) fixed += table[bin.charCodeAt(i)]!;
      if (fixed !== text) return fixed;
    }
  }

  if (/[\x80-\x9f]/.test(text)) return fixC1Controls(text);
  return text;
}

/** ftfy's `fix_encoding` (default config): repeats one step until the text no longer changes. */
export function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingOneStep(text);
    if (fixed === text) return fixed;
    text = fixed;
  }
}
