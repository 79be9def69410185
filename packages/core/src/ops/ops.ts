/**
 * The abstract operators the SED graph is written against. A backend implements them on its
 * own tensor type `T` (tfjs tensors, traced ONNX values, …); the model code in core never sees
 * anything but `T` handles and these operators.
 *
 * Conventions
 * - Layout: image-like tensors are NCHW (batch, channels, height, width), as PyTorch and the
 *   checkpoints are; weights keep their PyTorch layouts (conv OIHW, conv-transpose IOHW,
 *   linear [out, in]). Element type is float32 throughout.
 * - Elementwise binary operators broadcast like NumPy.
 * - Axes may be negative (counted from the end).
 * - `tidy(fn)` frees every tensor `fn` creates except those it returns (tfjs semantics); `fn`
 *   must be synchronous. Backends without manual memory management run `fn` directly.
 */
import type { Stage } from './stage.js';

export interface Conv2dOptions {
  /** Stride, same in both directions (default 1). */
  stride?: number;
  /** Zero padding on all four sides (default 0). */
  padding?: number;
  /** Channel groups: 1 = dense, `inChannels` = depthwise (default 1). */
  groups?: number;
}

export interface MatmulOptions {
  transposeA?: boolean;
  transposeB?: boolean;
}

export type Shape = readonly number[];

export interface Ops<T = unknown> {
  /** Backend name, e.g. `tfjs`, `ort`. */
  readonly name: string;
  /**
   * Classes per decoder chunk this backend runs best with (optional; core's default is 16).
   * CPU kernels favour small chunks (cache), GPUs large ones (fewer launches).
   */
  readonly preferredClassChunk?: number;

  // ---- data and memory --------------------------------------------------------------------
  /** A float32 tensor from host data (row-major); `name` is for messages and debugging. */
  constant(data: Float32Array, shape: Shape, name?: string): T;
  /**
   * A model parameter (`name` = its checkpoint key). Optional: compiling backends embed such
   * tensors in their graphs (ONNX initializers) instead of feeding them; without it, `constant`
   * is used.
   */
  weight?(data: Float32Array, shape: Shape, name: string): T;
  /**
   * Runs a stage (see `stage.ts`). Optional: a compiling backend traces `stage.run` into one
   * graph per input signature and runs that; without it, core runs `stage.run` eagerly.
   */
  runStage?(stage: Stage<T>, inputs: Readonly<Record<string, T>>): Promise<Record<string, T>>;
  /** Host copy of a tensor's values (row-major). */
  read(x: T): Promise<Float32Array>;
  shape(x: T): Shape;
  tidy<R>(fn: () => R): R;
  /** Frees tensors now (no-op where memory is managed automatically). */
  dispose(x: T | readonly T[]): void;

  /**
   * The length of `x` along `axis` as a float32 tensor of shape [1]. Use this, not a constant,
   * wherever a size enters the arithmetic, so compiled graphs stay valid for every class count.
   */
  size(x: T, axis: number): T;

  // ---- elementwise ------------------------------------------------------------------------
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  /** x · s for a scalar s. */
  mulScalar(x: T, s: number): T;
  /** x + s for a scalar s. */
  addScalar(x: T, s: number): T;
  sqrt(x: T): T;
  /** Exact GELU: x · Φ(x) with the error function (PyTorch's default, not the tanh form). */
  gelu(x: T): T;
  relu(x: T): T;
  /** ELU with α = 1. */
  elu(x: T): T;
  sigmoid(x: T): T;

  // ---- shape ------------------------------------------------------------------------------
  reshape(x: T, shape: Shape): T;
  transpose(x: T, perm: readonly number[]): T;
  concat(xs: readonly T[], axis: number): T;
  /** Repeats size-1 axes to `shape` (NumPy broadcasting rules). */
  broadcastTo(x: T, shape: Shape): T;
  /** Selects entries `indices` (host integers) along `axis`. */
  gather(x: T, indices: Int32Array, axis: number): T;

  // ---- reductions and linear algebra ------------------------------------------------------
  sum(x: T, axes: readonly number[], keepDims: boolean): T;
  /** Softmax along `axis`. */
  softmax(x: T, axis: number): T;
  /** Batched matrix product over the last two axes; leading axes broadcast. */
  matmul(a: T, b: T, options?: MatmulOptions): T;
  /** x[..., in] · wᵀ + b with w of shape [out, in] (PyTorch nn.Linear). */
  linear(x: T, w: T, b?: T): T;

  // ---- normalisation ----------------------------------------------------------------------
  /** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · w + b (biased variance). */
  layerNorm(x: T, w: T, b: T, eps: number): T;
  /** GroupNorm on NCHW: C split into `groups` groups, statistics over (C/groups, H, W). */
  groupNorm(x: T, groups: number, w: T, b: T, eps: number): T;

  // ---- images (NCHW) ----------------------------------------------------------------------
  /** 2-D convolution, weight [out, in / groups, kh, kw], optional bias [out]. */
  conv2d(x: T, w: T, b: T | undefined, options?: Conv2dOptions): T;
  /** Transposed 2-D convolution (no padding), weight [in, out, kh, kw], optional bias [out]. */
  convTranspose2d(x: T, w: T, b: T | undefined, stride: number): T;
  /** Average pooling with a square window `k` and stride `k`, no padding. */
  avgPool2d(x: T, k: number): T;
  /**
   * Bilinear resize of the two last axes to [height, width] without antialiasing, PyTorch
   * `F.interpolate(mode='bilinear')` semantics for either `align_corners` value.
   */
  resizeBilinear(x: T, size: readonly [number, number], alignCorners: boolean): T;
}

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new RangeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}
