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
 * - A backend implements `BackendOps` (the primitives in `RequiredOps`, plus any `OptionalOps`
 *   it can do better than core's defaults); core completes it into `Ops` (`completeOps`).
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

/**
 * What a backend must implement: the primitives core cannot build from others. Everything in
 * `OptionalOps` has a default in core (`ops/composites.ts`, built from these primitives) that a
 * backend may override for speed or memory; `completeOps` fills in the defaults.
 */
export interface RequiredOps<T = unknown> {
  /** Backend name, e.g. `tfjs`, `ort`. */
  readonly name: string;

  // ---- data -------------------------------------------------------------------------------
  /** A float32 tensor from host data (row-major); `name` is for messages and debugging. */
  constant(data: Float32Array, shape: Shape, name?: string): T;
  /** Host copy of a tensor's values (row-major). */
  read(x: T): Promise<Float32Array>;
  shape(x: T): Shape;

  // ---- elementwise ------------------------------------------------------------------------
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  sqrt(x: T): T;
  /** Exact GELU: x · Φ(x) with the error function (PyTorch's default, not the tanh form). */
  gelu(x: T): T;
  relu(x: T): T;
  /** ELU with α = 1. */
  elu(x: T): T;

  // ---- shape ------------------------------------------------------------------------------
  /** New shape, same row-major data; every size is given (no −1). */
  reshape(x: T, shape: Shape): T;
  transpose(x: T, perm: readonly number[]): T;
  concat(xs: readonly T[], axis: number): T;
  /** Selects entries `indices` (host integers, repeats allowed) along `axis`. */
  gather(x: T, indices: Int32Array, axis: number): T;

  // ---- reductions and linear algebra ------------------------------------------------------
  sum(x: T, axes: readonly number[], keepDims: boolean): T;
  /** Softmax along `axis`. */
  softmax(x: T, axis: number): T;
  /** Batched matrix product over the last two axes; leading axes broadcast. */
  matmul(a: T, b: T, options?: MatmulOptions): T;

  // ---- images (NCHW) ----------------------------------------------------------------------
  /** 2-D convolution, weight [out, in / groups, kh, kw], optional bias [out]. */
  conv2d(x: T, w: T, b: T | undefined, options?: Conv2dOptions): T;
  /** Transposed 2-D convolution (no padding), weight [in, out, kh, kw], optional bias [out]. */
  convTranspose2d(x: T, w: T, b: T | undefined, stride: number): T;
  /**
   * Bilinear resize of the two last axes to [height, width] without antialiasing, PyTorch
   * `F.interpolate(mode='bilinear')` semantics for either `align_corners` value.
   */
  resizeBilinear(x: T, size: readonly [number, number], alignCorners: boolean): T;
}

/**
 * Members a backend may implement; core supplies each one that is missing. What each buys is
 * said on the member (see also core's README, "Writing a backend").
 */
export interface OptionalOps<T = unknown> {
  /**
   * Classes per decoder chunk this backend runs best with (core's default is 16). CPU kernels
   * favour small chunks (cache), GPUs large ones (fewer launches).
   */
  readonly preferredClassChunk?: number;

  // ---- memory and compilation (defaults: nothing to manage, run eagerly) -------------------
  /**
   * `tidy(fn)` frees every tensor `fn` creates except those it returns (tfjs semantics); `fn` is
   * synchronous. Default: runs `fn`. Implement it when tensors hold memory that the garbage
   * collector does not return in time (GPU buffers, WASM heaps).
   */
  tidy?<R>(fn: () => R): R;
  /** Frees tensors now. Default: nothing (memory managed automatically). */
  dispose?(x: T | readonly T[]): void;
  /**
   * A model parameter (`name` = its checkpoint key). Default: `constant`. Compiling backends
   * embed such tensors in their graphs (ONNX initializers) instead of feeding them.
   */
  weight?(data: Float32Array, shape: Shape, name: string): T;
  /**
   * Runs a stage (see `stage.ts`). Default: core runs `stage.run` eagerly inside `tidy`. A
   * compiling backend traces `stage.run` into one graph per input signature and runs that.
   */
  runStage?(stage: Stage<T>, inputs: Readonly<Record<string, T>>): Promise<Record<string, T>>;
  /**
   * The length of `x` along `axis` as a float32 tensor of shape [1]. Core uses it wherever a
   * size enters the arithmetic. Default: a constant of the length, which is right for eager
   * backends; a backend that traces graphs with symbolic (dynamic) sizes must implement it so a
   * compiled graph stays valid for every class count.
   */
  sizeAsTensor?(x: T, axis: number): T;

  // ---- composites (defaults built from the required primitives) ----------------------------
  /** x · s for a scalar s. Default: `mul` by a one-element constant. */
  mulScalar?(x: T, s: number): T;
  /** x + s for a scalar s. Default: `add` of a one-element constant. */
  addScalar?(x: T, s: number): T;
  /** x[..., in] · wᵀ + b with w of shape [out, in] (PyTorch nn.Linear). Default: `matmul` + `add`. */
  linear?(x: T, w: T, b?: T): T;
  /** Repeats size-1 axes to `shape` (NumPy broadcasting rules). Default: `reshape` + `gather`. */
  broadcastTo?(x: T, shape: Shape): T;
  /**
   * LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · w + b (biased variance).
   * Default: from `sum`, `mul`, `sqrt` (two passes; a fused kernel saves memory traffic).
   */
  layerNorm?(x: T, w: T, b: T, eps: number): T;
  /**
   * GroupNorm on NCHW: C split into `groups` groups, statistics over (C/groups, H, W).
   * Default: `reshape` to [N, groups, rest] and the LayerNorm statistics.
   */
  groupNorm?(x: T, groups: number, w: T, b: T, eps: number): T;
  /** Average pooling with a square window `k` and stride `k`, no padding. Default: depthwise `conv2d`. */
  avgPool2d?(x: T, k: number): T;
}

/** The operator set a backend provides: the required primitives and any optional members. */
export type BackendOps<T = unknown> = RequiredOps<T> & OptionalOps<T>;

/** Optional members that `completeOps` always fills in (the rest stay optional). */
type FilledOps<T> = Required<Omit<OptionalOps<T>, 'preferredClassChunk' | 'weight' | 'runStage'>>;

/**
 * The complete operator set the model code is written against: a backend's `BackendOps` with
 * core's defaults for what it leaves out (`completeOps`). Model code calls only these.
 */
export type Ops<T = unknown> = RequiredOps<T> & Pick<OptionalOps<T>, 'preferredClassChunk' | 'weight' | 'runStage'> & FilledOps<T>;

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new RangeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}
