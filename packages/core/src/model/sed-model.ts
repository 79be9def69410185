/**
 * The public face of the model: load weights onto a backend once, then segment images for any
 * list of class names (DESIGN.md §1). The pipeline itself reads at a glance in sed-pipeline.ts;
 * this class owns the weights and the class-embedding cache and validates the requests.
 */
import { SedsegError } from '../errors.js';
import type { BackendOps, Ops } from '../ops/ops.js';
import { completeOps } from '../ops/composites.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { WeightStore } from '../weights/weight-store.js';
import { architectureFromWeights, assertWeightsComplete, type WeightCheck } from '../architecture/infer-architecture.js';
import { expectedWeightShapes, weightPart } from '../architecture/expected-weights.js';
import type { SedArchitecture } from '../architecture/sed-architecture.js';
import { IMAGENET_TEMPLATES } from '../prompts/imagenet-templates.js';
import { getVocabulary } from '../vocabularies/index.js';
import type { RgbImage } from '../image/rgb-image.js';
import { preprocessImage, validateResolution } from '../image/preprocess.js';
import { classEmbeddingsCounted } from './classes/class-embeddings.js';
import { ClassEmbeddingCache } from './classes/class-embedding-cache.js';
import type { TextTokenizer } from './classes/text-tokenizer.js';
import type { ImageFeatures } from './encoders/image-encoder.js';
import { appearanceGuidanceStageOf, decoderInputStageOf, decoderLayerStageOf } from './stages/decoder-stages.js';
import { imageEncoderStageOf } from './stages/image-encoder-stage.js';
import { textEncoderStageOf } from './stages/text-encoder-stage.js';
import { runStage, type Stage } from '../ops/stage.js';
import { uploadParams, type ModelParams } from './model-params.js';
import { runDecoder } from './decoder-run/run-decoder.js';
import type { DecoderResult } from './decoder-run/decoder-result.js';
import { isHostTensor } from './decoder-run/decoder-trace.js';
import { segmentImage } from './sed-pipeline.js';
import { WeightsFingerprint } from './classes/weights-fingerprint.js';
import { classEmbeddingKey } from './classes/class-embedding-key.js';
import { DEFAULT_INFERENCE_POOLING, validatePooling, withDecoderPooling } from './decoder/decoder-pooling.js';
import { TextEncoderWeights, type ReopenWeights } from './text-encoder-weights.js';

export type SedPhase = 'weights' | 'text' | 'image' | 'decoder';

export interface SedProgress {
  phase: SedPhase;
  done: number;
  total: number;
  /** What `done`/`total` count when it is not obvious (decoder: weighted class steps, e.g. "layer 2 of 3"). */
  detail?: string;
}

export interface SedModelLoadOptions<T> {
  /**
   * The backend's operators (e.g. `await createTfjsOps()` from `@sedseg/backend-tfjs`, or
   * `(await resolveBackend()).ops`); core supplies the optional members it leaves out.
   */
  backend: BackendOps<T>;
  /** CLIP tokenizer (`loadDefaultTokenizer()` from `@sedseg/core/node`, or `ClipTokenizer.fromGzip`). */
  tokenizer: TextTokenizer;
  /** Architecture config for sizes shapes do not show (reference `config.json` layout). */
  config?: unknown;
  configSource?: string;
  /** Prompt templates (default: the 80 ImageNet templates the checkpoints were trained with). */
  templates?: readonly string[];
  /** Class-embedding cache (default: an in-memory LRU owned by the model). */
  cache?: ClassEmbeddingCache;
  /**
   * Opens the same weights again (e.g. `() => openWeightsFile(path)`). When given, the text
   * tower's weights (a third of SED-B's) are only fingerprinted at load and uploaded when a class
   * embedding must be computed (text-encoder-weights.ts); `loadSedModel` passes one. Without it
   * every weight is uploaded at load and stays.
   */
  reopenWeights?: ReopenWeights;
  /**
   * Free the text tower's weights after every encoding (needs `reopenWeights`): segmentations then
   * run without them in memory, and a class list with uncached names reads them again (about a
   * second, plus compiling the text encoder again on a compiling backend). Default false: once
   * loaded they stay. The CLI sets it (a run's class list is fixed).
   */
  releaseTextEncoderAfterUse?: boolean;
  onProgress?: (progress: SedProgress) => void;
}

/** Receives named intermediate tensors (golden-file names), copied to the host. */
export type TraceFn = (name: string, tensor: HostTensor) => void | Promise<void>;

export interface SegmentOptions {
  /** Class names (a name with `", "` lists synonyms). Give this or `vocabulary`. */
  classes?: readonly string[];
  /** A standard vocabulary by name (`ade150`, `coco171`, …). */
  vocabulary?: string;
  /** Category early rejection with this top-k (paper default 8); omitted = full path. */
  topK?: number;
  /** Model input side R, a multiple of 32 (default 768, the official resolution). */
  resolution?: number;
  /**
   * Decoder pooling window k (AvgPool k×k before each class attention). Default 1: the authors'
   * evaluation setting (`eval.sh`, the paper's numbers); 2 is their training setting (faster, and
   * what the config files say). See decoder-pooling.ts.
   */
  pooling?: number;
  /** Also return the per-class probability maps at image size (T×H×W floats: large). */
  probabilities?: boolean;
  /**
   * Labels at this size instead of the image's (the evaluation protocol: the model is given the
   * test-time resized image, and its maps, cropped to that image's size at R/4 as detectron2
   * `sem_seg_postprocess` does, are resized to the original image's size). `width`/`height` of
   * the result are this size.
   */
  outputSize?: { height: number; width: number };
  /** Classes per decoder chunk (default: the backend's preference, else 16): bounds memory; results do not depend on it. */
  classChunk?: number;
  trace?: TraceFn;
  onProgress?: (progress: SedProgress) => void;
}

export interface SegmentTimings {
  text: number;
  image: number;
  decoder: number;
  postprocess: number;
  total: number;
}

export interface Segmentation {
  width: number;
  height: number;
  resolution: number;
  /** Decoder pooling used (see `SegmentOptions.pooling`). */
  pooling: number;
  classes: string[];
  /** Class index per pixel, row-major H×W. */
  labels: Int32Array;
  /** Share of the image's pixels labelled with each class (sums to 1). */
  areas: number[];
  /** T×H×W probabilities (only with `probabilities: true`). */
  probabilities?: HostTensor<'float32'>;
  /**
   * CER only: the top-k used, how many classes each rejection kept (before decoder layers 1, 2
   * and 3; the field name predates the glossary, see model/README.md) and the finally kept class
   * indices.
   */
  topK?: number;
  keptPerStage?: [number, number, number];
  keptClasses?: number[];
  /** How many class embeddings came from the cache and how many were encoded. */
  textEmbeddings: { cached: number; encoded: number };
  backend: string;
  /** Milliseconds per phase. */
  timings: SegmentTimings;
}

/** Checks a class list: non-empty, no empty names, no duplicates. */
export function validateClassNames(classes: readonly string[]): string[] {
  if (!Array.isArray(classes) || classes.length === 0) throw new SedsegError('E_ARGUMENT', 'the class list is empty');
  const seen = new Map<string, number>();
  classes.forEach((name, i) => {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new SedsegError('E_ARGUMENT', `class ${i + 1} has an empty name`);
    }
    const prev = seen.get(name);
    if (prev !== undefined) throw new SedsegError('E_ARGUMENT', `class "${name}" appears twice (positions ${prev + 1} and ${i + 1})`);
    seen.set(name, i);
  });
  return [...classes];
}

const now = (): number => performance.now();

export class SedModel<T = unknown> {
  private disposed = false;

  private constructor(
    readonly backend: Ops<T>,
    readonly architecture: SedArchitecture,
    readonly check: WeightCheck,
    private readonly params: ModelParams<T> & { dispose(): void },
    private readonly text: TextEncoderWeights<T>,
    private readonly releaseTextAfterUse: boolean,
    private readonly tokenizer: TextTokenizer,
    readonly templates: readonly string[],
    readonly cache: ClassEmbeddingCache,
    /** Fingerprint of the text-encoder weights. */
    readonly weightsDigest: string,
    /** Key of this model's class embeddings in the cache (weights, text tower, tokenizer: class-embedding-key.ts). */
    readonly classEmbeddingKey: string,
    private readonly onProgress?: (progress: SedProgress) => void,
  ) {}

  /**
   * Checks the weights (every missing or mis-shaped key is named), infers the architecture and
   * uploads the weights to the backend one tensor at a time (the text tower's only when needed,
   * given `reopenWeights`).
   */
  static async load<T>(weights: WeightStore, options: SedModelLoadOptions<T>): Promise<SedModel<T>> {
    const inferred = architectureFromWeights(weights, {
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.configSource !== undefined ? { configSource: options.configSource } : {}),
    });
    assertWeightsComplete(inferred.check, weights.source);
    const ops = completeOps(options.backend);
    const needed = expectedWeightShapes(inferred.architecture);
    const fingerprint = new WeightsFingerprint();
    const textDtypes: string[] = [];
    const isText = (name: string): boolean => weightPart(name) === 'text_encoder';
    const lazyText = options.reopenWeights !== undefined;
    if (options.releaseTextEncoderAfterUse === true && !lazyText) {
      throw new SedsegError('E_ARGUMENT', 'releaseTextEncoderAfterUse needs reopenWeights (the text encoder must be readable again)');
    }
    const params = await uploadParams(
      ops,
      weights,
      (name) => needed.has(name),
      (done, total) => options.onProgress?.({ phase: 'weights', done, total }),
      (name, values) => {
        if (isText(name)) {
          const info = weights.info(name)!;
          fingerprint.addTensor(name, info.shape, values);
          textDtypes.push(info.dtype);
        }
      },
      (name) => !(lazyText && isText(name)),
    );
    const textKeys = weights.keys().filter((name) => needed.has(name) && isText(name));
    const text = new TextEncoderWeights(ops, textKeys, fingerprint.digest(), options.reopenWeights, lazyText ? undefined : params);
    const all: ModelParams<T> & { dispose(): void } = {
      get: (name) => (params.has(name) ? params.get(name) : text.get(name)),
      has: (name) => params.has(name) || text.has(name),
      dispose() {
        params.dispose();
        text.dispose();
      },
    };
    return new SedModel(
      ops,
      inferred.architecture,
      inferred.check,
      all,
      text,
      options.releaseTextEncoderAfterUse === true,
      options.tokenizer,
      options.templates ?? IMAGENET_TEMPLATES,
      options.cache ?? new ClassEmbeddingCache(),
      fingerprint.digest(),
      classEmbeddingKey({ weightsDigest: fingerprint.digest(), weightDtypes: textDtypes, architecture: inferred.architecture, tokenizer: options.tokenizer }),
      options.onProgress,
    );
  }

  private assertUsable(): void {
    if (this.disposed) throw new SedsegError('E_ARGUMENT', 'this SedModel has been disposed');
  }

  /** The class names of `classes` or of a named vocabulary. */
  static resolveClasses(options: Pick<SegmentOptions, 'classes' | 'vocabulary'>): string[] {
    if (options.classes !== undefined && options.vocabulary !== undefined) {
      throw new SedsegError('E_ARGUMENT', 'give either classes or a vocabulary, not both');
    }
    if (options.vocabulary !== undefined) return [...getVocabulary(options.vocabulary).classes];
    if (options.classes === undefined) throw new SedsegError('E_ARGUMENT', 'no classes given (pass classes or a vocabulary)');
    return validateClassNames(options.classes);
  }

  /**
   * Class embeddings T×P×D (host), from the cache where possible. Returns how many were cached.
   */
  async encodeClasses(
    classes: readonly string[],
    onProgress?: (progress: SedProgress) => void,
  ): Promise<{ embeddings: Float32Array; cached: number; encoded: number }> {
    this.assertUsable();
    const names = validateClassNames(classes);
    const progress = onProgress ?? this.onProgress;
    // one cache lookup: the counts come back with the embeddings
    try {
      return await classEmbeddingsCounted(this.backend, this.params, this.architecture, this.tokenizer, names, this.templates, {
        cache: this.cache,
        weightsDigest: this.classEmbeddingKey,
        onProgress: (done, total) => progress?.({ phase: 'text', done, total }),
        beforeEncoding: () => this.text.load(),
      });
    } finally {
      if (this.releaseTextAfterUse) this.text.release();
    }
  }

  /** Whether the text tower's weights are on the backend now (see `SedModelLoadOptions.reopenWeights`). */
  get textEncoderLoaded(): boolean {
    return this.text.isLoaded;
  }

  /** Uploads the text tower's weights now (they are otherwise loaded when first needed). */
  async loadTextEncoder(): Promise<void> {
    this.assertUsable();
    await this.text.load();
  }

  /**
   * Frees the text tower's weights (class embeddings already computed stay in the cache); they
   * are read again when an uncached class comes. A no-op for a model loaded without `reopenWeights`.
   */
  releaseTextEncoder(): void {
    this.assertUsable();
    this.text.release();
  }

  /**
   * Runs the image encoder on an RGB image at resolution R. The returned backend tensors belong
   * to the caller (`disposeFeatures`).
   */
  async encodeImage(image: RgbImage, resolution = 768): Promise<{ input: Float32Array; features: ImageFeatures<T> }> {
    this.assertUsable();
    const input = preprocessImage(image, resolution);
    const ops = this.backend;
    const x = ops.constant(input, [1, 3, resolution, resolution], 'image');
    try {
      const out = await runStage(ops, imageEncoderStageOf(this.params, this.architecture), { image: x });
      const features: ImageFeatures<T> = { stem: out.stem!, res2: out.res2!, res3: out.res3!, res4: out.res4!, res5: out.res5!, dense: out.dense! };
      return { input, features };
    } finally {
      ops.dispose(x);
    }
  }

  /**
   * The model's compiled-graph stages (stages/) with its weights: what a compiling backend or an exporter
   * traces. Decoder layers 0 and 1 give features, corr guidance and their head's logits (for CER);
   * layer 2 gives the final logits. Taking `textEncoder` needs the text tower loaded (`loadTextEncoder`).
   */
  stages(options: { pooling?: number } = {}): {
    textEncoder: Stage<T>;
    imageEncoder: Stage<T>;
    appearanceGuidance: Stage<T>;
    decoderInput: Stage<T>;
    decoderLayers: [Stage<T>, Stage<T>, Stage<T>];
  } {
    this.assertUsable();
    const decoderArch = withDecoderPooling(this.architecture, options.pooling ?? DEFAULT_INFERENCE_POOLING);
    const layer = (i: number): Stage<T> => decoderLayerStageOf(this.params, decoderArch, i, i < 2 ? ['features', 'corrGuidance', 'logits'] : ['logits']);
    const text = this.text;
    const params = this.params;
    const architecture = this.architecture;
    return {
      // a getter: only asking for the text encoder's stage needs its weights loaded
      get textEncoder(): Stage<T> {
        if (!text.isLoaded)
          throw new SedsegError('E_ARGUMENT', "the text encoder's weights are not loaded: await model.loadTextEncoder() before taking its stage");
        return textEncoderStageOf(params, architecture);
      },
      imageEncoder: imageEncoderStageOf(this.params, this.architecture),
      appearanceGuidance: appearanceGuidanceStageOf(this.params),
      decoderInput: decoderInputStageOf(this.params),
      decoderLayers: [layer(0), layer(1), layer(2)],
    };
  }

  /** A model weight by its checkpoint key, as float32 host values (e.g. embedding tables for export). */
  async readWeight(key: string): Promise<HostTensor<'float32'>> {
    this.assertUsable();
    if (this.text.has(key)) await this.text.load();
    const t = this.params.get(key);
    return { dtype: 'float32', shape: [...this.backend.shape(t)], data: await this.backend.read(t) };
  }

  disposeFeatures(features: ImageFeatures<T>): void {
    this.backend.dispose([features.stem, features.res2, features.res3, features.res4, features.res5, features.dense]);
  }

  /** Decoder on image features and class embeddings (full path, or CER with `topK`). */
  async decode(
    features: ImageFeatures<T>,
    embeddings: Float32Array,
    classCount: number,
    options: { topK?: number; classChunk?: number; pooling?: number; trace?: TraceFn; onProgress?: (progress: SedProgress) => void } = {},
  ): Promise<DecoderResult> {
    this.assertUsable();
    const ops = this.backend;
    const trace = options.trace;
    const [, , featureSide] = ops.shape(features.dense);
    const pooling = validatePooling(options.pooling ?? DEFAULT_INFERENCE_POOLING, featureSide! * 32);
    const onProgress = options.onProgress;
    return runDecoder(ops, this.params, withDecoderPooling(this.architecture, pooling), features, embeddings, classCount, {
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
      ...(options.classChunk !== undefined ? { classChunk: options.classChunk } : {}),
      ...(onProgress ? { onProgress: (done: number, total: number, detail: string) => onProgress({ phase: 'decoder', done, total, detail }) } : {}),
      ...(trace
        ? {
            trace: async (name, value) => {
              if (isHostTensor(value)) return trace(name, value);
              const data = await ops.read(value);
              return trace(name, { dtype: 'float32', shape: [...ops.shape(value)], data });
            },
          }
        : {}),
    });
  }

  /** Segments one image: a label per pixel for the given classes (the pipeline: sed-pipeline.ts). */
  async segment(image: RgbImage, options: SegmentOptions): Promise<Segmentation> {
    this.assertUsable();
    const start = now();
    const classes = SedModel.resolveClasses(options);
    const resolution = validateResolution(options.resolution ?? 768);
    const pooling = validatePooling(options.pooling ?? DEFAULT_INFERENCE_POOLING, resolution);
    if (options.topK !== undefined && (!Number.isInteger(options.topK) || options.topK < 1)) {
      throw new SedsegError('E_ARGUMENT', `topK must be a positive integer, got ${options.topK}`);
    }
    const out = options.outputSize;
    if (out !== undefined && (!Number.isInteger(out.height) || !Number.isInteger(out.width) || out.height < 1 || out.width < 1)) {
      throw new SedsegError('E_ARGUMENT', `outputSize must be positive integers, got ${out.height}×${out.width}`);
    }
    const progress = options.onProgress ?? this.onProgress;
    return segmentImage(
      this,
      image,
      {
        classes,
        resolution,
        pooling,
        ...(options.topK !== undefined ? { topK: options.topK } : {}),
        ...(options.classChunk !== undefined ? { classChunk: options.classChunk } : {}),
        ...(options.probabilities !== undefined ? { probabilities: options.probabilities } : {}),
        ...(options.outputSize !== undefined ? { outputSize: options.outputSize } : {}),
        ...(options.trace ? { trace: options.trace } : {}),
        ...(progress ? { progress } : {}),
      },
      start,
    );
  }

  /** Frees the weights on the backend; the model cannot be used afterwards. */
  dispose(): void {
    if (!this.disposed) {
      this.disposed = true;
      this.params.dispose();
    }
  }
}
