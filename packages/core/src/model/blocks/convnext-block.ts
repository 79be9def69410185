/**
 * The ConvNeXt (V1) block, as timm's `ConvNeXtBlock` with `conv_mlp=False` computes it:
 *
 *     shortcut = x
 *     x = conv_dw(x)                      # depthwise k×k, padding k // 2, with bias
 *     x = x.permute(0, 2, 3, 1)           # NHWC
 *     x = norm(x)                         # LayerNorm over channels
 *     x = mlp.fc2(GELU(mlp.fc1(x)))       # C → 4C → C
 *     x = x * gamma                       # layer scale
 *     x = x.permute(0, 3, 1, 2) + shortcut
 *
 * The image trunk uses it with 7×7 kernels and keys `conv_dw / norm / mlp.fc1 / mlp.fc2 / gamma`
 * (`timmConvNextBlockWeights`); SED's decoder (`Up.cnext`) is the same block with 9×9 kernels and
 * keys `dwconv / norm / pwconv1 / pwconv2 / gamma`, so the weights are passed as tensors and the
 * key naming is left to the caller.
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { ModelParams } from '../model-params.js';
import type { NormWeights } from './layer-norm-2d.js';

/** A PyTorch nn.Linear / nn.Conv2d: weight (and optional bias). */
export interface LinearWeights<T> {
  weight: T;
  bias?: T;
}

export interface ConvNextBlockWeights<T> {
  /** Depthwise conv, weight [C, 1, k, k], bias [C]. */
  dw: LinearWeights<T>;
  /** LayerNorm over channels, [C]. */
  norm: NormWeights<T>;
  /** Linear C → 4C (weight [4C, C], bias [4C]). */
  fc1: LinearWeights<T>;
  /** Linear 4C → C (weight [C, 4C], bias [C]). */
  fc2: LinearWeights<T>;
  /** Layer scale, [C]. */
  gamma: T;
}

export interface ConvNextBlockOptions {
  /** Depthwise kernel size k (odd; padding k // 2). Default: read from the weight's shape. */
  kernelSize?: number;
  /** LayerNorm epsilon (timm: 1e-6). */
  eps?: number;
}

/** `<prefix>weight` and, when the checkpoint has it, `<prefix>bias`. */
export function linearWeights<T>(params: ModelParams<T>, prefix: string): LinearWeights<T> {
  const weight = params.get(`${prefix}weight`);
  return params.has(`${prefix}bias`) ? { weight, bias: params.get(`${prefix}bias`) } : { weight };
}

/** `<prefix>weight` and `<prefix>bias` of a LayerNorm. */
export function normWeights<T>(params: ModelParams<T>, prefix: string): NormWeights<T> {
  return { weight: params.get(`${prefix}weight`), bias: params.get(`${prefix}bias`) };
}

/** Weights of a timm ConvNeXt block under `prefix` (e.g. `…trunk.stages.2.blocks.0.`). */
export function timmConvNextBlockWeights<T>(params: ModelParams<T>, prefix: string): ConvNextBlockWeights<T> {
  return {
    dw: linearWeights(params, `${prefix}conv_dw.`),
    norm: normWeights(params, `${prefix}norm.`),
    fc1: linearWeights(params, `${prefix}mlp.fc1.`),
    fc2: linearWeights(params, `${prefix}mlp.fc2.`),
    gamma: params.get(`${prefix}gamma`),
  };
}

/** One ConvNeXt block on `x` [N, C, H, W] → [N, C, H, W]. */
export function convNextBlock<T>(ops: Ops<T>, x: T, w: ConvNextBlockWeights<T>, options: ConvNextBlockOptions = {}): T {
  const dwShape = ops.shape(w.dw.weight);
  const channels = ops.shape(x)[1]!;
  const kernel = options.kernelSize ?? dwShape[2]!;
  if (dwShape.length !== 4 || dwShape[0] !== channels || dwShape[1] !== 1 || dwShape[2] !== kernel || dwShape[3] !== kernel || kernel % 2 !== 1) {
    throw new SedsegError(
      'E_ARGUMENT',
      `ConvNeXt block: depthwise weight [${dwShape.join(', ')}] does not fit ${channels} channels with an odd ${kernel}×${kernel} kernel`,
    );
  }
  const eps = options.eps ?? 1e-6;
  return ops.tidy(() => {
    const dw = ops.conv2d(x, w.dw.weight, w.dw.bias, { padding: (kernel - 1) / 2, groups: channels });
    const nhwc = ops.transpose(dw, [0, 2, 3, 1]);
    const normed = ops.layerNorm(nhwc, w.norm.weight, w.norm.bias, eps);
    const hidden = ops.gelu(ops.linear(normed, w.fc1.weight, w.fc1.bias));
    const scaled = ops.mul(ops.linear(hidden, w.fc2.weight, w.fc2.bias), w.gamma);
    return ops.add(ops.transpose(scaled, [0, 3, 1, 2]), x);
  });
}
