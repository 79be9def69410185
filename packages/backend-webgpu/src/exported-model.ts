/**
 * SED from a `sedseg export` folder (manifest.json, the stage graphs, the text tables) instead of
 * a checkpoint: nothing is traced, the graphs run as written (fp16 exports are half the
 * download). The pipeline is core's: the class embeddings (`classEmbeddingsCounted`, with the
 * exported text encoder), the decoder with category early rejection (`runDecoder`, whose stages
 * the ops find among the exported graphs) and the post-processing; only the stages' weights
 * are missing, and asking for a stage the folder does not hold (another resolution) fails
 * naming what it holds.
 */
import {
  assertRgbImage,
  ClassEmbeddingCache,
  classEmbeddingsCounted,
  EMBEDDING_VERSION,
  float16ToFloat32Array,
  preprocessImage,
  runDecoder,
  SedModel,
  SedsegError,
  segmentationOf,
  tokenizerFingerprint,
  type ClassEmbeddingPersistence,
  type DecoderResult,
  type ModelParams,
  type RgbImage,
  type SedProgress,
  type SegmentOptions,
  type Segmentation,
  type Stage,
  type TextTokenizer,
  withDecoderPooling,
} from '@sedseg/core';
import { MANIFEST_FORMAT, PrebuiltStages, type LazyTensor, type ManifestArray, type StageManifest } from '@sedseg/onnx';
import { fetchWeights } from './fetch-weights.js';
import { hasIndexedDb, indexedDbClassEmbeddings } from './indexeddb-class-embeddings.js';
import { tokenizerOf, type WebLoadProgress } from './load-web-model.js';
import type { WebOps } from './web-ops.js';

/** An export folder: its URL (files are fetched relative to it), or a reader of its files by relative path. */
export type ExportFolder = string | URL | ((path: string) => Promise<Uint8Array>);

export interface LoadExportedModelOptions {
  /** The runtime (e.g. `await createWebOps()`); its stage graphs come from the folder from now on. */
  ops: WebOps;
  /** CLIP tokenizer; default: built from `vocabularyUrl`. */
  tokenizer?: TextTokenizer;
  /** URL of `@sedseg/core/bpe_simple_vocab_16e6.txt.gz` (needed unless `tokenizer` is given). */
  vocabularyUrl?: string;
  /** Where class embeddings persist: default IndexedDB when there is one; false = memory only. */
  classEmbeddings?: ClassEmbeddingPersistence | false;
  /** Cache API cache for the folder's files (default `sedseg-weights`; false = none). */
  cacheName?: string | false;
  signal?: AbortSignal;
  onProgress?(progress: WebLoadProgress): void;
}

/** Text encoder chunk: rows per run of the exported text graph. */
const TEXT_CHUNK = 256;
/** One class chunk: the exported decoder graphs take any class count. */
const ALL_CLASSES = 2 ** 30;

function fileReader(folder: ExportFolder, options: LoadExportedModelOptions): (path: string) => Promise<Uint8Array> {
  if (typeof folder === 'function') return folder;
  const base = folder.toString().endsWith('/') ? folder.toString() : `${folder.toString()}/`;
  return (path) =>
    fetchWeights(new URL(path, base).href, {
      ...(options.cacheName !== undefined ? { cacheName: options.cacheName } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (loaded, total) => options.onProgress?.({ phase: 'download', file: 'weights', loaded, ...(total !== undefined ? { total } : {}) }),
    });
}

function parseManifest(bytes: Uint8Array, where: string): StageManifest {
  let manifest: StageManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes)) as StageManifest;
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${where}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (manifest?.format !== MANIFEST_FORMAT || manifest.version !== 1) {
    throw new SedsegError(
      'E_FORMAT',
      `${where}: not a sedseg export manifest (format ${JSON.stringify(manifest?.format)}, version ${manifest?.version}; expected ${MANIFEST_FORMAT} version 1)`,
    );
  }
  if (!manifest.text?.stage || !manifest.resolutions || Object.keys(manifest.resolutions).length === 0) {
    throw new SedsegError('E_FORMAT', `${where}: the manifest lists no text encoder or no resolution`);
  }
  return manifest;
}

async function readTable(read: (path: string) => Promise<Uint8Array>, table: ManifestArray): Promise<Float32Array> {
  const bytes = await read(table.file);
  const count = table.shape.reduce((a, b) => a * b, 1);
  const width = table.dtype === 'float16' ? 2 : 4;
  if (bytes.byteLength !== count * width) {
    throw new SedsegError('E_FORMAT', `${table.file}: ${bytes.byteLength} bytes, expected ${count * width} (${table.dtype} [${table.shape.join(', ')}])`);
  }
  const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  return table.dtype === 'float16'
    ? float16ToFloat32Array(new Uint16Array(aligned.buffer, aligned.byteOffset, count))
    : new Float32Array(aligned.buffer, aligned.byteOffset, count).slice();
}

/** A stage the exported graphs run (never traced: `run` is only reached when no graph fits). */
function exportedStage(name: string, inputs: Stage<LazyTensor>['inputs'], outputs: readonly string[], missing: () => never): Stage<LazyTensor> {
  return { name, inputs, outputs, run: missing };
}

export class ExportedSedModel {
  private readonly textStage: Stage<LazyTensor>;
  private readonly digest: string;

  private constructor(
    readonly ops: WebOps,
    readonly manifest: StageManifest,
    private readonly tokenizer: TextTokenizer,
    private readonly tables: { token: Float32Array; positional: Float32Array },
    private readonly cache: ClassEmbeddingCache,
  ) {
    const t = manifest.text.stage;
    this.textStage = exportedStage(
      t.name,
      t.inputs.map((i) => ({ name: i.name })),
      t.outputs.map((o) => o.name),
      () => this.missing('the text encoder'),
    );
    // The embeddings depend on the weights, their stored precision and the tokenizer.
    this.digest = `export:${manifest.weightsDigest}:${manifest.weightsDtype}:${tokenizerFingerprint(tokenizer, manifest.architecture.context_length)}:v${EMBEDDING_VERSION}`;
  }

  /** Loads `manifest.json` and the text tables of an export folder; the stage graphs are read when first used. */
  static async load(folder: ExportFolder, options: LoadExportedModelOptions): Promise<ExportedSedModel> {
    const read = fileReader(folder, options);
    const where = typeof folder === 'function' ? 'manifest.json' : `${folder.toString().replace(/\/$/, '')}/manifest.json`;
    const [manifest, tokenizer] = await Promise.all([read('manifest.json').then((b) => parseManifest(b, where)), tokenizerOf(options)]);
    const [token, positional] = await Promise.all([readTable(read, manifest.text.tokenEmbedding), readTable(read, manifest.text.positionalEmbedding)]);
    const stages = [manifest.text.stage, ...Object.values(manifest.resolutions).flatMap((r) => r.stages)];
    options.ops.prebuilt = new PrebuiltStages(stages, read);
    const persistence = options.classEmbeddings === false ? undefined : (options.classEmbeddings ?? (hasIndexedDb() ? indexedDbClassEmbeddings() : undefined));
    return new ExportedSedModel(options.ops, manifest, tokenizer, { token, positional }, new ClassEmbeddingCache(persistence ? { persistence } : {}));
  }

  /** Input sides the folder has graphs for. */
  get resolutions(): number[] {
    return Object.keys(this.manifest.resolutions)
      .map(Number)
      .sort((a, b) => a - b);
  }

  private missing(what: string): never {
    throw new SedsegError(
      'E_UNSUPPORTED',
      `the export folder has no graph for ${what} (it holds resolutions ${this.resolutions.join(', ')} at decoder pooling ${this.manifest.decoderPooling})`,
    );
  }

  /** Weights are inside the graphs: a stage that would need one is not in the folder. */
  private readonly noWeights: ModelParams<LazyTensor> = {
    get: (key) => this.missing(`a stage that reads ${key}`),
    has: () => false,
  };

  /** Text features of token rows through the exported text encoder (the manifest's host steps). */
  private async encodeTokens(tokens: Int32Array, count: number, onProgress?: (done: number, total: number) => void): Promise<Float32Array> {
    const { contextLength } = this.manifest.text;
    const W = this.manifest.architecture.text_width;
    const D = this.manifest.architecture.embed_dim;
    const out = new Float32Array(count * D);
    for (let start = 0; start < count; start += TEXT_CHUNK) {
      const n = Math.min(TEXT_CHUNK, count - start);
      const eot = new Int32Array(n);
      for (let r = 0; r < n; r++) {
        const row = (start + r) * contextLength;
        let best = 0;
        for (let i = 1; i < contextLength; i++) if (tokens[row + i]! > tokens[row + best]!) best = i;
        eot[r] = best;
      }
      const L = Math.max(...eot) + 1;
      const embeddings = new Float32Array(n * L * W);
      const eotOneHot = new Float32Array(n * L);
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < L; j++) {
          const id = tokens[(start + r) * contextLength + j]!;
          embeddings.set(this.tables.token.subarray(id * W, (id + 1) * W), (r * L + j) * W);
        }
        eotOneHot[r * L + eot[r]!] = 1;
      }
      const mask = new Float32Array(L * L);
      for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) mask[i * L + j] = -Infinity;
      const result = await this.ops.runStage(this.textStage, {
        embeddings: this.ops.constant(embeddings, [n, L, W]),
        positional: this.ops.constant(this.tables.positional.slice(0, L * W), [L, W]),
        mask: this.ops.constant(mask, [L, L]),
        eot: this.ops.constant(eotOneHot, [n, L, 1]),
      });
      const features = result[this.textStage.outputs[0]!]!;
      out.set(await this.ops.read(features), start * D);
      this.ops.dispose(Object.values(result));
      onProgress?.(start + n, count);
    }
    return out;
  }

  /** Segments one image, as `SedModel.segment` does (no `trace`, no `outputSize`; pooling is the export's). */
  async segment(image: RgbImage, options: SegmentOptions): Promise<Segmentation> {
    const start = performance.now();
    assertRgbImage(image);
    const classes = SedModel.resolveClasses(options);
    const resolution = options.resolution ?? (this.resolutions.includes(768) ? 768 : this.resolutions[0]!);
    if (this.manifest.resolutions[String(resolution)] === undefined) {
      throw new SedsegError('E_UNSUPPORTED', `the export folder has graphs for resolutions ${this.resolutions.join(', ')}, not ${resolution}`);
    }
    const pooling = this.manifest.decoderPooling;
    if (options.pooling !== undefined && options.pooling !== pooling) {
      throw new SedsegError(
        'E_UNSUPPORTED',
        `the export folder's decoder graphs compute pooling ${pooling}, not ${options.pooling} (export again with --pooling ${options.pooling})`,
      );
    }
    if (options.topK !== undefined && (!Number.isInteger(options.topK) || options.topK < 1)) {
      throw new SedsegError('E_ARGUMENT', `topK must be a positive integer, got ${options.topK}`);
    }
    if (options.trace !== undefined || options.outputSize !== undefined) {
      throw new SedsegError('E_UNSUPPORTED', 'trace and outputSize need a model loaded from its weights (loadWebModel)');
    }
    const progress = (p: SedProgress): void => options.onProgress?.(p);
    const { ops } = this;

    const text = await classEmbeddingsCounted(ops, this.noWeights, this.manifest.architecture, this.tokenizer, classes, this.manifest.templates, {
      cache: this.cache,
      weightsDigest: this.digest,
      encodeTokens: (tokens, count, onProgress) => this.encodeTokens(tokens, count, onProgress),
      onProgress: (done, total) => progress({ phase: 'text', done, total }),
    });
    const tText = performance.now();

    progress({ phase: 'image', done: 0, total: 1 });
    const imageStage = this.manifest.resolutions[String(resolution)]!.stages.find((s) => s.name === 'imageEncoder')!;
    const input = preprocessImage(image, resolution);
    const missing = (): never => this.missing(`resolution ${resolution}`);
    const f = await ops.runStage(
      exportedStage(
        'imageEncoder',
        [{ name: 'image' }],
        imageStage.outputs.map((o) => o.name),
        missing,
      ),
      { image: ops.constant(input, [1, 3, resolution, resolution]) },
    );
    let decoded: DecoderResult;
    let tImage: number;
    try {
      await ops.read(f.dense!);
      tImage = performance.now();
      progress({ phase: 'image', done: 1, total: 1 });
      decoded = await runDecoder(
        ops,
        this.noWeights,
        withDecoderPooling(this.manifest.architecture, pooling),
        { dense: f.dense!, res2: f.res2!, res3: f.res3!, res4: f.res4! },
        text.embeddings,
        classes.length,
        {
          classChunk: ALL_CLASSES,
          ...(options.topK !== undefined ? { topK: options.topK } : {}),
          onProgress: (done, total, detail) => progress({ phase: 'decoder', done, total, detail }),
        },
      );
    } finally {
      ops.dispose(Object.values(f));
    }
    return segmentationOf(decoded, {
      image,
      classes,
      resolution,
      pooling,
      topK: options.topK,
      probabilities: Boolean(options.probabilities),
      text,
      backend: ops.name,
      times: { start, text: tText, image: tImage, decoder: performance.now() },
    });
  }

  /** Releases the compiled sessions. */
  async dispose(): Promise<void> {
    await this.ops.release();
  }
}

/** `ExportedSedModel.load`: SED from a `sedseg export` folder (URL or file reader) on `options.ops`. */
export function loadExportedModel(folder: ExportFolder, options: LoadExportedModelOptions): Promise<ExportedSedModel> {
  return ExportedSedModel.load(folder, options);
}
