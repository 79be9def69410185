/**
 * Host gradients on the pure-JS cpu backend: while tfjs records gradients, TfjsOps runs its host
 * kernels as `customGrad` ops with the host gradients of `cpu-conv-gradients.ts`,
 * `cpu-matmul-gradients.ts` and `cpu-norm-gradients.ts` (convolutions, matmul/linear, transpose,
 * LayerNorm, GroupNorm, GELU, gather), and resizes by interpolation-matrix matmuls.
 *
 * Each case: seeded random inputs and cotangent R, loss = Σ op(x)·R. The gradients from tfjs
 * (`tf.grads` / `tf.variableGrads`) through TfjsOps with the host kernels are checked
 * - against central finite differences of a float64 host reference forward
 *   (`@sedseg/core/conformance`'s hostReference) at a handful of elements of every input;
 * - against tfjs's own stock gradients (`cpuKernels: false`) on the whole tensors, where those
 *   are right;
 * - for the host path being taken: none of the stock kernels of the op (forward or backward, as
 *   `tf.profile` names them) runs, while the stock run does use them.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { hostReference as R } from '@sedseg/core/conformance';
import type { Tensor, Tensor4D, Variable } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTfjsOps, type TfjsOps } from '../src/index.js';

type Host = R.Host;

/** Relative tolerance against finite differences (float32 forward and gradient). */
const FD_RTOL = 1e-3;
/** Relative L2 tolerance against tfjs's stock gradient. */
const STOCK_RTOL = 1e-5;
/** Finite-difference step (float64 reference: truncation error ~h², rounding ~1e-16/h). */
const H = 1e-4;

const CONV = ['FusedConv2D', 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
const DEPTHWISE = ['FusedDepthwiseConv2D', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'];
const MATMUL = ['BatchMatMul', '_FusedMatMul'];
const TRANSPOSE = ['Transpose'];
const NORM = ['Mean', 'Rsqrt', 'Square'];
const GELU = ['Erf', 'ClipByValue'];
const GATHER = ['GatherV2', 'UnsortedSegmentSum'];

interface Case {
  name: string;
  /** input shapes, filled with seeded uniform values in [lo, hi) */
  shapes: number[][];
  range?: [number, number];
  /** the op through TfjsOps */
  run: (ops: TfjsOps, xs: Tensor[]) => Tensor;
  /** the same op in float64 */
  ref: (xs: Host[]) => Host;
  /** stock tfjs kernels of the op (must not run on the host path, must on the stock one) */
  stockKernels: string[];
}

let hostOps: TfjsOps;
let stockOps: TfjsOps;

beforeAll(async () => {
  hostOps = await createTfjsOps({ platform: 'cpu' });
  stockOps = await createTfjsOps({ platform: 'cpu', cpuKernels: false });
});

function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

function dot(a: Host, b: Host): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i]! * b.data[i]!;
  return s;
}

/** ∂(Σ ref(xs)·R)/∂xs[which][i] by central differences in float64. */
function finiteDifference(ref: (xs: Host[]) => Host, xs: Host[], cot: Host, which: number, i: number): number {
  const x = xs[which]!;
  const at = (v: number): number => {
    const data = Float64Array.from(x.data);
    data[i] = v;
    return dot(ref(xs.map((h, j) => (j === which ? { data, shape: h.shape } : h))), cot);
  };
  const v = x.data[i]!;
  return (at(v + H) - at(v - H)) / (2 * H);
}

/** A few distinct indices of [0, n): both ends and some random ones. */
function sample(r: () => number, n: number, k = 6): number[] {
  const s = new Set([0, n - 1]);
  for (let t = 0; t < 4 * k && s.size < Math.min(n, k); t++) s.add(Math.floor(r() * n));
  return [...s].sort((a, b) => a - b);
}

function rms(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s / Math.max(1, a.length));
}

function relL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let d = 0;
  let e = 0;
  for (let i = 0; i < expected.length; i++) {
    d += (actual[i]! - expected[i]!) ** 2;
    e += expected[i]! ** 2;
  }
  return Math.sqrt(d / Math.max(e, 1e-300));
}

/** Gradients of Σ run(xs)·R w.r.t. every input through `ops` (tf.grads), with the kernels that ran. */
async function tfjsGradients(
  ops: TfjsOps,
  run: (ops: TfjsOps, xs: Tensor[]) => Tensor,
  xs: Host[],
  cot: Host,
): Promise<{ grads: Float32Array[]; kernels: string[] }> {
  const tf = ops.tf;
  const before = tf.memory().numTensors;
  const ts = xs.map((h) => ops.constant(R.f32(h), h.shape));
  const r = ops.constant(R.f32(cot), cot.shape);
  const g = tf.grads((...a: Tensor[]) => {
    const y = run(ops, a);
    expect(y.shape).toEqual(cot.shape);
    return tf.sum(tf.mul(y, r));
  });
  const info = await tf.profile(() => g(ts));
  const out = info.result as Tensor[];
  const grads = await Promise.all(out.map((t) => ops.read(t)));
  tf.dispose([...ts, r, ...out]);
  expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
  return { grads, kernels: info.kernelNames };
}

/** The gradients against finite differences at sampled elements of every input. */
function expectMatchesFiniteDifferences(c: Pick<Case, 'name' | 'ref'>, xs: Host[], cot: Host, grads: Float32Array[], r: () => number): void {
  grads.forEach((g, j) => {
    expect(g.length).toBe(xs[j]!.data.length);
    const floor = 0.01 * rms(g);
    for (const i of sample(r, g.length)) {
      const fd = finiteDifference(c.ref, xs, cot, j, i);
      expect(Math.abs(g[i]! - fd), `${c.name}: input ${j}[${i}]: grad ${g[i]} vs fd ${fd}`).toBeLessThanOrEqual(FD_RTOL * (Math.abs(fd) + floor));
    }
  });
}

async function checkCase(c: Case): Promise<void> {
  const r = R.rng(seedOf(c.name));
  const [lo, hi] = c.range ?? [-1, 1];
  const xs = c.shapes.map((s) => R.rand(r, s, lo, hi));
  const cot = R.rand(r, c.ref(xs).shape);
  const host = await tfjsGradients(hostOps, c.run, xs, cot);
  for (const k of c.stockKernels) expect(host.kernels, `${c.name}: stock kernel ${k} ran`).not.toContain(k);
  expectMatchesFiniteDifferences(c, xs, cot, host.grads, r);
  const stock = await tfjsGradients(stockOps, c.run, xs, cot);
  expect(
    stock.kernels.some((k) => c.stockKernels.includes(k)),
    `${c.name}: stock run used none of ${c.stockKernels.join(', ')} (${stock.kernels.join(', ')})`,
  ).toBe(true);
  stock.grads.forEach((g, j) => {
    expect(relL2(host.grads[j]!, g), `${c.name}: input ${j} vs stock tfjs`).toBeLessThan(STOCK_RTOL);
  });
}

// ---- cases ----------------------------------------------------------------------------------

function conv(name: string, x: number[], w: number[], stride: number, pad: number, groups: number, bias = false): Case {
  const depthwise = groups === x[1] && w[1] === 1;
  return {
    name,
    shapes: bias ? [x, w, [w[0]!]] : [x, w],
    run: (ops, [xt, wt, bt]) => ops.conv2d(xt!, wt!, bt, { stride, padding: pad, groups }),
    ref: ([xh, wh, bh]) => R.conv2d(xh!, wh!, bh, stride, pad, groups),
    stockKernels: depthwise ? DEPTHWISE : CONV,
  };
}

const convCases: Case[] = [
  conv('dense 3×3 pad 1, batch 2, 5 outputs, bias', [2, 3, 7, 5], [5, 3, 3, 3], 1, 1, 1, true),
  conv('groups 2, 3×3 pad 1', [1, 4, 6, 7], [6, 2, 3, 3], 1, 1, 2),
  conv('stride 2 pad 1, odd sizes, batch 2', [2, 3, 9, 8], [4, 3, 3, 3], 2, 1, 1),
  conv('5×5 stride 2 pad 2, groups 3', [1, 6, 7, 6], [3, 2, 5, 5], 2, 2, 3),
  conv('1×1 output', [2, 3, 3, 3], [5, 3, 3, 3], 1, 0, 1),
  conv('1×1 kernel stride 2', [1, 5, 5, 6], [7, 5, 1, 1], 2, 0, 1),
  conv('several pixel bands (K 576, 143 pixels)', [1, 64, 13, 11], [5, 64, 3, 3], 1, 1, 1),
  conv('depthwise 7×7 pad 3', [1, 3, 9, 10], [3, 1, 7, 7], 1, 3, 3),
  conv('depthwise 9×9 pad 4, multiplier 2, batch 2', [2, 2, 11, 9], [4, 1, 9, 9], 1, 4, 2),
  conv('depthwise 9×9 pad 4 on a 3×3 input', [1, 2, 3, 3], [2, 1, 9, 9], 1, 4, 2),
  conv('depthwise 3×3 stride 2 pad 1, bias', [1, 3, 8, 7], [3, 1, 3, 3], 2, 1, 3, true),
  conv('depthwise multiplier 3, 1×1 output', [1, 2, 3, 3], [6, 1, 3, 3], 1, 0, 2),
];

function matmul(name: string, a: number[], b: number[], transposeA: boolean, transposeB: boolean): Case {
  return {
    name,
    shapes: [a, b],
    run: (ops, [at, bt]) => ops.matmul(at!, bt!, { transposeA, transposeB }),
    ref: ([ah, bh]) => R.matmul(ah!, bh!, transposeA, transposeB),
    stockKernels: MATMUL,
  };
}

function linear(name: string, x: number[], w: number[], bias: boolean): Case {
  return {
    name,
    shapes: bias ? [x, w, [w[0]!]] : [x, w],
    run: (ops, [xt, wt, bt]) => ops.linear(xt!, wt!, bt),
    ref: ([xh, wh, bh]) => R.linear(xh!, wh!, bh),
    stockKernels: MATMUL,
  };
}

const matmulCases: Case[] = [
  matmul('[3,5,7]·[3,7,6]', [3, 5, 7], [3, 7, 6], false, false),
  matmul('transposeA [2,7,5]ᵀ·[2,7,6]', [2, 7, 5], [2, 7, 6], true, false),
  matmul('transposeB [2,5,7]·[2,6,7]ᵀ', [2, 5, 7], [2, 6, 7], false, true),
  matmul('both transposed [2,7,5]ᵀ·[2,6,7]ᵀ', [2, 7, 5], [2, 6, 7], true, true),
  matmul('2-D [13,9]·[9,6]', [13, 9], [9, 6], false, false),
  matmul('A batch 1 broadcast [1,5,7]·[3,7,6]', [1, 5, 7], [3, 7, 6], false, false),
  matmul('B batch 1 broadcast, transposeB [3,5,9]·[1,6,9]ᵀ', [3, 5, 9], [1, 6, 9], false, true),
  matmul('A batch 1 broadcast, transposeA [1,9,5]ᵀ·[4,9,3]', [1, 9, 5], [4, 9, 3], true, false),
  matmul('4-D batch broadcast [2,1,5,7]·[1,3,7,6]', [2, 1, 5, 7], [1, 3, 7, 6], false, false),
  linear('linear [2,3,9]·[6,9]ᵀ + b', [2, 3, 9], [6, 9], true),
  linear('linear [13,10]·[7,10]ᵀ', [13, 10], [7, 10], false),
];

function transpose(name: string, x: number[], perm: number[]): Case {
  return {
    name,
    shapes: [x],
    run: (ops, [xt]) => ops.transpose(xt!, perm),
    ref: ([xh]) => R.transpose(xh!, perm),
    stockKernels: TRANSPOSE,
  };
}

function gather(name: string, x: number[], indices: number[], axis: number): Case {
  return {
    name,
    shapes: [x],
    run: (ops, [xt]) => ops.gather(xt!, Int32Array.from(indices), axis),
    ref: ([xh]) => R.gather(xh!, indices, axis),
    stockKernels: GATHER,
  };
}

const gatherCases: Case[] = [
  // the decoder's merge gathers input channels of a conv weight (merge-guidance.ts)
  gather('conv weight channels [5,9,3,3], axis 1, two ranges', [5, 9, 3, 3], [0, 1, 2, 6, 7, 8], 1),
  gather('repeated and reordered indices [4,6], axis 0', [4, 6], [3, 0, 3, 1], 0),
  gather('last axis [2,3,7]', [2, 3, 7], [6, 2], -1),
];

const transposeCases: Case[] = [
  transpose('NCHW → NHWC [2,3,4,5]', [2, 3, 4, 5], [0, 2, 3, 1]),
  transpose('[3,1,0,2] with a size-1 dim [2,1,5,3]', [2, 1, 5, 3], [3, 1, 0, 2]),
  transpose('[2,0,1] on [3,5,7]', [3, 5, 7], [2, 0, 1]),
];

function layerNorm(name: string, x: number[], eps: number, range?: [number, number]): Case {
  const C = x[x.length - 1]!;
  return {
    name,
    shapes: [x, [C], [C]],
    ...(range === undefined ? {} : { range }),
    run: (ops, [xt, wt, bt]) => ops.layerNorm(xt!, wt!, bt!, eps),
    ref: ([xh, wh, bh]) => R.layerNorm(xh!, wh!, bh!, eps),
    stockKernels: NORM,
  };
}

function groupNorm(name: string, x: number[], groups: number, eps: number): Case {
  const C = x[1]!;
  return {
    name,
    shapes: [x, [C], [C]],
    run: (ops, [xt, wt, bt]) => ops.groupNorm(xt!, groups, wt!, bt!, eps),
    ref: ([xh, wh, bh]) => R.groupNorm(xh!, groups, wh!, bh!, eps),
    stockKernels: NORM,
  };
}

const normCases: Case[] = [
  layerNorm('layerNorm [2,3,7], eps 1e-5', [2, 3, 7], 1e-5),
  layerNorm('layerNorm [5,13], eps 0.1', [5, 13], 0.1),
  layerNorm('layerNorm [4,6], eps 1e-6, values in [2, 3)', [4, 6], 1e-6, [2, 3]),
  groupNorm('groupNorm [2,6,3,4], 3 groups, eps 1e-5', [2, 6, 3, 4], 3, 1e-5),
  groupNorm('groupNorm [1,4,5,3], 1 group, eps 0.5', [1, 4, 5, 3], 1, 0.5),
  groupNorm('groupNorm [2,6,7], 6 groups, eps 1e-5', [2, 6, 7], 6, 1e-5),
  {
    name: 'gelu [3,37] on [-4, 4)',
    shapes: [[3, 37]],
    range: [-4, 4],
    run: (ops, [xt]) => ops.gelu(xt!),
    ref: ([xh]) => R.unary(xh!, R.gelu64),
    stockKernels: GELU,
  },
];

describe('host gradients on the cpu backend vs finite differences and stock tfjs', () => {
  it.each(convCases.map((c) => [c.name, c] as const))('conv2d: %s', async (_, c) => checkCase(c));
  it.each(matmulCases.map((c) => [c.name, c] as const))('matmul: %s', async (_, c) => checkCase(c));
  it.each(transposeCases.map((c) => [c.name, c] as const))('transpose: %s', async (_, c) => checkCase(c));
  it.each(gatherCases.map((c) => [c.name, c] as const))('gather: %s', async (_, c) => checkCase(c));
  it.each(normCases.map((c) => [c.name, c] as const))('%s', async (_, c) => checkCase(c));

  it('gradients reach the inputs when the model code disposes intermediates before backward', async () => {
    // relu → conv → (dispose) → depthwise 7×7 → (dispose) → gelu → (dispose) → NHWC → (dispose)
    // → layerNorm → (dispose) → linear; tf.variableGrads as in training
    const shapes = [[2, 3, 6, 5], [4, 3, 3, 3], [4, 1, 7, 7], [4], [4], [5, 4]];
    const run = (ops: TfjsOps, [x, w, dw, lw, lb, lin]: Tensor[]): Tensor => {
      const x1 = ops.relu(x!);
      const y1 = ops.conv2d(x1, w!, undefined, { padding: 1 });
      ops.dispose(x1);
      const y2 = ops.conv2d(y1, dw!, undefined, { padding: 3, groups: 4 });
      ops.dispose(y1);
      const y3 = ops.gelu(y2);
      ops.dispose(y2);
      const y4 = ops.transpose(y3, [0, 2, 3, 1]);
      ops.dispose(y3);
      const y5 = ops.layerNorm(y4, lw!, lb!, 1e-5);
      ops.dispose(y4);
      return ops.linear(y5, lin!);
    };
    const ref = ([x, w, dw, lw, lb, lin]: Host[]): Host => {
      const y1 = R.conv2d(R.unary(x!, R.relu64), w!, undefined, 1, 1, 1);
      const y2 = R.unary(R.conv2d(y1, dw!, undefined, 1, 3, 4), R.gelu64);
      return R.linear(R.layerNorm(R.transpose(y2, [0, 2, 3, 1]), lw!, lb!, 1e-5), lin!);
    };
    const r = R.rng(11);
    const xs = shapes.map((s) => R.rand(r, s));
    const cot = R.rand(r, ref(xs).shape);
    const variableGrads = async (ops: TfjsOps): Promise<{ grads: Float32Array[]; kernels: string[] }> => {
      const tf = ops.tf;
      const before = tf.memory().numTensors;
      const vars = xs.map((h) => tf.tidy(() => tf.variable(ops.constant(R.f32(h), h.shape))));
      const rt = ops.constant(R.f32(cot), cot.shape);
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(run(ops, vars), rt)), vars);
        return [value, ...vars.map((v) => grads[v.name]!)];
      });
      const out = info.result as Tensor[];
      const grads = await Promise.all(out.slice(1).map((t) => ops.read(t)));
      tf.dispose([...vars, rt, ...out] as (Tensor | Variable)[]);
      expect(tf.memory().numTensors, 'tensors left behind').toBe(before);
      return { grads, kernels: info.kernelNames };
    };
    const host = await variableGrads(hostOps);
    for (const k of [...CONV, ...DEPTHWISE, ...MATMUL, ...TRANSPOSE, ...NORM, ...GELU]) expect(host.kernels).not.toContain(k);
    expectMatchesFiniteDifferences({ name: 'disposed intermediates', ref }, xs, cot, host.grads, r);
    const stock = await variableGrads(stockOps);
    stock.grads.forEach((g, j) => {
      expect(relL2(host.grads[j]!, g), `input ${j} vs stock tfjs`).toBeLessThan(STOCK_RTOL);
    });
  });
});

describe('resizeBilinear gradient on the cpu backend (interpolation matrices)', () => {
  const cases: [string, number[], [number, number]][] = [
    ['up [2,3,5,5] → 8×11', [2, 3, 5, 5], [8, 11]],
    ['up [2,3,5,7] → 8×11', [2, 3, 5, 7], [8, 11]],
    ['down [1,2,9,9] → 4×3', [1, 2, 9, 9], [4, 3]],
    ['×2 [1,3,4,6] → 8×12', [1, 3, 4, 6], [8, 12]],
  ];
  it.each(cases.flatMap(([name, x, size]) => [false, true].map((ac) => [name, ac, x, size] as const)))(
    '%s, align_corners %s: ours matches finite differences, stock tfjs only with align_corners and square inputs',
    async (name, alignCorners, shape, size) => {
      const r = R.rng(seedOf(`${name}/${alignCorners}`));
      const xs = [R.rand(r, shape)];
      const ref = ([x]: Host[]): Host => R.resizeBilinear(x!, size[0], size[1], alignCorners);
      const cot = R.rand(r, ref(xs).shape);
      // linear in x: the full finite-difference gradient is exact up to rounding
      const fd = xs[0]!.data.map((_, i) => finiteDifference(ref, xs, cot, 0, i));
      // with and without host kernels: both resize by matmuls while recording
      for (const ops of [hostOps, stockOps]) {
        const ours = await tfjsGradients(ops, (o, [x]) => o.resizeBilinear(x!, size, alignCorners), xs, cot);
        for (const k of ['ResizeBilinear', 'ResizeBilinearGrad']) expect(ours.kernels).not.toContain(k);
        expect(relL2(ours.grads[0]!, fd)).toBeLessThan(STOCK_RTOL);
        expectMatchesFiniteDifferences({ name, ref }, xs, cot, ours.grads, r);
      }
      // tfjs's own kernel (PyTorch align_corners=false ↔ halfPixelCenters)
      const [P, H, W] = [shape[0]! * shape[1]!, shape[2]!, shape[3]!];
      const raw = tfjsGradients(
        hostOps,
        (o, [x]) =>
          o.tf.reshape(o.tf.image.resizeBilinear(o.tf.reshape(x!, [P, H, W, 1]) as Tensor4D, size, alignCorners, !alignCorners), [
            ...shape.slice(0, 2),
            ...size,
          ]),
        xs,
        cot,
      );
      if (H !== W) {
        // the cpu ResizeBilinearGrad kernel returns [batch, W, H, depth]
        await expect(raw).rejects.toThrow(/does not match the shape of the input/);
        return;
      }
      const stock = await raw;
      expect(stock.kernels).toContain('ResizeBilinearGrad');
      const err = relL2(stock.grads[0]!, fd);
      if (alignCorners) expect(err).toBeLessThan(STOCK_RTOL);
      else expect(err, 'stock tfjs ResizeBilinearGrad ignores half-pixel centres').toBeGreaterThan(0.05);
    },
  );
});
