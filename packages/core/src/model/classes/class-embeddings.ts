/**
 * Class embeddings (DESIGN.md §3.4): every class name becomes the texts of `classPrompts`
 * (80 templates × synonyms, template-major), the texts are encoded by the CLIP text encoder, and
 * `combineClassEmbeddings` L2-normalises them (averaging and re-normalising over synonyms) into
 * one P×D embedding per class. Result: T×P×D on the host.
 *
 * `ClassEmbeddingCache` keeps computed P×D class embeddings keyed by (weights digest, class name,
 * template set), so a changed vocabulary only encodes its new classes; it can be backed by a
 * persistent store (`ClassEmbeddingDiskCache` in `@sedseg/core/node`).
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { SedArchitecture } from '../../architecture/sed-architecture.js';
import { IMAGENET_TEMPLATES } from '../../prompts/imagenet-templates.js';
import { classPrompts, combineClassEmbeddings, type ClassPrompts } from '../../prompts/class-prompts.js';
import type { ModelParams } from '../model-params.js';
import { encodeTexts } from '../encoders/text-encoder.js';

/** What the class embeddings need of a tokenizer (`ClipTokenizer` fits). */
export interface TextTokenizer {
  /** One row of `contextLength` token ids per text, row-major. */
  tokenize(texts: readonly string[], contextLength?: number): Int32Array;
  /**
   * Optional identity of the vocabulary and rules (part of the class-embedding cache key, next to
   * the ids the tokenizer gives for a few probe texts).
   */
  readonly fingerprint?: string;
}

// ---- stable keys -----------------------------------------------------------------------------

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** FNV-1a 64-bit hash of the UTF-8 bytes of `text`, as 16 lower-case hex digits. */
export function fnv1a64Hex(text: string): string {
  let h = FNV64_OFFSET;
  for (const byte of new TextEncoder().encode(text)) h = ((h ^ BigInt(byte)) * FNV64_PRIME) & MASK64;
  return h.toString(16).padStart(16, '0');
}

/**
 * A stable key of a template list (order matters): `p<count>-<FNV-1a 64 of the JSON list>`,
 * e.g. the key of `IMAGENET_TEMPLATES` is always the same string.
 */
export function templateSetKey(templates: readonly string[]): string {
  return `p${templates.length}-${fnv1a64Hex(JSON.stringify(templates))}`;
}

// ---- cache -----------------------------------------------------------------------------------

/** A persistent store of class embeddings, one name → P×D map per (digest, template set). */
export interface ClassEmbeddingPersistence {
  /** Every stored entry of the key (empty when none). */
  load(digest: string, templateKey: string): Promise<ReadonlyMap<string, Float32Array>>;
  /** Adds (or replaces) entries of the key, keeping the others already stored. */
  save(digest: string, templateKey: string, entries: ReadonlyMap<string, Float32Array>): Promise<void>;
}

export interface ClassEmbeddingCacheOptions {
  /** Most class embeddings kept in memory (least recently used dropped first; default 4096). */
  maxEntries?: number;
  /** Where misses are looked up and new entries written (optional). */
  persistence?: ClassEmbeddingPersistence;
}

export const DEFAULT_CLASS_CACHE_ENTRIES = 4096;

function cacheKey(digest: string, templateKey: string, className: string): string {
  return JSON.stringify([digest, templateKey, className]);
}

/**
 * In-memory LRU of P×D class embeddings keyed by (weights digest, template-set key, class name).
 * The digest is any string that identifies the text-encoder weights (a file hash, a model id);
 * `templateSetKey(templates)` gives the template key. Stored arrays are copies; `get` returns the
 * stored array itself, which callers must not modify.
 */
export class ClassEmbeddingCache {
  readonly maxEntries: number;
  readonly persistence: ClassEmbeddingPersistence | undefined;
  private readonly entries = new Map<string, Float32Array>();

  constructor(options: ClassEmbeddingCacheOptions = {}) {
    const max = options.maxEntries ?? DEFAULT_CLASS_CACHE_ENTRIES;
    if (!Number.isInteger(max) || max < 0) throw new SedsegError('E_ARGUMENT', `ClassEmbeddingCache: maxEntries must be an integer ≥ 0, got ${max}`);
    this.maxEntries = max;
    this.persistence = options.persistence;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached embedding (and marks it most recently used), or undefined. */
  get(digest: string, templateKey: string, className: string): Float32Array | undefined {
    const key = cacheKey(digest, templateKey, className);
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  has(digest: string, templateKey: string, className: string): boolean {
    return this.entries.has(cacheKey(digest, templateKey, className));
  }

  /** Stores a copy of `embedding`, evicting the least recently used entries beyond `maxEntries`. */
  set(digest: string, templateKey: string, className: string, embedding: Float32Array): void {
    const key = cacheKey(digest, templateKey, className);
    this.entries.delete(key);
    if (this.maxEntries === 0) return;
    this.entries.set(key, Float32Array.from(embedding));
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(digest: string, templateKey: string, className: string): boolean {
    return this.entries.delete(cacheKey(digest, templateKey, className));
  }

  /** Empties the memory cache (the persistent store is left as it is). */
  clear(): void {
    this.entries.clear();
  }

  /**
   * Looks up every name of `classNames`: from memory, then (for the misses) from the persistent
   * store, whose hits are copied into memory. Returns the found embeddings by name.
   */
  async lookup(digest: string, templateKey: string, classNames: readonly string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    const missing: string[] = [];
    for (const name of classNames) {
      const hit = this.get(digest, templateKey, name);
      if (hit !== undefined) found.set(name, hit);
      else if (!found.has(name)) missing.push(name);
    }
    if (missing.length > 0 && this.persistence !== undefined) {
      const stored = await this.persistence.load(digest, templateKey);
      for (const name of missing) {
        const hit = stored.get(name);
        if (hit === undefined) continue;
        found.set(name, hit);
        this.set(digest, templateKey, name, hit);
      }
    }
    return found;
  }

  /** Stores new embeddings in memory and in the persistent store. */
  async store(digest: string, templateKey: string, embeddings: ReadonlyMap<string, Float32Array>): Promise<void> {
    for (const [name, embedding] of embeddings) this.set(digest, templateKey, name, embedding);
    if (embeddings.size > 0 && this.persistence !== undefined) await this.persistence.save(digest, templateKey, embeddings);
  }
}

// ---- computation -----------------------------------------------------------------------------

export interface ClassEmbeddingOptions {
  /** Progress in texts encoded: (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Reuse and record class embeddings; needs `weightsDigest`. */
  cache?: ClassEmbeddingCache;
  /** Identifies the text-encoder weights in the cache (e.g. a hash of the weights file). */
  weightsDigest?: string;
  /** Sequences per text-encoder call (default 512). */
  chunkSize?: number;
}

/**
 * Class embeddings of `classNames` with the prompt `templates`: a host Float32Array T×P×D
 * (row-major; class t, template p at `(t·P + p)·D`), every P×D block per DESIGN.md §3.4. Each
 * distinct text is encoded once (identical prompts of different classes share the work); with a
 * cache only the classes it does not hold are encoded.
 */
export async function computeClassEmbeddings<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: SedArchitecture,
  tokenizer: TextTokenizer,
  classNames: readonly string[],
  templates: readonly string[] = IMAGENET_TEMPLATES,
  options: ClassEmbeddingOptions | ((done: number, total: number) => void) = {},
): Promise<Float32Array> {
  const opts: ClassEmbeddingOptions = typeof options === 'function' ? { onProgress: options } : options;
  if (classNames.length === 0) throw new SedsegError('E_ARGUMENT', 'class embeddings: no class names given');
  for (const name of classNames) {
    if (typeof name !== 'string' || name.trim() === '') throw new SedsegError('E_ARGUMENT', `class embeddings: invalid class name ${JSON.stringify(name)}`);
  }
  if (opts.cache !== undefined && (opts.weightsDigest === undefined || opts.weightsDigest === '')) {
    throw new SedsegError('E_ARGUMENT', 'class embeddings: a cache needs the weights digest (options.weightsDigest)');
  }
  const P = templates.length;
  const D = arch.embed_dim;
  const blockSize = P * D;
  const tkey = templateSetKey(templates);
  const unique = [...new Set(classNames)];

  const known = opts.cache ? await opts.cache.lookup(opts.weightsDigest!, tkey, unique) : new Map<string, Float32Array>();
  for (const [name, e] of known) if (e.length !== blockSize) known.delete(name); // stale shape: recompute
  const todo = unique.filter((name) => !known.has(name));

  if (todo.length > 0) {
    const prompts: ClassPrompts[] = todo.map((name) => classPrompts(name, templates));
    // Encode each distinct text once.
    const textIndex = new Map<string, number>();
    for (const p of prompts) for (const text of p.texts) if (!textIndex.has(text)) textIndex.set(text, textIndex.size);
    const texts = [...textIndex.keys()];
    const tokens = tokenizer.tokenize(texts, arch.context_length);
    const features = await encodeTexts(ops, params, arch, tokens, texts.length, {
      ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
      ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
    });
    const computed = new Map<string, Float32Array>();
    for (const p of prompts) {
      const S = p.synonyms.length;
      const raw = new Float32Array(p.texts.length * D);
      p.texts.forEach((text, i) => {
        const row = textIndex.get(text)!;
        raw.set(features.subarray(row * D, (row + 1) * D), i * D);
      });
      const embedding = combineClassEmbeddings(raw, P, S, D);
      computed.set(p.className, embedding);
      known.set(p.className, embedding);
    }
    if (opts.cache) await opts.cache.store(opts.weightsDigest!, tkey, computed);
  }

  const out = new Float32Array(classNames.length * blockSize);
  classNames.forEach((name, t) => out.set(known.get(name)!, t * blockSize));
  return out;
}
