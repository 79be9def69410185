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
 *
 * Cost: the Python loop rescans the whole word after every merge, which is quadratic (a 100 kB
 * "word" takes tens of seconds). `merge` gives the identical result in O(n log n) with a heap of
 * candidate pairs ordered by (rank, position) over a linked list of symbols; see its comment.
 */
import { SedsegError } from '../errors.js';
import { bytesToUnicode } from './bytes-to-unicode.js';

/** Larger than any vocabulary id, so that `left * PAIR_STRIDE + right` is unique per pair. */
const PAIR_STRIDE = 1 << 20;

/** Default bound of the per-word cache (entries per generation, see `WordCache`). */
export const DEFAULT_WORD_CACHE_SIZE = 50_000;

/**
 * Words longer than this (UTF-16 units) are not cached: real words and class names are far
 * shorter, and caching pathological long inputs would let the cache hold gigabytes.
 */
const MAX_CACHED_WORD_LENGTH = 256;

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
    let ids = word.length <= MAX_CACHED_WORD_LENGTH ? this.cache.get(word) : undefined;
    if (ids === undefined) {
      ids = this.merge(this.initialSymbols(word));
      if (word.length <= MAX_CACHED_WORD_LENGTH) this.cache.set(word, ids);
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

  /**
   * The merge loop of `SimpleTokenizer.bpe`, on ids, in O(n log n).
   *
   * Python repeats rounds: find the lowest-ranked adjacent pair, then merge every occurrence of
   * that pair in one left-to-right pass (an occurrence whose left symbol was just consumed is
   * skipped, as in "a a a" → "aa a"), until no pair has a rank. Here the symbols form a linked
   * list and a min-heap holds candidate pairs keyed by (rank, position of the left symbol); a
   * round pops every heap entry of the lowest rank in position order, which is the same
   * left-to-right pass. A popped entry is used only if its pair is still there: symbols only
   * grow (a merged string is longer than both parts), so a pair that changed can never become
   * that pair again and a stale entry never becomes valid. Pairs created during a round are
   * held back until the round ends, as Python only looks at them in the next round — so the
   * result is identical for any merge list, even one where a merged symbol forms a pair of
   * lower rank. Each merge adds at most two entries: O(n log n) overall.
   */
  private merge(symbols: number[]): number[] {
    const n = symbols.length;
    if (n < 2) return symbols;
    const ids = Int32Array.from(symbols); // -1 once consumed by a merge
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    // Heap keys: rank * 2^32 + position (exact in a double: rank < 2^20, position < 2^32).
    const heap: number[] = [];
    const pending: number[] = [];
    const rankAt = (i: number): number | undefined => {
      const j = next[i]!;
      return j < 0 ? undefined : this.ranks.get(ids[i]! * PAIR_STRIDE + ids[j]!);
    };
    for (let i = 0; i + 1 < n; i++) {
      const rank = rankAt(i);
      if (rank !== undefined) heapPush(heap, rank * POSITION_RANGE + i);
    }
    for (;;) {
      for (const key of pending) heapPush(heap, key);
      pending.length = 0;
      if (heap.length === 0) break;
      // One round: every entry of the lowest rank still valid, left to right.
      const round = Math.floor(heap[0]! / POSITION_RANGE);
      while (heap.length > 0 && Math.floor(heap[0]! / POSITION_RANGE) === round) {
        const i = heapPop(heap) % POSITION_RANGE;
        if (ids[i]! < 0 || rankAt(i) !== round) continue; // consumed or changed since pushed
        const j = next[i]!;
        ids[i] = this.mergedIds[round]!;
        ids[j] = -1;
        const after = next[j]!;
        next[i] = after;
        if (after >= 0) prev[after] = i;
        const before = prev[i]!;
        if (before >= 0) {
          const rank = rankAt(before);
          if (rank !== undefined) pending.push(rank * POSITION_RANGE + before);
        }
        const rank = rankAt(i);
        if (rank !== undefined) pending.push(rank * POSITION_RANGE + i);
      }
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push(ids[i]!);
    return out;
  }
}

/** Positions are below 2^32 (a word of 4 G symbols is far beyond any input). */
const POSITION_RANGE = 2 ** 32;

/** Binary min-heap of numbers in an array. */
function heapPush(heap: number[], key: number): void {
  let i = heap.length;
  heap.push(key);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]! <= key) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = key;
}

function heapPop(heap: number[]): number {
  const top = heap[0]!;
  const last = heap.pop()!;
  const size = heap.length;
  if (size > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && heap[r]! < heap[l]! ? r : l;
      if (heap[c]! >= last) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }
  return top;
}
