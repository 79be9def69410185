/**
 * The pure-JS backend's operators against hand-computed values (the tricky semantics: broadcasting,
 * negative axes, grouped and padded convolution, transposed convolution, bilinear resize with and
 * without align_corners, exact GELU) and against naive reference loops on random data.
 */
import { describe, expect, it } from 'vitest';
import { completeOps, DEFAULTED_OPS, REQUIRED_OPS } from '@sedseg/core';
import { erf, erfSeries } from '../src/erf.js';
import { JsOps } from '../src/js-ops.js';
import type { JsTensor } from '../src/js-tensor.js';

const ops = new JsOps();
const t = (values: number[], shape: number[]): JsTensor => ops.constant(Float32Array.from(values), shape);
const values = (x: JsTensor): number[] => Array.from(x.data);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i]! - expected[i]!) > tol) expect.fail(`at ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
  }
}

/** Deterministic pseudo-random values in [-1, 1). */
function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

describe('js backend: the contract', () => {
  it('implements exactly the required members; core fills every optional one', () => {
    const members = new Set([...Object.keys(ops), ...Object.getOwnPropertyNames(JsOps.prototype)]);
    members.delete('constructor');
    expect([...members].sort()).toEqual(['name', ...REQUIRED_OPS].sort());
    const full = completeOps(ops);
    for (const m of DEFAULTED_OPS) expect(typeof full[m], m).toBe('function');
    expect(full.weight).toBeUndefined();
    expect(full.runStage).toBeUndefined();
    expect(full.preferredClassChunk).toBeUndefined();
    // a default built from the primitives: layerNorm over the last axis
    const y = full.layerNorm(t([1, 2, 3, 4], [1, 4]), t([1, 1, 1, 1], [4]), t([0, 0, 0, 1], [4]), 0);
    const sd = Math.sqrt(1.25);
    expectClose(y.data, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd + 1]);
  });

  it('constant copies its data, read returns a copy, reshape checks sizes', async () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const x = ops.constant(data, [2, 3]);
    data[0] = 99;
    const host = await ops.read(x);
    host[1] = 99;
    expect(values(x)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(ops.shape(ops.reshape(x, [3, 1, 2]))).toEqual([3, 1, 2]);
    expect(() => ops.reshape(x, [4, 2])).toThrow(/cannot become/);
    expect(() => ops.constant(new Float32Array(5), [2, 3])).toThrow(/do not fill/);
  });
});

describe('js backend: elementwise', () => {
  it('broadcasts like NumPy', () => {
    // [2, 1, 3] + [4, 1] → [2, 4, 3]
    const a = t([0, 1, 2, 10, 11, 12], [2, 1, 3]);
    const b = t([100, 200, 300, 400], [4, 1]);
    const y = ops.add(a, b);
    expect(ops.shape(y)).toEqual([2, 4, 3]);
    const expected: number[] = [];
    for (const ai of [
      [0, 1, 2],
      [10, 11, 12],
    ])
      for (const bj of [100, 200, 300, 400]) for (const v of ai) expected.push(v + bj);
    expect(values(y)).toEqual(expected);
    expect(values(ops.mul(t([1, 2, 3, 4], [2, 2]), t([10], [1])))).toEqual([10, 20, 30, 40]);
    expect(values(ops.div(t([2], [1, 1]), t([1, 2, 4], [3])))).toEqual([2, 1, 0.5]);
    // [3, 1] · [1, 2] → [3, 2]; a scalar shape [] broadcasts too
    expect(values(ops.mul(t([1, 2, 3], [3, 1]), t([1, -1], [1, 2])))).toEqual([1, -1, 2, -2, 3, -3]);
    expect(ops.shape(ops.add(t([5], []), t([1, 2], [2, 1, 1])))).toEqual([2, 1, 1]);
    expect(() => ops.add(t([1, 2], [2]), t([1, 2, 3], [3]))).toThrow(/do not broadcast/);
  });

  it('broadcasts middle axes (the strided walk) like a naive loop', () => {
    const a = ops.constant(random(2 * 3 * 4 * 5, 1), [2, 3, 4, 5]);
    const b = ops.constant(random(3 * 1 * 5, 2), [3, 1, 5]);
    const y = ops.div(a, ops.add(b, t([3], [1])));
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 4; k++)
          for (let l = 0; l < 5; l++) {
            const o = ((i * 3 + j) * 4 + k) * 5 + l;
            expect(y.data[o]).toBeCloseTo(a.data[o]! / (b.data[j * 5 + l]! + 3), 6);
          }
  });

  it('erf is accurate to 1e-9 (values from a double-precision erf)', () => {
    const known: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [2.5, 0.999593047982555],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [-0.7, -0.6778011938374184],
      [4.2, 0.9999999971445058],
    ];
    for (const [x, e] of known) {
      expect(Math.abs(erf(x) - e), `erf(${x})`).toBeLessThan(1e-9);
      expect(Math.abs(erfSeries(Math.abs(x)) * Math.sign(x) - e), `series(${x})`).toBeLessThan(1e-13);
    }
    expect(erf(0)).toBe(0);
    expect(erf(7)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
    // between table points, against the series
    for (let x = -5.9; x < 5.9; x += 0.0137) expect(Math.abs(erf(x) - Math.sign(x) * erfSeries(Math.abs(x)))).toBeLessThan(1e-10);
  });

  it('gelu is the exact (erf) form, relu and elu (α = 1)', () => {
    const x = [-6, -3, -1, -0.5, 0, 0.5, 1, 2, 3.7];
    const exact = [
      -5.919525869479969e-9, -0.00404969409489031, -0.15865525393145707, -0.15426876936299344, 0, 0.34573123063700656, 0.8413447460685429, 1.9544997361036416,
      3.699601140986134,
    ];
    expectClose(ops.gelu(t(x, [9])).data, exact, 1e-7);
    // the tanh approximation differs by ~1e-4 at -3 … the exact form must not
    expect(Math.abs(ops.gelu(t([-3], [1])).data[0]! - -0.00404969409489031)).toBeLessThan(1e-8);
    expect(values(ops.relu(t([-2, 0, 3], [3])))).toEqual([0, 0, 3]);
    expectClose(ops.elu(t([-1, 0, 2], [3])).data, [Math.exp(-1) - 1, 0, 2]);
    expectClose(ops.sqrt(t([4, 2], [2])).data, [2, Math.SQRT2]);
  });
});

describe('js backend: shape operators and reductions', () => {
  const x = t([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 3, 2]);

  it('transpose, with negative axes', () => {
    const y = ops.transpose(x, [-1, 0, 1]); // [2, 2, 3]
    expect(ops.shape(y)).toEqual([2, 2, 3]);
    expect(values(y)).toEqual([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]);
    expect(values(ops.transpose(x, [0, 2, 1]))).toEqual([0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11]);
    expect(() => ops.transpose(x, [0, 0, 1])).toThrow(/permutation/);
  });

  it('concat along a negative axis', () => {
    const y = ops.concat([x, t([-1, -2, -3, -4], [2, 1, 2])], -2);
    expect(ops.shape(y)).toEqual([2, 4, 2]);
    expect(values(y)).toEqual([0, 1, 2, 3, 4, 5, -1, -2, 6, 7, 8, 9, 10, 11, -3, -4]);
    expect(values(ops.concat([t([1], [1, 1]), t([2, 3], [1, 2])], 1))).toEqual([1, 2, 3]);
  });

  it('gather with repeated indices, on a negative axis', () => {
    const y = ops.gather(x, Int32Array.from([2, 0, 2, 2]), 1); // [2, 4, 2]
    expect(values(y)).toEqual([4, 5, 0, 1, 4, 5, 4, 5, 10, 11, 6, 7, 10, 11, 10, 11]);
    expect(values(ops.gather(x, Int32Array.from([1, 1, 0]), -1))).toEqual([1, 1, 0, 3, 3, 2, 5, 5, 4, 7, 7, 6, 9, 9, 8, 11, 11, 10]);
    expect(ops.shape(ops.gather(x, new Int32Array(0), 0))).toEqual([0, 3, 2]);
    expect(() => ops.gather(x, Int32Array.from([3]), 1)).toThrow(/out of range/);
  });

  it('sum over axes, with and without keepDims', () => {
    expect(values(ops.sum(x, [-1], false))).toEqual([1, 5, 9, 13, 17, 21]);
    const kept = ops.sum(x, [0, 2], true);
    expect(ops.shape(kept)).toEqual([1, 3, 1]);
    expect(values(kept)).toEqual([0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11]);
    expect(values(ops.sum(x, [1], true))).toEqual([6, 9, 24, 27]);
    const all = ops.sum(x, [0, 1, 2], false);
    expect(ops.shape(all)).toEqual([]);
    expect(values(all)).toEqual([66]);
    expect(values(ops.sum(x, [], false))).toEqual(values(x));
  });

  it('softmax is stable and works on any axis', () => {
    expectClose(ops.softmax(t([1000, 1001, 1002], [1, 3]), -1).data, [0.09003057317038046, 0.24472847105479764, 0.6652409557748219]);
    const y = ops.softmax(t([0, 0, Math.log(3), 0], [2, 2]), 0); // columns
    expectClose(y.data, [0.25, 0.5, 0.75, 0.5]);
    expect(values(ops.softmax(t([-Infinity, 0], [2]), 0))).toEqual([0, 1]);
  });
});

describe('js backend: matmul', () => {
  /** Naive batched matmul with broadcasting, on [..., M, K] × [..., K, N] given explicitly. */
  function naive(a: Float32Array, aBatch: number[], m: number, k: number, b: Float32Array, bBatch: number[], n: number, ta: boolean, tb: boolean): number[] {
    const rank = Math.max(aBatch.length, bBatch.length);
    const pa = [...new Array<number>(rank - aBatch.length).fill(1), ...aBatch];
    const pb = [...new Array<number>(rank - bBatch.length).fill(1), ...bBatch];
    const batch = pa.map((d, i) => Math.max(d, pb[i]!));
    const count = batch.reduce((p, d) => p * d, 1);
    const out: number[] = [];
    for (let tix = 0; tix < count; tix++) {
      let rem = tix;
      let ia = 0;
      let ib = 0;
      let sa = 1;
      let sb = 1;
      for (let d = rank - 1; d >= 0; d--) {
        const c = rem % batch[d]!;
        rem = Math.floor(rem / batch[d]!);
        ia += (pa[d] === 1 ? 0 : c) * sa;
        ib += (pb[d] === 1 ? 0 : c) * sb;
        sa *= pa[d]!;
        sb *= pb[d]!;
      }
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[ia * m * k + (ta ? p * m + i : i * k + p)]! * b[ib * k * n + (tb ? j * k + p : p * n + j)]!;
          out.push(s);
        }
    }
    return out;
  }

  it('2-D by hand', () => {
    const a = t([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = t([7, 8, 9, 10, 11, 12], [3, 2]);
    expect(values(ops.matmul(a, b))).toEqual([58, 64, 139, 154]);
    expect(values(ops.matmul(a, a, { transposeB: true }))).toEqual([14, 32, 32, 77]);
    expect(values(ops.matmul(a, a, { transposeA: true }))).toEqual([17, 22, 27, 22, 29, 36, 27, 36, 45]);
    expect(() => ops.matmul(a, a)).toThrow(/inner sizes/);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('batched with broadcast leading axes (transposeA %s, transposeB %s)', (ta, tb) => {
    const [m, k, n] = [3, 4, 5];
    const aBatch = [2, 1, 3];
    const bBatch = [4, 1];
    const a = ops.constant(random(2 * 3 * m * k, 3), [...aBatch, ...(ta ? [k, m] : [m, k])]);
    const b = ops.constant(random(4 * k * n, 4), [...bBatch, ...(tb ? [n, k] : [k, n])]);
    const y = ops.matmul(a, b, { transposeA: ta, transposeB: tb });
    expect(ops.shape(y)).toEqual([2, 4, 3, m, n]);
    expectClose(y.data, naive(a.data, aBatch, m, k, b.data, bBatch, n, ta, tb), 1e-5);
  });
});

describe('js backend: images', () => {
  it('conv2d: depthwise groups with bias, by hand', () => {
    const x = t([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
    const y = ops.conv2d(x, t([2, -1], [2, 1, 1, 1]), t([0.5, 1], [2]), { groups: 2 });
    expect(values(y)).toEqual([2.5, 4.5, 6.5, 8.5, -9, -19, -29, -39]);
  });

  it('conv2d: two channels per group, by hand', () => {
    const y = ops.conv2d(t([1, 2, 3, 4], [1, 4, 1, 1]), t([1, 10, 100, 1000], [2, 2, 1, 1]), undefined, { groups: 2 });
    expect(values(y)).toEqual([21, 4300]);
  });

  it('conv2d: padding and stride, by hand', () => {
    const x = t([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const y = ops.conv2d(x, t([1, 1, 1, 1], [1, 1, 2, 2]), undefined, { stride: 2, padding: 1 });
    expect(ops.shape(y)).toEqual([1, 1, 2, 2]);
    expect(values(y)).toEqual([1, 5, 11, 28]);
    // 3×3, padding 1: the centre sees everything, a corner four values
    const z = ops.conv2d(x, t(new Array<number>(9).fill(1), [1, 1, 3, 3]), undefined, { padding: 1 });
    expect(values(z)).toEqual([12, 21, 16, 27, 45, 33, 24, 39, 28]);
  });

  it('conv2d: against a naive loop (groups, stride, padding, batch)', () => {
    const [n, c, h, w, o, k, groups, stride, pad] = [2, 6, 7, 9, 4, 3, 2, 2, 1];
    const x = ops.constant(random(n * c * h * w, 5), [n, c, h, w]);
    const wt = ops.constant(random((o * c * k * k) / groups, 6), [o, c / groups, k, k]);
    const b = ops.constant(random(o, 7), [o]);
    const y = ops.conv2d(x, wt, b, { stride, padding: pad, groups });
    const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
    const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
    expect(ops.shape(y)).toEqual([n, o, oh, ow]);
    const expected: number[] = [];
    const cg = c / groups;
    for (let bn = 0; bn < n; bn++)
      for (let oc = 0; oc < o; oc++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let s = b.data[oc]!;
            const g = Math.floor(oc / (o / groups));
            for (let ic = 0; ic < cg; ic++)
              for (let ky = 0; ky < k; ky++)
                for (let kx = 0; kx < k; kx++) {
                  const iy = oy * stride - pad + ky;
                  const ix = ox * stride - pad + kx;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  s += x.data[((bn * c + g * cg + ic) * h + iy) * w + ix]! * wt.data[((oc * cg + ic) * k + ky) * k + kx]!;
                }
            expected.push(s);
          }
    expectClose(y.data, expected, 1e-5);
  });

  it('convTranspose2d: weight [in, out, kh, kw], stride, overlaps and bias, by hand', () => {
    const y = ops.convTranspose2d(t([1, 2, 3, 4], [1, 1, 2, 2]), t([1, 10, 100, 1000], [1, 1, 2, 2]), undefined, 2);
    expect(ops.shape(y)).toEqual([1, 1, 4, 4]);
    expect(values(y)).toEqual([1, 10, 2, 20, 100, 1000, 200, 2000, 3, 30, 4, 40, 300, 3000, 400, 4000]);
    // stride 1: neighbouring taps overlap and add
    expect(values(ops.convTranspose2d(t([1, 2], [1, 1, 1, 2]), t([1, 1], [1, 1, 1, 2]), undefined, 1))).toEqual([1, 3, 2]);
    // two input channels into three output channels, with a bias
    const z = ops.convTranspose2d(t([1, 2], [1, 2, 1, 1]), t([1, 2, 3, 4, 5, 6], [2, 3, 1, 1]), t([0, 0, 1], [3]), 1);
    expect(ops.shape(z)).toEqual([1, 3, 1, 1]);
    expect(values(z)).toEqual([9, 12, 16]);
  });

  it('resizeBilinear: align_corners true, by hand', () => {
    const y = ops.resizeBilinear(t([0, 1, 2, 3], [1, 1, 2, 2]), [3, 3], true);
    expectClose(y.data, [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
    // one output pixel: the first input pixel
    expect(values(ops.resizeBilinear(t([5, 6, 7, 8], [2, 2]), [1, 1], true))).toEqual([5]);
    // 3 → 5 columns: sources 0, 0.5, 1, 1.5, 2
    expectClose(ops.resizeBilinear(t([0, 4, 8], [1, 3]), [1, 5], true).data, [0, 2, 4, 6, 8]);
  });

  it('resizeBilinear: align_corners false (half-pixel, clamped at 0), by hand', () => {
    // 2 → 4: sources −0.25 → 0, 0.25, 0.75, 1.25 → last pixel
    expectClose(ops.resizeBilinear(t([0, 1], [1, 1, 1, 2]), [1, 4], false).data, [0, 0.25, 0.75, 1]);
    // 4 → 2: sources 0.5 and 2.5
    expectClose(ops.resizeBilinear(t([0, 1, 2, 3], [1, 4]), [1, 2], false).data, [0.5, 2.5]);
    // 2 × 2 → 3 × 3: sources −1/6 → 0, 0.5, 7/6 → 1 on each axis
    expectClose(ops.resizeBilinear(t([0, 1, 2, 3], [1, 1, 2, 2]), [3, 3], false).data, [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
    // 3 → 2: sources 0.25 and 1.75; several planes stay apart
    const y = ops.resizeBilinear(t([0, 1, 2, 10, 20, 30], [2, 1, 3]), [1, 2], false);
    expect(ops.shape(y)).toEqual([2, 1, 2]);
    expectClose(y.data, [0.25, 1.75, 12.5, 27.5]);
  });
});
