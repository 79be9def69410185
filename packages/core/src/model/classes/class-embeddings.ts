/**
 * Class embeddings (DESIGN.md §3.4): every class name becomes the texts of `classPrompts`
 * (80 templates × synonyms, template-major), the texts are encoded by the CLIP text encoder, and
 * `combineClassEmbeddings` L2-normalises them (averaging and re-normalising over synonyms) into
 * one P×D embedding per class. Result: T×P×D on the host.
 *
 * The cache (class-embedding-cache.ts) keeps computed classes, so a changed vocabulary only
 * encodes its new classes.
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { SedArchitecture } from '../../architecture/sed-architecture.js';
import { IMAGENET_TEMPLATES } from '../../prompts/imagenet-templates.js';
import { classPrompts, combineClassEmbeddings, type ClassPrompts } from '../../prompts/class-prompts.js';
import type { ModelParams } from '../model-params.js';
import type { ClassEmbeddingCache } from './class-embedding-cache.js';
import { templateSetKey } from './template-set-key.js';
import type { TextTokenizer } from './text-tokenizer.js';
import { encodeTexts } from '../encoders/text-encoder.js';

export interface ClassEmbeddingOptions {
  /** Progress in texts encoded: (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Reuse and record class embeddings; needs `weightsDigest`. */
  cache?: ClassEmbeddingCache;
  /** Identifies the text-encoder weights in the cache (e.g. a hash of the weights file). */
  weightsDigest?: string;
  /** Sequences per text-encoder call (default 512). */
  chunkSize?: number;
  /**
   * Encodes token rows (count × context length) into text features (count × D) instead of the
   * model's text encoder on `ops` (e.g. a text-encoder graph of a `sedseg export` folder).
   */
  encodeTokens?: (tokens: Int32Array, count: number, onProgress?: (done: number, total: number) => void) => Promise<Float32Array>;
  /** Called once before anything is encoded, only when some class is not cached (e.g. to load the text tower's weights). */
  beforeEncoding?: () => Promise<void>;
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
  return (await classEmbeddingsCounted(ops, params, arch, tokenizer, classNames, templates, options)).embeddings;
}

/** Class embeddings with how many distinct classes came from the cache and how many were encoded. */
export interface CountedClassEmbeddings {
  embeddings: Float32Array;
  cached: number;
  encoded: number;
}

/**
 * `computeClassEmbeddings`, also saying how many distinct classes came from the cache and how
 * many were encoded (so a caller need not look the cache up a second time to count).
 */
export async function classEmbeddingsCounted<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: SedArchitecture,
  tokenizer: TextTokenizer,
  classNames: readonly string[],
  templates: readonly string[] = IMAGENET_TEMPLATES,
  options: ClassEmbeddingOptions | ((done: number, total: number) => void) = {},
): Promise<CountedClassEmbeddings> {
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
    await opts.beforeEncoding?.();
    const prompts: ClassPrompts[] = todo.map((name) => classPrompts(name, templates));
    // Encode each distinct text once.
    const textIndex = new Map<string, number>();
    for (const p of prompts) for (const text of p.texts) if (!textIndex.has(text)) textIndex.set(text, textIndex.size);
    const texts = [...textIndex.keys()];
    const tokens = tokenizer.tokenize(texts, arch.context_length);
    const features = opts.encodeTokens
      ? await opts.encodeTokens(tokens, texts.length, opts.onProgress)
      : await encodeTexts(ops, params, arch, tokens, texts.length, {
          ...(opts.chunkSize !== undefined ? { chunkSize: opts.chunkSize } : {}),
          ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}),
        });
    if (features.length !== texts.length * D) {
      throw new SedsegError('E_ARGUMENT', `class embeddings: expected ${texts.length}×${D} text features, got ${features.length} values`);
    }
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
  classNames.forEach((name, t) => {
    out.set(known.get(name)!, t * blockSize);
  });
  return { embeddings: out, cached: unique.length - todo.length, encoded: todo.length };
}
