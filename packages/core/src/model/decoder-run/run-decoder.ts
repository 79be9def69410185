/**
 * The decoder forward pass from image features and class embeddings to host results: the
 * decoder inputs (run-decoder-inputs.ts), then the full path (full-path.ts,
 * `Aggregator.conv_decoder`) or category early rejection (cer-path.ts,
 * `Aggregator.fast_conv_decoder`). Everything runs as compiled-graph stages
 * (stages/decoder-stages.ts) through `runStage`, over class chunks (run-decoder-layer.ts).
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { ModelParams } from '../model-params.js';
import type { DecoderArchitecture, DecoderImageFeatures } from '../decoder/decoder-forward.js';
import { DEFAULT_CLASS_CHUNK } from './class-chunks.js';
import { decodeWithRejection } from './cer-path.js';
import { DecoderProgress, type DecoderProgressFn } from './decoder-progress.js';
import type { DecoderResult } from './decoder-result.js';
import { DecoderTracer, type DecoderTraceFn } from './decoder-trace.js';
import type { DecoderRunState } from './decoder-run-state.js';
import { decodeAllClasses } from './full-path.js';
import { OwnedTensors } from './owned-tensors.js';
import { runDecoderInputs } from './run-decoder-inputs.js';
import { textFeatureChunks } from './text-feature-chunks.js';

/** Default values (classes × channels × pixels) of pooled features the class attention takes at once. */
const DEFAULT_ATTENTION_BAND_VALUES = 1 << 21;
/**
 * Default `allClassAttentionValues`: 48 Mi values (192 MiB float32). SED-B at R = 768, pooling 1
 * has 44.2 Mi for 150 classes in its last layer (attention on all classes, the faster way on
 * CPU) and 61.8 Mi for 847 in its first (streamed: the layer holds no tensor of every class).
 */
export const DEFAULT_ALL_CLASS_ATTENTION_VALUES = 48 * 2 ** 20;

export interface RunDecoderOptions<T> {
  /** CER top-k; undefined runs the full path. */
  topK?: number;
  /**
   * Receives every intermediate under the reference's golden tensor names (`corr`, `corr_embed`,
   * `guidance_proj0..2`, `corr_guidance_proj0..2`, `mask_aux`, `decoder1..3`, `mask_aux0/1`,
   * `logits`; with CER `cer_top{K}_valid0..2`, `cer_top{K}_keep`, `cer_top{K}_mask_aux0/1`,
   * `cer_top{K}_output`). Tensors are alive until the returned promise settles and are
   * disposed afterwards (read them inside the callback).
   */
  trace?: DecoderTraceFn<T>;
  /**
   * Classes per chunk in the decoder layers (default: the backend's `preferredClassChunk`, else
   * 16): per-class work runs a chunk at a time, so memory does not grow with the number of
   * classes. Results do not depend on it.
   */
  classChunk?: number;
  /**
   * With class chunks and the attention on every class at once, the class attention runs on
   * bands of pooled rows holding at most this many values (classes × channels × pixels; default
   * 2^21). Results do not depend on it.
   */
  attentionBandValues?: number;
  /**
   * With class chunks, the class attention of a layer takes every class at once while their
   * pooled features hold at most this many values (classes × channels × pooled pixels; default
   * 48 Mi = 192 MiB), which is the fastest on CPU but grows with the class count; above, its sums
   * are streamed over the chunks, so the layer's memory does not grow with the classes. 0 always
   * streams, Infinity never does. Results agree up to float rounding.
   */
  allClassAttentionValues?: number;
  /**
   * Progress inside the decoder, after each stage run: `done` of `total` class steps, weighted by
   * the rough cost of a class in each part (`DECODER_STEP_WEIGHTS`); with CER the total shrinks as
   * classes are rejected. `detail` names the part running ("cost map", "layer 2 of 3").
   */
  onProgress?: DecoderProgressFn;
}

/**
 * The decoder forward pass from image features and class embeddings to host results.
 *
 * `textFeatures`: class embeddings [T, P, D], as a backend tensor or as host float32 values
 * (T·P·D, row-major). `classCount` = T.
 */
export async function runDecoder<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  features: DecoderImageFeatures<T>,
  textFeatures: Float32Array | T,
  classCount: number,
  options: RunDecoderOptions<T> = {},
): Promise<DecoderResult> {
  const { topK } = options;
  const classChunk = options.classChunk ?? ops.preferredClassChunk ?? DEFAULT_CLASS_CHUNK;
  const attentionBandValues = options.attentionBandValues ?? DEFAULT_ATTENTION_BAND_VALUES;
  const allClassAttentionValues = options.allClassAttentionValues ?? DEFAULT_ALL_CLASS_ATTENTION_VALUES;
  if (!Number.isInteger(classChunk) || classChunk < 1) throw new SedsegError('E_ARGUMENT', `classChunk must be a positive integer, got ${classChunk}`);
  if (!(attentionBandValues > 0)) throw new SedsegError('E_ARGUMENT', `attentionBandValues must be positive, got ${attentionBandValues}`);
  if (!(allClassAttentionValues >= 0)) throw new SedsegError('E_ARGUMENT', `allClassAttentionValues must be at least 0, got ${allClassAttentionValues}`);
  if (!Number.isInteger(classCount) || classCount < 1) throw new SedsegError('E_ARGUMENT', `class count must be a positive integer, got ${classCount}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new SedsegError('E_ARGUMENT', `CER top-k must be a positive integer, got ${topK}`);

  const run: DecoderRunState<T> = {
    ops,
    params,
    arch,
    tensors: new OwnedTensors(ops),
    tracer: new DecoderTracer(ops, options.trace),
    progress: new DecoderProgress(classCount, options.onProgress),
    attentionBandValues,
    allClassAttentionValues,
  };
  try {
    const text = textFeatureChunks(run, textFeatures, classCount, classChunk);
    const inputs = await runDecoderInputs(run, features, text);
    return topK === undefined ? await decodeAllClasses(run, inputs, classCount) : await decodeWithRejection(run, inputs, classCount, topK);
  } finally {
    run.tensors.dropAll();
  }
}
