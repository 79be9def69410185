/**
 * Host kernels on float32 typed arrays, used by `TfjsOps` on the tfjs `cpu` backend (pure JS)
 * for inference. The stock cpu kernels compute an index→coordinates→index mapping with array
 * allocations for every element of a transpose, a gather, a tile or a broadcasting binary op
 * (about 100× slower than a plain loop), and run a depthwise convolution only on NHWC. These
 * replacements are plain strided loops over the row-major data. Where a value is rounded, it is
 * computed in float64 and rounded once to float32 (for + − × ÷ of float32 operands that is
 * exactly the IEEE float32 result).
 *
 * Nothing here knows tfjs: inputs are typed arrays with shapes, outputs new Float32Arrays.
 */

export type Data = Float32Array;

/** Product of the entries of `shape` from `start` to `end` (exclusive). */
export function sizeOf(shape: readonly number[], start = 0, end = shape.length): number {
  let n = 1;
  for (let i = start; i < end; i++) n *= shape[i]!;
  return n;
}

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy broadcast of two shapes, or `null` when they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else return null;
  }
  return out;
}

/**
 * Reads of up to three operands over an output shape, collapsed to as few dimensions as
 * possible. `strides[k][d]` is operand k's element stride along collapsed output dim d (0 where
 * it is broadcast). The output itself is contiguous.
 */
interface Walk {
  dims: number[];
  strides: number[][];
}

function planWalk(outShape: readonly number[], operandShapes: readonly (readonly number[])[]): Walk {
  const r = outShape.length;
  const full = operandShapes.map((shape) => {
    const st = new Array<number>(r).fill(0);
    let acc = 1;
    for (let i = shape.length - 1, d = r - 1; i >= 0; i--, d--) {
      const n = shape[i]!;
      st[d] = n === 1 ? 0 : acc;
      acc *= n;
    }
    return st;
  });
  const dims: number[] = [];
  const strides: number[][] = operandShapes.map(() => []);
  for (let d = 0; d < r; d++) {
    const n = outShape[d]!;
    if (n === 1) continue;
    const last = dims.length - 1;
    // Merge dim d into the previous kept dim when every operand walks both as one run.
    if (last >= 0 && full.every((st, k) => strides[k]![last] === st[d]! * n)) {
      dims[last] = dims[last]! * n;
      for (let k = 0; k < full.length; k++) strides[k]![last] = full[k]![d]!;
      continue;
    }
    dims.push(n);
    for (let k = 0; k < full.length; k++) strides[k]!.push(full[k]![d]!);
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of strides) s.push(0);
  }
  return { dims, strides };
}

/**
 * Calls `inner(outOffset, offsets)` for every innermost run of the walk, with the operands'
 * start offsets; the run has `walk.dims[last]` elements.
 */
function forEachRun(walk: Walk, inner: (o: number, offs: number[]) => void): void {
  const { dims, strides } = walk;
  const m = dims.length;
  const L = dims[m - 1]!;
  const outer = sizeOf(dims, 0, m - 1);
  const k = strides.length;
  const idx = new Array<number>(m - 1).fill(0);
  const offs = new Array<number>(k).fill(0);
  for (let o = 0, run = 0; run < outer; run++, o += L) {
    inner(o, offs);
    // odometer over the outer dims
    for (let d = m - 2; d >= 0; d--) {
      const n = dims[d]!;
      if (++idx[d]! < n) {
        for (let j = 0; j < k; j++) offs[j]! += strides[j]![d]!;
        break;
      }
      idx[d] = 0;
      for (let j = 0; j < k; j++) offs[j]! -= strides[j]![d]! * (n - 1);
    }
  }
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** Elementwise `a op b` with NumPy broadcasting. */
export function binary(
  op: BinaryOp,
  a: Data,
  aShape: readonly number[],
  b: Data,
  bShape: readonly number[],
): {
  values: Data;
  shape: number[];
} {
  const shape = broadcastShapes(aShape, bShape);
  if (shape === null) throw new RangeError(`shapes [${aShape.join(',')}] and [${bShape.join(',')}] do not broadcast`);
  const out = new Float32Array(sizeOf(shape));
  const walk = planWalk(shape, [aShape, bShape]);
  const ia = walk.strides[0]![walk.dims.length - 1]!;
  const ib = walk.strides[1]![walk.dims.length - 1]!;
  const L = walk.dims[walk.dims.length - 1]!;
  forEachRun(walk, (o, offs) => {
    binaryRun(op, out, o, L, a, offs[0]!, ia, b, offs[1]!, ib);
  });
  return { values: out, shape };
}

function binaryRun(op: BinaryOp, out: Data, o: number, L: number, a: Data, ao: number, ia: number, b: Data, bo: number, ib: number): void {
  const end = o + L;
  if (ia !== 0 && ib !== 0) {
    const da = ao - o;
    const db = bo - o;
    switch (op) {
      case 'add':
        for (let i = o; i < end; i++) out[i] = a[i + da]! + b[i + db]!;
        return;
      case 'sub':
        for (let i = o; i < end; i++) out[i] = a[i + da]! - b[i + db]!;
        return;
      case 'mul':
        for (let i = o; i < end; i++) out[i] = a[i + da]! * b[i + db]!;
        return;
      case 'div':
        for (let i = o; i < end; i++) out[i] = a[i + da]! / b[i + db]!;
        return;
    }
  }
  if (ia !== 0) {
    const da = ao - o;
    const bv = b[bo]!;
    switch (op) {
      case 'add':
        for (let i = o; i < end; i++) out[i] = a[i + da]! + bv;
        return;
      case 'sub':
        for (let i = o; i < end; i++) out[i] = a[i + da]! - bv;
        return;
      case 'mul':
        for (let i = o; i < end; i++) out[i] = a[i + da]! * bv;
        return;
      case 'div':
        for (let i = o; i < end; i++) out[i] = a[i + da]! / bv;
        return;
    }
  }
  if (ib !== 0) {
    const db = bo - o;
    const av = a[ao]!;
    switch (op) {
      case 'add':
        for (let i = o; i < end; i++) out[i] = av + b[i + db]!;
        return;
      case 'sub':
        for (let i = o; i < end; i++) out[i] = av - b[i + db]!;
        return;
      case 'mul':
        for (let i = o; i < end; i++) out[i] = av * b[i + db]!;
        return;
      case 'div':
        for (let i = o; i < end; i++) out[i] = av / b[i + db]!;
        return;
    }
  }
  const av = a[ao]!;
  const bv = b[bo]!;
  const v = op === 'add' ? av + bv : op === 'sub' ? av - bv : op === 'mul' ? av * bv : av / bv;
  out.fill(v, o, end);
}

/** `x op s` for a scalar s (rounded to float32 first, as a float32 tensor would hold it). */
export function binaryScalar(op: 'add' | 'mul', x: Data, s: number): Data {
  const out = new Float32Array(x.length);
  const v = Math.fround(s);
  if (op === 'add') for (let i = 0; i < x.length; i++) out[i] = x[i]! + v;
  else for (let i = 0; i < x.length; i++) out[i] = x[i]! * v;
  return out;
}

/** Repeats size-1 axes of `x` up to `shape` (which must be a broadcast of `xShape`). */
export function broadcastTo(x: Data, xShape: readonly number[], shape: readonly number[]): Data {
  const out = new Float32Array(sizeOf(shape));
  const walk = planWalk(shape, [xShape]);
  const ix = walk.strides[0]![walk.dims.length - 1]!;
  const L = walk.dims[walk.dims.length - 1]!;
  forEachRun(walk, (o, offs) => {
    const xo = offs[0]!;
    if (ix === 0) out.fill(x[xo]!, o, o + L);
    else if (L >= 32) out.set(x.subarray(xo, xo + L), o);
    else for (let i = 0; i < L; i++) out[o + i] = x[xo + i]!;
  });
  return out;
}

/** Transposes row-major `x` of `shape` by `perm` (output dim d is input dim perm[d]). */
export function transpose(x: Data, shape: readonly number[], perm: readonly number[]): Data {
  const r = shape.length;
  // Drop size-1 dims, then merge output dims that are consecutive input dims.
  const keep: number[] = [];
  const newIndex = new Array<number>(r).fill(-1);
  for (let d = 0; d < r; d++) if (shape[d]! !== 1) newIndex[d] = keep.push(d) - 1;
  const p0: number[] = [];
  for (const d of perm) if (newIndex[d]! >= 0) p0.push(newIndex[d]!);
  const s0 = keep.map((d) => shape[d]!);
  // groups of input dims that stay together, in output order
  const groups: number[][] = [];
  for (const d of p0) {
    const g = groups[groups.length - 1];
    if (g !== undefined && g[g.length - 1]! + 1 === d) g.push(d);
    else groups.push([d]);
  }
  // the collapsed input: groups sorted by their first input dim
  const order = groups.map((_g, i) => i).sort((i, j) => groups[i]![0]! - groups[j]![0]!);
  const inShape = order.map((i) => sizeOf(groups[i]!.map((d) => s0[d]!)));
  const inStrides = stridesOf(inShape);
  const m = groups.length;
  const pos = new Array<number>(m); // output group i sits at collapsed input dim pos[i]
  order.forEach((gi, k) => {
    pos[gi] = k;
  });
  const outDims = groups.map((_, i) => inShape[pos[i]!]!);
  const outStr = groups.map((_, i) => inStrides[pos[i]!]!);
  const n = x.length;
  if (m <= 1) return x.slice(0, n);
  const out = new Float32Array(n);
  const nA = outDims[m - 2]!;
  const nB = outDims[m - 1]!;
  const sA = outStr[m - 2]!;
  const sB = outStr[m - 1]!;
  const outer = sizeOf(outDims, 0, m - 2);
  const idx = new Array<number>(Math.max(0, m - 2)).fill(0);
  let base = 0;
  const T = 32;
  for (let run = 0, o = 0; run < outer; run++, o += nA * nB) {
    if (sB === 1) {
      for (let i = 0; i < nA; i++) out.set(x.subarray(base + i * sA, base + i * sA + nB), o + i * nB);
    } else {
      for (let i0 = 0; i0 < nA; i0 += T) {
        const i1 = Math.min(nA, i0 + T);
        for (let j0 = 0; j0 < nB; j0 += T) {
          const j1 = Math.min(nB, j0 + T);
          for (let i = i0; i < i1; i++) {
            const xo = base + i * sA;
            const oo = o + i * nB;
            for (let j = j0; j < j1; j++) out[oo + j] = x[xo + j * sB]!;
          }
        }
      }
    }
    for (let d = m - 3; d >= 0; d--) {
      if (++idx[d]! < outDims[d]!) {
        base += outStr[d]!;
        break;
      }
      idx[d] = 0;
      base -= outStr[d]! * (outDims[d]! - 1);
    }
  }
  return out;
}

/** Entries `indices` of `x` along `axis` (indices already checked to be in range). */
export function gather(x: Data, shape: readonly number[], indices: Int32Array, axis: number): Data {
  const outer = sizeOf(shape, 0, axis);
  const n = shape[axis]!;
  const inner = sizeOf(shape, axis + 1);
  const m = indices.length;
  const out = new Float32Array(outer * m * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const src = (o * n + indices[i]!) * inner;
      const dst = (o * m + i) * inner;
      if (inner >= 32) out.set(x.subarray(src, src + inner), dst);
      else for (let j = 0; j < inner; j++) out[dst + j] = x[src + j]!;
    }
  }
  return out;
}

/** The gradient of `gather` for x of `shape`: dy [.., m, ..] scattered back and added up at the gathered indices. */
export function gatherGradient(dy: Data, shape: readonly number[], indices: Int32Array, axis: number): Float32Array {
  const outer = sizeOf(shape, 0, axis);
  const n = shape[axis]!;
  const inner = sizeOf(shape, axis + 1);
  const m = indices.length;
  const dx = new Float32Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const dst = (o * n + indices[i]!) * inner;
      const src = (o * m + i) * inner;
      for (let j = 0; j < inner; j++) dx[dst + j]! += dy[src + j]!;
    }
  }
  return dx;
}

// ---- erf / GELU ----------------------------------------------------------------------------

/**
 * erf on [-4, 4] as x·P(x²)/Q(x²), the rational approximation Eigen and XLA use for float32
 * (relative error below 1e-7 over the whole range; |erf(x)| rounds to 1 in float32 beyond 4).
 */
export const ERF_CLAMP = 4;
export const ERF_P = [
  -2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5, -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2,
] as const;
export const ERF_Q = [-1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3, -1.42647390514189e-2] as const;

/** erf in float64 arithmetic with the rational approximation above. */
export function erf(v: number): number {
  const x = v > ERF_CLAMP ? ERF_CLAMP : Math.max(v, -ERF_CLAMP);
  const x2 = x * x;
  let p = ERF_P[0];
  for (let i = 1; i < ERF_P.length; i++) p = p * x2 + ERF_P[i]!;
  let q = ERF_Q[0];
  for (let i = 1; i < ERF_Q.length; i++) q = q * x2 + ERF_Q[i]!;
  return (x * p) / q;
}

/** Exact (erf) GELU. */
export function gelu(x: Data): Data {
  const out = new Float32Array(x.length);
  const r = Math.SQRT1_2;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = 0.5 * v * (1 + erf(v * r));
  }
  return out;
}

// ---- reductions along the last axis ----------------------------------------------------------

/** Softmax over rows of length L (float64 accumulation). */
export function softmaxRows(x: Data, L: number): Data {
  const out = new Float32Array(x.length);
  const rows = L === 0 ? 0 : x.length / L;
  for (let r = 0; r < rows; r++) {
    const o = r * L;
    let max = -Infinity;
    for (let i = 0; i < L; i++) if (x[o + i]! > max) max = x[o + i]!;
    let sum = 0;
    for (let i = 0; i < L; i++) {
      const e = Math.exp(x[o + i]! - max);
      out[o + i] = e;
      sum += e;
    }
    // PyTorch divides exp(x - max) (float32) by the float32 sum
    const s = Math.fround(sum);
    for (let i = 0; i < L; i++) out[o + i] = out[o + i]! / s;
  }
  return out;
}

/** LayerNorm over rows of length L: (x − mean)/sqrt(var + eps)·w + b with biased variance. */
export function layerNormRows(x: Data, L: number, w: Data, b: Data, eps: number): Data {
  const out = new Float32Array(x.length);
  const rows = L === 0 ? 0 : x.length / L;
  for (let r = 0; r < rows; r++) {
    const o = r * L;
    let s = 0;
    for (let i = 0; i < L; i++) s += x[o + i]!;
    const mean = s / L;
    let v = 0;
    for (let i = 0; i < L; i++) {
      const d = x[o + i]! - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / L + eps);
    for (let i = 0; i < L; i++) out[o + i] = (x[o + i]! - mean) * rstd * w[i]! + b[i]!;
  }
  return out;
}

/** GroupNorm on [N, C, S] data (S = spatial size), statistics over (C/groups, S). */
export function groupNorm(x: Data, N: number, C: number, S: number, groups: number, w: Data, b: Data, eps: number): Data {
  const out = new Float32Array(x.length);
  const cg = C / groups;
  const len = cg * S;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const o = (n * C + g * cg) * S;
      let s = 0;
      for (let i = 0; i < len; i++) s += x[o + i]!;
      const mean = s / len;
      let v = 0;
      for (let i = 0; i < len; i++) {
        const d = x[o + i]! - mean;
        v += d * d;
      }
      const rstd = 1 / Math.sqrt(v / len + eps);
      for (let c = 0; c < cg; c++) {
        const ch = g * cg + c;
        const scale = rstd * w[ch]!;
        const shift = b[ch]!;
        const co = o + c * S;
        for (let i = co; i < co + S; i++) out[i] = (x[i]! - mean) * scale + shift;
      }
    }
  }
  return out;
}

// ---- images (NCHW) -----------------------------------------------------------------------------

/**
 * Depthwise 2-D convolution on NCHW: `x` [N, C, H, W], weight OIHW [C·m, 1, kh, kw] (output
 * channel c·m + j reads input channel c), optional bias [C·m], square stride and zero padding.
 * Returns [N, C·m, OH, OW]; sums in float64.
 */
export function depthwiseConv2d(
  x: Data,
  [N, C, H, W]: readonly [number, number, number, number],
  w: Data,
  [O, kh, kw]: readonly [number, number, number],
  bias: Data | undefined,
  stride: number,
  pad: number,
): { values: Data; shape: [number, number, number, number] } {
  const m = O / C;
  const OH = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const out = new Float32Array(N * O * OH * OW);
  const acc = new Float64Array(OW);
  // valid output column range for every kernel column
  const lo = new Int32Array(kw);
  const hi = new Int32Array(kw);
  for (let kx = 0; kx < kw; kx++) {
    const off = kx - pad; // input column = ox·stride + off
    lo[kx] = Math.max(0, Math.ceil(-off / stride));
    hi[kx] = Math.min(OW, Math.floor((W - 1 - off) / stride) + 1);
  }
  // stride 1: output columns whose kernel window lies inside the row
  const inLo = Math.min(OW, pad);
  const inHi = Math.max(inLo, Math.min(OW, W - kw + pad + 1));
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < O; oc++) {
      const c = Math.floor(oc / m);
      const xp = (n * C + c) * H * W;
      const wp = oc * kh * kw;
      const op = (n * O + oc) * OH * OW;
      const b0 = bias === undefined ? 0 : bias[oc]!;
      for (let oy = 0; oy < OH; oy++) {
        acc.fill(0);
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= H) continue;
          const row = xp + iy * W;
          const wo = wp + ky * kw;
          if (stride === 1) depthwiseRow(acc, x, row - pad, w, wo, kw, W, pad, inLo, inHi);
          else {
            for (let kx = 0; kx < kw; kx++) {
              const wv = w[wo + kx]!;
              const base = row + kx - pad;
              for (let ox = lo[kx]!; ox < hi[kx]!; ox++) acc[ox]! += wv * x[base + ox * stride]!;
            }
          }
        }
        const orow = op + oy * OW;
        for (let ox = 0; ox < OW; ox++) out[orow + ox] = acc[ox]! + b0;
      }
    }
  }
  return { values: out, shape: [N, O, OH, OW] };
}

/**
 * acc[ox] += Σ_kx w[wo + kx] · x[base + ox + kx] over valid input columns (base + ox + kx is the
 * element at input column ox − pad + kx), stride 1. Inside [inLo, inHi) all taps are valid and
 * four outputs share a sliding window of loads.
 */
function depthwiseRow(acc: Float64Array, x: Data, base: number, w: Data, wo: number, kw: number, W: number, pad: number, inLo: number, inHi: number): void {
  const edge = (ox: number): void => {
    let s = 0;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ox - pad + kx;
      if (ix >= 0 && ix < W) s += w[wo + kx]! * x[base + ox + kx]!;
    }
    acc[ox]! += s;
  };
  for (let ox = 0; ox < inLo; ox++) edge(ox);
  let ox = inLo;
  for (; ox + 4 <= inHi; ox += 4) {
    const b = base + ox;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let x0 = x[b]!;
    let x1 = x[b + 1]!;
    let x2 = x[b + 2]!;
    for (let kx = 0; kx < kw; kx++) {
      const wv = w[wo + kx]!;
      const x3 = x[b + kx + 3]!;
      s0 += wv * x0;
      s1 += wv * x1;
      s2 += wv * x2;
      s3 += wv * x3;
      x0 = x1;
      x1 = x2;
      x2 = x3;
    }
    acc[ox]! += s0;
    acc[ox + 1]! += s1;
    acc[ox + 2]! += s2;
    acc[ox + 3]! += s3;
  }
  for (; ox < inHi; ox++) {
    let s = 0;
    const b = base + ox;
    for (let kx = 0; kx < kw; kx++) s += w[wo + kx]! * x[b + kx]!;
    acc[ox]! += s;
  }
  for (ox = Math.max(ox, inHi); ox < acc.length; ox++) edge(ox);
}

/** Average pooling, window k stride k, no padding, on [P, H, W] planes. */
export function avgPool(x: Data, P: number, H: number, W: number, k: number): Data {
  const OH = Math.floor(H / k);
  const OW = Math.floor(W / k);
  const out = new Float32Array(P * OH * OW);
  const div = k * k;
  for (let p = 0; p < P; p++) {
    const xp = p * H * W;
    const op = p * OH * OW;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let s = 0;
        for (let ky = 0; ky < k; ky++) {
          const r = xp + (oy * k + ky) * W + ox * k;
          for (let kx = 0; kx < k; kx++) s += x[r + kx]!;
        }
        out[op + oy * OW + ox] = Math.fround(s) / div;
      }
    }
  }
  return out;
}

// ---- matrix products ---------------------------------------------------------------------------

/**
 * C[cOff + i·ldc + j] = Σ_k A[aOff + i·K + k] · B[bOff + j·K + k] (+ rowBias[i]) (+ colBias[j])
 * for i < M, j < N: a product with both operands row-major along k ("NT"), accumulated in
 * float64 in 4×4 register blocks (several times faster in V8 than a loop per output).
 */
export function gemmNT(
  M: number,
  N: number,
  K: number,
  A: Data,
  aOff: number,
  B: Data,
  bOff: number,
  C: Data,
  cOff: number,
  ldc: number,
  rowBias?: Data,
  colBias?: Data,
): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  const rb = (i: number): number => (rowBias === undefined ? 0 : rowBias[i]!);
  const cb = (j: number): number => (colBias === undefined ? 0 : colBias[j]!);
  for (let i = 0; i < M4; i += 4) {
    const a0 = aOff + i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    const r0 = rb(i);
    const r1 = rb(i + 1);
    const r2 = rb(i + 2);
    const r3 = rb(i + 3);
    for (let j = 0; j < N4; j += 4) {
      const b0 = bOff + j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = A[a0 + k]!;
        const x1 = A[a1 + k]!;
        const x2 = A[a2 + k]!;
        const x3 = A[a3 + k]!;
        const y0 = B[b0 + k]!;
        const y1 = B[b1 + k]!;
        const y2 = B[b2 + k]!;
        const y3 = B[b3 + k]!;
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      const q0 = cb(j);
      const q1 = cb(j + 1);
      const q2 = cb(j + 2);
      const q3 = cb(j + 3);
      let o = cOff + i * ldc + j;
      C[o] = c00 + r0 + q0;
      C[o + 1] = c01 + r0 + q1;
      C[o + 2] = c02 + r0 + q2;
      C[o + 3] = c03 + r0 + q3;
      o += ldc;
      C[o] = c10 + r1 + q0;
      C[o + 1] = c11 + r1 + q1;
      C[o + 2] = c12 + r1 + q2;
      C[o + 3] = c13 + r1 + q3;
      o += ldc;
      C[o] = c20 + r2 + q0;
      C[o + 1] = c21 + r2 + q1;
      C[o + 2] = c22 + r2 + q2;
      C[o + 3] = c23 + r2 + q3;
      o += ldc;
      C[o] = c30 + r3 + q0;
      C[o + 1] = c31 + r3 + q1;
      C[o + 2] = c32 + r3 + q2;
      C[o + 3] = c33 + r3 + q3;
    }
    for (let j = N4; j < N; j++) {
      const b0 = bOff + j * K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < K; k++) {
        const y = B[b0 + k]!;
        s0 += A[a0 + k]! * y;
        s1 += A[a1 + k]! * y;
        s2 += A[a2 + k]! * y;
        s3 += A[a3 + k]! * y;
      }
      const q = cb(j);
      const o = cOff + i * ldc + j;
      C[o] = s0 + r0 + q;
      C[o + ldc] = s1 + r1 + q;
      C[o + 2 * ldc] = s2 + r2 + q;
      C[o + 3 * ldc] = s3 + r3 + q;
    }
  }
  for (let i = M4; i < M; i++) {
    const a0 = aOff + i * K;
    const r0 = rb(i);
    for (let j = 0; j < N; j++) {
      const b0 = bOff + j * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
      C[cOff + i * ldc + j] = s + r0 + cb(j);
    }
  }
}

/**
 * Dense or grouped 2-D convolution on NCHW by im2col + `gemmNT`: `x` [N, C, H, W], weight OIHW
 * [O, C/groups, kh, kw], optional bias [O]. Patches are gathered in bands of output pixels to
 * bound the scratch memory.
 */
/**
 * im2col for the output pixels p0 … p1−1 of image n, channels c0 … c0+Cg−1 (zero outside the
 * image), k = (ci·kh + ky)·kw + kx: `transposed` false writes out[(p − p0)·Kd + k] (a row per
 * pixel, the forward convolution's GEMM operand), true writes out[k·(p1 − p0) + (p − p0)] (a row
 * per tap, the filter gradient's).
 */
export function gatherPatches(
  x: Data,
  [, C, H, W]: readonly [number, number, number, number],
  n: number,
  c0: number,
  Cg: number,
  kh: number,
  kw: number,
  stride: number,
  pad: number,
  OW: number,
  p0: number,
  p1: number,
  out: Data,
  transposed: boolean,
): void {
  const Kd = Cg * kh * kw;
  const pb = p1 - p0;
  const kStep = transposed ? pb : 1;
  for (let p = p0; p < p1; p++) {
    const oy = Math.floor(p / OW);
    const ox = p - oy * OW;
    const iy0 = oy * stride - pad;
    const ix0 = ox * stride - pad;
    let q = transposed ? p - p0 : (p - p0) * Kd;
    for (let ci = 0; ci < Cg; ci++) {
      const plane = (n * C + c0 + ci) * H * W;
      for (let ky = 0; ky < kh; ky++) {
        const iy = iy0 + ky;
        const inside = iy >= 0 && iy < H;
        const row = plane + iy * W;
        for (let kx = 0; kx < kw; kx++, q += kStep) {
          const ix = ix0 + kx;
          out[q] = inside && ix >= 0 && ix < W ? x[row + ix]! : 0;
        }
      }
    }
  }
}

const BAND_FLOATS = 1 << 16;
export function conv2d(
  x: Data,
  [N, C, H, W]: readonly [number, number, number, number],
  w: Data,
  [O, Cg, kh, kw]: readonly [number, number, number, number],
  bias: Data | undefined,
  stride: number,
  pad: number,
  groups: number,
): { values: Data; shape: [number, number, number, number] } {
  const OH = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - kw) / stride) + 1;
  const P = OH * OW;
  const Kd = Cg * kh * kw;
  const og = O / groups;
  const out = new Float32Array(N * O * P);
  // output pixels per band: a multiple of 4 with the band's patches (re-read for every block of
  // 4 filters) about BAND_FLOATS in size, i.e. in L2 cache
  const band = Math.max(4, Math.min(P, Math.floor(BAND_FLOATS / Math.max(1, Kd)) & ~3));
  const cols = new Float32Array(Math.min(P, band) * Kd);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const rowBias = bias === undefined ? undefined : bias.subarray(g * og, (g + 1) * og);
      for (let p0 = 0; p0 < P; p0 += band) {
        const p1 = Math.min(P, p0 + band);
        gatherPatches(x, [N, C, H, W], n, g * Cg, Cg, kh, kw, stride, pad, OW, p0, p1, cols, false);
        // out[n, g·og + o, p] = Σ_k w[g·og + o, k] · cols[p − p0, k]
        gemmNT(og, p1 - p0, Kd, w, g * og * Kd, cols, 0, out, (n * O + g * og) * P + p0, P, rowBias);
      }
    }
  }
  return { values: out, shape: [N, O, OH, OW] };
}
