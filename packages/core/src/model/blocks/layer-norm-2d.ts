/**
 * LayerNorm over the channels of an NCHW tensor — timm's `LayerNorm2d`: every pixel's C-vector
 * is normalised on its own (biased variance), then scaled and shifted per channel.
 */
import type { Ops } from '../../ops/ops.js';

/** Weight and bias of a LayerNorm (`<prefix>.weight`, `<prefix>.bias`), both [C]. */
export interface NormWeights<T> {
  weight: T;
  bias: T;
}

/** `x` [N, C, H, W] → LayerNorm over C at every (n, y, x) → [N, C, H, W]. */
export function layerNorm2d<T>(ops: Ops<T>, x: T, norm: NormWeights<T>, eps: number): T {
  return ops.tidy(() => {
    const nhwc = ops.transpose(x, [0, 2, 3, 1]);
    const normed = ops.layerNorm(nhwc, norm.weight, norm.bias, eps);
    return ops.transpose(normed, [0, 3, 1, 2]);
  });
}
