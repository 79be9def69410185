import { readFileSync } from 'node:fs';
import { gunzipSync as zlibGunzip } from 'node:zlib';
import { gzipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { isSedsegError } from '../src/errors.js';
import { loadDefaultTokenizer } from '../src/node/default-tokenizer.js';
import { WordCache } from '../src/tokenizer/bpe.js';
import { bytesToUnicode } from '../src/tokenizer/bytes-to-unicode.js';
import { CLIP_EOT_ID, CLIP_SOT_ID, CLIP_VOCAB_SIZE, ClipTokenizer, eotIndex, maxEotPosition, splitWords } from '../src/tokenizer/clip-tokenizer.js';
import { fixText } from '../src/tokenizer/ftfy.js';
import { isBad } from '../src/tokenizer/ftfy-encoding.js';
import { pythonHtmlUnescape } from '../src/tokenizer/html-unescape.js';
import { cleanText, collapseWhitespace, pythonLower, pythonStrip } from '../src/tokenizer/text-cleaning.js';
import { readReferenceJson } from './helpers/reference.js';

interface TokenizerCase {
  text: string;
  note?: string;
  bpe_ids: number[];
  tokens: number[];
}
interface TokenizerCases {
  context_length: number;
  sot_token: number;
  eot_token: number;
  vocab_size: number;
  cases: TokenizerCase[];
}

const reference = readReferenceJson<TokenizerCases>('tokenizer-cases.json');
const VOCAB_GZ = new URL('../data/bpe_simple_vocab_16e6.txt.gz', import.meta.url);

function expectSedsegError(fn: () => unknown, code: string, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(isSedsegError(thrown), `expected a SedsegError, got ${String(thrown)}`).toBe(true);
  expect((thrown as { code: string }).code).toBe(code);
  if (message) expect((thrown as Error).message).toMatch(message);
}

let tok: ClipTokenizer;

beforeAll(() => {
  tok = ClipTokenizer.fromGzip(readFileSync(VOCAB_GZ));
});

describe('ClipTokenizer: reference cases (open_clip SimpleTokenizer)', () => {
  it('has the CLIP special tokens and vocabulary size', () => {
    expect(tok.sot).toBe(reference.sot_token);
    expect(tok.eot).toBe(reference.eot_token);
    expect(tok.vocabSize).toBe(reference.vocab_size);
    expect(tok.sot).toBe(CLIP_SOT_ID);
    expect(tok.eot).toBe(CLIP_EOT_ID);
    expect(tok.vocabSize).toBe(CLIP_VOCAB_SIZE);
  });

  it.each(reference.cases.map((c, i) => [i, c.text, c] as const))('case %i: %j', (_i, _text, c) => {
    expect(tok.encode(c.text)).toEqual(c.bpe_ids);
    expect(Array.from(tok.tokenize(c.text, reference.context_length))).toEqual(c.tokens);
  });

  it('tokenizes all cases as one batch', () => {
    const rows = tok.tokenize(reference.cases.map((c) => c.text));
    expect(rows.length).toBe(reference.cases.length * 77);
    expect(Array.from(rows)).toEqual(reference.cases.flatMap((c) => c.tokens));
  });

  it('gives the same ids with a cold and a warm word cache', () => {
    const text = reference.cases.map((c) => c.text).join(' ');
    tok.clearCache();
    const cold = tok.encode(text);
    expect(tok.encode(text)).toEqual(cold);
  });
});

describe('ClipTokenizer: tokenize rows', () => {
  // 'dog' is one token, so "dog dog … dog" (n times) has exactly n BPE ids.
  const dogs = (n: number) => Array.from({ length: n }, () => 'dog').join(' ');
  const dogId = () => tok.encode('dog')[0]!;

  it.each([75, 76, 77, 100])('truncates %i BPE ids to SOT + 75 ids + EOT', (n) => {
    const ids = tok.encode(dogs(n));
    expect(ids.length).toBe(n);
    const row = Array.from(tok.tokenize(dogs(n)));
    expect(row.length).toBe(77);
    expect(row[0]).toBe(tok.sot);
    expect(row.slice(1, 76)).toEqual(Array(75).fill(dogId()));
    expect(row[76]).toBe(tok.eot);
    expect(eotIndex(row)).toBe(76);
  });

  it('pads a short text with zeros after EOT', () => {
    const row = Array.from(tok.tokenize(dogs(74)));
    expect(row[75]).toBe(tok.eot);
    expect(row[76]).toBe(0);
    const short = Array.from(tok.tokenize('a dog'));
    expect(short.slice(0, 4)).toEqual([tok.sot, ...tok.encode('a dog'), tok.eot]);
    expect(short.slice(4)).toEqual(Array(73).fill(0));
  });

  it('honours another context length', () => {
    expect(Array.from(tok.tokenize(dogs(20), 10))).toEqual([tok.sot, ...Array(8).fill(dogId()), tok.eot]);
    expect(Array.from(tok.tokenize('', 2))).toEqual([tok.sot, tok.eot]);
    expectSedsegError(() => tok.tokenize('x', 1), 'E_ARGUMENT');
    expectSedsegError(() => tok.tokenize('x', 7.5), 'E_ARGUMENT');
  });

  it('returns one row per text', () => {
    expect(tok.tokenize('a photo').length).toBe(77);
    expect(tok.tokenize(['a', 'b', 'c']).length).toBe(3 * 77);
    expect(tok.tokenize([]).length).toBe(0);
    const rows = tok.tokenize(['a dog', 'a photo of a dog']);
    expect(Array.from(rows.subarray(0, 77))).toEqual(Array.from(tok.tokenize('a dog')));
    expect(Array.from(rows.subarray(77))).toEqual(Array.from(tok.tokenize('a photo of a dog')));
    expectSedsegError(() => tok.tokenize([42 as unknown as string]), 'E_ARGUMENT');
  });

  it('finds the EOT position (first largest id) per row and over a batch', () => {
    const rows = tok.tokenize(['a dog', 'a photo of a dog', '']);
    expect(eotIndex(rows.subarray(0, 77))).toBe(3);
    expect(eotIndex(rows.subarray(77, 154))).toBe(6);
    expect(eotIndex(rows.subarray(154))).toBe(1);
    expect(maxEotPosition(rows, 3)).toBe(6);
    // a literal <end_of_text> is the same id: argmax takes the first one, as torch does
    const literal = tok.tokenize('hello <end_of_text> world');
    expect(eotIndex(literal)).toBe(2);
    expectSedsegError(() => maxEotPosition(rows, 2), 'E_ARGUMENT');
  });
});

describe('ClipTokenizer: decode', () => {
  it('round-trips ordinary text (words end with a space, as in open_clip)', () => {
    expect(tok.decode(tok.encode('a photo of a dog'))).toBe('a photo of a dog ');
    expect(tok.decode(tok.encode('A Photo of the Café, at 10pm!'))).toBe('a photo of the café , at 1 0 pm ! ');
    expect(tok.decode(tok.encode('東京タワー 🐶'))).toBe('東京タワー 🐶 ');
    expect(tok.decode([tok.sot, ...tok.encode('dog'), tok.eot])).toBe('<start_of_text>dog <end_of_text>');
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    const byteChar = bytesToUnicode().encoder;
    const id = tok.tokenToId(`${byteChar[0xe6]!}</w>`)!; // a lone UTF-8 lead byte
    expect(tok.decode([id])).toBe('\ufffd ');
  });

  it('rejects ids outside the vocabulary', () => {
    expectSedsegError(() => tok.decode([49408]), 'E_ARGUMENT');
    expectSedsegError(() => tok.decode([-1]), 'E_ARGUMENT');
    expectSedsegError(() => tok.decode([1.5]), 'E_ARGUMENT');
  });

  it('maps tokens and ids', () => {
    expect(tok.idToToken(tok.sot)).toBe('<start_of_text>');
    expect(tok.tokenToId('dog</w>')).toBe(tok.encode('dog')[0]);
    expect(tok.idToToken(0)).toBe('!');
    expect(tok.idToToken(256)).toBe('!</w>');
  });
});

describe('text cleaning (Python semantics)', () => {
  // Expected values computed with ftfy 6.3.1, CPython's html/str and the `regex` module.
  it.each([
    ['  a \u3000 b\u00a0c\u2028d\u0085e  ', 'a b c d\u2026e', [320, 321, 322, 323, 959, 324]],
    ['&amp;amp;lt;b&amp;amp;gt;', '<b>', [283, 321, 285]],
    ['&amp;amp;amp;amp;', '&', [261]],
    ['fish &amp;amp; chips', 'fish & chips', [2759, 261, 8855]],
    [
      '\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3',
      '\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2',
      [138, 123, 138, 112, 139, 227, 139, 225, 139, 225, 138, 113, 139, 227, 139, 480],
    ],
    ['\u03a3', '\u03c3', [139, 481]],
    ['\u0391\u03a3 \u03a3', '\u03b1\u03c2 \u03c3', [138, 109, 139, 480, 139, 481]],
    ['\u0130stanbul', 'i\u0307stanbul', [328, 16384, 11231]],
    ['a\u0345b', 'a\u0345b', [320, 321]],
    ['it\u2019s', "it's", [585, 568]],
    ["IT'S", "it's", [585, 568]],
    ["'\u017f", "'\u017f", [6, 129, 379]],
  ])('cleans and encodes %j', (text, cleaned, ids) => {
    expect(cleanText(text)).toBe(cleaned);
    expect(tok.encode(text)).toEqual(ids);
  });

  it('lower-cases like Python str.lower (final sigma, dotted I)', () => {
    expect(pythonLower('ΟΔΥΣΣΕΥΣ')).toBe('οδυσσευς');
    expect(pythonLower('Σ')).toBe('σ');
    expect(pythonLower('ΑΣ.')).toBe('ας.');
    expect(pythonLower('ΣΑ')).toBe('σα');
    expect(pythonLower('İ')).toBe('i\u0307');
  });

  it('strips and collapses whitespace like str.strip and regex \\s', () => {
    expect(pythonStrip('\x1c\x1f\x85 a \u3000')).toBe('a');
    expect(pythonStrip('\ufeffa')).toBe('\ufeffa'); // not whitespace in Python
    expect(collapseWhitespace(' a \t\n\x0b\x0c\r\x85\u2028 b ')).toBe('a b');
    expect(collapseWhitespace('a\x1cb')).toBe('a\x1cb'); // the `regex` module's \s lacks U+001C-U+001F
  });

  it("splits like open_clip's regex", () => {
    expect(splitWords("don't stop: it's <end_of_text>42!!")).toEqual(['don', "'t", 'stop', ':', 'it', "'s", '<end_of_text>', '4', '2', '!!']);
    expect(splitWords('a\u0345b')).toEqual(['a', 'b']);
    expect(splitWords('a\ufeffb')).toEqual(['a', '\ufeff', 'b']);
  });
});

describe('html.unescape (Python)', () => {
  it.each([
    ['&#0;', '\ufffd'],
    ['&#1;', ''],
    ['&#x80;', '\u20ac'],
    ['&#x81;', '\x81'],
    ['&#x110000;', '\ufffd'],
    ['&#99999999999999999999;', '\ufffd'],
    ['&#xd800;', '\ufffd'],
    ['&#13;', '\r'],
    ['&#12;', '\f'],
    ['&#xfffe;', ''],
    ['&ampx', '&x'],
    ['&notit;', '\u00acit;'],
    ['&notin;', '\u2209'],
    ['&amp;amp;', '&amp;'],
    ['&#59', ';'],
    ['&#x41', 'A'],
    ['&eacute', '\u00e9'],
    ['&Eacute;', '\u00c9'],
    ['&CounterClockwiseContourIntegral;', '\u2233'],
    ['a & b', 'a & b'],
    ['&;', '&;'],
    ['&#;', '&#;'],
    ['&#x;', '&#x;'],
    ['&AMP', '&'],
    ['&amp\u00e9', '&\u00e9'],
  ])('%j → %j', (input, expected) => {
    expect(pythonHtmlUnescape(input)).toBe(expected);
  });
});

describe('ftfy.fix_text', () => {
  // Expected values computed with ftfy 6.3.1.
  it.each([
    ['\ufb01sh \ufb02our \ufb05 \ufb06 \u0133', 'fish flour \u017ft st ij'],
    ['\uff21\uff22\uff23\u3000\uff46\uff55\uff4c\uff4c\uff11\uff12\uff13 \uff76\uff80\uff76\uff85', 'ABC full123 \u30ab\u30bf\u30ab\u30ca'],
    ['\u201csmart\u201d \u2018quotes\u2019 \u201alow\u201b \u201ex\u201f \u02bcn', "\"smart\" 'quotes' 'low' \"x\" 'n"],
    ['a\r\nb\rc\u2028d\u2029e\u0085f', 'a\nb\nc\nd\ne\u2026f'],
    ['\x1b[31mred\x1b[0m', 'red'],
    ['a\x00b\x07c\ufeffd\u206ae\x7f', 'abcde'],
    ['e\u0301', '\u00e9'],
    ['\ud800x', '\ufffdx'],
    ['P&EACUTE;REZ', 'P\u00c9REZ'],
    ['BUNDESSTRA&SZLIG;E', 'BUNDESSTRASSE'],
    ['&lt;b&gt;', '<b>'],
    ['<b>&amp;</b>', '<b>&amp;</b>'],
    ['x\n<y> &amp;\nz &amp;', 'x\n<y> &amp;\nz &amp;'],
    ['&ntilde; &Ntilde; &NTILDE; &nTILDE;', '\u00f1 \u00d1 \u00d1 &nTILDE;'],
  ])('character fixes: %j → %j', (input, expected) => {
    expect(fixText(input)).toBe(expected);
  });

  it.each([
    ['caf\u00c3\u00a9', 'caf\u00e9'],
    ['\u00e2\u20ac\u0153quoted\u00e2\u20ac\u009d', '"quoted"'],
    ['\u00c3 la mode', '\u00e0 la mode'],
    ['voil\u00c3 le travail', 'voil\u00e0 le travail'],
    ['f\u00c3 cil', 'f\u00e0 cil'],
    ['\u00c3\u00banico\u00c2', '\u00fanico\u00c2'],
    ['s\u00c3\u00b3', 's\u00f3'],
    ['sch\u00c3\u00b6n', 'sch\u00f6n'],
    ['\u00d0\u0178\u00d1\u20ac\u00d0\u00b8\u00d0\u00b2\u00d0\u00b5\u00d1\u201a', '\u041f\u0440\u0438\u0432\u0435\u0442'],
    ['\u00c3\u00a0', '\u00e0'],
    ['\u00e2\u0153\u201d No problems', '\u2714 No problems'],
    ['&macr;\\_(\u00e3\u0083\u0084)_/&macr;', '\u00af\\_(\u30c4)_/\u00af'],
    ['This \u00e2\u20ac\u201d should be an em dash', 'This \u2014 should be an em dash'],
    ['I\u0092m', "I'm"],
    ['\u00c3\u00a0\u00c2\u00b2\u00c2\u00a0_\u00c3\u00a0\u00c2\u00b2\u00c2\u00a0', '\u0ca0_\u0ca0'],
    // left alone by ftfy's safety checks
    ['This text is fine already :\u00fe', 'This text is fine already :\u00fe'],
    ['not such a fan of Charlotte Bront\u00eb\u2026\u201d', 'not such a fan of Charlotte Bront\u00eb\u2026"'],
    ['AH\u00c5\u2122, the new sofa from IKEA\u00ae', 'AH\u00c5\u2122, the new sofa from IKEA\u00ae'],
    ['na\u00efve r\u00e9sum\u00e9 \u00c0\n', 'na\u00efve r\u00e9sum\u00e9 \u00c0\n'],
  ])('mojibake: %j → %j', (input, expected) => {
    expect(fixText(input)).toBe(expected);
  });

  it('detects mojibake only where it is likely', () => {
    expect(isBad('caf\u00c3\u00a9')).toBe(true);
    expect(isBad('caf\u00e9 cr\u00e8me br\u00fbl\u00e9e')).toBe(false);
    expect(isBad('\u00e2\u20ac\u201d')).toBe(true);
  });

  it('leaves plain ASCII untouched', () => {
    const text = 'a photo of the hard to see edifice.\n\tsecond line';
    expect(fixText(text)).toBe(text);
  });
});

describe('vocabulary file validation', () => {
  const headerAndMerges = (n: number) => ['"bpe_simple_vocab_16e6.txt#version: 0.2', ...Array.from({ length: n }, () => 'i n')].join('\n');

  it('rejects a file that is not gzip', () => {
    expectSedsegError(() => ClipTokenizer.fromGzip(new TextEncoder().encode('i n\nt h\n'.repeat(20))), 'E_FORMAT', /not a gzip file/);
    expectSedsegError(() => ClipTokenizer.fromGzip(new Uint8Array(0)), 'E_FORMAT', /not a gzip file/);
  });

  it('rejects truncated gzip data', () => {
    const gz = readFileSync(VOCAB_GZ);
    expectSedsegError(() => ClipTokenizer.fromGzip(gz.subarray(0, gz.length >> 1)), 'E_CORRUPT', /corrupt or truncated/);
  });

  it('rejects a vocabulary with too few merges', () => {
    expectSedsegError(() => ClipTokenizer.fromGzip(gzipSync(new TextEncoder().encode(headerAndMerges(1000)))), 'E_FORMAT', /48894 merge lines, found 1000/);
    expectSedsegError(() => ClipTokenizer.fromMergesText(''), 'E_FORMAT', /found 0 merge lines/);
  });

  it('rejects malformed merge lines and unknown symbols', () => {
    const lines = headerAndMerges(48894).split('\n');
    lines[5] = 'abc';
    expectSedsegError(() => ClipTokenizer.fromMergesText(lines.join('\n')), 'E_FORMAT', /line 6 is not a merge pair/);
    lines[5] = 'zzz q';
    expectSedsegError(() => ClipTokenizer.fromMergesText(lines.join('\n')), 'E_FORMAT', /not in the vocabulary/);
  });

  it('rejects a file that is not UTF-8', () => {
    expectSedsegError(() => ClipTokenizer.fromGzip(gzipSync(new Uint8Array([0x69, 0x20, 0xff, 0xfe, 0x0a]))), 'E_FORMAT', /not UTF-8/);
  });

  it('accepts the merges text itself, and CRLF line ends', () => {
    const text = new TextDecoder().decode(zlibGunzip(readFileSync(VOCAB_GZ)));
    const fromText = ClipTokenizer.fromMergesText(text.split('\n', 48895).join('\r\n'));
    expect(fromText.encode('a photo of a café')).toEqual(tok.encode('a photo of a café'));
  });
});

describe('word cache', () => {
  it('stays bounded', () => {
    const cache = new WordCache(3);
    for (let i = 0; i < 100; i++) cache.set(`w${i}`, [i]);
    expect(cache.size).toBeLessThanOrEqual(6);
    expect(cache.get('w99')).toEqual([99]);
    expect(cache.get('w0')).toBeUndefined();
  });

  it('keeps results correct when tiny', () => {
    const small = ClipTokenizer.fromGzip(readFileSync(VOCAB_GZ), { cacheSize: 2 });
    for (const c of reference.cases) expect(small.encode(c.text)).toEqual(c.bpe_ids);
  });
});

describe('loadDefaultTokenizer (node)', () => {
  it('loads the shipped vocabulary once', async () => {
    const a = await loadDefaultTokenizer();
    const b = await loadDefaultTokenizer();
    expect(a).toBe(b);
    expect(a.encode('a photo of a dog.')).toEqual(tok.encode('a photo of a dog.'));
    expect(Array.from(a.tokenize(reference.cases[0]!.text))).toEqual(reference.cases[0]!.tokens);
  });
});
