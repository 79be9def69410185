/**
 * The targets of SED's training loss: for labels [H, W] and T classes, the one-hot map
 * [T, H, W] (class-major, like the logits), with ignore pixels all zero — the authors count
 * ignore pixels as negatives for every class (and in the loss's mean), they do not drop them.
 */
import { SedsegError } from '../errors.js';

/** One-hot targets [T, H·W] of `labels` (H·W values); values other than 0..T−1 must be `ignoreLabel`. */
export function semSegTargets(labels: ArrayLike<number>, classCount: number, ignoreLabel: number, what = 'labels'): Float32Array {
  const n = labels.length;
  const out = new Float32Array(classCount * n);
  for (let i = 0; i < n; i++) {
    const v = labels[i]!;
    if (v === ignoreLabel) continue;
    if (!Number.isInteger(v) || v < 0 || v >= classCount) {
      throw new SedsegError(
        'E_ARGUMENT',
        `${what}: label value ${v} at pixel ${i} is neither a class (0..${classCount - 1}) nor the ignore label ${ignoreLabel}`,
      );
    }
    out[v * n + i] = 1;
  }
  return out;
}
