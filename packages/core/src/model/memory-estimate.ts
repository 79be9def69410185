/**
 * How much memory a segmentation needs, before running it: an analytic estimate of the peak
 * resident memory of `SedModel.segment` from the sizes of the tensors it holds, calibrated on the
 * ONNX Runtime CPU backend (the CLI's default), so that a caller can refuse a run the machine
 * cannot hold instead of swapping or crashing. And which resolutions are meaningful at all.
 *
 * ## Formula
 *
 * Notation: R resolution, h = R/32, T classes, p decoder pooling, n = min(class chunk, T),
 * float32 (4 bytes) everywhere; N_img, N_text, N_dec the parameter counts of the image encoder,
 * the text encoder and the decoder (exact, from `expectedWeightShapes`); d0 the ConvNeXt stage-0
 * width (B 128, L 192); P prompts (80), D embedding size. Decoder layer i = 0, 1, 2 runs at side
 * s_i = 2^i·h with c_i input channels (128, 64, 32), g_i guidance channels (32, 16, 8).
 *
 *     bytes = max over the phases of what is held then:
 *       text encoder     runtime + weightsHost + textHost + textEncoder + textBuild   (only when the text tower runs)
 *       image encoder    model + sessionBuild + imageEncoder + imageInput
 *       decoder          model + imageEncoder + features + decoderChunk + max(decoderClasses, logits)
 *       post-processing  model + imageEncoder + postprocess
 *     model = runtime + weightsHost + weightsBackend + classEmbeddings
 *             + (textHost + textEncoder while the text tower stays loaded)
 *
 * - runtime          330 MiB: Node.js, ONNX Runtime with its thread pools and the arenas of the
 *                    small decoder sessions, the tokenizer (measured).
 * - weightsHost      4·(N_img + N_dec): the float32 weights the model keeps on the host.
 * - textHost         4·N_text: the text tower's host weights. `loadSedModel` reads them only when a
 *                    class must be encoded (text-encoder-weights.ts); they stay unless released
 *                    (`textEncoderKept: false`, what the CLI does). A model loaded with every
 *                    weight up front holds them throughout (`textWeightsAlwaysLoaded`).
 * - weightsBackend   2·4·(N_img + N_dec): the backend's copy; on ONNX Runtime CPU a session holds
 *                    its initializers and their pre-packed form (2 copies, measured).
 * - textEncoder      2·4·N_text, the same for the text tower's session, when it runs (some class
 *                    embedding not cached; pass `textEncoder: false` when all are) and while it
 *                    stays loaded.
 * - textBuild        2.4·4·N_text while the text session is built and runs (transient, measured).
 * - classEmbeddings  2·T·P·D·4: the class embeddings and the embedding cache's copy of them.
 * - sessionBuild     0.8·4·N_img while the image-encoder session is built (transient, measured).
 * - imageEncoder     4 · 4·d0·(R/4)²·4: the encoder's activations. The largest is ConvNeXt stage
 *                    0's MLP hidden layer 4·d0·(R/4)² (fc1 output, GELU and its intermediates:
 *                    about 4 live at once). ONNX Runtime's arena keeps this memory after the run,
 *                    so it counts in every later phase.
 * - imageInput       the RGB image W·H·3, its float planes 3·W·H·4, the model input 2·3·R²·4.
 * - features         stem, res2…res5 and dense: (2·d0·(R/4)² + d1·(R/8)² + d2·(R/16)²
 *                    + (d3 + D)·h²)·4.
 * - decoderChunk     8·n·Σ_i (c_i + g_i)·(2·s_i)²·4: the sessions that run a chunk of n classes
 *                    (pool and merge of each layer) keep the memory of their largest run in their
 *                    arenas: about 8 tensors the size of the layer's DoubleConv input (c_i + g_i
 *                    channels at 2·s_i) per class of the chunk (measured: chunk 16 instead of 2
 *                    adds 1.2 GiB at R = 768).
 * - decoderClasses   T · (P·h² + max_i m_i)·4: the host-side per-class tensors of ALL classes
 *                    during decoder layer i: the class-batched cost map P·h² (kept through every
 *                    layer: each chunk's corr guidance input is recomputed from it) and
 *                    - when the layer's class attention takes every class at once (its pooled
 *                      features T·c_i·(s_i/p)² at most `allClassAttentionValues`, 48 Mi):
 *                      m_i = max(x_i + 4·c_i·(s_i/p)², o_i), the input features x_i = c_i·s_i²
 *                      with the pooled features and their attention output (two copies each: the
 *                      bands and their cuts), or the outputs o_i as the merge makes them;
 *                    - when it is streamed over the chunks: m_i = max(x_i, o_i), the inputs
 *                      going while the outputs o_i come (x_{i+1} = c_{i+1}·(2·s_i)², the logits
 *                      (2·s_i)² after the last layer);
 *                    - on the full path with layer 1 streamed, layer 2's input is recomputed from
 *                      layer 1's: m_1 = x_1 and m_2 = max(x_1, o_2).
 *                    At R = 768, p = 1: T = 150 takes every class at once in each layer (the last
 *                    one is the largest, (80 + 2560)·h² floats = 5.8 MiB per class); T ≥ 171
 *                    streams the last layer, T ≥ 342 layers 1 and 2, T ≥ 683 every layer
 *                    (T = 847: 336·h² floats per class on the full path, 0.74 MiB; 592·h² with
 *                    CER, 1.3 MiB). This is what grows with T (and drops where a layer starts
 *                    streaming).
 * - logits           3·T·(R/4)²·4 (per-chunk outputs, joined, read to the host); 5· with CER (its
 *                    probabilities and the T-plane output).
 * - postprocess      2·T·(R/4)²·4 (logits and their sigmoid) + labels W·H·4, + T·W·H·4 when
 *                    `probabilities` are asked (the per-class maps at image size).
 *
 * CER (`topK`) is estimated for its worst case, every class surviving every stage (random or
 * untrained weights do that; trained ones reject most classes, so the run needs less).
 *
 * Calibration (bench/sed-speed.bench.mjs, ort CPU, 2 threads, random weights at the released
 * sizes, a 853×640 image, peak RSS): 15 runs, SED-B and SED-L, R 384–1024, T 150–847, pooling 1
 * and 2, class chunk 2 and 16, full path and CER, with and without the text tower: the estimate
 * is between 6 % under and 12 % over each measured peak (the points are in
 * test/memory-estimate.test.ts; T = 847 at R = 768 measured again with the streamed layers). The
 * measured peaks include what glibc keeps of freed buffers (up to a few hundred MB at T = 847:
 * bench/README.md). The bench decodes without the embedding cache: one copy of the
 * class embeddings fewer than `segment`. Other backends hold weights and activations differently
 * (tfjs: one backend copy; CUDA/WebGPU: activations in device memory): the estimate is then an
 * upper bound of the host memory rather than a close figure.
 *
 * ## Resolutions
 *
 * R must be a positive multiple of 32 (the encoder downsamples 32×). Upward, no single tensor may
 * reach 2^31 bytes ({@link MAX_TENSOR_BYTES}): past it 32-bit byte offsets overflow, a
 * WebAssembly backend (4 GiB of memory in all) or a WebGPU one (adapters commonly cap a buffer
 * at 2 GiB or less) cannot hold it, and on the CPU the run would need tens of GiB anyway. The
 * largest tensor that does not depend on T is ConvNeXt stage 0's MLP hidden layer,
 * 4·d0·(R/4)² floats = d0·R² bytes, so R < √(2^31 / d0): at most 4064 for SED-B, 3328 for SED-L
 * ({@link maxResolution}); at R = 4064 SED-B needs ≈ 8 GiB for the encoder alone and T = 150
 * classes add ≈ 25 GiB in the decoder (pooling 1), so the memory estimate is usually the binding
 * limit. With T classes the joined logits T·(R/4)²·4 bytes bound R too (T = 847: 3168).
 */
import { SedsegError } from '../errors.js';
import type { SedArchitecture } from '../architecture/sed-architecture.js';
import { expectedWeightShapes, weightPart } from '../architecture/expected-weights.js';
import { DEFAULT_ALL_CLASS_ATTENTION_VALUES } from './decoder-run/run-decoder.js';

/** Largest size of one tensor, in bytes (exclusive): 2^31 (see the module comment). */
export const MAX_TENSOR_BYTES = 2 ** 31;
/** Model input sides are multiples of this (the encoder downsamples 32×). */
export const RESOLUTION_STEP = 32;

/** What `estimateSegmentMemory` needs to know about a run. */
export interface SegmentMemoryRequest {
  /** The model's sizes (`model.architecture`, or `architectureFromWeights`). */
  architecture: SedArchitecture;
  /** Model input side R (a multiple of 32). */
  resolution: number;
  /** Number of classes T. */
  classes: number;
  /** Decoder pooling (1 at inference by default, 2 the training setting). */
  pooling: number;
  /** Classes per decoder chunk (ort on CPU: 2, `ops.preferredClassChunk ?? DEFAULT_CLASS_CHUNK`). */
  classChunk: number;
  /** CER top-k (estimated for its worst case: every class kept). */
  topK?: number;
  /** The text tower runs (some class embedding is not cached). Default true. */
  textEncoder?: boolean;
  /**
   * After it ran, the text tower stays loaded through the image encoder and decoder (the
   * `SedModel` default). Default true; false when it is released after use
   * (`releaseTextEncoderAfterUse`, the CLI).
   */
  textEncoderKept?: boolean;
  /** The text tower's host weights are held from load on even when it never runs (a model loaded without `reopenWeights`). Default false. */
  textWeightsAlwaysLoaded?: boolean;
  /** Size of the input image (pre- and post-processing buffers). Default R × R. */
  image?: { width: number; height: number };
  /** Per-class probability maps at image size are asked (`SegmentOptions.probabilities`). */
  probabilities?: boolean;
}

/** Byte counts of the parts of the estimate (see the module comment for each). */
export interface SegmentMemoryParts {
  runtime: number;
  weightsHost: number;
  textHost: number;
  weightsBackend: number;
  textEncoder: number;
  classEmbeddings: number;
  textBuild: number;
  sessionBuild: number;
  imageInput: number;
  imageEncoder: number;
  features: number;
  decoderChunk: number;
  decoderClasses: number;
  logits: number;
  postprocess: number;
}

export type SegmentMemoryPhase = 'text encoder' | 'image encoder' | 'decoder' | 'post-processing';

export interface SegmentMemoryEstimate {
  /** Estimated peak resident memory of the run, in bytes. */
  bytes: number;
  /** The phase at which the peak is reached. */
  phase: SegmentMemoryPhase;
  /** Every part in bytes; `bytes` is the largest of the phase totals (module comment). */
  parts: SegmentMemoryParts;
  /** The largest single tensor of the run (name and bytes), below {@link MAX_TENSOR_BYTES}. */
  largestTensor: { name: string; bytes: number };
}

const F32 = 4;
const MiB = 2 ** 20;
/** Node.js, ONNX Runtime with its thread pools and per-session arenas, the tokenizer (measured). */
const RUNTIME_BYTES = 330 * MiB;
/** Backend copies of the weights: a session's initializers and their pre-packed form (ort CPU, measured). */
const BACKEND_WEIGHT_COPIES = 2;
/** Extra copies of the image-encoder weights while its session is built (transient, measured). */
const SESSION_BUILD_COPIES = 0.8;
/** Extra copies of the text-encoder weights while its session is built and runs (transient, measured). */
const TEXT_BUILD_COPIES = 2.4;
/** Arena memory of the per-chunk decoder sessions, in DoubleConv inputs per class of a chunk (measured). */
const CHUNK_LIVE_COPIES = 8;
/** Live stage-0 MLP hidden layers in the image encoder (4·d0·(R/4)² floats each). */
const ENCODER_LIVE_HIDDEN = 4;

/** Parameter counts per part of a SED architecture. */
export function parameterCounts(architecture: SedArchitecture): { imageEncoder: number; textEncoder: number; decoder: number; total: number } {
  const counts = { imageEncoder: 0, textEncoder: 0, decoder: 0, total: 0 };
  for (const [name, shape] of expectedWeightShapes(architecture)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const part = weightPart(name);
    if (part === 'image_encoder') counts.imageEncoder += n;
    else if (part === 'text_encoder') counts.textEncoder += n;
    else if (part === 'decoder') counts.decoder += n;
    counts.total += n;
  }
  return counts;
}

/** The largest tensors of a run that do not depend on T: ConvNeXt stage 0's MLP hidden layer. */
function encoderHiddenBytes(architecture: SedArchitecture, resolution: number): number {
  const d0 = architecture.image_dims[0]!;
  return 4 * d0 * (resolution / 4) ** 2 * F32;
}

/**
 * The largest meaningful resolution for an architecture (and, when given, a class count): the
 * largest multiple of 32 whose largest single tensor stays under {@link MAX_TENSOR_BYTES}
 * (SED-B 4064, SED-L 3328; with T classes also T·(R/4)²·4 < 2^31: T = 847 gives 3168).
 */
export function maxResolution(architecture: SedArchitecture, classes = 1): number {
  const d0 = architecture.image_dims[0];
  if (!(typeof d0 === 'number' && d0 > 0)) throw new SedsegError('E_ARGUMENT', `maxResolution: architecture has no image_dims`);
  if (!(Number.isInteger(classes) && classes >= 1))
    throw new SedsegError('E_ARGUMENT', `maxResolution: class count must be a positive integer, got ${classes}`);
  // encoder: 4·d0·(R/4)²·4 = d0·R² bytes; logits: T·(R/4)²·4 = T·R²/4 bytes
  const bound = Math.min(Math.sqrt(MAX_TENSOR_BYTES / d0), Math.sqrt((MAX_TENSOR_BYTES * 4) / classes));
  let r = Math.floor(bound / RESOLUTION_STEP) * RESOLUTION_STEP;
  while (r > 0 && r * r * Math.max(d0, classes / 4) >= MAX_TENSOR_BYTES) r -= RESOLUTION_STEP; // the bound itself is too large
  return r;
}

function positiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new SedsegError('E_ARGUMENT', `memory estimate: ${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

const gib = (bytes: number): string => (bytes >= 2 ** 40 ? `${(bytes / 2 ** 40).toFixed(1)} TiB` : `${(bytes / 2 ** 30).toFixed(1)} GiB`);

/**
 * Estimated peak resident memory of `SedModel.segment` for a run (see the module comment for the
 * formula and its calibration). Throws `SedsegError` (`E_ARGUMENT`) for a request that cannot run
 * at all: a resolution that is not a positive multiple of 32, a tensor of 2^31 bytes or more
 * (resolution too large for the architecture or the class count), an invalid class count,
 * pooling, chunk, top-k or image size.
 */
export function estimateSegmentMemory(request: SegmentMemoryRequest): SegmentMemoryEstimate {
  const a = request.architecture;
  const R = request.resolution;
  if (typeof R !== 'number' || !Number.isInteger(R) || R < RESOLUTION_STEP || R % RESOLUTION_STEP !== 0) {
    throw new SedsegError('E_ARGUMENT', `memory estimate: resolution must be a positive multiple of ${RESOLUTION_STEP}, got ${String(R)}`);
  }
  const T = positiveInt(request.classes, 'class count');
  const p = positiveInt(request.pooling, 'decoder pooling');
  const chunk = positiveInt(request.classChunk, 'class chunk');
  if (request.topK !== undefined) positiveInt(request.topK, 'CER top-k');
  const h = R / 32;
  if ((2 * h) % p !== 0)
    throw new SedsegError('E_ARGUMENT', `memory estimate: decoder pooling ${p} does not divide the first decoder map (${2 * h}×${2 * h} at resolution ${R})`);
  const image = request.image ?? { width: R, height: R };
  const W = positiveInt(image.width, 'image width');
  const H = positiveInt(image.height, 'image height');

  // ---- the largest single tensor: refuse what cannot run ----
  const s0 = R / 4;
  const d0 = a.image_dims[0]!;
  const tensors: { name: string; bytes: number }[] = [
    { name: `image encoder stage-0 MLP hidden layer [1, ${4 * d0}, ${s0}, ${s0}]`, bytes: encoderHiddenBytes(a, R) },
    { name: `logits [1, ${T}, ${s0}, ${s0}]`, bytes: T * s0 * s0 * F32 },
  ];
  const largestTensor = tensors.reduce((x, y) => (y.bytes > x.bytes ? y : x));
  if (largestTensor.bytes >= MAX_TENSOR_BYTES) {
    const limit = maxResolution(a, T);
    throw new SedsegError(
      'E_ARGUMENT',
      `resolution ${R} is too large: the ${largestTensor.name} would take ${gib(largestTensor.bytes)}, over the 2 GiB a tensor may hold; the largest usable resolution for ${T} class${T === 1 ? '' : 'es'} with this model is ${limit}`,
    );
  }
  if (request.probabilities && T * W * H >= 2 ** 32) {
    throw new SedsegError(
      'E_ARGUMENT',
      `probabilities for ${T} classes at ${W}×${H} would hold ${T * W * H} values, over the 2^32 a typed array may hold (ask for labels only)`,
    );
  }

  // ---- held from the start, or from the phase that creates them on ----
  const n = parameterCounts(a);
  const textEncoder = request.textEncoder ?? true;
  const P = a.prompt_channel;
  const D = a.embed_dim;
  const runtime = RUNTIME_BYTES;
  const weightsHost = (n.total - n.textEncoder) * F32;
  const weightsBackend = BACKEND_WEIGHT_COPIES * (n.imageEncoder + n.decoder) * F32;
  const textKept = textEncoder && (request.textEncoderKept ?? true);
  // the text tower's host weights: while it runs, after it if kept, and always on an eagerly loaded model
  const textHost = textEncoder || request.textWeightsAlwaysLoaded === true ? n.textEncoder * F32 : 0;
  const textHostAfter = textKept || request.textWeightsAlwaysLoaded === true ? textHost : 0;
  const textWeights = textEncoder ? BACKEND_WEIGHT_COPIES * n.textEncoder * F32 : 0;
  const textWeightsAfter = textKept ? textWeights : 0;
  const classEmbeddings = 2 * T * P * D * F32;

  // ---- what each phase adds ----
  const textBuild = textEncoder ? TEXT_BUILD_COPIES * n.textEncoder * F32 : 0;
  const sessionBuild = SESSION_BUILD_COPIES * n.imageEncoder * F32;
  const imageEncoder = ENCODER_LIVE_HIDDEN * encoderHiddenBytes(a, R);
  const imageInput = W * H * 3 + 3 * W * H * F32 + 2 * 3 * R * R * F32;
  const [c1, c2, c3, c4] = a.image_dims as [number, number, number, number];
  const features = (2 * c1 * s0 * s0 + c2 * (R / 8) ** 2 + c3 * (R / 16) ** 2 + c4 * h * h + D * h * h) * F32;

  const channels = [a.decoder_hidden_dim, a.decoder_dims[0]!, a.decoder_dims[1]!];
  const guidance = a.decoder_guidance_proj_dims;
  const perChunk = Math.min(chunk, T);
  const side = (i: number): number => h * 2 ** i;
  const inputs = (i: number): number => channels[i]! * side(i) ** 2;
  const streamed = (i: number): boolean => T > perChunk && T * channels[i]! * Math.floor(side(i) / p) ** 2 > DEFAULT_ALL_CLASS_ATTENTION_VALUES;
  // the full path with layer 1 streamed recomputes layer 2's input from layer 1's (deferred-features.ts)
  const deferred = request.topK === undefined && streamed(1);
  let perClass = 0;
  let chunkValues = 0;
  for (let i = 0; i < 3; i++) {
    const s = side(i);
    const c = channels[i]!;
    const g = guidance[i]!;
    const x = inputs(i);
    const outputs = i < 2 ? inputs(i + 1) : (2 * s) ** 2;
    const attention = 4 * c * (s / p) ** 2; // pooled and attended, two copies each
    const held = deferred && i > 0 ? Math.max(inputs(1), i === 2 ? outputs : 0) : streamed(i) ? Math.max(x, outputs) : Math.max(x + attention, outputs);
    perClass = Math.max(perClass, held);
    chunkValues += CHUNK_LIVE_COPIES * perChunk * (c + g) * (2 * s) ** 2;
  }
  // the cost map, from which each chunk's corr guidance input is recomputed, lives through every layer
  perClass += P * h * h;
  const decoderClasses = T * perClass * F32;
  const decoderChunk = chunkValues * F32;
  const logits = (request.topK !== undefined ? 5 : 3) * T * s0 * s0 * F32;
  const postprocess = 2 * T * s0 * s0 * F32 + W * H * 4 + (request.probabilities ? T * W * H * F32 : 0);

  const model = runtime + weightsHost + textHostAfter + textWeightsAfter + weightsBackend + classEmbeddings;
  const phases: [SegmentMemoryPhase, number][] = [
    ['text encoder', runtime + weightsHost + textHost + textWeights + textBuild],
    ['image encoder', model + sessionBuild + imageEncoder + imageInput],
    ['decoder', model + imageEncoder + features + decoderChunk + Math.max(decoderClasses, logits)],
    ['post-processing', model + imageEncoder + postprocess],
  ];
  const [phase, peak] = phases.reduce((x, y) => (y[1] > x[1] ? y : x));
  return {
    bytes: Math.round(peak),
    phase,
    parts: {
      runtime,
      weightsHost,
      textHost,
      weightsBackend,
      textEncoder: textWeights,
      classEmbeddings,
      textBuild,
      sessionBuild: Math.round(sessionBuild),
      imageInput,
      imageEncoder,
      features,
      decoderChunk,
      decoderClasses,
      logits,
      postprocess,
    },
    largestTensor,
  };
}
