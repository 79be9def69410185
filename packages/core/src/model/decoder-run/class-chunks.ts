/**
 * Per-class tensors ([T, …], classes on axis 0) held as consecutive chunks, so that the decoder's
 * per-class work runs a chunk at a time and memory does not grow with the number of classes.
 */
import type { Ops } from '../../ops/ops.js';

export interface ClassChunks<T> {
  /** Tensors [t_i, …] in class order. */
  parts: T[];
  /** Classes per part. */
  counts: number[];
}

/** Default classes per chunk in the decoder (`classChunk` option). */
export const DEFAULT_CLASS_CHUNK = 16;

/** Splits `x` [T, …] into chunks of at most `chunk` classes (`x` itself when it fits). */
export function splitClasses<T>(ops: Ops<T>, x: T, chunk: number): ClassChunks<T> {
  const total = ops.shape(x)[0]!;
  if (total <= chunk) return { parts: [x], counts: [total] };
  const parts: T[] = [];
  const counts: number[] = [];
  for (let start = 0; start < total; start += chunk) {
    const n = Math.min(chunk, total - start);
    parts.push(
      ops.gather(
        x,
        Int32Array.from({ length: n }, (_, i) => start + i),
        0,
      ),
    );
    counts.push(n);
  }
  return { parts, counts };
}

/**
 * The classes `indices` (sorted, in the chunks' class numbering) gathered chunk by chunk. Parts
 * kept whole are reused (not copied); the caller disposes the old parts it no longer needs.
 */
export function gatherClassChunks<T>(ops: Ops<T>, chunks: ClassChunks<T>, indices: Int32Array): ClassChunks<T> {
  const parts: T[] = [];
  const counts: number[] = [];
  let offset = 0;
  let k = 0;
  chunks.parts.forEach((part, p) => {
    const n = chunks.counts[p]!;
    const local: number[] = [];
    while (k < indices.length && indices[k]! < offset + n) local.push(indices[k++]! - offset);
    if (local.length === n) parts.push(part);
    else if (local.length > 0) parts.push(ops.gather(part, Int32Array.from(local), 0));
    if (local.length > 0) counts.push(local.length);
    offset += n;
  });
  return { parts, counts };
}

/** All chunks as one tensor, concatenated on `axis` (the part itself when there is one). */
export function joinClassChunks<T>(ops: Ops<T>, parts: readonly T[], axis = 0): T {
  return parts.length === 1 ? parts[0]! : ops.concat(parts, axis);
}
