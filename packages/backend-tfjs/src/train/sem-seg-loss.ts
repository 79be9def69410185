/**
 * SED's training loss for one output of one image (the authors' `SED.forward`, training
 * branch): the logits [1, T, h, w] are upsampled bilinearly (align_corners false) to the label
 * size, and BCE-with-logits is taken against the one-hot targets, mean over all T·H·W elements
 * (ignore pixels included, as negatives: see core's `semSegTargets`):
 *
 *     mean( max(u, 0) − u·t + log(1 + exp(−|u|)) )
 */
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { TfjsOps } from '../tfjs-ops.js';

/** `logits` [1, T, h, w] and `targets` [1, T, H, W] (a tensor of 0/1) → the scalar loss. */
export function semSegLoss(ops: TfjsOps, logits: Tensor, targets: Tensor): Scalar {
  const tf = ops.tf;
  const [, , H, W] = targets.shape as [number, number, number, number];
  return tf.tidy(() => {
    const u = ops.resizeBilinear(logits, [H, W], false);
    const bce = tf.add(tf.sub(tf.relu(u), tf.mul(u, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(u)))));
    return tf.mean(bce) as Scalar;
  });
}
