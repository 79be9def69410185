/**
 * AdamW on host float32 arrays, in the operation order of torch's single-tensor AdamW
 * (torch 1.13 `_single_tensor_adamw`), each operation rounded to float32 like the tensor ops:
 *
 *     p ← p · (1 − lr·wd)
 *     m ← β1·m + (1 − β1)·g
 *     v ← β2·v + (1 − β2)·g²
 *     p ← p − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + ε)
 *
 * The state (m, v, step) is plain arrays, so a checkpoint stores it as tensors.
 */
export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
}

/** torch.optim.AdamW defaults, as the authors use them. */
export const ADAMW_DEFAULTS: Readonly<AdamWSettings> = Object.freeze({ beta1: 0.9, beta2: 0.999, eps: 1e-8 });

/** One tensor's optimizer state. */
export interface AdamWState {
  /** First moment (exp_avg). */
  m: Float32Array;
  /** Second moment (exp_avg_sq). */
  v: Float32Array;
  /** Steps taken so far. */
  step: number;
}

export function newAdamWState(size: number): AdamWState {
  return { m: new Float32Array(size), v: new Float32Array(size), step: 0 };
}

const f = Math.fround;

/** One AdamW step of `param` in place with gradient `grad` (already clipped). */
export function adamwStep(
  param: Float32Array,
  grad: Float32Array,
  state: AdamWState,
  lr: number,
  weightDecay: number,
  s: AdamWSettings = ADAMW_DEFAULTS,
): void {
  const n = param.length;
  if (grad.length !== n || state.m.length !== n || state.v.length !== n) {
    throw new RangeError(`adamwStep: parameter of ${n} values, gradient ${grad.length}, state ${state.m.length}/${state.v.length}`);
  }
  state.step += 1;
  const decay = f(1 - lr * weightDecay);
  const b1 = f(s.beta1);
  const b2 = f(s.beta2);
  const a1 = f(1 - s.beta1);
  const a2 = f(1 - s.beta2);
  const stepSize = f(lr / (1 - s.beta1 ** state.step));
  const bc2Sqrt = f(Math.sqrt(1 - s.beta2 ** state.step));
  const eps = f(s.eps);
  const { m, v } = state;
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    const p = f(param[i]! * decay);
    const mi = f(f(m[i]! * b1) + f(g * a1));
    const vi = f(f(v[i]! * b2) + f(f(g * g) * a2));
    m[i] = mi;
    v[i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) / bc2Sqrt) + eps);
    param[i] = f(p - f(stepSize * f(mi / denom)));
  }
}
