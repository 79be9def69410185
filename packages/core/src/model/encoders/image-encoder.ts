/**
 * SED's image encoder (DESIGN.md §3.2): the OpenCLIP ConvNeXt image tower — a timm ConvNeXt
 * trunk (`stem` → 4 `stages`) whose stage outputs feed the decoder, and the dense CLIP features
 * (`trunk.head.norm` then the OpenCLIP projection, per pixel of the last stage).
 * Keys live under `sem_seg_head.predictor.clip_model.visual.`.
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import { IMAGE_PREFIX, type SedArchitecture } from '../../architecture/sed-architecture.js';
import { scoped, type ModelParams } from '../model-params.js';
import { layerNorm2d } from '../blocks/layer-norm-2d.js';
import { convNextBlock, linearWeights, normWeights, timmConvNextBlockWeights } from '../blocks/convnext-block.js';

/** timm ConvNeXt LayerNorm epsilon (stem, downsample, blocks, head). */
const CONVNEXT_LN_EPS = 1e-6;
/** Depthwise kernel of the trunk blocks. */
const CONVNEXT_KERNEL_SIZE = 7;

export interface ImageFeatures<T> {
  /** `trunk.stem` output: [1, d0, R/4, R/4]. */
  stem: T;
  /** Stage outputs at strides 4, 8, 16, 32: [1, d_i, R/2^(i+2), …]. */
  res2: T;
  res3: T;
  res4: T;
  res5: T;
  /** Dense CLIP embedding of every res5 pixel, not normalised: [1, D, R/32, R/32]. */
  dense: T;
}

/** `trunk.stem`: Conv 4×4 stride 4, then LayerNorm2d. */
function convNextStem<T>(ops: Ops<T>, trunk: ModelParams<T>, input: T): T {
  return ops.tidy(() => {
    const conv = linearWeights(trunk, 'stem.0.');
    const x = ops.conv2d(input, conv.weight, conv.bias, { stride: 4 });
    return layerNorm2d(ops, x, normWeights(trunk, 'stem.1.'), CONVNEXT_LN_EPS);
  });
}

/**
 * `trunk.stages.{index}`: (stages ≥ 1) `downsample` = LayerNorm2d + Conv 2×2 stride 2, then
 * `depth` ConvNeXt blocks. `x` is not disposed; the result is a new tensor.
 */
function convNextStage<T>(ops: Ops<T>, trunk: ModelParams<T>, index: number, depth: number, x: T): T {
  if (index === 0 && depth === 0) throw new SedsegError('E_ARGUMENT', 'image stage 0 has neither a downsample nor blocks');
  const stage = scoped(trunk, `stages.${index}.`);
  let h = x;
  if (index > 0) {
    h = ops.tidy(() => {
      const normed = layerNorm2d(ops, x, normWeights(stage, 'downsample.0.'), CONVNEXT_LN_EPS);
      const conv = linearWeights(stage, 'downsample.1.');
      return ops.conv2d(normed, conv.weight, conv.bias, { stride: 2 });
    });
  }
  for (let j = 0; j < depth; j++) {
    const next = convNextBlock(ops, h, timmConvNextBlockWeights(stage, `blocks.${j}.`), {
      kernelSize: CONVNEXT_KERNEL_SIZE,
      eps: CONVNEXT_LN_EPS,
    });
    if (h !== x) ops.dispose(h);
    h = next;
  }
  return h;
}

/**
 * Dense CLIP features of `res5` [1, C, h, w]: `trunk.head.norm` (LayerNorm over channels) and the
 * projection per pixel — `head.proj` (Linear, no bias) or, for `image_proj: 'mlp'`,
 * `head.mlp.fc1` (with bias) → GELU → `head.mlp.fc2` (no bias). → [1, D, h, w].
 */
function denseClipFeatures<T>(ops: Ops<T>, visual: ModelParams<T>, arch: SedArchitecture, res5: T): T {
  return ops.tidy(() => {
    const norm = normWeights(visual, 'trunk.head.norm.');
    const nhwc = ops.layerNorm(ops.transpose(res5, [0, 2, 3, 1]), norm.weight, norm.bias, CONVNEXT_LN_EPS);
    let projected: T;
    if (arch.image_proj === 'mlp') {
      const fc1 = linearWeights(visual, 'head.mlp.fc1.');
      const fc2 = linearWeights(visual, 'head.mlp.fc2.');
      projected = ops.linear(ops.gelu(ops.linear(nhwc, fc1.weight, fc1.bias)), fc2.weight, fc2.bias);
    } else {
      const proj = linearWeights(visual, 'head.proj.');
      projected = ops.linear(nhwc, proj.weight, proj.bias);
    }
    return ops.transpose(projected, [0, 3, 1, 2]);
  });
}

/**
 * Runs the image encoder on the pre-processed input [B, 3, R, R] (SED uses square inputs; any
 * sides that are multiples of 32 work). Every
 * returned tensor is new and owned by the caller (dispose them when done); intermediates are
 * freed. `params` are the full model's parameters (official key names).
 */
export function encodeImage<T>(ops: Ops<T>, params: ModelParams<T>, arch: SedArchitecture, input: T): ImageFeatures<T> {
  const shape = ops.shape(input);
  const [, channels, height, width] = shape;
  const side = (v: number | undefined): boolean => v !== undefined && v > 0 && v % 32 === 0;
  if (shape.length !== 4 || channels !== 3 || !side(height) || !side(width)) {
    throw new SedsegError('E_ARGUMENT', `image encoder: expected an input of shape [B, 3, H, W] with H and W multiples of 32, got [${shape.join(', ')}]`);
  }
  if (arch.image_depths.length !== 4) {
    throw new SedsegError('E_ARGUMENT', `image encoder: expected 4 ConvNeXt stages, the architecture has ${arch.image_depths.length}`);
  }
  const visual = scoped(params, IMAGE_PREFIX);
  const trunk = scoped(visual, 'trunk.');
  const created: T[] = [];
  try {
    const stem = convNextStem(ops, trunk, input);
    created.push(stem);
    const stages: T[] = [];
    let x = stem;
    for (const [i, depth] of arch.image_depths.entries()) {
      x = convNextStage(ops, trunk, i, depth, x);
      created.push(x);
      stages.push(x);
    }
    const [res2, res3, res4, res5] = stages as [T, T, T, T];
    const dense = denseClipFeatures(ops, visual, arch, res5);
    return { stem, res2, res3, res4, res5, dense };
  } catch (e) {
    ops.dispose(created);
    throw e;
  }
}
