/**
 * Full-model gradient clipping (detectron2 CLIP_TYPE 'full_model', torch `clip_grad_norm_`):
 * the L2 norm of all gradients together, and the factor every gradient is scaled by.
 */

/** `sqrt(Σ‖g_i‖²)` over the given per-tensor sums of squares. */
export function globalGradNorm(sumsOfSquares: readonly number[]): number {
  let s = 0;
  for (const v of sumsOfSquares) s += v;
  return Math.sqrt(s);
}

/** `min(1, maxNorm / (total + 1e-6))`, torch's clip coefficient. */
export function clipCoefficient(total: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (total + 1e-6));
}
