/**
 * `ClassEmbeddingCache` keeps computed P×D class embeddings keyed by (weights digest, class name,
 * template set), so a changed vocabulary only encodes its new classes; it can be backed by a
 * persistent store (`ClassEmbeddingDiskCache` in `@sedseg/core/node`).
 */
import { SedsegError } from '../../errors.js';

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
