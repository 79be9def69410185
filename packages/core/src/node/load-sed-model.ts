import { ClassEmbeddingCache } from '../model/classes/class-embedding-cache.js';
import type { TextTokenizer } from '../model/classes/text-tokenizer.js';
import { SedModel, type SedModelLoadOptions } from '../model/sed-model.js';
import { ClassEmbeddingDiskCache } from './class-embedding-disk-cache.js';
import { loadDefaultTokenizer } from './default-tokenizer.js';
import { findConfig, openWeightsFile } from './open-weights-file.js';

export interface LoadSedModelOptions<T> extends Omit<SedModelLoadOptions<T>, 'tokenizer' | 'config' | 'configSource' | 'cache'> {
  /** Architecture config file; default: `<name>.config.json` or `config.json` beside the weights. */
  configPath?: string;
  /** Default: the CLIP tokenizer shipped with @sedseg/core. */
  tokenizer?: TextTokenizer;
  /** Folder of the on-disk class-embedding cache; omitted = memory only. */
  cacheDir?: string;
  /** In-memory cache to use (default: a new one per model). */
  cache?: ClassEmbeddingCache;
}

/**
 * Loads a SED checkpoint file (`.pth` or `.safetensors`) onto a backend. The file is read one
 * tensor at a time and closed once the weights are on the backend. The text tower's weights are
 * read again from the file when class names must be encoded (`SedModelLoadOptions.reopenWeights`).
 */
export async function loadSedModel<T>(weightsPath: string, options: LoadSedModelOptions<T>): Promise<SedModel<T>> {
  const store = await openWeightsFile(weightsPath);
  try {
    const config = await findConfig(weightsPath, options.configPath);
    const cache =
      options.cache ?? new ClassEmbeddingCache(options.cacheDir !== undefined ? { persistence: new ClassEmbeddingDiskCache(options.cacheDir) } : {});
    const { configPath: _c, cacheDir: _d, tokenizer, ...rest } = options;
    return await SedModel.load(store, {
      // the text tower is read again from the file when a class must be encoded
      reopenWeights: () => openWeightsFile(weightsPath),
      ...rest,
      tokenizer: tokenizer ?? (await loadDefaultTokenizer()),
      cache,
      ...(config ? { config: config.config, configSource: config.path } : {}),
    });
  } finally {
    await store.close();
  }
}
