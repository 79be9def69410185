/**
 * The SED decoder (DESIGN.md §3.5–3.9) as plain forward functions, cut where the compiled-graph
 * stages (stages/decoder-stages.ts) cut it; each stage's `run` calls one of these:
 *
 * - `decoderInputForward`: cost map, corrEmbed, `head0` (mask_aux) and the appearance guidances
 *   (`costMapForward` per class chunk + `appearanceGuidanceForward` per image);
 * - `decoderLayerForward(layer)`: for the classes given, the corr guidance link of this layer,
 *   `decoder{layer+1}` and the head after it (head1, head2, head) — the class count is the
 *   only dynamic size;
 * - for class chunks, the same layer streamed in two passes over the chunks:
 *   `decoderLayerSumsForward` adds up the class attention's sums chunk by chunk, then
 *   `decoderLayerFromSumsForward` finishes each chunk (no tensor holds every class);
 * - (the earlier three-part split, `decoderLayerPoolForward` → `decoderLayerAttentionForward` on
 *   every class → `decoderLayerMergeForward`, is kept for the stages exported by that name).
 *
 * "Forward" is the computation; a "stage" is only ever the compiled unit (`Stage`, ops/stage.ts).
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import { DECODER_PREFIX, type SedArchitecture } from '../../architecture/sed-architecture.js';
import { costMap } from './cost-map.js';
import { appearanceGuidances, corrByClass, corrEmbed, corrGuidance } from './decoder-input.js';
import {
  fusionAddSums,
  fusionClassAttention,
  fusionClassAttentionFromSums,
  fusionMerge,
  fusionMergeGuidance,
  fusionPooled,
  fusionSpatial,
  gradualFusionLayer,
} from './gradual-fusion-layer.js';
import type { ClassAttentionSums } from './class-attention.js';
import { decoderHead, HEAD_AFTER_LAYER } from './heads.js';
import { scoped, type ModelParams } from '../model-params.js';

/** Image-encoder outputs the decoder consumes (batch 1, NCHW). */
export interface DecoderImageFeatures<T> {
  /** Dense CLIP features [1, D, h, w] (`clip_vis_dense`). */
  dense: T;
  res2: T;
  res3: T;
  res4: T;
}

/** The architecture fields the decoder reads (a full `SedArchitecture` fits). */
export type DecoderArchitecture = Pick<SedArchitecture, 'decoder_heads' | 'decoder_pooling' | 'decoder_kernel_size' | 'prompt_channel'>;

/** What `decoderInputForward` returns (all backend tensors, owned by the caller). */
export interface DecoderInputs<T> {
  /** Cost map [1, P, T, h, w]. */
  corr: T;
  /** The same values class-batched [T, P, h, w] (input of the corr guidance chain). */
  corrClasses: T;
  /** `conv1` of every class' corr slice, class-batched [T, hidden, h, w]. */
  corrEmbed: T;
  /** `head0(corrEmbed)` [1, T, h, w]: the scores of the first CER rejection (before decoder layer 1). */
  maskAux: T;
  /** Appearance guidances of decoder1/2/3 (from res4, res3, res2), [1, g_i, ·, ·]. */
  guidance: [T, T, T];
}

/**
 * `features` and `text` [T, P, D] → cost map, corrEmbed, mask_aux and the appearance guidances.
 * `params` holds the full checkpoint keys.
 */
export function decoderInputForward<T>(ops: Ops<T>, params: ModelParams<T>, features: DecoderImageFeatures<T>, text: T): DecoderInputs<T> {
  return ops.tidy(() => ({ ...costMapForward(ops, params, features.dense, text), guidance: appearanceGuidanceForward(ops, params, features) }));
}

/** The per-class part of `decoderInputForward` (runs per class chunk): cost map, corrEmbed, mask_aux. */
export function costMapForward<T>(ops: Ops<T>, params: ModelParams<T>, dense: T, text: T): Omit<DecoderInputs<T>, 'guidance'> {
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    const corr = costMap(ops, dense, text);
    const corrClasses = corrByClass(ops, corr);
    const embed = corrEmbed(ops, decoder, corrClasses);
    const maskAux = decoderHead(ops, decoder, 'head0', embed);
    return { corr, corrClasses, corrEmbed: embed, maskAux };
  });
}

/** The per-image part of `decoderInputForward`: the appearance guidances of decoder1/2/3. */
export function appearanceGuidanceForward<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  features: Pick<DecoderImageFeatures<T>, 'res2' | 'res3' | 'res4'>,
): [T, T, T] {
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => appearanceGuidances(ops, decoder, features));
}

function checkLayer(layer: number): void {
  if (!Number.isInteger(layer) || layer < 0 || layer > 2) throw new SedsegError('E_ARGUMENT', `decoder layer must be 0, 1 or 2, got ${layer}`);
}

/** What `decoderLayerForward` returns (backend tensors owned by the caller). */
export interface DecoderLayerOutputs<T> {
  /** `decoder{layer+1}` output, class-batched [T', out, 2H, 2W]. */
  features: T;
  /** The corr guidance of this layer [T', g, 2H, 2W] (input of the next link of the chain). */
  corrGuidance: T;
  /** The head after this layer (head1, head2 or head) [1, T', 2H, 2W], when asked for. */
  logits?: T;
}

/**
 * Decoder layer `layer` (0, 1, 2 for decoder1/2/3), for the T' classes given:
 *
 * - `x` [T', c, H, W]: corrEmbed (layer 0) or the previous layer's features;
 * - `guidance` [1, g, 2H, 2W]: this layer's appearance guidance;
 * - `corrGuidanceInput` [T', ·, H, W]: class-batched corr (layer 0) or the previous layer's corr
 *   guidance, for the same classes as `x`.
 *
 * `withHead` (default true) also applies the head after the layer.
 */
export function decoderLayerForward<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  layer: number,
  inputs: { x: T; guidance: T; corrGuidanceInput: T },
  withHead = true,
): DecoderLayerOutputs<T> {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    const cg = corrGuidance(ops, decoder, layer, inputs.corrGuidanceInput);
    const features = gradualFusionLayer(ops, decoder, arch, layer, inputs.x, inputs.guidance, cg);
    const out: DecoderLayerOutputs<T> = { features, corrGuidance: cg };
    if (withHead) out.logits = decoderHead(ops, decoder, HEAD_AFTER_LAYER[layer]!, features);
    return out;
  });
}

/**
 * The corr guidance input of decoder layer `layer` from the class-batched cost map `corr`
 * [T', P, h, w]: the corr guidance links of the layers before it (none for layer 0), the very
 * computation those layers run — so a chunk's input can be recomputed instead of kept.
 */
export function corrGuidanceChainForward<T>(ops: Ops<T>, params: ModelParams<T>, layer: number, corr: T): T {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    let x = corr;
    for (let l = 0; l < layer; l++) x = corrGuidance(ops, decoder, l, x);
    return x;
  });
}

/** The end of a split layer: the merge of the spatial block with the class attention's output, and the head. */
function mergedLayerOutputs<T>(
  ops: Ops<T>,
  decoder: ModelParams<T>,
  layer: number,
  spatial: T,
  attended: T,
  mergeGuidance: T,
  cg: T,
  withHead: boolean,
): DecoderLayerOutputs<T> {
  const features = fusionMerge(ops, decoder, layer, spatial, attended, mergeGuidance, cg);
  const out: DecoderLayerOutputs<T> = { features, corrGuidance: cg };
  if (withHead) out.logits = decoderHead(ops, decoder, HEAD_AFTER_LAYER[layer]!, features);
  return out;
}

/**
 * Per image, for the chunked forms below: decoder layer `layer`'s appearance `guidance`
 * [1, g, 2H, 2W] → `mergeGuidance` [1, o, 2H, 2W], its share of the merge's first convolution
 * (merge-guidance.ts), computed once instead of once per chunk.
 */
export function decoderLayerMergeGuidanceForward<T>(ops: Ops<T>, params: ModelParams<T>, layer: number, guidance: T): T {
  checkLayer(layer);
  return fusionMergeGuidance(ops, scoped(params, DECODER_PREFIX), layer, guidance);
}

// ---- the same layer split for class chunks ---------------------------------------------------
// Only the class attention needs every class, and only at pooled resolution: a layer runs as
// `decoderLayerPoolForward` per chunk → `decoderLayerAttentionForward` on all classes →
// `decoderLayerMergeForward` per chunk, so memory is bounded by the chunk size, not the class count.

/** Per chunk: `x` [t, c, H, W] → pooled FAM-spatial features [t, c, H/k, W/k]. */
export function decoderLayerPoolForward<T>(ops: Ops<T>, params: ModelParams<T>, arch: DecoderArchitecture, layer: number, x: T): T {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => fusionPooled(ops, arch, fusionSpatial(ops, decoder, arch, layer, x)));
}

/** All classes: pooled [T, c, h', w'] → attention output, same shape. */
export function decoderLayerAttentionForward<T>(ops: Ops<T>, params: ModelParams<T>, arch: DecoderArchitecture, layer: number, pooled: T): T {
  checkLayer(layer);
  return fusionClassAttention(ops, scoped(params, DECODER_PREFIX), arch, layer, pooled);
}

/**
 * Per chunk: the rest of the layer for the chunk's classes, given
 * their slice `attended` of the attention output. The FAM-spatial block is recomputed from `x`
 * (cheaper than keeping it for every class). Same outputs as `decoderLayerForward`.
 */
export function decoderLayerMergeForward<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  layer: number,
  inputs: { x: T; attended: T; mergeGuidance: T; corrGuidanceInput: T },
  withHead = true,
): DecoderLayerOutputs<T> {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    const spatial = fusionSpatial(ops, decoder, arch, layer, inputs.x);
    return decoderLayerMergeSpatialForward(ops, params, layer, { ...inputs, spatial }, withHead);
  });
}

/**
 * `decoderLayerMergeForward` given the chunk's FAM-spatial features `spatial` instead of `x`.
 * With pooling 1 the pooled features the attention took are those very features, kept for every
 * class anyway: the merge then need not run the spatial block a second time (about a tenth of
 * the decoder's work at pooling 1).
 */
export function decoderLayerMergeSpatialForward<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  layer: number,
  inputs: { spatial: T; attended: T; mergeGuidance: T; corrGuidanceInput: T },
  withHead = true,
): DecoderLayerOutputs<T> {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    const cg = corrGuidance(ops, decoder, layer, inputs.corrGuidanceInput);
    return mergedLayerOutputs(ops, decoder, layer, inputs.spatial, inputs.attended, inputs.mergeGuidance, cg, withHead);
  });
}

// ---- the same layer streamed over class chunks ------------------------------------------------
// Two passes over the chunks: sums of the class attention (class-attention.ts), then each chunk
// finished from them. Nothing holds every class at once: memory does not grow with T beyond the
// layer's inputs and outputs. The second pass takes either the chunk's input (and runs the
// FAM-spatial block again) or the spatial features the first pass kept in its place.

/**
 * Per chunk, first pass: `previous` + the class-attention sums of the classes of `x` [t, c, H, W],
 * and the chunk's FAM-spatial features `spatial` [t, c, H, W] (which the second pass may take
 * instead of `x`: the same size, and the spatial block then runs once per layer, not twice).
 */
export function decoderLayerSumsForward<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  layer: number,
  x: T,
  previous: ClassAttentionSums<T>,
): ClassAttentionSums<T> & { spatial: T } {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    const spatial = fusionSpatial(ops, decoder, arch, layer, x);
    return { ...fusionAddSums(ops, decoder, arch, layer, fusionPooled(ops, arch, spatial), previous), spatial };
  });
}

/** Per chunk, second pass: the layer for the chunk's classes given the sums over every class. Same outputs as `decoderLayerForward`. */
export function decoderLayerFromSumsForward<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  layer: number,
  inputs: { x: T; sums: ClassAttentionSums<T>; mergeGuidance: T; corrGuidanceInput: T },
  withHead = true,
): DecoderLayerOutputs<T> {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    const spatial = fusionSpatial(ops, decoder, arch, layer, inputs.x);
    return decoderLayerFromSpatialSumsForward(ops, params, arch, layer, { ...inputs, spatial }, withHead);
  });
}

/** `decoderLayerFromSumsForward` given the chunk's FAM-spatial features `spatial` (from the first pass) instead of `x`. */
export function decoderLayerFromSpatialSumsForward<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  layer: number,
  inputs: { spatial: T; sums: ClassAttentionSums<T>; mergeGuidance: T; corrGuidanceInput: T },
  withHead = true,
): DecoderLayerOutputs<T> {
  checkLayer(layer);
  const decoder = scoped(params, DECODER_PREFIX);
  return ops.tidy(() => {
    const cg = corrGuidance(ops, decoder, layer, inputs.corrGuidanceInput);
    const attended = fusionClassAttentionFromSums(ops, decoder, arch, layer, fusionPooled(ops, arch, inputs.spatial), inputs.sums);
    return mergedLayerOutputs(ops, decoder, layer, inputs.spatial, attended, inputs.mergeGuidance, cg, withHead);
  });
}
