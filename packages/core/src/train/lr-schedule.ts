/**
 * The learning-rate schedule of the authors' training (detectron2 WarmupCosineLR with
 * WARMUP_ITERS 0 and BASE_LR_END 0): the optimizer step of iteration i (0-based) uses
 *
 *     lr(i) = lr0 · 0.5 · (1 + cos(π · i / maxIter))
 *
 * (with a warm-up, detectron2 multiplies by a linear factor rising from `warmupFactor` to 1
 * over `warmupIters`; supported for completeness).
 */
export interface LrSchedule {
  /** SOLVER.MAX_ITER (80000). */
  maxIter: number;
  /** SOLVER.WARMUP_ITERS (0). */
  warmupIters?: number;
  /** SOLVER.WARMUP_FACTOR (1.0). */
  warmupFactor?: number;
}

/** The multiplier of every group's initial learning rate at iteration `i`. */
export function cosineLrFactor(i: number, schedule: LrSchedule): number {
  const { maxIter } = schedule;
  const progress = i / maxIter;
  let factor = 0.5 * (1 + Math.cos(Math.PI * progress));
  const warmup = schedule.warmupIters ?? 0;
  if (warmup > 0 && i < warmup) {
    // detectron2 LinearWarmup over the fraction warmupIters / maxIter
    const alpha = progress / (warmup / maxIter);
    const start = schedule.warmupFactor ?? 1;
    factor *= start * (1 - alpha) + alpha;
  }
  return factor;
}
