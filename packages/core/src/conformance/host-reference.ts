/**
 * Naive float64 reference implementations of the operators (plain loops over row-major arrays,
 * PyTorch semantics), independent of every backend and of core's model code. The conformance
 * checks compare backends against these; backend test suites may use them too
 * (`import { hostReference } from '@sedseg/core/conformance'`).
 */

export interface Host {
  data: Float64Array;
  shape: number[];
}

/** mulberry32 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Uniform values in [lo, hi), rounded to float32 (so both sides see the same inputs). */
export function rand(r: () => number, shape: number[], lo = -1, hi = 1): Host {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = Math.fround(lo + (hi - lo) * r());
  return { data, shape };
}

export function f32(h: Host): Float32Array {
  return Float32Array.from(h.data);
}

function _strides(shape: readonly number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The multi-index of flat (row-major) position `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const loc = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    loc[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return loc;
}

function ravel(loc: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + loc[d]!;
  return i;
}

const ax = (a: number, r: number): number => (a < 0 ? a + r : a);

export function broadcastShape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(Math.max(da, db));
  }
  return out;
}

/** index into `shape` (broadcast to `out`) for output location `loc` */
function bidx(loc: number[], shape: number[], out: number[]): number {
  const off = out.length - shape.length;
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + (shape[d] === 1 ? 0 : loc[d + off]!);
  return i;
}

export function binary(a: Host, b: Host, f: (x: number, y: number) => number): Host {
  const shape = broadcastShape(a.shape, b.shape);
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) {
    const loc = unravel(i, shape);
    data[i] = f(a.data[bidx(loc, a.shape, shape)]!, b.data[bidx(loc, b.shape, shape)]!);
  }
  return { data, shape };
}

export function unary(a: Host, f: (x: number) => number): Host {
  return { data: a.data.map(f), shape: [...a.shape] };
}

export function broadcastTo(a: Host, shape: number[]): Host {
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = a.data[bidx(unravel(i, shape), a.shape, shape)]!;
  return { data, shape };
}

export function transpose(a: Host, perm: number[]): Host {
  const p = perm.map((d) => ax(d, a.shape.length));
  const shape = p.map((d) => a.shape[d]!);
  const data = new Float64Array(a.data.length);
  for (let i = 0; i < data.length; i++) {
    const loc = unravel(i, shape);
    const src = new Array<number>(shape.length);
    p.forEach((d, k) => {
      src[d] = loc[k]!;
    });
    data[i] = a.data[ravel(src, a.shape)]!;
  }
  return { data, shape };
}

export function concat(xs: Host[], axis: number): Host {
  const a = ax(axis, xs[0]!.shape.length);
  const shape = [...xs[0]!.shape];
  shape[a] = xs.reduce((s, x) => s + x.shape[a]!, 0);
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) {
    const loc = unravel(i, shape);
    let k = loc[a]!;
    let j = 0;
    while (k >= xs[j]!.shape[a]!) k -= xs[j++]!.shape[a]!;
    const src = [...loc];
    src[a] = k;
    data[i] = xs[j]!.data[ravel(src, xs[j]!.shape)]!;
  }
  return { data, shape };
}

export function gather(x: Host, idx: number[], axis: number): Host {
  const a = ax(axis, x.shape.length);
  const shape = [...x.shape];
  shape[a] = idx.length;
  const data = new Float64Array(size(shape));
  for (let i = 0; i < data.length; i++) {
    const loc = unravel(i, shape);
    loc[a] = idx[loc[a]!]!;
    data[i] = x.data[ravel(loc, x.shape)]!;
  }
  return { data, shape };
}

export function sum(x: Host, axes: number[], keepDims: boolean): Host {
  const r = x.shape.length;
  const red = new Set(axes.map((a) => ax(a, r)));
  const kshape = x.shape.map((d, i) => (red.has(i) ? 1 : d));
  const data = new Float64Array(size(kshape));
  for (let i = 0; i < x.data.length; i++) {
    const loc = unravel(i, x.shape).map((v, d) => (red.has(d) ? 0 : v));
    data[ravel(loc, kshape)]! += x.data[i]!;
  }
  return { data, shape: keepDims ? kshape : x.shape.filter((_, i) => !red.has(i)) };
}

export function softmax(x: Host, axis: number): Host {
  const a = ax(axis, x.shape.length);
  const mx = new Float64Array(x.data.length).fill(-Infinity);
  const out = new Float64Array(x.data.length);
  const key = (i: number): number => {
    const loc = unravel(i, x.shape);
    loc[a] = 0;
    return ravel(loc, x.shape);
  };
  for (let i = 0; i < x.data.length; i++) mx[key(i)] = Math.max(mx[key(i)]!, x.data[i]!);
  const s = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) s[key(i)]! += Math.exp(x.data[i]! - mx[key(i)]!);
  for (let i = 0; i < x.data.length; i++) out[i] = Math.exp(x.data[i]! - mx[key(i)]!) / s[key(i)]!;
  return { data: out, shape: [...x.shape] };
}

export function matmul(a: Host, b: Host, tA = false, tB = false): Host {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const [m, k] = tA ? [a.shape[ra - 1]!, a.shape[ra - 2]!] : [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const n = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...batch, m, n];
  const data = new Float64Array(size(shape));
  const aB = a.shape.slice(0, -2);
  const bB = b.shape.slice(0, -2);
  for (let bi = 0; bi < size(batch); bi++) {
    const loc = unravel(bi, batch);
    const ao = bidx(loc, aB, batch) * a.shape[ra - 1]! * a.shape[ra - 2]!;
    const bo = bidx(loc, bB, batch) * b.shape[rb - 1]! * b.shape[rb - 2]!;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const av = tA ? a.data[ao + q * m + i]! : a.data[ao + i * k + q]!;
          const bv = tB ? b.data[bo + j * k + q]! : b.data[bo + q * n + j]!;
          s += av * bv;
        }
        data[bi * m * n + i * n + j] = s;
      }
    }
  }
  return { data, shape };
}

export function linear(x: Host, w: Host, b?: Host): Host {
  const [O, I] = w.shape as [number, number];
  const rows = x.data.length / I;
  const data = new Float64Array(rows * O);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b.data[o]! : 0;
      for (let i = 0; i < I; i++) s += x.data[r * I + i]! * w.data[o * I + i]!;
      data[r * O + o] = s;
    }
  }
  return { data, shape: [...x.shape.slice(0, -1), O] };
}

export function layerNorm(x: Host, w: Host, b: Host, eps: number): Host {
  const C = x.shape[x.shape.length - 1]!;
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length / C; r++) {
    const row = x.data.subarray(r * C, (r + 1) * C);
    const mean = row.reduce((s, v) => s + v, 0) / C;
    const v = row.reduce((s, q) => s + (q - mean) ** 2, 0) / C;
    for (let c = 0; c < C; c++) out[r * C + c] = ((row[c]! - mean) / Math.sqrt(v + eps)) * w.data[c]! + b.data[c]!;
  }
  return { data: out, shape: [...x.shape] };
}

export function groupNorm(x: Host, G: number, w: Host, b: Host, eps: number): Host {
  const [N, C] = x.shape as [number, number];
  const S = x.data.length / (N * C);
  const cg = C / G;
  const out = new Float64Array(x.data.length);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const o = (n * C + g * cg) * S;
      const part = x.data.subarray(o, o + cg * S);
      const mean = part.reduce((s, v) => s + v, 0) / part.length;
      const v = part.reduce((s, q) => s + (q - mean) ** 2, 0) / part.length;
      for (let i = 0; i < part.length; i++) {
        const c = g * cg + Math.floor(i / S);
        out[o + i] = ((part[i]! - mean) / Math.sqrt(v + eps)) * w.data[c]! + b.data[c]!;
      }
    }
  }
  return { data: out, shape: [...x.shape] };
}

/** PyTorch F.conv2d: x NCHW, w OIHW [O, C/groups, kh, kw]. */
export function conv2d(x: Host, w: Host, b: Host | undefined, stride = 1, pad = 0, groups = 1): Host {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, kh, kw] = w.shape as [number, number, number, number];
  const OH = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const og = O / groups;
  const data = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / og);
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = b ? b.data[o]! : 0;
          for (let ci = 0; ci < Cg; ci++) {
            const c = g * Cg + ci;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= W) continue;
                s += x.data[((n * C + c) * H + iy) * W + ix]! * w.data[((o * Cg + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          data[((n * O + o) * OH + oy) * OW + ox] = s;
        }
    }
  return { data, shape: [N, O, OH, OW] };
}

/** PyTorch F.conv_transpose2d without padding: w IOHW [C, O, kh, kw]. */
export function convTranspose2d(x: Host, w: Host, b: Host | undefined, stride: number): Host {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, O, kh, kw] = w.shape as [number, number, number, number];
  const OH = (H - 1) * stride + kh;
  const OW = (W - 1) * stride + kw;
  const data = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let i = 0; i < OH * OW; i++) data[(n * O + o) * OH * OW + i] = b ? b.data[o]! : 0;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) {
          const v = x.data[((n * C + c) * H + y) * W + xx]!;
          for (let o = 0; o < O; o++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++)
                data[((n * O + o) * OH + y * stride + ky) * OW + xx * stride + kx]! += v * w.data[((c * O + o) * kh + ky) * kw + kx]!;
        }
  return { data, shape: [N, O, OH, OW] };
}

export function avgPool2d(x: Host, k: number): Host {
  const r = x.shape.length;
  const H = x.shape[r - 2]!;
  const W = x.shape[r - 1]!;
  const OH = Math.floor(H / k);
  const OW = Math.floor(W / k);
  const P = x.data.length / (H * W);
  const data = new Float64Array(P * OH * OW);
  for (let p = 0; p < P; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let s = 0;
        for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) s += x.data[(p * H + oy * k + ky) * W + ox * k + kx]!;
        data[(p * OH + oy) * OW + ox] = s / (k * k);
      }
  return { data, shape: [...x.shape.slice(0, -2), OH, OW] };
}

/** erf in float64: positive-term series for |x| ≤ 5.5, continued fraction for erfc beyond. */
export function erf64(x: number): number {
  const a = Math.abs(x);
  if (a > 5.5) {
    let f = 0;
    for (let k = 80; k >= 1; k--) f = k / 2 / (a + f);
    return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f));
  }
  let term = a;
  let s = a;
  for (let n = 1; n < 1000; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    s += term;
    if (term < 1e-17 * s) break;
  }
  return ((Math.sign(x) * 2) / Math.sqrt(Math.PI)) * Math.exp(-a * a) * s;
}

export const gelu64 = (x: number): number => 0.5 * x * (1 + erf64(x / Math.SQRT2));

/**
 * Largest error of `actual` against `expected`, measured as |a − e| / (|e| + floor) with
 * floor = rtolFloor · rms(expected) (outputs near zero of a sum are judged against the
 * typical magnitude).
 */
export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>, rtolFloor = 0.1): number {
  let ss = 0;
  for (let i = 0; i < expected.length; i++) ss += expected[i]! ** 2;
  const floor = rtolFloor * Math.sqrt(ss / Math.max(1, expected.length)) + 1e-30;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i]! - expected[i]!) / (Math.abs(expected[i]!) + floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/** PyTorch `F.interpolate(mode='bilinear', align_corners)` on the two last axes, no antialiasing. */
export function resizeBilinear(x: Host, outH: number, outW: number, alignCorners: boolean): Host {
  const r = x.shape.length;
  const H = x.shape[r - 2]!;
  const W = x.shape[r - 1]!;
  const taps = (inSize: number, outSize: number): { lo: number; hi: number; l: number }[] => {
    const out: { lo: number; hi: number; l: number }[] = [];
    for (let d = 0; d < outSize; d++) {
      let src = alignCorners ? (outSize > 1 ? (d * (inSize - 1)) / (outSize - 1) : 0) : ((d + 0.5) * inSize) / outSize - 0.5;
      if (src < 0) src = 0;
      const lo = Math.min(Math.floor(src), inSize - 1);
      out.push({ lo, hi: Math.min(lo + 1, inSize - 1), l: src - lo });
    }
    return out;
  };
  const ty = taps(H, outH);
  const tx = taps(W, outW);
  const P = x.data.length / (H * W);
  const data = new Float64Array(P * outH * outW);
  for (let p = 0; p < P; p++)
    for (let y = 0; y < outH; y++)
      for (let xx = 0; xx < outW; xx++) {
        const { lo: y0, hi: y1, l: ly } = ty[y]!;
        const { lo: x0, hi: x1, l: lx } = tx[xx]!;
        const at = (yy: number, xi: number): number => x.data[(p * H + yy) * W + xi]!;
        const top = (1 - lx) * at(y0, x0) + lx * at(y0, x1);
        const bottom = (1 - lx) * at(y1, x0) + lx * at(y1, x1);
        data[(p * outH + y) * outW + xx] = (1 - ly) * top + ly * bottom;
      }
  return { data, shape: [...x.shape.slice(0, -2), outH, outW] };
}

export const relu64 = (x: number): number => Math.max(0, x);
export const elu64 = (x: number): number => (x > 0 ? x : Math.expm1(x));
