/**
 * Loading a SED checkpoint in a browser, without `node:`: the weights from a URL (downloaded
 * with progress, kept in the Cache API), a Blob/File (read range by range) or bytes; the format
 * (.pth or .safetensors) sniffed from the bytes; the CLIP tokenizer from the gzip BPE vocabulary
 * at a URL; class embeddings kept in IndexedDB.
 */
import {
  blobSource,
  ClassEmbeddingCache,
  ClipTokenizer,
  memorySource,
  openWeights,
  SedModel,
  SedsegError,
  type BackendOps,
  type ByteSource,
  type ClassEmbeddingPersistence,
  type SedProgress,
  type TextTokenizer,
} from '@sedseg/core';
import { fetchWeights } from './fetch-weights.js';
import { hasIndexedDb, indexedDbClassEmbeddings } from './indexeddb-class-embeddings.js';

/** Loading progress: a download (bytes) or a model-loading step (core's `SedProgress`). */
export type WebLoadProgress =
  | { phase: 'download'; file: 'weights' | 'vocabulary' | 'config'; loaded: number; total?: number }
  | ({ file?: undefined } & SedProgress);

export interface LoadWebModelOptions<T> {
  /** The backend's operators (e.g. `await createWebOps()`). */
  ops: BackendOps<T>;
  /** Architecture config (the reference `config.json` layout), when the weights' shapes do not say everything. */
  config?: unknown;
  /** URL of that config (fetched; ignored when `config` is given). */
  configUrl?: string;
  /** CLIP tokenizer; default: built from `vocabularyUrl`. */
  tokenizer?: TextTokenizer;
  /**
   * URL of `bpe_simple_vocab_16e6.txt.gz` (the file `@sedseg/core/bpe_simple_vocab_16e6.txt.gz`,
   * e.g. with Vite `import vocabularyUrl from '@sedseg/core/bpe_simple_vocab_16e6.txt.gz?url'`).
   * Needed unless `tokenizer` is given.
   */
  vocabularyUrl?: string;
  /** Where class embeddings persist: default IndexedDB (`indexedDbClassEmbeddings()`) when there is one; false = memory only. */
  classEmbeddings?: ClassEmbeddingPersistence | false;
  /** Prompt templates (default: the 80 ImageNet templates). */
  templates?: readonly string[];
  /** Cache API cache for downloads (default `sedseg-weights`; false = none). */
  cacheName?: string | false;
  signal?: AbortSignal;
  onProgress?(progress: WebLoadProgress): void;
}

/** Weights as a URL, a Blob or File, or bytes. */
export type WebModelSource = string | URL | Blob | Uint8Array | ArrayBuffer;

async function sourceOf<T>(source: WebModelSource, options: LoadWebModelOptions<T>): Promise<ByteSource> {
  if (typeof source === 'string' || source instanceof URL) {
    const url = source.toString();
    const bytes = await fetchWeights(url, {
      ...(options.cacheName !== undefined ? { cacheName: options.cacheName } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (loaded, total) => options.onProgress?.({ phase: 'download', file: 'weights', loaded, ...(total !== undefined ? { total } : {}) }),
    });
    return memorySource(bytes, url);
  }
  if (source instanceof Uint8Array) return memorySource(source);
  if (source instanceof ArrayBuffer) return memorySource(new Uint8Array(source));
  if (typeof Blob !== 'undefined' && source instanceof Blob) return blobSource(source);
  throw new SedsegError('E_ARGUMENT', 'loadWebModel: the weights must be a URL, a Blob or File, a Uint8Array or an ArrayBuffer');
}

/** The tokenizer given, or the one built from the BPE vocabulary at `vocabularyUrl` (kept in the Cache API). */
export async function tokenizerOf(
  options: Pick<LoadWebModelOptions<unknown>, 'tokenizer' | 'vocabularyUrl' | 'cacheName' | 'signal' | 'onProgress'>,
): Promise<TextTokenizer> {
  if (options.tokenizer) return options.tokenizer;
  if (options.vocabularyUrl === undefined) {
    throw new SedsegError(
      'E_ARGUMENT',
      "loadWebModel: give a tokenizer or vocabularyUrl, the URL of @sedseg/core's bpe_simple_vocab_16e6.txt.gz (e.g. Vite: import vocabularyUrl from '@sedseg/core/bpe_simple_vocab_16e6.txt.gz?url')",
    );
  }
  const bytes = await fetchWeights(options.vocabularyUrl, {
    ...(options.cacheName !== undefined ? { cacheName: options.cacheName } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (loaded, total) => options.onProgress?.({ phase: 'download', file: 'vocabulary', loaded, ...(total !== undefined ? { total } : {}) }),
  });
  try {
    return ClipTokenizer.fromGzip(bytes);
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${options.vocabularyUrl}: not the CLIP BPE vocabulary (${e instanceof Error ? e.message : String(e)})`);
  }
}

async function configOf<T>(options: LoadWebModelOptions<T>): Promise<{ config: unknown; configSource?: string } | undefined> {
  if (options.config !== undefined) return { config: options.config };
  if (options.configUrl === undefined) return undefined;
  const bytes = await fetchWeights(options.configUrl, { cacheName: false, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    return { config: JSON.parse(new TextDecoder().decode(bytes)), configSource: options.configUrl };
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${options.configUrl}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Loads a SED checkpoint (`.pth` or `.safetensors`, fp32/fp16/bf16; the format is read from the
 * bytes) onto `options.ops`. A URL is downloaded once and then read from the Cache API.
 */
export async function loadWebModel<T>(source: WebModelSource, options: LoadWebModelOptions<T>): Promise<SedModel<T>> {
  const [bytes, tokenizer, config] = await Promise.all([sourceOf(source, options), tokenizerOf(options), configOf(options)]);
  const store = await openWeights(bytes);
  try {
    const persistence = options.classEmbeddings === false ? undefined : (options.classEmbeddings ?? (hasIndexedDb() ? indexedDbClassEmbeddings() : undefined));
    return await SedModel.load(store, {
      backend: options.ops,
      tokenizer,
      cache: new ClassEmbeddingCache(persistence ? { persistence } : {}),
      ...(config ? { config: config.config, ...(config.configSource ? { configSource: config.configSource } : {}) } : {}),
      ...(options.templates ? { templates: options.templates } : {}),
      ...(options.onProgress ? { onProgress: (p: SedProgress) => options.onProgress?.(p) } : {}),
    });
  } finally {
    await store.close();
  }
}
