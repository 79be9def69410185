import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClassEmbeddingCache, type ClassEmbeddingPersistence } from '../src/model/classes/class-embedding-cache.js';
import { computeClassEmbeddings } from '../src/model/classes/class-embeddings.js';
import { templateSetKey } from '../src/model/classes/template-set-key.js';
import { fnv1a64Hex } from '../src/hash/fnv1a64.js';
import { ClassEmbeddingDiskCache } from '../src/node/class-embedding-disk-cache.js';
import { IMAGENET_TEMPLATES } from '../src/prompts/imagenet-templates.js';
import type { SedArchitecture } from '../src/architecture/sed-architecture.js';
import type { Ops } from '../src/ops/ops.js';
import type { ModelParams } from '../src/model/model-params.js';

const vec = (...values: number[]): Float32Array => Float32Array.from(values);

describe('templateSetKey / fnv1a64Hex', () => {
  it('is FNV-1a 64 over UTF-8', () => {
    // Published FNV-1a 64 test vectors.
    expect(fnv1a64Hex('')).toBe('cbf29ce484222325');
    expect(fnv1a64Hex('a')).toBe('af63dc4c8601ec8c');
    expect(fnv1a64Hex('foobar')).toBe('85944171f73967e8');
    expect(fnv1a64Hex('é')).toBe(fnv1a64Hex('\u00e9'));
    expect(fnv1a64Hex('é')).not.toBe(fnv1a64Hex('e\u0301'));
  });

  it('is stable, order-sensitive and names the template count', () => {
    const key = templateSetKey(IMAGENET_TEMPLATES);
    expect(key).toMatch(/^p80-[0-9a-f]{16}$/);
    expect(templateSetKey([...IMAGENET_TEMPLATES])).toBe(key);
    expect(templateSetKey([...IMAGENET_TEMPLATES].reverse())).not.toBe(key);
    expect(templateSetKey(['a {}', 'b {}'])).not.toBe(templateSetKey(['a {}b {}']));
  });
});

describe('ClassEmbeddingCache (memory LRU)', () => {
  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = new ClassEmbeddingCache({ maxEntries: 2 });
    cache.set('w', 't', 'a', vec(1));
    cache.set('w', 't', 'b', vec(2));
    expect(cache.get('w', 't', 'a')).toEqual(vec(1)); // a is now the most recent
    cache.set('w', 't', 'c', vec(3));
    expect(cache.size).toBe(2);
    expect(cache.has('w', 't', 'b')).toBe(false);
    expect(cache.get('w', 't', 'a')).toEqual(vec(1));
    expect(cache.get('w', 't', 'c')).toEqual(vec(3));
  });

  it('keys on (digest, template set, name) and stores copies', () => {
    const cache = new ClassEmbeddingCache();
    const e = vec(1, 2);
    cache.set('w1', 't', 'car', e);
    e[0] = 99;
    expect(cache.get('w1', 't', 'car')).toEqual(vec(1, 2));
    expect(cache.get('w2', 't', 'car')).toBeUndefined();
    expect(cache.get('w1', 't2', 'car')).toBeUndefined();
    expect(cache.get('w1', 't', 'Car')).toBeUndefined();
    // Separator-like characters cannot make two keys collide.
    cache.set('a|b', 'c', 'd', vec(1));
    expect(cache.get('a', 'b|c', 'd')).toBeUndefined();
    expect(cache.delete('w1', 't', 'car')).toBe(true);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('maxEntries 0 keeps nothing; invalid sizes are refused', () => {
    const cache = new ClassEmbeddingCache({ maxEntries: 0 });
    cache.set('w', 't', 'a', vec(1));
    expect(cache.size).toBe(0);
    expect(() => new ClassEmbeddingCache({ maxEntries: -1 })).toThrow(/maxEntries/);
    expect(() => new ClassEmbeddingCache({ maxEntries: 1.5 })).toThrow(/maxEntries/);
  });

  it('looks misses up in the persistence and writes new entries to it', async () => {
    const saved: [string, string, string[]][] = [];
    let loads = 0;
    const persistence: ClassEmbeddingPersistence = {
      load: async () => {
        loads++;
        return new Map([['sky', vec(5)]]);
      },
      save: async (digest, key, entries) => void saved.push([digest, key, [...entries.keys()]]),
    };
    const cache = new ClassEmbeddingCache({ persistence });
    cache.set('w', 't', 'car', vec(1));
    const found = await cache.lookup('w', 't', ['car', 'sky', 'tree']);
    expect([...found.keys()]).toEqual(['car', 'sky']);
    expect(loads).toBe(1);
    expect(cache.get('w', 't', 'sky')).toEqual(vec(5)); // copied into memory
    await cache.lookup('w', 't', ['car', 'sky']);
    expect(loads).toBe(1); // all in memory: the persistence is not asked
    await cache.store('w', 't', new Map([['tree', vec(7)]]));
    expect(saved).toEqual([['w', 't', ['tree']]]);
    expect(cache.get('w', 't', 'tree')).toEqual(vec(7));
  });
});

describe('ClassEmbeddingDiskCache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sedseg-class-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips and merges entries, one file per (digest, template set), no temp files left', async () => {
    const disk = new ClassEmbeddingDiskCache(join(dir, 'sub'));
    expect((await disk.load('w', 't')).size).toBe(0); // no folder yet
    await disk.save(
      'w',
      't',
      new Map([
        ['car', vec(1, 2)],
        ['__metadata__', vec(3, 4)],
      ]),
    );
    await disk.save(
      'w',
      't',
      new Map([
        ['café table', vec(5, 6)],
        ['car', vec(7, 8)],
      ]),
    );
    await disk.save('w2', 't', new Map([['car', vec(9, 9)]]));
    const loaded = await disk.load('w', 't');
    expect([...loaded.keys()].sort()).toEqual(['__metadata__', 'café table', 'car']);
    expect(loaded.get('car')).toEqual(vec(7, 8));
    expect(loaded.get('café table')).toEqual(vec(5, 6));
    expect((await disk.load('w2', 't')).get('car')).toEqual(vec(9, 9));
    expect((await disk.load('w', 'other')).size).toBe(0);
    const files = readdirSync(join(dir, 'sub'));
    expect(files).toHaveLength(2);
    expect(files.every((f) => f.endsWith('.safetensors'))).toBe(true);
    expect(disk.filePath('w', 't')).toBe(join(dir, 'sub', `${fnv1a64Hex('w')}-t.safetensors`));
  });

  it('ignores a corrupt file and replaces it on the next save', async () => {
    const disk = new ClassEmbeddingDiskCache(dir);
    writeFileSync(disk.filePath('w', 't'), 'not a safetensors file');
    expect((await disk.load('w', 't')).size).toBe(0);
    await disk.save('w', 't', new Map([['car', vec(1)]]));
    expect((await disk.load('w', 't')).get('car')).toEqual(vec(1));
  });

  it('backs a ClassEmbeddingCache across instances (a new process sees earlier classes)', async () => {
    const a = new ClassEmbeddingCache({ persistence: new ClassEmbeddingDiskCache(dir) });
    await a.store('w', 't', new Map([['car', vec(1, 2)]]));
    const b = new ClassEmbeddingCache({ persistence: new ClassEmbeddingDiskCache(dir) });
    expect((await b.lookup('w', 't', ['car'])).get('car')).toEqual(vec(1, 2));
  });
});

describe('computeClassEmbeddings with a cache', () => {
  const arch = { embed_dim: 2, context_length: 77, vocab_size: 49408 } as SedArchitecture;
  const templates = ['a {}.', 'the {}.'];
  /** Ops and params that must not be used: everything comes from the cache. */
  const untouchable = new Proxy(
    {},
    {
      get: (_t, p) => {
        throw new Error(`backend used (${String(p)})`);
      },
    },
  );
  const ops = untouchable as Ops<unknown>;
  const params = untouchable as ModelParams<unknown>;
  const tokenizer = {
    tokenize: (): Int32Array => {
      throw new Error('tokenizer used');
    },
  };

  it('assembles T×P×D from cached classes without encoding anything (duplicates allowed)', async () => {
    const cache = new ClassEmbeddingCache();
    const key = templateSetKey(templates);
    cache.set('w', key, 'car', vec(1, 0, 0, 1));
    cache.set('w', key, 'sky', vec(0, 1, 1, 0));
    const out = await computeClassEmbeddings(ops, params, arch, tokenizer, ['sky', 'car', 'sky'], templates, { cache, weightsDigest: 'w' });
    expect(Array.from(out)).toEqual([0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0]);
  });

  it('refuses a cache without a digest, and bad class names', async () => {
    const cache = new ClassEmbeddingCache();
    await expect(computeClassEmbeddings(ops, params, arch, tokenizer, ['car'], templates, { cache })).rejects.toThrow(/weights digest/);
    await expect(computeClassEmbeddings(ops, params, arch, tokenizer, [], templates)).rejects.toThrow(/no class names/);
    await expect(computeClassEmbeddings(ops, params, arch, tokenizer, [' '], templates)).rejects.toThrow(/invalid class name/);
  });
});
