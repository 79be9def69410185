/**
 * Byte-level BPE as in OpenAI CLIP / open_clip `SimpleTokenizer.bpe`.
 *
 * Vocabulary (open_clip): the 256 byte characters (in `bytes_to_unicode` order), the same with
 * `</w>` appended, one entry per merge (the concatenated pair), then the special tokens; the id
 * of a token is its index. A word is split into its byte characters with `</w>` glued to the
 * last one; then, repeatedly, the adjacent pair with the lowest merge rank is merged — every
 * occurrence of it, left to right — until no adjacent pair is a known merge.
 *
 * Symbols are handled as vocabulary ids rather than strings: a merged pair is looked up by
 * `left * PAIR_STRIDE + right`. Every symbol string has exactly one id (the Python dicts keep
 * the last index of a repeated key, and so do the maps here), so this is the same as comparing
 * strings.
 */
import { SedsegError } from '../errors.js';
import { bytesToUnicode } from './bytes-to-unicode.js';

/** Larger than any vocabulary id, so that `left * PAIR_STRIDE + right` is unique per pair. */
const PAIR_STRIDE = 1 << 20;

/** Default bound of the per-word cache (entries per generation, see `WordCache`). */
export const DEFAULT_WORD_CACHE_SIZE = 50_000;

/**
 * A bounded word → ids cache with two generations: lookups hit the current generation, then the
 * previous one (promoting the entry); when the current one is full it becomes the previous one
 * and the oldest is dropped. Cheap, and keeps recently used words when a long-running process
 * sees an unbounded stream of distinct words.
 */
export class WordCache {
  private current = new Map<string, readonly number[]>();
  private previous = new Map<string, readonly number[]>();

  constructor(private readonly capacity: number) {}

  get(word: string): readonly number[] | undefined {
    const hit = this.current.get(word);
    if (hit !== undefined) return hit;
    const old = this.previous.get(word);
    if (old !== undefined) this.set(word, old);
    return old;
  }

  set(word: string, ids: readonly number[]): void {
    if (this.current.size >= this.capacity) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(word, ids);
  }

  clear(): void {
    this.current.clear();
    this.previous.clear();
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

export class BpeModel {
  /** Token string of every id. */
  readonly vocab: readonly string[];
  /** Token string → id (the last id of a repeated string, as Python's `dict(zip(vocab, ...))`). */
  readonly ids: ReadonlyMap<string, number>;
  /** `pairKey → rank`; the rank indexes `mergedIds`. */
  private readonly ranks: Map<number, number>;
  private readonly mergeLeft: Int32Array;
  private readonly mergeRight: Int32Array;
  private readonly mergedIds: Int32Array;
  /** Id of the byte character, and of the byte character + `</w>`, per byte value. */
  private readonly byteIds: Int32Array;
  private readonly byteEndIds: Int32Array;
  private readonly cache: WordCache;

  /**
   * @param merges the merge pairs in rank order (the lines after the version header).
   * @param specialTokens appended after the merges (open_clip: `<start_of_text>`, `<end_of_text>`).
   */
  constructor(merges: readonly (readonly [string, string])[], specialTokens: readonly string[], cacheSize = DEFAULT_WORD_CACHE_SIZE) {
    const { encoder, order } = bytesToUnicode();
    const vocab: string[] = [...order, ...order.map((c) => `${c}</w>`)];
    const firstMerge = vocab.length;
    for (const [a, b] of merges) vocab.push(a + b);
    vocab.push(...specialTokens);
    if (vocab.length > PAIR_STRIDE) throw new SedsegError('E_FORMAT', `BPE vocabulary too large (${vocab.length} entries)`);
    const ids = new Map<string, number>();
    for (let i = 0; i < vocab.length; i++) ids.set(vocab[i]!, i);

    const n = merges.length;
    this.ranks = new Map();
    this.mergeLeft = new Int32Array(n);
    this.mergeRight = new Int32Array(n);
    this.mergedIds = new Int32Array(n);
    for (let rank = 0; rank < n; rank++) {
      const [a, b] = merges[rank]!;
      const left = ids.get(a);
      const right = ids.get(b);
      if (left === undefined || right === undefined) {
        throw new SedsegError('E_FORMAT', `BPE merge ${rank + 1} ("${a} ${b}") uses a symbol that is not in the vocabulary`);
      }
      this.mergeLeft[rank] = left;
      this.mergeRight[rank] = right;
      this.mergedIds[rank] = ids.get(vocab[firstMerge + rank]!)!;
      this.ranks.set(left * PAIR_STRIDE + right, rank); // a repeated pair keeps its last rank, as in Python
    }

    this.byteIds = new Int32Array(256);
    this.byteEndIds = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      this.byteIds[b] = ids.get(encoder[b]!)!;
      this.byteEndIds[b] = ids.get(`${encoder[b]!}</w>`)!;
    }
    this.vocab = vocab;
    this.ids = ids;
    this.cache = new WordCache(cacheSize);
  }

  /**
   * Appends the ids of one pre-tokenized word (a regex piece of the cleaned text, not yet
   * byte-encoded) to `out`. Results are cached per word.
   */
  encodeWord(word: string, out: number[]): void {
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = this.merge(this.initialSymbols(word));
      this.cache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  /** Drops the per-word cache. */
  clearCache(): void {
    this.cache.clear();
  }

  /** Number of cached words (for tests and diagnostics). */
  get cacheSize(): number {
    return this.cache.size;
  }

  /** The UTF-8 bytes of `word` as byte-character ids, `</w>` on the last one. */
  private initialSymbols(word: string): number[] {
    const bytes: number[] = [];
    for (let i = 0; i < word.length; i++) {
      let c = word.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < word.length) {
        const d = word.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd; // lone surrogate: cannot be UTF-8 encoded (ftfy removes them first)
      if (c < 0x80) bytes.push(c);
      else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
      else if (c < 0x10000) bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
      else bytes.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
    const last = bytes.length - 1;
    return bytes.map((b, i) => (i === last ? this.byteEndIds[b]! : this.byteIds[b]!));
  }

  /** The merge loop of `SimpleTokenizer.bpe`, on ids. */
  private merge(symbols: number[]): number[] {
    let word = symbols;
    while (word.length > 1) {
      let best = -1;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(word[i]! * PAIR_STRIDE + word[i + 1]!);
        if (rank !== undefined && (best < 0 || rank < best)) best = rank;
      }
      if (best < 0) break;
      const first = this.mergeLeft[best]!;
      const second = this.mergeRight[best]!;
      const merged = this.mergedIds[best]!;
      const next: number[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i + 1 < word.length && word[i + 1] === second) {
          next.push(merged);
          i += 2;
        } else {
          next.push(word[i]!);
          i += 1;
        }
      }
      word = next;
    }
    return word;
  }
}
