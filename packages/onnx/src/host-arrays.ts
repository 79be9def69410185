/**
 * The few operators applied to host values directly (no graph): gathering class survivors or
 * embedding rows, and joining class chunks between stages.
 */
import type { LazyTensor } from './graph/lazy-tensor.js';

/** `x` gathered along `axis` at `indices`, on the host. */
export function gatherOnHost(data: Float32Array, shape: readonly number[], indices: Int32Array, axis: number): Float32Array {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const out = new Float32Array(outer * indices.length * inner);
  for (let o = 0; o < outer; o++) {
    for (const [j, i] of indices.entries()) {
      out.set(data.subarray((o * n + i) * inner, (o * n + i + 1) * inner), (o * indices.length + j) * inner);
    }
  }
  return out;
}

/** Tensors joined along `axis`, on the host. */
export function concatOnHost(xs: readonly LazyTensor[], axis: number): Float32Array {
  const outer = xs[0]!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const rows = xs.map((x) => x.shape.slice(axis).reduce((a, b) => a * b, 1));
  const total = rows.reduce((a, b) => a + b, 0);
  const out = new Float32Array(outer * total);
  for (let o = 0; o < outer; o++) {
    let offset = o * total;
    xs.forEach((x, i) => {
      out.set(x.data!.subarray(o * rows[i]!, (o + 1) * rows[i]!), offset);
      offset += rows[i]!;
    });
  }
  return out;
}
