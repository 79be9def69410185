/**
 * The class-embedding cache key covers everything that changes a class embedding (issue 8 §2):
 * the text-encoder weights, their stored dtype, the text-tower architecture (incl. the head
 * count that shapes do not show), the prompt templates and the tokenizer. Each change must miss
 * a warm on-disk cache; an unchanged model must hit it. Run on tfjs (the text tower of the tiny
 * model is cheap; the key does not depend on the backend).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClassEmbeddingCache,
  IMAGENET_TEMPLATES,
  SedModel,
  castFloat,
  memoryWeightStore,
  toFloat32,
  type HostTensor,
  type Ops,
  type TextTokenizer,
} from '@sedseg/core';
import { ClassEmbeddingDiskCache, loadDefaultTokenizer, openWeightsFile } from '@sedseg/core/node';
import { BACKENDS } from './helpers/backends.js';
import { TINY_CONFIG, TINY_MODEL } from './helpers/golden.js';

const CLASSES = ['sky', 'person, people'];
const TEXT_PREFIX = 'sem_seg_head.predictor.clip_model.';

describe('class-embedding cache key', () => {
  let ops: Ops<unknown>;
  let tensors: Map<string, HostTensor>;
  let config: { architecture: Record<string, unknown> };
  let tokenizer: TextTokenizer;
  let dir: string;

  beforeAll(async () => {
    ops = await BACKENDS.find((b) => b.name === 'tfjs')!.create();
    const store = await openWeightsFile(TINY_MODEL);
    tensors = new Map();
    for (const k of store.keys()) tensors.set(k, await store.read(k));
    await store.close();
    config = JSON.parse(readFileSync(TINY_CONFIG, 'utf8'));
    tokenizer = await loadDefaultTokenizer();
    dir = mkdtempSync(join(tmpdir(), 'sedseg-cache-key-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Encodes CLASSES with a fresh model (fresh memory cache) over the shared disk cache. */
  async function encode(
    options: { weights?: Map<string, HostTensor>; config?: unknown; templates?: readonly string[]; tokenizer?: TextTokenizer } = {},
  ): Promise<{ cached: number; encoded: number; embeddings: Float32Array }> {
    const model = await SedModel.load(memoryWeightStore(options.weights ?? tensors), {
      backend: ops,
      tokenizer: options.tokenizer ?? tokenizer,
      config: 'config' in options ? options.config : config,
      cache: new ClassEmbeddingCache({ persistence: new ClassEmbeddingDiskCache(dir) }),
      ...(options.templates ? { templates: options.templates } : {}),
    });
    try {
      return await model.encodeClasses(CLASSES);
    } finally {
      model.dispose();
    }
  }

  it('an unchanged model hits the warm cache and gets the same embeddings', async () => {
    const first = await encode();
    expect(first).toMatchObject({ cached: 0, encoded: 2 });
    const second = await encode();
    expect(second).toMatchObject({ cached: 2, encoded: 0 });
    expect(second.embeddings).toEqual(first.embeddings);
  });

  it('another text head count (config without text_heads) misses, and its embeddings differ', async () => {
    const base = await encode();
    const { text_heads: _h, text_head_dim: _d, ...architecture } = config.architecture;
    const noHeads = await encode({ config: { ...config, architecture } });
    expect(noHeads.encoded).toBe(2);
    expect(noHeads.embeddings).not.toEqual(base.embeddings);
  });

  it('other text-encoder weights miss', async () => {
    const changed = new Map(tensors);
    const key = `${TEXT_PREFIX}ln_final.weight`;
    const t = toFloat32(tensors.get(key)!);
    const data = Float32Array.from(t.data);
    data[0] = data[0]! + 0.5;
    changed.set(key, { ...t, data });
    expect((await encode({ weights: changed })).encoded).toBe(2);
  });

  it('the same values stored as float16 miss (dtype is part of the key)', async () => {
    // float32 weights whose text tensors hold float16-representable values, then the same
    // values stored as float16: equal fingerprints, different dtypes
    const rounded = new Map(tensors);
    const half = new Map(tensors);
    for (const [k, t] of tensors) {
      if (!k.startsWith(TEXT_PREFIX) || k.startsWith(`${TEXT_PREFIX}visual.`)) continue;
      const h = castFloat(t, 'float16');
      half.set(k, h);
      rounded.set(k, toFloat32(h));
    }
    expect((await encode({ weights: rounded })).encoded).toBe(2);
    expect((await encode({ weights: rounded })).cached).toBe(2);
    expect((await encode({ weights: half })).encoded).toBe(2);
  });

  it('other prompt templates miss', async () => {
    await encode();
    expect((await encode({ templates: IMAGENET_TEMPLATES.slice(0, 79) })).encoded).toBe(2);
    expect((await encode({ templates: [...IMAGENET_TEMPLATES].reverse() })).encoded).toBe(2);
  });

  it('a tokenizer with other ids, or another declared identity, misses', async () => {
    await encode();
    const shifted: TextTokenizer = {
      tokenize: (texts, n) => tokenizer.tokenize(texts, n).map((id) => (id === 1125 ? 1126 : id)), // "photo" → another token
    };
    expect((await encode({ tokenizer: shifted })).encoded).toBe(2);
    const renamed: TextTokenizer = { tokenize: (texts, n) => tokenizer.tokenize(texts, n), fingerprint: 'my-vocab-v2' };
    expect((await encode({ tokenizer: renamed })).encoded).toBe(2);
    const same: TextTokenizer = { tokenize: (texts, n) => tokenizer.tokenize(texts, n) };
    expect((await encode({ tokenizer: same })).cached).toBe(2);
  });
});
