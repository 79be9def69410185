import { resizeBilinearPlanes } from '@sedseg/core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTfjsOps, type TfjsOps } from '../src/index.js';
import { hostReference as R } from '@sedseg/core/conformance';

/** Max relative error (R.maxRelError: floored at 0.1 · rms of the expected values) within `tol`. */
function expectClose(actual: Float32Array, expected: R.Host, tol = 1e-5): void {
  expect(actual.length).toBe(expected.data.length);
  const err = R.maxRelError(actual, expected.data);
  if (process.env.SEDSEG_LOG_ERRORS) console.log(`max relative error ${err.toExponential(2)} (tolerance ${tol})`);
  expect(err, `max relative error ${err}`).toBeLessThanOrEqual(tol);
}

type Config = { label: string; platform: 'cpu' | 'wasm'; cpuKernels: boolean };

const CONFIGS: Config[] = [
  { label: 'cpu (host kernels)', platform: 'cpu', cpuKernels: true },
  { label: 'cpu (stock tfjs ops)', platform: 'cpu', cpuKernels: false },
  { label: 'wasm', platform: 'wasm', cpuKernels: true },
];

describe.each(CONFIGS)('TfjsOps on $label', (config) => {
  let ops: TfjsOps;
  const r = R.rng(12345);
  const t = (h: R.Host): Tensor => ops.constant(R.f32(h), h.shape);
  const rand = (shape: number[], lo = -1, hi = 1): R.Host => R.rand(r, shape, lo, hi);
  /** runs `fn` in a tidy scope, checks that nothing but its result survives, reads it */
  const got = async (fn: () => Tensor, expectedShape?: number[]): Promise<Float32Array> => {
    const before = ops.tf.memory().numTensors;
    const cachedBefore = ops.cachedTensorCount;
    const y = ops.tidy(fn);
    expect(ops.tf.memory().numTensors - (ops.cachedTensorCount - cachedBefore)).toBe(before + 1);
    if (expectedShape) expect([...ops.shape(y)]).toEqual(expectedShape);
    const v = await ops.read(y);
    ops.dispose(y);
    return v;
  };
  const check = async (fn: () => Tensor, expected: R.Host, tol = 1e-5): Promise<void> => {
    expectClose(await got(fn, expected.shape), expected, tol);
  };

  beforeAll(async () => {
    ops = await createTfjsOps({ platform: config.platform, cpuKernels: config.cpuKernels });
    expect(ops.platform).toBe(config.platform);
    expect(ops.backend).toBe(config.platform);
    expect(ops.name).toBe('tfjs');
  });

  it('constant/read copy host data and keep shapes', async () => {
    const src = new Float32Array([1, 2, 3, 4, 5, 6]);
    const x = ops.constant(src, [2, 3]);
    src[0] = 100;
    expect([...ops.shape(x)]).toEqual([2, 3]);
    const a = await ops.read(x);
    expect([...a]).toEqual([1, 2, 3, 4, 5, 6]);
    a[1] = 100;
    expect([...(await ops.read(x))]).toEqual([1, 2, 3, 4, 5, 6]);
    const s = ops.constant(new Float32Array([7]), []);
    expect([...ops.shape(s)]).toEqual([]);
    expect(() => ops.constant(new Float32Array(5), [2, 3])).toThrow(/do not fill/);
    ops.dispose([x, s]);
  });

  it('elementwise binary ops broadcast like NumPy', async () => {
    const pairs: [number[], number[]][] = [
      [
        [2, 3, 4, 5],
        [2, 3, 4, 5],
      ],
      [
        [2, 3, 4, 5],
        [1, 3, 1, 1],
      ],
      [
        [2, 3, 4, 5],
        [1, 3, 1, 5],
      ],
      [
        [3, 1],
        [2, 1, 4],
      ],
      [[4], [3, 4]],
      [
        [2, 1, 6],
        [2, 5, 1],
      ],
      [[2, 3], []],
      [[], [3, 2]],
    ];
    for (const [sa, sb] of pairs) {
      const a = rand(sa);
      const b = rand(sb, 0.5, 2);
      await check(
        () => ops.add(t(a), t(b)),
        R.binary(a, b, (p, q) => p + q),
      );
      await check(
        () => ops.mul(t(a), t(b)),
        R.binary(a, b, (p, q) => p * q),
      );
      await check(
        () => ops.div(t(a), t(b)),
        R.binary(a, b, (p, q) => p / q),
      );
    }
    expect(() => ops.add(t(rand([2, 3])), t(rand([4])))).toThrow(/do not broadcast/);
  });

  it('scalar and unary ops', async () => {
    const x = rand([3, 4, 5], -4, 4);
    await check(
      () => ops.mulScalar(t(x), 0.3),
      R.unary(x, (v) => v * Math.fround(0.3)),
    );
    await check(
      () => ops.addScalar(t(x), -1.7),
      R.unary(x, (v) => v + Math.fround(-1.7)),
    );
    const p = rand([3, 4, 5], 0, 9);
    await check(() => ops.sqrt(t(p)), R.unary(p, Math.sqrt));
    await check(
      () => ops.relu(t(x)),
      R.unary(x, (v) => Math.max(0, v)),
    );
    await check(
      () => ops.elu(t(x)),
      R.unary(x, (v) => (v > 0 ? v : Math.expm1(v))),
    );
    await check(() => ops.gelu(t(x)), R.unary(x, R.gelu64));
  });

  it('gelu is the exact erf form to float32 precision', async () => {
    // dense grid over the range that matters, plus the tails
    const n = 40001;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = Math.fround(-10 + (20 * i) / (n - 1));
    const y = await got(() => ops.gelu(ops.constant(Float32Array.from(xs), [n])));
    let erfErr = 0; // error of the implied 1 + erf(x/√2): |Δgelu| / (|x|/2)
    let relErr = 0; // relative error where 1 + erf does not cancel (x ≥ −1)
    for (let i = 0; i < n; i++) {
      const x = xs[i]!;
      const e = R.gelu64(x);
      const d = Math.abs(y[i]! - e);
      if (x !== 0) erfErr = Math.max(erfErr, d / (0.5 * Math.abs(x)));
      if (x >= -1 && x !== 0) relErr = Math.max(relErr, d / Math.abs(e));
    }
    console.log(`gelu on ${config.label}: max error of 1+erf ${erfErr.toExponential(2)}, max relative error (x ≥ −1) ${relErr.toExponential(2)}`);
    // float32 rounding of erf near ±1 alone is 6e-8; PyTorch's float32 GELU has the same cancellation
    expect(erfErr).toBeLessThan(config.platform === 'cpu' && config.cpuKernels ? 2.5e-7 : 6e-7);
    expect(relErr).toBeLessThan(config.platform === 'cpu' && config.cpuKernels ? 2e-7 : 1e-6);
  });

  it("reports tf.erf's accuracy (cpu: Abramowitz-Stegun 7.1.26, not used by gelu)", async () => {
    const n = 20001;
    const xs = new Float64Array(n);
    for (let i = 0; i < n; i++) xs[i] = Math.fround(-5 + (10 * i) / (n - 1));
    const y = await got(() => ops.tf.erf(ops.constant(Float32Array.from(xs), [n])));
    let abs = 0;
    let rel = 0;
    for (let i = 0; i < n; i++) {
      const e = R.erf64(xs[i]!);
      const d = Math.abs(y[i]! - e);
      abs = Math.max(abs, d);
      if (e !== 0) rel = Math.max(rel, d / Math.abs(e));
    }
    console.log(`tf.erf on ${config.label}: max abs error ${abs.toExponential(2)}, max relative error ${rel.toExponential(2)}`);
    expect(abs).toBeLessThan(config.platform === 'cpu' ? 2e-7 : 1e-7);
  });

  it('reshape, transpose (negative axes, size-1 dims), concat, broadcastTo', async () => {
    const x = rand([2, 3, 4, 5]);
    await check(() => ops.reshape(t(x), [6, -1]), { data: x.data, shape: [6, 20] });
    for (const perm of [
      [0, 2, 3, 1],
      [0, 3, 1, 2],
      [3, 2, 1, 0],
      [1, 0, 2, 3],
      [0, 1, 3, 2],
      [-1, 0, -3, 2],
      [0, 1, 2, 3],
    ]) {
      await check(() => ops.transpose(t(x), perm), R.transpose(x, perm));
    }
    const y = rand([1, 7, 1, 33, 40]);
    await check(() => ops.transpose(t(y), [0, 3, 4, 2, 1]), R.transpose(y, [0, 3, 4, 2, 1]));
    await check(() => ops.transpose(t(y), [4, 1, 0, 3, 2]), R.transpose(y, [4, 1, 0, 3, 2]));
    expect(() => ops.transpose(t(x), [0, 0, 1, 2])).toThrow(/permutation/);
    const a = rand([2, 3, 4]);
    const b = rand([2, 5, 4]);
    await check(() => ops.concat([t(a), t(b)], 1), R.concat([a, b], 1));
    await check(() => ops.concat([t(a), t(a), t(a)], -1), R.concat([a, a, a], -1));
    await check(() => ops.concat([t(a), t(a)], 0), R.concat([a, a], 0));
    const c = rand([3, 1]);
    await check(() => ops.broadcastTo(t(c), [2, 3, 4]), R.broadcastTo(c, [2, 3, 4]));
    const d = rand([1, 4, 1, 1]);
    await check(() => ops.broadcastTo(t(d), [2, 4, 3, 5]), R.broadcastTo(d, [2, 4, 3, 5]));
    expect(() => ops.broadcastTo(t(c), [2, 4, 4])).toThrow(/broadcast/);
  });

  it('gather along any axis with host indices', async () => {
    const x = rand([3, 5, 4, 36]);
    const idx = [4, 0, 0, 2];
    for (const axis of [0, 1, 2, 3, -1, -3]) {
      const n = x.shape[axis < 0 ? axis + 4 : axis]!;
      const ii = idx.map((i) => i % n);
      await check(() => ops.gather(t(x), Int32Array.from(ii), axis), R.gather(x, ii, axis));
    }
    await check(() => ops.gather(t(x), new Int32Array(0), 1), R.gather(x, [], 1));
    expect(() => ops.gather(t(x), Int32Array.from([5]), 1)).toThrow(/out of range/);
    expect(() => ops.gather(t(x), Int32Array.from([-1]), 1)).toThrow(/out of range/);
  });

  it('sum over axes (negative, unordered, keepDims)', async () => {
    const x = rand([2, 3, 4, 5]);
    for (const axes of [[0], [1], [3], [-1], [1, 2], [2, 0], [-1, 1], [0, 1, 2, 3]]) {
      for (const keep of [false, true]) await check(() => ops.sum(t(x), axes, keep), R.sum(x, axes, keep));
    }
    await check(() => ops.sum(t(x), [], false), x);
  });

  it('softmax along any axis', async () => {
    const x = rand([2, 3, 4, 5], -5, 5);
    for (const axis of [-1, 3, 1, 0, -3]) await check(() => ops.softmax(t(x), axis), R.softmax(x, axis));
  });

  it('matmul: batched, broadcast leading dims, transposes', async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[4, 5], [5, 3], false, false],
      [[2, 4, 5], [2, 5, 3], false, false],
      [[2, 1, 4, 5], [3, 5, 6], false, false],
      [[2, 3, 4, 5], [5, 6], false, false],
      [[2, 5, 4], [2, 5, 3], true, false],
      [[2, 4, 5], [2, 3, 5], false, true],
      [[3, 5, 4], [1, 3, 5], true, true],
      [[2, 9, 13], [13, 10], false, false],
      [[3, 1], [2, 1, 4], false, false],
    ];
    for (const [sa, sb, tA, tB] of cases) {
      const a = rand(sa);
      const b = rand(sb);
      await check(() => ops.matmul(t(a), t(b), { transposeA: tA, transposeB: tB }), R.matmul(a, b, tA, tB));
    }
    expect(() => ops.matmul(t(rand([2, 3])), t(rand([4, 5])))).toThrow(/inner/);
  });

  it('linear with [out, in] weights', async () => {
    const w = rand([7, 5]);
    const b = rand([7]);
    for (const xs of [[5], [3, 5], [2, 3, 5]]) {
      const x = rand(xs);
      await check(() => ops.linear(t(x), t(w), t(b)), R.linear(x, w, b));
      await check(() => ops.linear(t(x), t(w)), R.linear(x, w));
    }
    expect(() => ops.linear(t(rand([3, 4])), t(w))).toThrow(/does not fit/);
  });

  it('layerNorm over the last axis and groupNorm on NCHW', async () => {
    const x = rand([2, 3, 4, 16]);
    const w = rand([16]);
    const b = rand([16]);
    await check(() => ops.layerNorm(t(x), t(w), t(b), 1e-6), R.layerNorm(x, w, b, 1e-6));
    await check(() => ops.layerNorm(t(x), t(w), t(b), 1e-5), R.layerNorm(x, w, b, 1e-5));
    // a large offset: E[x²]−E[x]² would lose ~1e-3; (refined) mean-then-deviations keeps ~1e-6
    const xo = rand([2, 3, 4, 16], 99, 101);
    await check(() => ops.layerNorm(t(xo), t(w), t(b), 1e-6), R.layerNorm(xo, w, b, 1e-6));
    const y = rand([2, 8, 5, 6], -3, 3);
    const gw = rand([8]);
    const gb = rand([8]);
    for (const g of [1, 2, 4, 8]) await check(() => ops.groupNorm(t(y), g, t(gw), t(gb), 1e-5), R.groupNorm(y, g, gw, gb, 1e-5));
    const y3 = rand([2, 6, 7]);
    const w3 = rand([6]);
    const b3 = rand([6]);
    await check(() => ops.groupNorm(t(y3), 3, t(w3), t(b3), 1e-5), R.groupNorm(y3, 3, w3, b3, 1e-5));
    expect(() => ops.groupNorm(t(y), 3, t(gw), t(gb), 1e-5)).toThrow(/groups/);
  });

  it('conv2d: dense, strided, padded, depthwise, grouped', async () => {
    // tol: tfjs's own kernels accumulate in float32 (576 terms in the big case), the host ones in float64
    const cases: { x: number[]; w: number[]; stride?: number; pad?: number; groups?: number; bias?: boolean; tol?: number }[] = [
      { x: [2, 3, 7, 9], w: [4, 3, 3, 3], pad: 1, bias: true },
      { x: [2, 3, 7, 9], w: [4, 3, 3, 3], stride: 2, pad: 1 },
      { x: [1, 5, 6, 6], w: [6, 5, 1, 1], bias: true },
      { x: [1, 3, 16, 12], w: [8, 3, 4, 4], stride: 4, bias: true },
      { x: [1, 4, 8, 10], w: [6, 4, 2, 2], stride: 2, bias: true },
      { x: [2, 6, 11, 9], w: [6, 1, 7, 7], pad: 3, groups: 6, bias: true },
      { x: [1, 4, 12, 13], w: [4, 1, 9, 9], pad: 4, groups: 4, bias: true },
      { x: [1, 3, 9, 8], w: [6, 1, 3, 3], pad: 1, groups: 3, bias: true },
      { x: [1, 4, 9, 8], w: [4, 1, 3, 3], stride: 2, pad: 1, groups: 4 },
      { x: [1, 2, 3, 5], w: [2, 1, 7, 7], pad: 3, groups: 2, bias: true },
      { x: [1, 3, 10, 23], w: [3, 1, 9, 9], pad: 4, groups: 3 },
      { x: [1, 3, 10, 12], w: [3, 1, 3, 5], pad: 1, groups: 3 },
      { x: [2, 6, 7, 7], w: [4, 3, 3, 3], pad: 1, groups: 2, bias: true },
      { x: [1, 2, 5, 5], w: [3, 2, 5, 5], pad: 0 },
      // the host im2col works in bands of output pixels: several bands, uneven last one
      { x: [2, 64, 20, 19], w: [7, 64, 3, 3], pad: 1, bias: true, tol: 5e-5 },
      { x: [1, 16, 30, 30], w: [8, 4, 5, 5], pad: 2, groups: 4, stride: 2, bias: true },
    ];
    for (const c of cases) {
      const x = rand(c.x);
      const w = rand(c.w);
      const b = c.bias ? rand([c.w[0]!]) : undefined;
      const wt = t(w);
      const opts = { stride: c.stride, padding: c.pad, groups: c.groups };
      const expected = R.conv2d(x, w, b, c.stride ?? 1, c.pad ?? 0, c.groups ?? 1);
      const tol = config.platform === 'cpu' && config.cpuKernels ? 1e-5 : (c.tol ?? 1e-5);
      await check(() => ops.conv2d(t(x), wt, b && t(b), opts), expected, tol);
      // second call goes through the cached weight layout
      await check(() => ops.conv2d(t(x), wt, b && t(b), opts), expected, tol);
      ops.dispose(wt);
    }
    expect(() => ops.conv2d(t(rand([1, 3, 5, 5])), t(rand([4, 2, 3, 3])), undefined)).toThrow(/does not fit/);
  });

  it('convTranspose2d with IOHW weights (kernel = stride and general)', async () => {
    const cases: { x: number[]; w: number[]; stride: number; bias: boolean }[] = [
      { x: [2, 5, 3, 4], w: [5, 3, 2, 2], stride: 2, bias: true },
      { x: [1, 4, 6, 5], w: [4, 8, 2, 2], stride: 2, bias: false },
      { x: [1, 3, 4, 5], w: [3, 2, 3, 3], stride: 2, bias: true },
      { x: [2, 3, 4, 4], w: [3, 2, 2, 2], stride: 1, bias: true },
      { x: [1, 2, 3, 3], w: [2, 3, 1, 1], stride: 3, bias: true },
    ];
    for (const c of cases) {
      const x = rand(c.x);
      const w = rand(c.w);
      const b = c.bias ? rand([c.w[1]!]) : undefined;
      const wt = t(w);
      const expected = R.convTranspose2d(x, w, b, c.stride);
      await check(() => ops.convTranspose2d(t(x), wt, b && t(b), c.stride), expected);
      await check(() => ops.convTranspose2d(t(x), wt, b && t(b), c.stride), expected);
      ops.dispose(wt);
    }
  });

  it('avgPool2d (window = stride, remainder dropped)', async () => {
    for (const [shape, k] of [
      [[2, 3, 8, 6], 2],
      [[1, 2, 7, 8], 3],
      [[2, 4, 4], 2],
    ] as [number[], number][]) {
      const x = rand(shape);
      await check(() => ops.avgPool2d(t(x), k), R.avgPool2d(x, k));
    }
  });

  it('resizeBilinear matches PyTorch rules (align_corners false/true, up/down, non-square)', async () => {
    const cases: [number[], [number, number]][] = [
      [
        [2, 3, 6, 8],
        [12, 16],
      ],
      [
        [1, 2, 6, 8],
        [17, 5],
      ],
      [
        [1, 2, 24, 20],
        [7, 9],
      ],
      [
        [3, 5, 4],
        [8, 4],
      ],
      [
        [1, 1, 5, 7],
        [1, 1],
      ],
      [
        [1, 2, 7, 5],
        [7, 5],
      ],
      [
        [1, 1, 3, 3],
        [768, 768],
      ],
    ];
    for (const [shape, size] of cases) {
      const x = rand(shape, -3, 3);
      const H = shape[shape.length - 2]!;
      const W = shape[shape.length - 1]!;
      const planes = R.size(shape) / (H * W);
      for (const align of [false, true]) {
        const want = resizeBilinearPlanes(R.f32(x), planes, H, W, size[0], size[1], align);
        const y = await got(() => ops.resizeBilinear(t(x), size, align), [...shape.slice(0, -2), ...size]);
        // PyTorch computes source coordinates in float32, tfjs's kernels do not: λ differs by
        // ~1e-7·(input size), so errors are bounded relative to the value range
        const err = R.maxRelError(y, want, 1);
        expect(err).toBeLessThanOrEqual(config.platform === 'cpu' && config.cpuKernels ? 0 : 1e-5);
      }
    }
  });

  it('tidy frees intermediates; the weight cache is kept and freed by clearCache/dispose', async () => {
    const live = (): number => ops.tf.memory().numTensors - ops.cachedTensorCount;
    // re-laid-out weights per dense conv (the cpu host kernels read OIHW directly)
    const per = config.platform === 'cpu' && config.cpuKernels ? 0 : 1;
    const x = t(rand([1, 4, 8, 8]));
    const w = t(rand([5, 4, 3, 3]));
    ops.clearCache();
    expect(ops.cachedTensorCount).toBe(0);
    const base = live();
    const y = ops.tidy(() => {
      const w2 = t(rand([3, 5, 3, 3])); // disposed when the scope ends
      const a = ops.conv2d(x, w, undefined, { padding: 1 });
      const b = ops.conv2d(a, w2, t(rand([3])));
      return ops.relu(ops.addScalar(ops.mul(b, t(rand([1, 3, 1, 1]))), 1));
    });
    expect(live()).toBe(base + 1);
    expect(ops.cachedTensorCount).toBe(2 * per); // w and w2
    ops.dispose(y);
    expect(live()).toBe(base);
    // ops outside tidy leave only their result
    const w3 = t(rand([2, 4, 1, 1]));
    const z = ops.conv2d(x, w3, undefined);
    expect(live()).toBe(base + 2);
    // a cache insert sweeps entries of disposed weights (w2)
    expect(ops.cachedTensorCount).toBe(2 * per);
    ops.dispose(w);
    expect(ops.cachedTensorCount).toBe(per);
    // conv-transpose weights are cached on every configuration but wasm (used as stored there)
    const ct = t(rand([4, 3, 2, 2]));
    const u = ops.convTranspose2d(x, ct, undefined, 2);
    expect(ops.cachedTensorCount).toBe(per + (config.platform === 'wasm' ? 0 : 1));
    ops.clearCache();
    expect(ops.cachedTensorCount).toBe(0);
    expect(ops.tf.memory().numTensors).toBe(base + 3);
    ops.dispose([x, w3, z, ct, u]);
    expect(ops.tf.memory().numTensors).toBe(base - 2);
  });

  it('errors: bad axes, shapes and sizes', () => {
    const x = t(rand([2, 3]));
    expect(() => ops.softmax(x, 2)).toThrow(RangeError);
    expect(() => ops.sum(x, [-3], false)).toThrow(RangeError);
    expect(() => ops.concat([], 0)).toThrow(/no tensors/);
    expect(() => ops.resizeBilinear(x, [0, 2], false)).toThrow(/size/);
    ops.dispose(x);
  });
});
