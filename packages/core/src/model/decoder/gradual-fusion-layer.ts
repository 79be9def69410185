/**
 * One layer of the gradual fusion decoder, SED's `Up` (`transformer.decoder{k}`, k = 1, 2, 3),
 * in the reference order (`Up.forward`):
 *
 *     x = cnext(x)                  # FAM spatial: ConvNeXt block, depthwise 9×9, LayerNorm eps 1e-6
 *     x = attention(x)              # FAM class: ClassTransformerLayer over the classes of x
 *     x = up(x)                     # SFM: ConvTranspose 2×2 stride 2, c → c − g
 *     x = cat([x, guidance (same for every class), corr_guidance (per class)], channels)
 *     x = double_conv(x)            # [Conv 3×3 no bias → GroupNorm(out/16, eps 1e-5) → ReLU] × 2
 *
 * All per-class tensors are class-batched [T, C, H, W].
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { SedArchitecture } from '../../architecture/sed-architecture.js';
import {
  classAttentionAddSums,
  classAttentionFromSums,
  classAttentionMerge,
  classAttentionPool,
  classAttentionPooled,
  type ClassAttentionSums,
} from './class-attention.js';
import { convNextBlock, linearWeights, normWeights, type ConvNextBlockWeights } from '../blocks/convnext-block.js';
import { scoped, type ModelParams } from '../model-params.js';
import { firstMergeConv, mergeGuidanceForward } from './merge-guidance.js';

/** Weights of `Up.cnext` under `prefix` (`dwconv / norm / pwconv1 / pwconv2 / gamma`). */
function decoderConvNextWeights<T>(params: ModelParams<T>, prefix: string): ConvNextBlockWeights<T> {
  return {
    dw: linearWeights(params, `${prefix}dwconv.`),
    norm: normWeights(params, `${prefix}norm.`),
    fc1: linearWeights(params, `${prefix}pwconv1.`),
    fc2: linearWeights(params, `${prefix}pwconv2.`),
    gamma: params.get(`${prefix}gamma`),
  };
}

/**
 * SED's `DoubleConv` (`conv.double_conv.{0,1,3,4}`): [Conv 3×3 pad 1 no bias → GroupNorm → ReLU] × 2,
 * GroupNorm with mid_channels / 16 groups, eps 1e-5, from the first convolution's output
 * `conv0` (merge-guidance.ts computes it). `params` is scoped to `…decoder{k}.`.
 */
function doubleConvAfterFirst<T>(ops: Ops<T>, params: ModelParams<T>, conv0: T): T {
  const normRelu = (y: T, conv: 0 | 3, norm: 1 | 4): T => {
    const channels = ops.shape(params.get(`conv.double_conv.${conv}.weight`))[0]!;
    const groups = Math.floor(channels / 16);
    if (groups < 1) throw new SedsegError('E_ARGUMENT', `DoubleConv: ${channels} channels give no GroupNorm group (channels / 16)`);
    return ops.relu(ops.groupNorm(y, groups, params.get(`conv.double_conv.${norm}.weight`), params.get(`conv.double_conv.${norm}.bias`), 1e-5));
  };
  return ops.tidy(() => {
    const y = normRelu(conv0, 0, 1);
    return normRelu(ops.conv2d(y, params.get('conv.double_conv.3.weight'), undefined, { padding: 1 }), 3, 4);
  });
}

type FusionArchitecture = Pick<SedArchitecture, 'decoder_heads' | 'decoder_pooling' | 'decoder_kernel_size'>;

function squarePooling(arch: FusionArchitecture): number {
  const pool = arch.decoder_pooling;
  if (pool.length !== 2 || pool[0] !== pool[1]) {
    throw new SedsegError('E_UNSUPPORTED', `decoder pooling [${pool.join(', ')}] is not square`);
  }
  return pool[0]!;
}

/** FAM spatial part of `decoder{layer+1}`: the ConvNeXt block `cnext`, per class. [T, c, H, W] → same. */
export function fusionSpatial<T>(ops: Ops<T>, decoder: ModelParams<T>, arch: FusionArchitecture, layer: number, x: T): T {
  const params = scoped(decoder, `decoder${layer + 1}.`);
  return convNextBlock(ops, x, decoderConvNextWeights(params, 'cnext.'), { kernelSize: arch.decoder_kernel_size[layer], eps: 1e-6 });
}

/** FAM class part, pooled: the pooled FAM-spatial features [T, c, H/k, W/k] (see `fusionSpatial`). */
export function fusionPooled<T>(ops: Ops<T>, arch: FusionArchitecture, spatial: T): T {
  return classAttentionPool(ops, spatial, squarePooling(arch));
}

/** FAM class part on all classes at pooled resolution: → the attention output [T, c, H/k, W/k]. */
export function fusionClassAttention<T>(ops: Ops<T>, decoder: ModelParams<T>, arch: FusionArchitecture, layer: number, pooled: T): T {
  const params = scoped(decoder, `decoder${layer + 1}.attention.`);
  return classAttentionPooled(ops, params, pooled, { heads: arch.decoder_heads, pooling: squarePooling(arch) });
}

/** FAM class part streamed over class chunks, first pass: `previous` + the attention sums of `pooled`'s classes. */
export function fusionAddSums<T>(
  ops: Ops<T>,
  decoder: ModelParams<T>,
  arch: FusionArchitecture,
  layer: number,
  pooled: T,
  previous: ClassAttentionSums<T>,
): ClassAttentionSums<T> {
  return classAttentionAddSums(ops, scoped(decoder, `decoder${layer + 1}.attention.`), pooled, previous, {
    heads: arch.decoder_heads,
    pooling: squarePooling(arch),
  });
}

/** FAM class part streamed, second pass: the attention output of `pooled`'s classes from the sums over all. */
export function fusionClassAttentionFromSums<T>(
  ops: Ops<T>,
  decoder: ModelParams<T>,
  arch: FusionArchitecture,
  layer: number,
  pooled: T,
  sums: ClassAttentionSums<T>,
): T {
  return classAttentionFromSums(ops, scoped(decoder, `decoder${layer + 1}.attention.`), pooled, sums, {
    heads: arch.decoder_heads,
    pooling: squarePooling(arch),
  });
}

/**
 * SFM of `decoder{layer+1}`, per class: FAM output (`spatial` + upsampled `attended`) → `up`,
 * concat appearance guidance (the same for every class) and corr guidance → DoubleConv. The
 * guidance's share of the first convolution comes precomputed as `mergeGuidance` [1, o, 2H, 2W]
 * (`fusionMergeGuidance`, merge-guidance.ts).
 * → [T, out, 2H, 2W].
 */
export function fusionMerge<T>(ops: Ops<T>, decoder: ModelParams<T>, layer: number, spatial: T, attended: T, mergeGuidance: T, corrGuidance: T): T {
  const params = scoped(decoder, `decoder${layer + 1}.`);
  const [t] = ops.shape(spatial) as [number];
  const ct = ops.shape(corrGuidance)[0];
  if (ct !== t) throw new SedsegError('E_ARGUMENT', `decoder${layer + 1}: ${t} classes of features but ${ct} of corr guidance`);
  return ops.tidy(() => {
    const mixed = classAttentionMerge(ops, spatial, attended);
    const up = ops.convTranspose2d(mixed, params.get('up.weight'), params.get('up.bias'), 2); // [T, c − g, 2H, 2W]
    return doubleConvAfterFirst(ops, params, firstMergeConv(ops, params, up, mergeGuidance, corrGuidance));
  });
}

/** The appearance `guidance` [1, g, 2H, 2W] of `decoder{layer+1}` → its share of the merge, `mergeGuidance` [1, o, 2H, 2W] (once per image). */
export function fusionMergeGuidance<T>(ops: Ops<T>, decoder: ModelParams<T>, layer: number, guidance: T): T {
  return mergeGuidanceForward(ops, scoped(decoder, `decoder${layer + 1}.`), guidance);
}

/**
 * `transformer.decoder{layer + 1}` on class-batched features.
 *
 * - `x` [T, c, H, W]: corrEmbed (layer 0) or the previous layer's output, for the classes alive.
 * - `guidance` [1, g, 2H, 2W]: the appearance guidance of this layer (broadcast to every class).
 * - `corrGuidance` [T, g, 2H, 2W]: the corr guidance of this layer for the same classes as `x`.
 *
 * `decoder` is scoped to the decoder prefix (`sem_seg_head.predictor.transformer.`).
 * Returns [T, out, 2H, 2W]. The same computation split for class chunks: `fusionSpatial` →
 * `fusionPooled` → (all classes) `fusionClassAttention` → `fusionMerge`.
 */
export function gradualFusionLayer<T>(ops: Ops<T>, decoder: ModelParams<T>, arch: FusionArchitecture, layer: number, x: T, guidance: T, corrGuidance: T): T {
  return ops.tidy(() => {
    const spatial = fusionSpatial(ops, decoder, arch, layer, x);
    const attended = fusionClassAttention(ops, decoder, arch, layer, fusionPooled(ops, arch, spatial));
    return fusionMerge(ops, decoder, layer, spatial, attended, fusionMergeGuidance(ops, decoder, layer, guidance), corrGuidance);
  });
}
