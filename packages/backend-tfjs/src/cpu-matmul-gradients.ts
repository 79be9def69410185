/**
 * Batched matrix products on the host with either operand transposed, and their gradients, for
 * training on tfjs's pure-JS `cpu` backend (its BatchMatMul was the largest cost of a training
 * step once the convolutions had host gradients). Operands are 3-D [batch, rows, cols]; a batch
 * of 1 broadcasts.
 */
import { gemmNT, transpose } from './cpu-kernels.js';

type Data = Float32Array;
export type Shape3 = readonly [number, number, number];

/** op(A)·op(B) for A [na, ·, ·], B [nb, ·, ·] (op = transpose when the flag is set) → [n, m, p]. */
export function batchedMatmul(A: Data, aShape: Shape3, tA: boolean, B: Data, bShape: Shape3, tB: boolean): { values: Data; shape: Shape3 } {
  const [na] = aShape;
  const [nb] = bShape;
  const n = Math.max(na, nb);
  // gemmNT wants A as [m, k] rows and B as [p, k] rows
  const a = tA ? transpose(A, aShape, [0, 2, 1]) : A;
  const m = tA ? aShape[2] : aShape[1];
  const k = tA ? aShape[1] : aShape[2];
  const b = tB ? B : transpose(B, bShape, [0, 2, 1]);
  const p = tB ? bShape[1] : bShape[2];
  const out = new Float32Array(n * m * p);
  for (let i = 0; i < n; i++) gemmNT(m, p, k, a, na === 1 ? 0 : i * m * k, b, nb === 1 ? 0 : i * p * k, out, i * m * p, p);
  return { values: out, shape: [n, m, p] };
}

/** Sums [n, r, c] over the batch when the operand had a batch of 1. */
function toOperandBatch(g: { values: Data; shape: Shape3 }, batch: number): Data {
  if (batch !== 1 || g.shape[0] === 1) return g.values;
  const [n, r, c] = g.shape;
  const out = new Float64Array(r * c);
  for (let i = 0; i < n; i++) for (let j = 0; j < r * c; j++) out[j] = out[j]! + g.values[i * r * c + j]!;
  return Float32Array.from(out);
}

/** ∂L/∂A and ∂L/∂B of `batchedMatmul` from dC [n, m, p]. */
export function batchedMatmulGradients(dC: Data, cShape: Shape3, A: Data, aShape: Shape3, tA: boolean, B: Data, bShape: Shape3, tB: boolean): [Data, Data] {
  // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ, d op(B) = op(A)ᵀ·dC
  const dA = tA ? batchedMatmul(B, bShape, tB, dC, cShape, true) : batchedMatmul(dC, cShape, false, B, bShape, !tB);
  const dB = tB ? batchedMatmul(dC, cShape, true, A, aShape, tA) : batchedMatmul(A, aShape, !tA, dC, cShape, false);
  return [toOperandBatch(dA, aShape[0]), toOperandBatch(dB, bShape[0])];
}
