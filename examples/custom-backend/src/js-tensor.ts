/**
 * The pure-JS backend's tensor: row-major float32 values and a shape. Tensors are never mutated
 * after creation (every operator writes a new array), so `reshape` can share its input's data.
 */
import { SedsegError, type Shape } from '@sedseg/core';

export interface JsTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Number of elements of a shape (1 for a scalar shape `[]`). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Checks a shape (non-negative integers) and returns a frozen copy. */
export function checkShape(shape: Shape, what: string): readonly number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new SedsegError('E_ARGUMENT', `${what}: bad shape [${shape.join(', ')}]`);
  }
  return Object.freeze([...shape]);
}

/** A tensor over `data` (not copied) with `shape`, checking that the sizes agree. */
export function tensor(data: Float32Array, shape: Shape, what = 'tensor'): JsTensor {
  const s = checkShape(shape, what);
  if (sizeOf(s) !== data.length) throw new SedsegError('E_ARGUMENT', `${what}: ${data.length} values do not fill shape [${s.join(', ')}]`);
  return { data, shape: s };
}
