/**
 * Decoder inputs (DESIGN.md §3.6): the class-batched corr embedding, the appearance guidance
 * projections of res4/res3/res2 (shared by all classes) and the corr guidance chain.
 *
 * Inside the decoder, per-class tensors are "class-batched": [T, C, H, W], one batch entry per
 * class (the reference's `(B T) C H W` with B = 1).
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { ModelParams } from '../model-params.js';

/** `corr` [1, P, T, h, w] → class-batched [T, P, h, w]. */
export function corrByClass<T>(ops: Ops<T>, corr: T): T {
  const s = ops.shape(corr);
  if (s.length !== 5 || s[0] !== 1) {
    throw new SedsegError('E_ARGUMENT', `corr must be [1, P, T, h, w], got [${s.join(', ')}]`);
  }
  const [, p, t, h, w] = s as [number, number, number, number, number];
  return ops.tidy(() => ops.reshape(ops.transpose(corr, [0, 2, 1, 3, 4]), [t, p, h, w]));
}

/** Class-batched [T, C, H, W] → the reference's `B C T H W` layout [1, C, T, H, W]. */
export function classBatchToBCTHW<T>(ops: Ops<T>, x: T): T {
  const [t, c, h, w] = ops.shape(x) as [number, number, number, number];
  return ops.tidy(() => ops.reshape(ops.transpose(x, [1, 0, 2, 3]), [1, c, t, h, w]));
}

/**
 * `transformer.conv1` (7×7, pad 3, P → hidden) on every class' P×h×w slice:
 * class-batched corr [T, P, h, w] → corrEmbed [T, hidden, h, w].
 */
export function corrEmbed<T>(ops: Ops<T>, decoder: ModelParams<T>, corrClasses: T): T {
  const w = decoder.get('conv1.weight');
  const ks = ops.shape(w)[2]!;
  return ops.conv2d(corrClasses, w, decoder.get('conv1.bias'), { padding: (ks - 1) / 2 });
}

/**
 * Appearance guidance `decoder_guidance_projection.{i}.0` (conv 3×3 pad 1) + ReLU of one
 * feature map: i = 0 on res4, 1 on res3, 2 on res2 → [1, g_i, H, W].
 */
export function appearanceGuidance<T>(ops: Ops<T>, decoder: ModelParams<T>, index: number, feature: T): T {
  const prefix = `decoder_guidance_projection.${index}.0.`;
  return ops.tidy(() => ops.relu(ops.conv2d(feature, decoder.get(`${prefix}weight`), decoder.get(`${prefix}bias`), { padding: 1 })));
}

/** The three appearance guidances from res4, res3, res2 (in that order). */
export function appearanceGuidances<T>(ops: Ops<T>, decoder: ModelParams<T>, features: { res2: T; res3: T; res4: T }): [T, T, T] {
  return [
    appearanceGuidance(ops, decoder, 0, features.res4),
    appearanceGuidance(ops, decoder, 1, features.res3),
    appearanceGuidance(ops, decoder, 2, features.res2),
  ];
}

/**
 * One link of the corr guidance chain: `decoder_corr_guidance_projection.{i}.0`
 * (ConvTranspose 2×2 stride 2) + ReLU. Link 0 takes the class-batched corr [T, P, h, w]; link i
 * takes the output of link i − 1. Output [T, g_i, 2H, 2W].
 */
export function corrGuidance<T>(ops: Ops<T>, decoder: ModelParams<T>, index: number, input: T): T {
  const prefix = `decoder_corr_guidance_projection.${index}.0.`;
  return ops.tidy(() => ops.relu(ops.convTranspose2d(input, decoder.get(`${prefix}weight`), decoder.get(`${prefix}bias`), 2)));
}
