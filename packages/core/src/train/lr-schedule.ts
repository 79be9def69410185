/**
 * The learning-rate schedule of the authors' training (detectron2 WarmupCosineLR with
 * WARMUP_ITERS 0 and BASE_LR_END 0): the optimizer step of iteration i (0-based) uses
 *
 *     lr(i) = lr0 · 0.5 · (1 + cos(π · i / maxIter))
 */
export interface LrSchedule {
  /** SOLVER.MAX_ITER (80000): the iteration count the cosine spans. */
  maxIter: number;
}

/** The multiplier of every group's initial learning rate at iteration `i`. */
export function cosineLrFactor(i: number, schedule: LrSchedule): number {
  return 0.5 * (1 + Math.cos((Math.PI * i) / schedule.maxIter));
}
