/**
 * Tracing a decoder run: every intermediate goes to the caller's callback under the reference's
 * golden tensor name (parity tests, `sedseg dump`). Without a callback nothing is computed for it.
 */
import type { Ops } from '../../ops/ops.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import { joinClassChunks, type ClassChunks } from './class-chunks.js';

/** A traced intermediate: a backend tensor, or a host tensor for values computed on the host. */
export type DecoderTraceValue<T> = T | HostTensor;

export type DecoderTraceFn<T> = (name: string, value: DecoderTraceValue<T>) => void | Promise<void>;

/** True when a trace value is a host tensor (its `data` is a typed array, not a backend handle). */
export function isHostTensor(v: unknown): v is HostTensor {
  // A backend tensor may hold host data too (ort): the dtype string is what only host tensors have.
  if (typeof v !== 'object' || v === null) return false;
  const h = v as { data?: unknown; dtype?: unknown };
  return typeof h.dtype === 'string' && ArrayBuffer.isView(h.data);
}

export class DecoderTracer<T> {
  constructor(
    private readonly ops: Ops<T>,
    private readonly trace?: DecoderTraceFn<T>,
  ) {}

  /** Whether anything is traced (the run then also keeps values it would not need, e.g. `corr`). */
  get enabled(): boolean {
    return this.trace !== undefined;
  }

  async emit(name: string, value: DecoderTraceValue<T>): Promise<void> {
    if (this.trace) await this.trace(name, value);
  }

  /** Traces per-class chunks joined on the class axis, optionally through `view` (temporaries freed after). */
  async emitChunks(name: string, c: ClassChunks<T>, view: (t: T) => T = (t) => t): Promise<void> {
    if (!this.trace) return;
    const joined = joinClassChunks(this.ops, c.parts);
    const v = view(joined);
    try {
      await this.trace(name, v);
    } finally {
      if (v !== joined) this.ops.dispose(v);
      if (c.parts.length > 1) this.ops.dispose(joined);
    }
  }
}
