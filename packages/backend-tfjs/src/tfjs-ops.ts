/**
 * The abstract `Ops` of `@sedseg/core` on TensorFlow.js tensors, with PyTorch float32 semantics
 * (NCHW images, conv OIHW / conv-transpose IOHW / linear [out, in] weights).
 *
 * tfjs convolutions are NHWC with HWIO (depthwise: H·W·C·multiplier) filters: images are
 * transposed around them and the re-laid-out filters are cached per weight tensor (`clearCache`,
 * `dispose`). On the pure-JS `cpu` backend, inference uses the host kernels of `cpu-kernels.ts`
 * instead (NCHW convolutions by im2col + register-blocked GEMM, matmul/linear, transposes,
 * broadcasting, gather, the normalisations, softmax, GELU, pooling, resize), several times
 * faster than the stock tfjs cpu kernels; while tfjs records gradients (and on every other
 * backend) only tfjs ops are used, so autodiff works.
 */
import { SedsegError, bilinearMatrix, normalizeAxis, resizeBilinearPlanes, type Conv2dOptions, type MatmulOptions, type Ops, type Shape } from '@sedseg/core';
import type { Tensor, Tensor4D, TensorContainer } from '@tensorflow/tfjs-core';
import * as K from './cpu-kernels.js';
import { conv2dBackpropFilter, conv2dBackpropInput, depthwiseConv2dGradients } from './cpu-conv-gradients.js';
import { binaryGradients } from './cpu-binary-gradients.js';
import { batchedMatmul, batchedMatmulGradients, type Shape3 } from './cpu-matmul-gradients.js';
import { geluGradient, groupNormGradients, layerNormRowsGradients } from './cpu-norm-gradients.js';
import { loadTfjs, type LoadedTfjs, type LoadTfjsOptions, type ResolvedTfjsPlatform, type TfjsNamespace, type TfjsPlatform } from './platform.js';

export interface TfjsOpsOptions extends LoadTfjsOptions {
  /** tfjs platform (default 'auto': tfjs-node-gpu, then tfjs-node, then the pure-JS cpu backend). */
  platform?: TfjsPlatform;
  /**
   * Use this package's plain-loop kernels for inference on the `cpu` backend (default true).
   * `false` runs stock tfjs ops only.
   */
  cpuKernels?: boolean;
}

/** Loads tfjs on the requested platform (see `loadTfjs`) and returns `Ops` on it. */
export async function createTfjsOps(options: TfjsOpsOptions = {}): Promise<TfjsOps> {
  const loaded = await loadTfjs(options.platform ?? 'auto', options);
  return new TfjsOps(loaded, { cpuKernels: options.cpuKernels });
}

type Shape4 = [number, number, number, number];

function arg(message: string): SedsegError {
  return new SedsegError('E_ARGUMENT', message);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class TfjsOps implements Ops<Tensor> {
  readonly name = 'tfjs';
  /** The tfjs namespace the tensors live in. */
  readonly tf: TfjsNamespace;
  /** The platform that was loaded. */
  readonly platform: ResolvedTfjsPlatform;
  /** The tfjs backend the ops run on ('tensorflow', 'wasm' or 'cpu'). */
  readonly backend: string;
  private readonly cpuKernels: boolean;
  /** Re-laid-out weights: weight tensor → (layout name → kept tensor). */
  private readonly cache = new Map<Tensor, Map<string, Tensor>>();

  constructor(loaded: LoadedTfjs, options: { cpuKernels?: boolean | undefined } = {}) {
    this.tf = loaded.tf;
    this.platform = loaded.platform;
    this.backend = loaded.backend;
    this.cpuKernels = options.cpuKernels ?? true;
  }

  // ---- internals --------------------------------------------------------------------------

  /** Makes this instance's backend the active one (another instance may have switched it). */
  private use(): void {
    if (this.tf.getBackend() !== this.backend) void this.tf.setBackend(this.backend);
  }

  /** Runs `fn` on this backend in a tidy scope (intermediates freed, result kept). */
  private run(fn: () => Tensor): Tensor {
    this.use();
    return this.tf.tidy(fn);
  }

  private recording(): boolean {
    const state = this.tf.engine().state as unknown as { gradientDepth?: number };
    return (state.gradientDepth ?? 0) > 0;
  }

  /** Whether the host kernels may run on these tensors. */
  private fast(...xs: Tensor[]): boolean {
    return this.cpuKernels && this.backend === 'cpu' && !this.recording() && xs.every((x) => x.dtype === 'float32');
  }

  private host(x: Tensor): Float32Array {
    return x.dataSync() as Float32Array;
  }

  private make(values: Float32Array, shape: readonly number[]): Tensor {
    return this.tf.tensor(values, [...shape], 'float32');
  }

  private tp(x: Tensor, perm: readonly number[]): Tensor {
    if (this.trainingOnCpu(x)) {
      const inverse = perm.map((_, i) => perm.indexOf(i));
      const out = perm.map((p) => x.shape[p]!);
      return this.withHostGradient(
        [x],
        out,
        ([v]) => K.transpose(v!, x.shape, perm),
        (g) => [K.transpose(g, out, inverse)],
      );
    }
    if (this.fast(x))
      return this.make(
        K.transpose(this.host(x), x.shape, perm),
        perm.map((p) => x.shape[p]!),
      );
    return this.tf.transpose(x, [...perm]);
  }

  private toNHWC(x: Tensor): Tensor {
    return this.tp(x, [0, 2, 3, 1]);
  }

  private toNCHW(x: Tensor): Tensor {
    return this.tp(x, [0, 3, 1, 2]);
  }

  /**
   * `make()` (a re-layout of weight `w`), kept and cached per weight. Not cached for variables
   * (their values change) or while gradients are recorded (the gradient must reach `w`).
   */
  private cached(w: Tensor, layout: string, make: () => Tensor): Tensor {
    if (w instanceof this.tf.Variable || this.recording()) return make();
    let byLayout = this.cache.get(w);
    const hit = byLayout?.get(layout);
    if (hit !== undefined && !hit.isDisposed) return hit;
    this.sweep();
    const t = this.tf.keep(make());
    if (byLayout === undefined) {
      byLayout = new Map();
      this.cache.set(w, byLayout);
    }
    byLayout.set(layout, t);
    return t;
  }

  /** Frees cache entries whose weight was disposed elsewhere. */
  private sweep(): void {
    for (const [w, byLayout] of this.cache) {
      if (!w.isDisposed) continue;
      for (const t of byLayout.values()) t.dispose();
      this.cache.delete(w);
    }
  }

  private dropCached(w: Tensor): void {
    const byLayout = this.cache.get(w);
    if (byLayout === undefined) return;
    for (const t of byLayout.values()) t.dispose();
    this.cache.delete(w);
  }

  /** Frees every cached weight re-layout (they are rebuilt on the next use). */
  clearCache(): void {
    for (const byLayout of this.cache.values()) for (const t of byLayout.values()) t.dispose();
    this.cache.clear();
  }

  /** Number of cached weight re-layouts (for tests and memory accounting). */
  get cachedTensorCount(): number {
    let n = 0;
    for (const byLayout of this.cache.values()) n += byLayout.size;
    return n;
  }

  // ---- data and memory --------------------------------------------------------------------

  constant(data: Float32Array, shape: Shape, _name?: string): Tensor {
    let size = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw arg(`constant: bad shape ${fmt(shape)}`);
      size *= d;
    }
    if (size !== data.length) throw arg(`constant: ${data.length} values do not fill shape ${fmt(shape)}`);
    this.use();
    // copied: the cpu backend would otherwise alias the caller's array
    return this.tf.tensor(new Float32Array(data), [...shape], 'float32');
  }

  async read(x: Tensor): Promise<Float32Array> {
    const data = await x.data();
    return new Float32Array(data as ArrayLike<number>);
  }

  shape(x: Tensor): Shape {
    return x.shape;
  }

  sizeAsTensor(x: Tensor, axis: number): Tensor {
    this.use();
    return this.tf.tensor1d([x.shape[normalizeAxis(axis, x.rank)]!], 'float32');
  }

  tidy<R>(fn: () => R): R {
    this.use();
    return this.tf.tidy(fn as () => TensorContainer) as R;
  }

  /**
   * `x.detach()`: a tensor on the same data that the gradient tape does not lead back to `x`
   * (tfjs has no stop-gradient op; a tensor made from the data id is not an op output).
   */
  detach(x: Tensor): Tensor {
    this.use();
    return this.tf.engine().makeTensorFromDataId(x.dataId, [...x.shape], x.dtype);
  }

  dispose(x: Tensor | readonly Tensor[]): void {
    const list: readonly Tensor[] = Array.isArray(x) ? (x as readonly Tensor[]) : [x as Tensor];
    for (const t of list) {
      this.dropCached(t);
      t.dispose();
    }
  }

  // ---- elementwise ------------------------------------------------------------------------

  private binary(op: K.BinaryOp, a: Tensor, b: Tensor): Tensor {
    if (K.broadcastShapes(a.shape, b.shape) === null) throw arg(`${op}: shapes ${fmt(a.shape)} and ${fmt(b.shape)} do not broadcast`);
    return this.run(() => {
      if (this.fast(a, b)) {
        const r = K.binary(op, this.host(a), a.shape, this.host(b), b.shape);
        return this.make(r.values, r.shape);
      }
      if (this.trainingOnCpu(a, b)) return this.binaryWithHostGradient(op, a, b);
      const tf = this.tf;
      const f = op === 'add' ? tf.add : op === 'sub' ? tf.sub : op === 'mul' ? tf.mul : tf.div;
      return f(a, b);
    });
  }

  add(a: Tensor, b: Tensor): Tensor {
    return this.binary('add', a, b);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    return this.binary('mul', a, b);
  }

  div(a: Tensor, b: Tensor): Tensor {
    return this.binary('div', a, b);
  }

  mulScalar(x: Tensor, s: number): Tensor {
    return this.run(() => (this.fast(x) ? this.make(K.binaryScalar('mul', this.host(x), s), x.shape) : this.tf.mul(x, this.tf.scalar(s))));
  }

  addScalar(x: Tensor, s: number): Tensor {
    return this.run(() => (this.fast(x) ? this.make(K.binaryScalar('add', this.host(x), s), x.shape) : this.tf.add(x, this.tf.scalar(s))));
  }

  sqrt(x: Tensor): Tensor {
    return this.run(() => this.tf.sqrt(x));
  }

  gelu(x: Tensor): Tensor {
    return this.run(() => {
      const tf = this.tf;
      if (this.fast(x)) return this.make(K.gelu(this.host(x)), x.shape);
      if (this.trainingOnCpu(x)) {
        return this.withHostGradient(
          [x],
          x.shape,
          ([v]) => K.gelu(v!),
          (g, [v]) => [geluGradient(v!, g)],
        );
      }
      const u = tf.mul(x, tf.scalar(Math.SQRT1_2));
      // TensorFlow's and the wasm backend's Erf kernels are accurate (float32 erf); the tfjs cpu
      // kernel is Abramowitz & Stegun 7.1.26 (absolute error 1.5e-7, ~1e-5 relative near 0).
      const e = this.backend === 'cpu' ? this.erfComposite(u) : tf.erf(u);
      return tf.mul(tf.mul(x, tf.scalar(0.5)), tf.add(e, tf.scalar(1)));
    });
  }

  /** erf from elementwise ops: the float32 rational approximation of `cpu-kernels.ts`. */
  private erfComposite(x: Tensor): Tensor {
    const tf = this.tf;
    const t = tf.clipByValue(x, -K.ERF_CLAMP, K.ERF_CLAMP);
    const t2 = tf.square(t);
    let p: Tensor = tf.scalar(K.ERF_P[0]);
    for (let i = 1; i < K.ERF_P.length; i++) p = tf.add(tf.mul(p, t2), tf.scalar(K.ERF_P[i]!));
    let q: Tensor = tf.scalar(K.ERF_Q[0]);
    for (let i = 1; i < K.ERF_Q.length; i++) q = tf.add(tf.mul(q, t2), tf.scalar(K.ERF_Q[i]!));
    return tf.div(tf.mul(t, p), q);
  }

  relu(x: Tensor): Tensor {
    return this.run(() => this.tf.relu(x));
  }

  elu(x: Tensor): Tensor {
    return this.run(() => this.tf.elu(x));
  }

  // ---- shape ------------------------------------------------------------------------------

  reshape(x: Tensor, shape: Shape): Tensor {
    return this.run(() => this.tf.reshape(x, [...shape]));
  }

  transpose(x: Tensor, perm: readonly number[]): Tensor {
    const r = x.rank;
    if (perm.length !== r) throw arg(`transpose: permutation [${perm.join(', ')}] for rank ${r}`);
    const p = perm.map((a) => normalizeAxis(a, r));
    if (new Set(p).size !== r) throw arg(`transpose: [${perm.join(', ')}] is not a permutation`);
    return this.run(() => this.tp(x, p));
  }

  concat(xs: readonly Tensor[], axis: number): Tensor {
    const first = xs[0];
    if (first === undefined) throw arg('concat: no tensors');
    const a = normalizeAxis(axis, first.rank);
    return this.run(() => this.tf.concat([...xs], a));
  }

  broadcastTo(x: Tensor, shape: Shape): Tensor {
    const target = [...shape];
    const b = K.broadcastShapes(x.shape, target);
    if (b === null || b.length !== target.length || b.some((d, i) => d !== target[i])) {
      throw arg(`broadcastTo: ${fmt(x.shape)} does not broadcast to ${fmt(target)}`);
    }
    return this.run(() => (this.fast(x) ? this.make(K.broadcastTo(this.host(x), x.shape, target), target) : this.tf.broadcastTo(x, target)));
  }

  gather(x: Tensor, indices: Int32Array, axis: number): Tensor {
    const a = normalizeAxis(axis, x.rank);
    const n = x.shape[a]!;
    for (const i of indices) {
      if (i < 0 || i >= n) throw arg(`gather: index ${i} out of range for axis ${axis} of size ${n}`);
    }
    const shape = [...x.shape];
    shape[a] = indices.length;
    return this.run(() => {
      if (this.fast(x)) return this.make(K.gather(this.host(x), x.shape, indices, a), shape);
      // tfjs's cpu gradient of gather (UnsortedSegmentSum) takes a pass over x per index: 10× a
      // training step's time when the decoder gathers weight channels (merge-guidance.ts)
      if (this.trainingOnCpu(x)) {
        return this.withHostGradient(
          [x],
          shape,
          ([xv]) => K.gather(xv!, x.shape, indices, a),
          (g) => [K.gatherGradient(g, x.shape, indices, a)],
        );
      }
      return this.tf.gather(x, this.tf.tensor1d(Int32Array.from(indices), 'int32'), a);
    });
  }

  // ---- reductions and linear algebra ------------------------------------------------------

  sum(x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
    const r = x.rank;
    const ax = [...new Set(axes.map((a) => normalizeAxis(a, r)))].sort((p, q) => p - q);
    return this.run(() => {
      const tf = this.tf;
      if (ax.length === 0) return tf.clone(x);
      const trailing = ax.every((a, i) => a === r - ax.length + i);
      if (!this.fast(x) || trailing) return tf.sum(x, ax, keepDims);
      // move the reduced axes last with a fast transpose (tfjs cpu would transpose slowly)
      const rest = [...Array(r).keys()].filter((a) => !ax.includes(a));
      const s = tf.sum(
        this.tp(x, [...rest, ...ax]),
        ax.map((_, i) => rest.length + i),
        false,
      );
      return keepDims
        ? tf.reshape(
            s,
            x.shape.map((d, i) => (ax.includes(i) ? 1 : d)),
          )
        : s;
    });
  }

  softmax(x: Tensor, axis: number): Tensor {
    const r = x.rank;
    const a = normalizeAxis(axis, r);
    return this.run(() => {
      const tf = this.tf;
      if (this.fast(x)) {
        if (a === r - 1) return this.make(K.softmaxRows(this.host(x), x.shape[a]!), x.shape);
        const perm = [...Array(r).keys()].filter((d) => d !== a).concat(a);
        const xt = this.tp(x, perm);
        const y = this.make(K.softmaxRows(this.host(xt), x.shape[a]!), xt.shape);
        const inv = new Array<number>(r);
        perm.forEach((p, i) => {
          inv[p] = i;
        });
        return this.tp(y, inv);
      }
      if (a === r - 1) return tf.softmax(x);
      const e = tf.exp(tf.sub(x, tf.max(x, a, true)));
      return tf.div(e, tf.sum(e, a, true));
    });
  }

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const tA = options.transposeA ?? false;
    const tB = options.transposeB ?? false;
    if (a.rank < 2 || b.rank < 2) throw arg(`matmul: operands need rank >= 2, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
    const ka = a.shape[a.rank - (tA ? 2 : 1)]!;
    const kb = b.shape[b.rank - (tB ? 1 : 2)]!;
    if (ka !== kb) throw arg(`matmul: inner dimensions differ: ${fmt(a.shape)} and ${fmt(b.shape)} (transposeA ${tA}, transposeB ${tB})`);
    const batch = K.broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (batch === null) throw arg(`matmul: batch dimensions of ${fmt(a.shape)} and ${fmt(b.shape)} do not broadcast`);
    return this.run(() => {
      const tf = this.tf;
      // tfjs broadcasts batch dims only when one side's batch is 1: bring both to 3-D [nb, r, c]
      const nb = K.sizeOf(batch);
      const to3d = (x: Tensor): Tensor => {
        const rc = x.shape.slice(-2);
        const n = K.sizeOf(x.shape, 0, x.rank - 2);
        // (a batch of 1 is broadcast by tfjs's kernel, but its BatchMatMul gradient does not sum
        // over it: while recording on tfjs's own kernels, broadcast it explicitly)
        if (n === nb || (n === 1 && !(this.recording() && !this.trainingOnCpu(x)))) return tf.reshape(x, [n, ...rc]);
        const full = [...batch, ...rc];
        const xb = this.fast(x) ? this.make(K.broadcastTo(this.host(x), x.shape, full), full) : tf.broadcastTo(x, full);
        return tf.reshape(xb, [nb, ...rc]);
      };
      let a3 = to3d(a);
      let b3 = to3d(b);
      if (this.trainingOnCpu(a3, b3)) {
        const y = this.matmulWithHostGradient(a3, b3, tA, tB);
        return tf.reshape(y, [...batch, ...y.shape.slice(-2)]);
      }
      if (this.fast(a3, b3)) {
        // host GEMM wants A as [m, k] rows and B as [n, k] rows
        if (tA) a3 = this.swapLast(a3);
        if (!tB) b3 = this.swapLast(b3);
        const [na, m, k] = a3.shape as [number, number, number];
        const [nbb, n] = b3.shape as [number, number, number];
        const A = this.host(a3);
        const B = this.host(b3);
        const out = new Float32Array(nb * m * n);
        for (let i = 0; i < nb; i++) {
          K.gemmNT(m, n, k, A, na === 1 ? 0 : i * m * k, B, nbb === 1 ? 0 : i * n * k, out, i * m * n, n);
        }
        return this.make(out, [...batch, m, n]);
      }
      let ta = tA;
      let tb = tB;
      if (this.backend === 'wasm' && (tA || tB)) {
        // wasm's matmul is fast (XNNPACK) only without transpose flags
        if (tA) a3 = this.swapLast(a3);
        if (tB) b3 = this.swapLast(b3);
        ta = tb = false;
      }
      const y = tf.matMul(a3, b3, ta, tb);
      return tf.reshape(y, [...batch, ...y.shape.slice(-2)]);
    });
  }

  /** a [m, k] · btᵀ (bt [n, k]) + bias [n], inside a tidy scope. */
  private matmulNT(a: Tensor, bt: Tensor, bias?: Tensor): Tensor {
    const tf = this.tf;
    if (this.trainingOnCpu(a, bt)) {
      const y = tf.reshape(this.matmulWithHostGradient(tf.expandDims(a, 0), tf.expandDims(bt, 0), false, true), [a.shape[0]!, bt.shape[0]!]);
      return bias === undefined ? y : tf.add(y, bias);
    }
    if (this.fast(a, bt) && (bias === undefined || this.fast(bias))) {
      const [m, k] = a.shape as [number, number];
      const n = bt.shape[0]!;
      const out = new Float32Array(m * n);
      K.gemmNT(m, n, k, this.host(a), 0, this.host(bt), 0, out, 0, n, undefined, bias && this.host(bias));
      return this.make(out, [m, n]);
    }
    if (this.backend === 'wasm') {
      // wasm's matmul is fast (XNNPACK) only without transpose flags: cache btᵀ
      return tf.fused.matMul({ a, b: this.cached(bt, 'T', () => tf.transpose(bt)), bias });
    }
    return tf.fused.matMul({ a, b: bt, transposeB: true, bias });
  }

  private swapLast(x: Tensor): Tensor {
    const perm = [...Array(x.rank).keys()];
    perm[x.rank - 1] = x.rank - 2;
    perm[x.rank - 2] = x.rank - 1;
    return this.tp(x, perm);
  }

  linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
    const inF = x.shape[x.rank - 1];
    if (x.rank < 1 || w.rank !== 2 || w.shape[1] !== inF) {
      throw arg(`linear: weight ${fmt(w.shape)} does not fit input ${fmt(x.shape)} (expected [out, ${inF}])`);
    }
    const outF = w.shape[0]!;
    if (b !== undefined && (b.size !== outF || b.rank !== 1)) throw arg(`linear: bias ${fmt(b.shape)} for ${outF} outputs`);
    return this.run(() => {
      const tf = this.tf;
      const x2 = tf.reshape(x, [-1, inF!]);
      const y = this.matmulNT(x2, w, b);
      return tf.reshape(y, [...x.shape.slice(0, -1), outF]);
    });
  }

  // ---- normalisation ----------------------------------------------------------------------

  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
    const C = x.shape[x.rank - 1]!;
    if (x.rank < 1 || w.size !== C || b.size !== C) {
      throw arg(`layerNorm: weight ${fmt(w.shape)} / bias ${fmt(b.shape)} for input ${fmt(x.shape)}`);
    }
    return this.run(() => {
      const tf = this.tf;
      if (this.fast(x, w, b)) return this.make(K.layerNormRows(this.host(x), C, this.host(w), this.host(b), eps), x.shape);
      if (this.trainingOnCpu(x, w, b)) {
        return this.withHostGradient(
          [x, w, b],
          x.shape,
          ([xv, wv, bv]) => K.layerNormRows(xv!, C, wv!, bv!, eps),
          (g, [xv, wv]) => {
            const d = layerNormRowsGradients(xv!, g, C, wv!, eps);
            return [d.dx, d.dw, d.db];
          },
        );
      }
      const d = this.centered(x, -1);
      const v = tf.mean(tf.square(d), -1, true);
      const y = tf.mul(d, tf.rsqrt(tf.add(v, tf.scalar(eps))));
      return tf.add(tf.mul(y, tf.reshape(w, [C])), tf.reshape(b, [C]));
    });
  }

  /**
   * x − mean(x) along `axis`, with one refinement step: the float32 mean of a row far from zero
   * is off by half an ulp of the offset, which the mean of the deviations recovers.
   */
  private centered(x: Tensor, axis: number): Tensor {
    const tf = this.tf;
    const d0 = tf.sub(x, tf.mean(x, axis, true));
    return tf.sub(d0, tf.mean(d0, axis, true));
  }

  groupNorm(x: Tensor, groups: number, w: Tensor, b: Tensor, eps: number): Tensor {
    if (x.rank < 2) throw arg(`groupNorm: input ${fmt(x.shape)} needs rank >= 2 (N, C, ...)`);
    const [N, C] = x.shape as [number, number];
    if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0) throw arg(`groupNorm: ${C} channels in ${groups} groups`);
    if (w.size !== C || b.size !== C) throw arg(`groupNorm: weight ${fmt(w.shape)} / bias ${fmt(b.shape)} for ${C} channels`);
    const S = x.size / (N * C);
    return this.run(() => {
      const tf = this.tf;
      if (this.fast(x, w, b)) {
        return this.make(K.groupNorm(this.host(x), N, C, S, groups, this.host(w), this.host(b), eps), x.shape);
      }
      if (this.trainingOnCpu(x, w, b)) {
        return this.withHostGradient(
          [x, w, b],
          x.shape,
          ([xv, wv, bv]) => K.groupNorm(xv!, N, C, S, groups, wv!, bv!, eps),
          (g, [xv, wv]) => {
            const d = groupNormGradients(xv!, g, N, C, S, groups, wv!, eps);
            return [d.dx, d.dw, d.db];
          },
        );
      }
      const d = this.centered(tf.reshape(x, [N, groups, -1]), -1);
      const v = tf.mean(tf.square(d), -1, true);
      const y = tf.reshape(tf.mul(d, tf.rsqrt(tf.add(v, tf.scalar(eps)))), x.shape);
      const cshape = x.shape.map((s, i) => (i === 1 ? s : 1));
      return tf.add(tf.mul(y, tf.reshape(w, cshape)), tf.reshape(b, cshape));
    });
  }

  // ---- images (NCHW) ----------------------------------------------------------------------

  conv2d(x: Tensor, w: Tensor, b: Tensor | undefined, options: Conv2dOptions = {}): Tensor {
    const stride = options.stride ?? 1;
    const pad = options.padding ?? 0;
    const groups = options.groups ?? 1;
    if (x.rank !== 4 || w.rank !== 4) throw arg(`conv2d: input ${fmt(x.shape)} and weight ${fmt(w.shape)} must be rank 4`);
    const [N, C, H, W] = x.shape as Shape4;
    const [O, Cg, kh, kw] = w.shape as Shape4;
    if (!Number.isInteger(stride) || stride < 1) throw arg(`conv2d: stride ${stride}`);
    if (!Number.isInteger(pad) || pad < 0) throw arg(`conv2d: padding ${pad}`);
    if (!Number.isInteger(groups) || groups < 1 || C % groups !== 0 || O % groups !== 0 || Cg !== C / groups) {
      throw arg(`conv2d: weight ${fmt(w.shape)} does not fit input ${fmt(x.shape)} with ${groups} group(s)`);
    }
    if (H + 2 * pad < kh || W + 2 * pad < kw) throw arg(`conv2d: kernel ${kh}×${kw} larger than padded input ${fmt(x.shape)}`);
    if (b !== undefined && b.size !== O) throw arg(`conv2d: bias ${fmt(b.shape)} for ${O} output channels`);
    return this.run(() => {
      const tf = this.tf;
      const bias = b === undefined ? undefined : tf.reshape(b, [O]);
      if (this.fast(x, w) && (bias === undefined || this.fast(bias))) {
        const hb = bias && this.host(bias);
        const r =
          groups === C
            ? K.depthwiseConv2d(this.host(x), [N, C, H, W], this.host(w), [O, kh, kw], hb, stride, pad)
            : K.conv2d(this.host(x), [N, C, H, W], this.host(w), [O, Cg, kh, kw], hb, stride, pad, groups);
        return this.make(r.values, r.shape);
      }
      if (this.trainingOnCpu(x, w)) {
        const y = this.conv2dWithHostGradients(x, w, [N, C, H, W], [O, Cg, kh, kw], stride, pad, groups);
        return bias === undefined ? y : tf.add(y, tf.reshape(bias, [1, O, 1, 1]));
      }
      let xs = this.toNHWC(x);
      const explicit: [[number, number], [number, number], [number, number], [number, number]] = [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ];
      // explicit padding: a numeric `pad` makes tfjs size both output dims from the kernel height
      let p: 'valid' | typeof explicit = pad === 0 ? 'valid' : explicit;
      if (pad > 0 && this.backend === 'tensorflow') {
        // TensorFlow's kernels take only 'valid'/'same'/explicit padding: pad first
        xs = tf.pad(xs, explicit);
        p = 'valid';
      }
      const x4 = xs as Tensor4D;
      let y: Tensor;
      if (groups === 1) {
        const filter = this.cached(w, 'hwio', () => this.tp(w, [2, 3, 1, 0]));
        y = tf.fused.conv2d({ x: x4, filter: filter as typeof x4, strides: stride, pad: p, bias });
      } else if (groups === C) {
        const m = O / C;
        const filter = this.cached(w, 'hwcm', () => this.tp(tf.reshape(w, [C, m, kh, kw]), [2, 3, 0, 1]));
        // (typed without explicit padding, which the kernels accept)
        y = tf.fused.depthwiseConv2d({ x: x4, filter: filter as typeof x4, strides: stride, pad: p as unknown as number, bias });
      } else {
        // general groups: one dense convolution per group
        const og = O / groups;
        const xg = tf.split(x4, groups, 3);
        const ys = xg.map((xi, g) => {
          const filter = this.cached(w, `hwio/${groups}:${g}`, () => this.tp(tf.slice(w, [g * og, 0, 0, 0], [og, Cg, kh, kw]), [2, 3, 1, 0]));
          return tf.fused.conv2d({ x: xi as Tensor4D, filter: filter as Tensor4D, strides: stride, pad: p });
        });
        y = tf.concat(ys, 3);
        if (bias !== undefined) y = tf.add(y, bias);
      }
      return this.toNCHW(y);
    });
  }

  /** Recording gradients on the pure-JS cpu backend, where this package's kernels have gradients. */
  private trainingOnCpu(...xs: Tensor[]): boolean {
    return this.cpuKernels && this.backend === 'cpu' && this.recording() && xs.every((x) => x.dtype === 'float32');
  }

  /**
   * A host kernel with a host gradient as one tfjs op (`customGrad`): `forward` maps the inputs'
   * values to the output, `backward` maps dy's values to one gradient per input (same shapes).
   * The input values are captured for the backward pass: the model code may dispose the input
   * tensors before the gradient runs (customGrad's `save` keeps no copy).
   */
  private withHostGradient(
    inputs: Tensor[],
    outShape: readonly number[],
    forward: (xs: Float32Array[]) => Float32Array,
    backward: (dy: Float32Array, xs: Float32Array[]) => Float32Array[],
  ): Tensor {
    const op = this.tf.customGrad(((...args: Tensor[]) => {
      const xs = args.slice(0, inputs.length).map((t) => this.host(t)); // the last argument is `save`
      return {
        value: this.make(forward(xs), outShape),
        gradFunc: (dy: Tensor) => backward(this.host(dy), xs).map((g, i) => this.make(g, inputs[i]!.shape)),
      };
    }) as unknown as Parameters<typeof this.tf.customGrad>[0]);
    return (op as unknown as (...a: Tensor[]) => Tensor)(...inputs);
  }

  /** Broadcasting `a op b` on the host with the host gradients of `cpu-binary-gradients.ts`. */
  private binaryWithHostGradient(op: K.BinaryOp, a: Tensor, b: Tensor): Tensor {
    return this.withHostGradient(
      [a, b],
      K.broadcastShapes(a.shape, b.shape)!,
      ([av, bv]) => K.binary(op, av!, a.shape, bv!, b.shape).values,
      (g, [av, bv]) => binaryGradients(op, g, av!, a.shape, bv!, b.shape),
    );
  }

  /** 3-D op(a)·op(b) on the host with the host gradients of `cpu-matmul-gradients.ts`. */
  private matmulWithHostGradient(a: Tensor, b: Tensor, tA: boolean, tB: boolean): Tensor {
    const as = a.shape as unknown as Shape3;
    const bs = b.shape as unknown as Shape3;
    const m = tA ? as[2] : as[1];
    const n = tB ? bs[1] : bs[2];
    return this.withHostGradient(
      [a, b],
      [Math.max(as[0], bs[0]), m, n],
      ([av, bv]) => batchedMatmul(av!, as, tA, bv!, bs, tB).values,
      (g, [av, bv]) => batchedMatmulGradients(g, [Math.max(as[0], bs[0]), m, n], av!, as, tA, bv!, bs, tB),
    );
  }

  /** The host convolution with the host gradients of `cpu-conv-gradients.ts` (tfjs's cpu Conv2DBackpropFilter is far too slow to train with). */
  private conv2dWithHostGradients(x: Tensor, w: Tensor, xShape: Shape4, wShape: Shape4, stride: number, pad: number, groups: number): Tensor {
    const depthwise = groups === xShape[1] && wShape[1] === 1;
    const OH = Math.floor((xShape[2] + 2 * pad - wShape[2]) / stride) + 1;
    const OW = Math.floor((xShape[3] + 2 * pad - wShape[3]) / stride) + 1;
    return this.withHostGradient(
      [x, w],
      [xShape[0], wShape[0], OH, OW],
      ([xv, wv]) =>
        depthwise
          ? K.depthwiseConv2d(xv!, xShape, wv!, [wShape[0], wShape[2], wShape[3]], undefined, stride, pad).values
          : K.conv2d(xv!, xShape, wv!, wShape, undefined, stride, pad, groups).values,
      (g, [xv, wv]) => {
        if (depthwise) {
          const d = depthwiseConv2dGradients(xv!, wv!, g, xShape, wShape, stride, pad);
          return [d.dx, d.dw];
        }
        return [conv2dBackpropInput(g, wv!, xShape, wShape, stride, pad, groups), conv2dBackpropFilter(xv!, g, xShape, wShape, stride, pad, groups)];
      },
    );
  }

  convTranspose2d(x: Tensor, w: Tensor, b: Tensor | undefined, stride: number): Tensor {
    if (x.rank !== 4 || w.rank !== 4) throw arg(`convTranspose2d: input ${fmt(x.shape)} and weight ${fmt(w.shape)} must be rank 4`);
    const [N, C, H, W] = x.shape as Shape4;
    const [Ci, O, kh, kw] = w.shape as Shape4;
    if (Ci !== C) throw arg(`convTranspose2d: weight ${fmt(w.shape)} does not fit input ${fmt(x.shape)} (expected [${C}, out, kh, kw])`);
    if (!Number.isInteger(stride) || stride < 1) throw arg(`convTranspose2d: stride ${stride}`);
    if (b !== undefined && b.size !== O) throw arg(`convTranspose2d: bias ${fmt(b.shape)} for ${O} output channels`);
    const OH = (H - 1) * stride + kh;
    const OW = (W - 1) * stride + kw;
    return this.run(() => {
      const tf = this.tf;
      const xs = this.toNHWC(x);
      let y: Tensor;
      if (kh === stride && kw === stride) {
        // non-overlapping taps: out[n, o, y·s+i, x·s+j] = Σ_c x[n, c, y, x] · w[c, o, i, j] — one matmul
        const xm = tf.reshape(xs, [N * H * W, C]);
        const wm = tf.reshape(w, [C, O * kh * kw]);
        const ym =
          this.backend === 'wasm'
            ? tf.matMul(xm, wm)
            : this.matmulNT(
                xm,
                this.cached(w, 'ct:(okk)c', () => this.tp(wm, [1, 0])),
              );
        const y6 = this.tp(tf.reshape(ym, [N, H, W, O, kh, kw]), [0, 3, 1, 4, 2, 5]);
        y = tf.reshape(y6, [N, O, OH, OW]);
        if (b !== undefined) y = this.binaryInScope('add', y, tf.reshape(b, [1, O, 1, 1]));
        return y;
      }
      const filter = this.cached(w, 'ct:hwoi', () => this.tp(w, [2, 3, 1, 0]));
      y = tf.conv2dTranspose(xs as Tensor4D, filter as Tensor4D, [N, OH, OW, O], stride, 'valid');
      if (b !== undefined) y = tf.add(y, tf.reshape(b, [O]));
      return this.toNCHW(y);
    });
  }

  /** Broadcasting binary op inside an existing tidy scope. */
  private binaryInScope(op: K.BinaryOp, a: Tensor, b: Tensor): Tensor {
    if (this.fast(a, b)) {
      const r = K.binary(op, this.host(a), a.shape, this.host(b), b.shape);
      return this.make(r.values, r.shape);
    }
    if (this.trainingOnCpu(a, b)) return this.binaryWithHostGradient(op, a, b);
    const tf = this.tf;
    return (op === 'add' ? tf.add : op === 'sub' ? tf.sub : op === 'mul' ? tf.mul : tf.div)(a, b);
  }

  avgPool2d(x: Tensor, k: number): Tensor {
    if (x.rank < 3) throw arg(`avgPool2d: input ${fmt(x.shape)} needs rank >= 3`);
    if (!Number.isInteger(k) || k < 1) throw arg(`avgPool2d: window ${k}`);
    const r = x.rank;
    const H = x.shape[r - 2]!;
    const W = x.shape[r - 1]!;
    const OH = Math.floor(H / k);
    const OW = Math.floor(W / k);
    if (OH < 1 || OW < 1) throw arg(`avgPool2d: window ${k} larger than input ${fmt(x.shape)}`);
    const lead = x.shape.slice(0, -2);
    return this.run(() => {
      const tf = this.tf;
      const P = x.size / (H * W);
      if (this.fast(x)) return this.make(K.avgPool(this.host(x), P, H, W, k), [...lead, OH, OW]);
      let x3 = tf.reshape(x, [P, H, W]);
      if (OH * k !== H || OW * k !== W) x3 = tf.slice(x3, [0, 0, 0], [P, OH * k, OW * k]);
      const s = tf.sum(tf.reshape(x3, [P, OH, k, OW, k]), [2, 4]);
      return tf.reshape(tf.div(s, tf.scalar(k * k)), [...lead, OH, OW]);
    });
  }

  resizeBilinear(x: Tensor, size: readonly [number, number], alignCorners: boolean): Tensor {
    if (x.rank < 2) throw arg(`resizeBilinear: input ${fmt(x.shape)} needs rank >= 2`);
    const [h, w] = size;
    if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw arg(`resizeBilinear: size [${h}, ${w}]`);
    const r = x.rank;
    const H = x.shape[r - 2]!;
    const W = x.shape[r - 1]!;
    const lead = x.shape.slice(0, -2);
    return this.run(() => {
      const tf = this.tf;
      const P = x.size / (H * W);
      if (this.fast(x)) {
        // PyTorch's own rules, float32 source coordinates included (bit-exact)
        return this.make(resizeBilinearPlanes(this.host(x), P, H, W, h, w, alignCorners), [...lead, h, w]);
      }
      if (this.recording()) {
        // tfjs's ResizeBilinearGrad ignores half-pixel centres (wrong gradient for
        // align_corners=false): resize as two matmuls with the interpolation matrices instead
        const aw = this.tf.tensor2d(bilinearMatrix(W, w, alignCorners), [w, W]);
        const ah = this.tf.tensor2d(bilinearMatrix(H, h, alignCorners), [h, H]);
        const rows = this.matmulNT(tf.reshape(x, [P * H, W]), aw); // [P·H, w]
        const cols = this.matmulNT(tf.reshape(this.tp(tf.reshape(rows, [P, H, w]), [0, 2, 1]), [P * w, H]), ah); // [P·w, h]
        return tf.reshape(this.tp(tf.reshape(cols, [P, w, h]), [0, 2, 1]), [...lead, h, w]);
      }
      // every plane is one image of a batch, with one channel: no transpose needed
      const x4 = tf.reshape(x, [P, H, W, 1]) as Tensor4D;
      // PyTorch align_corners=false ↔ TF half-pixel centres; align_corners=true ↔ alignCorners
      const y = tf.image.resizeBilinear(x4, [h, w], alignCorners, !alignCorners);
      return tf.reshape(y, [...lead, h, w]);
    });
  }
}
