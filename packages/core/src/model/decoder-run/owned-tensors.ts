/**
 * The backend tensors a decoder run owns. Each is freed exactly once: when the run drops it
 * after its last use (so a layer's inputs go while its outputs come), or when the run ends,
 * normally or not. Tensors the run was given (the caller's) are never kept, so never freed.
 */
import type { Ops } from '../../ops/ops.js';
import type { ClassChunks } from './class-chunks.js';

export class OwnedTensors<T> {
  private readonly live = new Set<T>();

  constructor(private readonly ops: Ops<T>) {}

  /** Takes ownership of `t` (if defined) and returns it. */
  keep<X extends T | undefined>(t: X): X {
    if (t !== undefined) this.live.add(t);
    return t;
  }

  /** Frees the given tensors this run owns; others (undefined, the caller's, already freed) are ignored. */
  drop(...ts: (T | undefined)[]): void {
    const doomed = ts.filter((t): t is T => t !== undefined && this.live.delete(t));
    if (doomed.length) this.ops.dispose(doomed);
  }

  /** `drop` for every part of the given chunks. */
  dropChunks(...cs: (ClassChunks<T> | undefined)[]): void {
    for (const c of cs) if (c) this.drop(...c.parts);
  }

  /** Frees everything still owned (end of the run). */
  dropAll(): void {
    if (this.live.size) this.ops.dispose([...this.live]);
    this.live.clear();
  }
}
