/**
 * The CLIP BPE tokenizer, id for id as open_clip's `SimpleTokenizer` (OpenAI CLIP's tokenizer
 * with the same vocabulary file, `bpe_simple_vocab_16e6.txt.gz`):
 *
 * 1. clean the text (ftfy, HTML unescape ×2, whitespace, lower-case: text-cleaning.ts);
 * 2. split it with open_clip's regex
 *    `<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
 *    (case-insensitive, `\s` as in Python's `regex` module);
 * 3. BPE-encode each piece (bpe.ts); the two special tokens map to their ids directly.
 *
 * `tokenize` builds the rows the text encoder sees: `[SOT, ...ids, EOT]` cut to the context
 * length with the last entry forced to EOT, zero padded.
 */
import { gunzipSync } from 'fflate';
import { SedsegError } from '../errors.js';
import { BpeModel, DEFAULT_WORD_CACHE_SIZE } from './bpe.js';
import { bytesToUnicode } from './bytes-to-unicode.js';
import { cleanText, PY_REGEX_WHITESPACE } from './text-cleaning.js';

/** Merges open_clip reads: lines 1 … 49152-256-2 of the file (line 0 is a version header). */
export const CLIP_MERGE_COUNT = 49152 - 256 - 2;
const SOT_TOKEN = '<start_of_text>';
const EOT_TOKEN = '<end_of_text>';
/** Python `str.split()` whitespace other than a plain space (merge lines normally have none). */
const OTHER_WHITESPACE_RE = /[\t\n\v\f\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const PY_SPLIT_RE = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
/** Ids fixed by the vocabulary layout (512 byte symbols + 48894 merges + the two specials). */
export const CLIP_SOT_ID = 49406;
export const CLIP_EOT_ID = 49407;
export const CLIP_VOCAB_SIZE = 49408;
/** Default context length of CLIP text encoders. */
export const CLIP_CONTEXT_LENGTH = 77;

/**
 * open_clip's pre-tokenizer. JS and the `regex` module agree on `[\p{L}]`/`[\p{N}]` under
 * case-insensitive matching except for U+0345 (COMBINING GREEK YPOGEGRAMMENI, which case-folds
 * to ι): Python matches it with no alternative, so it only separates pieces — replaced by a space
 * before splitting (see `splitWords`).
 */
const PIECE_RE = new RegExp(`<start_of_text>|<end_of_text>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^${PY_REGEX_WHITESPACE}\\p{L}\\p{N}]+`, 'giu');

/** The pieces `regex.findall` gives for cleaned text. */
export function splitWords(cleaned: string): string[] {
  const text = cleaned.includes('\u0345') ? cleaned.replace(/\u0345/g, ' ') : cleaned;
  return text.match(PIECE_RE) ?? [];
}

export interface ClipTokenizerOptions {
  /** Bound of the per-word BPE cache (entries per generation, two generations). */
  cacheSize?: number;
  /** Gunzip implementation for `fromGzip` (default: fflate's; Node's zlib is faster). */
  gunzip?: (bytes: Uint8Array) => Uint8Array;
}

export class ClipTokenizer {
  /** Id of `<start_of_text>` (49406 with the CLIP vocabulary). */
  readonly sot: number;
  /** Id of `<end_of_text>` (49407 with the CLIP vocabulary). */
  readonly eot: number;
  /** Number of vocabulary entries (49408 with the CLIP vocabulary). */
  readonly vocabSize: number;
  private readonly bpe: BpeModel;

  private constructor(bpe: BpeModel) {
    this.bpe = bpe;
    this.sot = bpe.ids.get(SOT_TOKEN)!;
    this.eot = bpe.ids.get(EOT_TOKEN)!;
    this.vocabSize = bpe.vocab.length;
  }

  /** Tokenizer from the gzipped vocabulary file (`bpe_simple_vocab_16e6.txt.gz`). */
  static fromGzip(bytes: Uint8Array, options: ClipTokenizerOptions = {}): ClipTokenizer {
    if (!(bytes instanceof Uint8Array)) throw new SedsegError('E_ARGUMENT', 'ClipTokenizer.fromGzip: expected a Uint8Array');
    if (bytes.length < 18 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
      throw new SedsegError('E_FORMAT', 'BPE vocabulary: not a gzip file (expected bpe_simple_vocab_16e6.txt.gz)');
    }
    let raw: Uint8Array;
    try {
      raw = (options.gunzip ?? gunzipSync)(bytes);
    } catch (e) {
      throw new SedsegError('E_CORRUPT', `BPE vocabulary: gzip data is corrupt or truncated (${(e as Error).message})`, { cause: e });
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch (e) {
      throw new SedsegError('E_FORMAT', 'BPE vocabulary: the file is not UTF-8 text', { cause: e });
    }
    return ClipTokenizer.fromMergesText(text, options);
  }

  /** Tokenizer from the (decompressed) text of the vocabulary file. */
  static fromMergesText(text: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    if (typeof text !== 'string') throw new SedsegError('E_ARGUMENT', 'ClipTokenizer.fromMergesText: expected a string');
    // Python's `split('\n')`, keeping only what open_clip uses.
    const lines = text.split('\n', CLIP_MERGE_COUNT + 1);
    const found = lines.length - 1;
    if (found < CLIP_MERGE_COUNT) {
      throw new SedsegError(
        'E_FORMAT',
        `BPE vocabulary: expected a version line and at least ${CLIP_MERGE_COUNT} merge lines, found ${Math.max(found, 0)} merge lines`,
      );
    }
    // Python's `str.split()` on each line; when the lines hold no whitespace but single spaces
    // (the real file), splitting at the space is the same and much faster.
    const plain = !lines.some((line, i) => i > 0 && OTHER_WHITESPACE_RE.test(line));
    const merges: [string, string][] = [];
    for (let i = 1; i <= CLIP_MERGE_COUNT; i++) {
      const line = lines[i]!;
      let parts = plain ? line.split(' ') : [];
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '') parts = line.split(PY_SPLIT_RE).filter((p) => p !== '');
      if (parts.length !== 2) {
        throw new SedsegError('E_FORMAT', `BPE vocabulary: line ${i + 1} is not a merge pair ("${line.slice(0, 40)}")`);
      }
      merges.push(parts as [string, string]);
    }
    const bpe = new BpeModel(merges, [SOT_TOKEN, EOT_TOKEN], options.cacheSize ?? DEFAULT_WORD_CACHE_SIZE);
    return new ClipTokenizer(bpe);
  }

  /** BPE ids of the text, without SOT/EOT and without truncation (open_clip `encode`). */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new SedsegError('E_ARGUMENT', `ClipTokenizer.encode: expected a string, got ${typeof text}`);
    return this.encodePrefix(text, Infinity);
  }

  /**
   * The ids of `encode`, stopping once at least `limit` are produced: the pieces are
   * independent, so the first `limit` ids are the same, and later pieces (which the truncated
   * row never shows) cost no BPE work.
   */
  private encodePrefix(text: string, limit: number): number[] {
    const out: number[] = [];
    for (const piece of splitWords(cleanText(text))) {
      if (out.length >= limit) break;
      if (piece === SOT_TOKEN) out.push(this.sot);
      else if (piece === EOT_TOKEN) out.push(this.eot);
      else this.bpe.encodeWord(piece, out);
    }
    return out;
  }

  /**
   * Token rows for the text encoder: one row of `contextLength` ids per text,
   * `[SOT, ...ids, EOT, 0, …]`; a text that does not fit is cut and its last entry set to EOT.
   */
  tokenize(texts: string | readonly string[], contextLength = CLIP_CONTEXT_LENGTH): Int32Array {
    const list = typeof texts === 'string' ? [texts] : texts;
    if (!Array.isArray(list)) throw new SedsegError('E_ARGUMENT', 'ClipTokenizer.tokenize: expected a string or an array of strings');
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new SedsegError('E_ARGUMENT', `ClipTokenizer.tokenize: contextLength must be an integer ≥ 2, got ${contextLength}`);
    }
    const out = new Int32Array(list.length * contextLength);
    list.forEach((text, row) => {
      if (typeof text !== 'string') throw new SedsegError('E_ARGUMENT', `ClipTokenizer.tokenize: expected strings, got ${typeof text}`);
      // Only the first contextLength - 2 ids reach the row.
      const ids = this.encodePrefix(text, contextLength - 2);
      const base = row * contextLength;
      out[base] = this.sot;
      // open_clip cuts [SOT, ...ids, EOT] to contextLength and then sets the last entry to EOT:
      // either way the row ends with the first contextLength-2 ids and EOT.
      const n = Math.min(ids.length, contextLength - 2);
      for (let i = 0; i < n; i++) out[base + 1 + i] = ids[i]!;
      out[base + 1 + n] = this.eot;
    });
    return out;
  }

  /** Text of the ids (open_clip `decode`): bytes decoded as UTF-8 with replacement, "</w>" → " ". */
  decode(ids: Iterable<number>): string {
    const { decoder } = bytesToUnicode();
    const bytes: number[] = [];
    for (const id of ids) {
      const token = Number.isInteger(id) ? this.bpe.vocab[id] : undefined;
      if (token === undefined) throw new SedsegError('E_ARGUMENT', `ClipTokenizer.decode: ${id} is not a token id (0…${this.vocabSize - 1})`);
      for (const ch of token) bytes.push(decoder.get(ch)!);
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array(bytes)).replaceAll('</w>', ' ');
  }

  /** Token string of an id (e.g. "photo</w>"), or undefined. */
  idToToken(id: number): string | undefined {
    return Number.isInteger(id) ? this.bpe.vocab[id] : undefined;
  }

  /** Id of a token string (e.g. "photo</w>"), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.bpe.ids.get(token);
  }

  /** Drops the per-word BPE cache. */
  clearCache(): void {
    this.bpe.clearCache();
  }
}

/**
 * Index of the EOT token in one row: the position of the largest id (its first occurrence, as
 * `torch.argmax`), which is where the CLIP text encoder reads the sentence embedding.
 */
export function eotIndex(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * Largest `eotIndex` over the rows of a `tokenize` result: the text encoder can run on the first
 * `maxEotPosition + 1` positions only and read exactly the same embeddings (causal attention).
 */
export function maxEotPosition(tokens: Int32Array, rows: number): number {
  if (!Number.isInteger(rows) || rows <= 0 || tokens.length % rows !== 0 || tokens.length === 0) {
    throw new SedsegError('E_ARGUMENT', `maxEotPosition: ${tokens.length} tokens do not split into ${rows} rows`);
  }
  const width = tokens.length / rows;
  let max = 0;
  for (let r = 0; r < rows; r++) max = Math.max(max, eotIndex(tokens.subarray(r * width, (r + 1) * width)));
  return max;
}
