/**
 * A sedseg backend from scratch in plain JavaScript: `RequiredOps` on `JsTensor` (float32
 * typed arrays), nothing else. Every optional member (`tidy`, `layerNorm`, `linear`, …) is left
 * to core's defaults (`completeOps`), which build them from these primitives.
 *
 * Single-threaded loops over typed arrays, written to be correct first and not hopelessly slow:
 * strided loops collapse contiguous axes, matmul runs the cache-friendly i-k-j order with a
 * float64 row accumulator, conv2d is direct (each kernel tap adds a shifted input row to an output
 * row). Semantics follow the doc comments of `RequiredOps` (PyTorch / NumPy).
 */
import { normalizeAxis, SedsegError, type Conv2dOptions, type MatmulOptions, type RequiredOps, type Shape } from '@sedseg/core';
import { erf } from './erf.js';
import { checkShape, sizeOf, stridesOf, tensor, type JsTensor } from './js-tensor.js';

function fail(message: string): never {
  throw new SedsegError('E_ARGUMENT', `js backend: ${message}`);
}

const show = (shape: Shape): string => `[${shape.join(', ')}]`;

// ---- broadcasting and strided walks ------------------------------------------------------------

/** NumPy broadcasting of two shapes. */
function broadcastShapes(a: Shape, b: Shape, what: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else fail(`${what}: shapes ${show(a)} and ${show(b)} do not broadcast`);
  }
  return out;
}

/** Strides of `shape` read as `target` (right-aligned; 0 on broadcast axes). */
function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = stridesOf(shape);
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < shape.length; i++) out[target.length - shape.length + i] = shape[i] === 1 ? 0 : own[i]!;
  return out;
}

/**
 * Drops size-1 axes and merges neighbouring axes that every operand walks contiguously
 * (outer stride = inner stride · inner size), so inner loops run as long as possible. The output
 * is contiguous and merges with anything, so only the inputs' strides are given.
 */
function collapse(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const s: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    const last = s.length - 1;
    if (last >= 0 && strides.every((x, k) => st[k]![last] === x[i]! * d)) {
      s[last]! *= d;
      st.forEach((x, k) => {
        x[last] = strides[k]![i]!;
      });
    } else {
      s.push(d);
      st.forEach((x, k) => {
        x.push(strides[k]![i]!);
      });
    }
  }
  if (s.length === 0) {
    s.push(1);
    for (const x of st) x.push(0);
  }
  return { shape: s, strides: st };
}

const ADD = 0;
const MUL = 1;
const DIV = 2;

function binary(a: JsTensor, b: JsTensor, op: number, what: string): JsTensor {
  const shape = broadcastShapes(a.shape, b.shape, what);
  const n = sizeOf(shape);
  const out = new Float32Array(n);
  if (n === 0) return { data: out, shape };
  const A = a.data;
  const B = b.data;
  const c = collapse(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const dims = c.shape;
  const [sa, sb] = c.strides as [number[], number[]];
  const r = dims.length;
  const inner = dims[r - 1]!;
  const ja = sa[r - 1]!;
  const jb = sb[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  let oa = 0;
  let ob = 0;
  for (let o = 0; o < n; o += inner) {
    if (op === ADD) for (let j = 0; j < inner; j++) out[o + j] = A[oa + j * ja]! + B[ob + j * jb]!;
    else if (op === MUL) for (let j = 0; j < inner; j++) out[o + j] = A[oa + j * ja]! * B[ob + j * jb]!;
    else for (let j = 0; j < inner; j++) out[o + j] = A[oa + j * ja]! / B[ob + j * jb]!;
    for (let d = r - 2; d >= 0; d--) {
      oa += sa[d]!;
      ob += sb[d]!;
      if (++idx[d]! < dims[d]!) break;
      oa -= sa[d]! * dims[d]!;
      ob -= sb[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return { data: out, shape };
}

function unary(x: JsTensor, f: (v: number) => number): JsTensor {
  const X = x.data;
  const out = new Float32Array(X.length);
  for (let i = 0; i < X.length; i++) out[i] = f(X[i]!);
  return { data: out, shape: x.shape };
}

/** For each batch of `target`, the batch index in `shape` (which broadcasts to it). */
function batchMap(shape: Shape, target: Shape): Int32Array {
  const count = sizeOf(target);
  const strides = broadcastStrides(shape, target);
  const map = new Int32Array(count);
  for (let t = 0; t < count; t++) {
    let rem = t;
    let at = 0;
    for (let d = target.length - 1; d >= 0; d--) {
      const size = target[d]!;
      at += (rem % size) * strides[d]!;
      rem = Math.floor(rem / size);
    }
    map[t] = at;
  }
  return map;
}

/** Swaps the two last axes of `count` row-major [rows, cols] matrices. */
function transposeMatrices(data: Float32Array, count: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  const size = rows * cols;
  for (let m = 0; m < count; m++) {
    const base = m * size;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[base + j * rows + i] = data[base + i * cols + j]!;
  }
  return out;
}

/** Source index, next index and weight of the second, per output position (PyTorch bilinear). */
function bilinearTaps(inSize: number, outSize: number, alignCorners: boolean): { i0: Int32Array; i1: Int32Array; w: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float64Array(outSize);
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : inSize / outSize;
  for (let d = 0; d < outSize; d++) {
    let src = alignCorners ? scale * d : scale * (d + 0.5) - 0.5;
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    i0[d] = lo;
    i1[d] = lo < inSize - 1 ? lo + 1 : lo;
    w[d] = src - lo;
  }
  return { i0, i1, w };
}

function rank4(x: JsTensor, what: string, role: string): [number, number, number, number] {
  if (x.shape.length !== 4) fail(`${what}: ${role} must have 4 axes, got ${show(x.shape)}`);
  return x.shape as unknown as [number, number, number, number];
}

function checkBias(b: JsTensor | undefined, channels: number, what: string): void {
  if (b !== undefined && b.data.length !== channels) fail(`${what}: bias ${show(b.shape)} does not match ${channels} output channels`);
}

// ---- the operators ---------------------------------------------------------------------------

export class JsOps implements RequiredOps<JsTensor> {
  readonly name = 'js';

  constant(data: Float32Array, shape: Shape, name?: string): JsTensor {
    // copied: the caller may reuse its buffer, and tensors here are immutable
    return tensor(Float32Array.from(data), shape, name === undefined ? 'constant' : `constant ${name}`);
  }

  async read(x: JsTensor): Promise<Float32Array> {
    return x.data.slice();
  }

  shape(x: JsTensor): Shape {
    return x.shape;
  }

  // ---- elementwise ---------------------------------------------------------------------------
  add(a: JsTensor, b: JsTensor): JsTensor {
    return binary(a, b, ADD, 'add');
  }
  mul(a: JsTensor, b: JsTensor): JsTensor {
    return binary(a, b, MUL, 'mul');
  }
  div(a: JsTensor, b: JsTensor): JsTensor {
    return binary(a, b, DIV, 'div');
  }
  sqrt(x: JsTensor): JsTensor {
    return unary(x, Math.sqrt);
  }
  gelu(x: JsTensor): JsTensor {
    return unary(x, (v) => 0.5 * v * (1 + erf(v * Math.SQRT1_2)));
  }
  relu(x: JsTensor): JsTensor {
    return unary(x, (v) => Math.max(v, 0));
  }
  elu(x: JsTensor): JsTensor {
    return unary(x, (v) => (v > 0 ? v : Math.expm1(v)));
  }

  // ---- shape ---------------------------------------------------------------------------------
  reshape(x: JsTensor, shape: Shape): JsTensor {
    const s = checkShape(shape, 'reshape');
    if (sizeOf(s) !== x.data.length) fail(`reshape: ${show(x.shape)} (${x.data.length} values) cannot become ${show(s)}`);
    return { data: x.data, shape: s };
  }

  transpose(x: JsTensor, perm: readonly number[]): JsTensor {
    const r = x.shape.length;
    if (perm.length !== r) fail(`transpose: permutation [${perm.join(', ')}] for ${show(x.shape)}`);
    const p = perm.map((a) => normalizeAxis(a, r));
    if (new Set(p).size !== r) fail(`transpose: [${perm.join(', ')}] is not a permutation`);
    const shape = p.map((a) => x.shape[a]!);
    const n = x.data.length;
    const out = new Float32Array(n);
    if (n === 0) return { data: out, shape };
    const inStrides = stridesOf(x.shape);
    const c = collapse(shape, [p.map((a) => inStrides[a]!)]);
    const dims = c.shape;
    const s = c.strides[0]!;
    const k = dims.length;
    const inner = dims[k - 1]!;
    const js = s[k - 1]!;
    const X = x.data;
    const idx = new Array<number>(k).fill(0);
    let oi = 0;
    for (let o = 0; o < n; o += inner) {
      for (let j = 0; j < inner; j++) out[o + j] = X[oi + j * js]!;
      for (let d = k - 2; d >= 0; d--) {
        oi += s[d]!;
        if (++idx[d]! < dims[d]!) break;
        oi -= s[d]! * dims[d]!;
        idx[d] = 0;
      }
    }
    return { data: out, shape };
  }

  concat(xs: readonly JsTensor[], axis: number): JsTensor {
    if (xs.length === 0) fail('concat: no tensors');
    const first = xs[0]!.shape;
    const a = normalizeAxis(axis, first.length);
    let total = 0;
    for (const x of xs) {
      if (x.shape.length !== first.length || x.shape.some((d, i) => i !== a && d !== first[i])) {
        fail(`concat: ${xs.map((t) => show(t.shape)).join(', ')} differ outside axis ${axis}`);
      }
      total += x.shape[a]!;
    }
    const shape = [...first];
    shape[a] = total;
    const outer = sizeOf(first.slice(0, a));
    const inner = sizeOf(first.slice(a + 1));
    const out = new Float32Array(sizeOf(shape));
    const rowOut = total * inner;
    let at = 0;
    for (const x of xs) {
      const block = x.shape[a]! * inner;
      for (let o = 0; o < outer; o++) out.set(x.data.subarray(o * block, (o + 1) * block), o * rowOut + at);
      at += block;
    }
    return { data: out, shape };
  }

  gather(x: JsTensor, indices: Int32Array, axis: number): JsTensor {
    const a = normalizeAxis(axis, x.shape.length);
    const n = x.shape[a]!;
    for (const i of indices) if (i < 0 || i >= n) fail(`gather: index ${i} out of range for axis ${axis} of ${show(x.shape)}`);
    const outer = sizeOf(x.shape.slice(0, a));
    const inner = sizeOf(x.shape.slice(a + 1));
    const shape = [...x.shape];
    shape[a] = indices.length;
    const out = new Float32Array(sizeOf(shape));
    const X = x.data;
    let o = 0;
    for (let b = 0; b < outer; b++) {
      const base = b * n * inner;
      for (const i of indices) {
        const from = base + i * inner;
        if (inner === 1) out[o] = X[from]!;
        else out.set(X.subarray(from, from + inner), o);
        o += inner;
      }
    }
    return { data: out, shape };
  }

  // ---- reductions and linear algebra ---------------------------------------------------------
  sum(x: JsTensor, axes: readonly number[], keepDims: boolean): JsTensor {
    const r = x.shape.length;
    const reduced = new Set(axes.map((a) => normalizeAxis(a, r)));
    const kept = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
    const shape = keepDims ? kept : x.shape.filter((_, i) => !reduced.has(i));
    const acc = new Float64Array(sizeOf(kept));
    const n = x.data.length;
    if (n > 0) {
      // walk the input contiguously; the output stride is 0 on reduced axes
      const outStrides = stridesOf(kept).map((s, i) => (reduced.has(i) ? 0 : s));
      const inStrides = stridesOf(x.shape);
      const c = collapse(x.shape, [inStrides, outStrides]);
      const dims = c.shape;
      const so = c.strides[1]!;
      const k = dims.length;
      const inner = dims[k - 1]!;
      const jo = so[k - 1]!;
      const X = x.data;
      const idx = new Array<number>(k).fill(0);
      let oo = 0;
      for (let i = 0; i < n; i += inner) {
        if (jo === 0) {
          let s = 0;
          for (let j = 0; j < inner; j++) s += X[i + j]!;
          acc[oo]! += s;
        } else {
          for (let j = 0; j < inner; j++) acc[oo + j * jo]! += X[i + j]!;
        }
        for (let d = k - 2; d >= 0; d--) {
          oo += so[d]!;
          if (++idx[d]! < dims[d]!) break;
          oo -= so[d]! * dims[d]!;
          idx[d] = 0;
        }
      }
    }
    return { data: Float32Array.from(acc), shape };
  }

  softmax(x: JsTensor, axis: number): JsTensor {
    const a = normalizeAxis(axis, x.shape.length);
    const n = x.shape[a]!;
    const outer = sizeOf(x.shape.slice(0, a));
    const inner = sizeOf(x.shape.slice(a + 1));
    const X = x.data;
    const out = new Float32Array(X.length);
    const e = new Float64Array(n);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let max = -Infinity;
        for (let k = 0; k < n; k++) max = Math.max(max, X[base + k * inner]!);
        let total = 0;
        for (let k = 0; k < n; k++) total += e[k] = Math.exp(X[base + k * inner]! - max);
        for (let k = 0; k < n; k++) out[base + k * inner] = e[k]! / total;
      }
    }
    return { data: out, shape: x.shape };
  }

  matmul(a: JsTensor, b: JsTensor, options?: MatmulOptions): JsTensor {
    const ta = options?.transposeA ?? false;
    const tb = options?.transposeB ?? false;
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2) fail(`matmul: operands need at least 2 axes, got ${show(a.shape)} and ${show(b.shape)}`);
    const [m, k] = ta ? [a.shape[ra - 1]!, a.shape[ra - 2]!] : [a.shape[ra - 2]!, a.shape[ra - 1]!];
    const [kb, n] = tb ? [b.shape[rb - 1]!, b.shape[rb - 2]!] : [b.shape[rb - 2]!, b.shape[rb - 1]!];
    if (k !== kb) fail(`matmul: ${show(a.shape)}${ta ? 'ᵀ' : ''} × ${show(b.shape)}${tb ? 'ᵀ' : ''}: inner sizes ${k} and ${kb} differ`);
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const batch = broadcastShapes(batchA, batchB, 'matmul (batch axes)');
    const count = sizeOf(batch);
    const mapA = batchMap(batchA, batch);
    const mapB = batchMap(batchB, batch);
    const A = a.data;
    // B as [K, N] row-major, so the inner loop runs along contiguous rows of B and of the output
    const B = tb ? transposeMatrices(b.data, sizeOf(batchB), n, k) : b.data;
    const out = new Float32Array(count * m * n);
    const acc = new Float64Array(n);
    for (let t = 0; t < count; t++) {
      const offA = mapA[t]! * m * k;
      const offB = mapB[t]! * k * n;
      const offC = t * m * n;
      for (let i = 0; i < m; i++) {
        acc.fill(0);
        for (let p = 0; p < k; p++) {
          const aip = ta ? A[offA + p * m + i]! : A[offA + i * k + p]!;
          const row = offB + p * n;
          for (let j = 0; j < n; j++) acc[j]! += aip * B[row + j]!;
        }
        const o = offC + i * n;
        for (let j = 0; j < n; j++) out[o + j] = acc[j]!;
      }
    }
    return { data: out, shape: [...batch, m, n] };
  }

  // ---- images (NCHW) -------------------------------------------------------------------------
  conv2d(x: JsTensor, w: JsTensor, b: JsTensor | undefined, options?: Conv2dOptions): JsTensor {
    const stride = options?.stride ?? 1;
    const pad = options?.padding ?? 0;
    const groups = options?.groups ?? 1;
    const [batch, channels, h, wd] = rank4(x, 'conv2d', 'input');
    const [outC, groupC, kh, kw] = rank4(w, 'conv2d', 'weight');
    if (!(stride >= 1 && pad >= 0 && groups >= 1) || [stride, pad, groups].some((v) => !Number.isInteger(v)))
      fail(`conv2d: bad options ${JSON.stringify(options)}`);
    if (groupC * groups !== channels || outC % groups !== 0)
      fail(`conv2d: weight ${show(w.shape)} with ${groups} group(s) does not fit input ${show(x.shape)}`);
    checkBias(b, outC, 'conv2d');
    const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
    const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
    if (oh < 1 || ow < 1) fail(`conv2d: kernel ${kh}×${kw} larger than the padded input ${show(x.shape)}`);
    // output rows/columns each kernel tap reaches inside the input
    const first = (tap: number, size: number, count: number): [number, number] => {
      const lo = Math.max(0, Math.ceil((pad - tap) / stride));
      const hi = Math.min(count, Math.floor((size - 1 + pad - tap) / stride) + 1);
      return [lo, hi];
    };
    const rowsOf = Array.from({ length: kh }, (_, ky) => first(ky, h, oh));
    const colsOf = Array.from({ length: kw }, (_, kx) => first(kx, wd, ow));
    const X = x.data;
    const W = w.data;
    const out = new Float32Array(batch * outC * oh * ow);
    const perGroup = outC / groups;
    const plane = oh * ow;
    const taps = kh * kw;
    for (let nb = 0; nb < batch; nb++) {
      for (let o = 0; o < outC; o++) {
        const op = (nb * outC + o) * plane;
        if (b !== undefined) out.fill(b.data[o]!, op, op + plane);
      }
      for (let g = 0; g < groups; g++) {
        const end = (g + 1) * perGroup;
        // Output channels four at a time when the group has them: each input value loaded once
        // feeds four accumulators (a quarter of the loop overhead, which dominates small maps).
        for (let o = g * perGroup; o < end; o += o + 4 <= end ? 4 : 1) {
          const four = o + 4 <= end;
          const p0 = (nb * outC + o) * plane;
          const p1 = p0 + plane;
          const p2 = p1 + plane;
          const p3 = p2 + plane;
          for (let c = 0; c < groupC; c++) {
            const ip = (nb * channels + g * groupC + c) * h * wd;
            const wb = (o * groupC + c) * taps;
            const ws = groupC * taps; // from one output channel's weights to the next
            for (let ky = 0; ky < kh; ky++) {
              const [oy0, oy1] = rowsOf[ky]!;
              for (let kx = 0; kx < kw; kx++) {
                const [ox0, ox1] = colsOf[kx]!;
                const tap = wb + ky * kw + kx;
                const w0 = W[tap]!;
                for (let oy = oy0; oy < oy1; oy++) {
                  const orow = oy * ow;
                  const irow = ip + (oy * stride - pad + ky) * wd - pad + kx;
                  if (four) {
                    const w1 = W[tap + ws]!;
                    const w2 = W[tap + 2 * ws]!;
                    const w3 = W[tap + 3 * ws]!;
                    for (let ox = ox0; ox < ox1; ox++) {
                      const v = X[irow + ox * stride]!;
                      const at = orow + ox;
                      out[p0 + at]! += w0 * v;
                      out[p1 + at]! += w1 * v;
                      out[p2 + at]! += w2 * v;
                      out[p3 + at]! += w3 * v;
                    }
                  } else if (stride === 1) {
                    for (let ox = ox0; ox < ox1; ox++) out[p0 + orow + ox]! += w0 * X[irow + ox]!;
                  } else {
                    for (let ox = ox0; ox < ox1; ox++) out[p0 + orow + ox]! += w0 * X[irow + ox * stride]!;
                  }
                }
              }
            }
          }
        }
      }
    }
    return { data: out, shape: [batch, outC, oh, ow] };
  }

  convTranspose2d(x: JsTensor, w: JsTensor, b: JsTensor | undefined, stride: number): JsTensor {
    const [batch, channels, h, wd] = rank4(x, 'convTranspose2d', 'input');
    const [inC, outC, kh, kw] = rank4(w, 'convTranspose2d', 'weight');
    if (!Number.isInteger(stride) || stride < 1) fail(`convTranspose2d: bad stride ${stride}`);
    if (inC !== channels) fail(`convTranspose2d: weight ${show(w.shape)} does not fit input ${show(x.shape)}`);
    checkBias(b, outC, 'convTranspose2d');
    const oh = (h - 1) * stride + kh;
    const ow = (wd - 1) * stride + kw;
    const X = x.data;
    const W = w.data;
    const out = new Float32Array(batch * outC * oh * ow);
    const plane = oh * ow;
    for (let nb = 0; nb < batch; nb++) {
      for (let o = 0; o < outC; o++) {
        const op = (nb * outC + o) * plane;
        if (b !== undefined) out.fill(b.data[o]!, op, op + plane);
        for (let c = 0; c < channels; c++) {
          const ip = (nb * channels + c) * h * wd;
          const wb = (c * outC + o) * kh * kw;
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const wv = W[wb + ky * kw + kx]!;
              for (let iy = 0; iy < h; iy++) {
                const orow = op + (iy * stride + ky) * ow + kx;
                const irow = ip + iy * wd;
                for (let ix = 0; ix < wd; ix++) out[orow + ix * stride]! += wv * X[irow + ix]!;
              }
            }
          }
        }
      }
    }
    return { data: out, shape: [batch, outC, oh, ow] };
  }

  resizeBilinear(x: JsTensor, size: readonly [number, number], alignCorners: boolean): JsTensor {
    const r = x.shape.length;
    if (r < 2) fail(`resizeBilinear: input ${show(x.shape)} has fewer than 2 axes`);
    const [oh, ow] = size;
    if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 1 || ow < 1) fail(`resizeBilinear: bad size [${size.join(', ')}]`);
    const h = x.shape[r - 2]!;
    const wd = x.shape[r - 1]!;
    const planes = sizeOf(x.shape.slice(0, -2));
    const shape = [...x.shape.slice(0, -2), oh, ow];
    const out = new Float32Array(planes * oh * ow);
    if (planes === 0) return { data: out, shape };
    if (h < 1 || wd < 1) fail(`resizeBilinear: empty input ${show(x.shape)}`);
    const ys = bilinearTaps(h, oh, alignCorners);
    const xs = bilinearTaps(wd, ow, alignCorners);
    const X = x.data;
    for (let p = 0; p < planes; p++) {
      const ip = p * h * wd;
      const op = p * oh * ow;
      for (let oy = 0; oy < oh; oy++) {
        const r0 = ip + ys.i0[oy]! * wd;
        const r1 = ip + ys.i1[oy]! * wd;
        const wy = ys.w[oy]!;
        for (let ox = 0; ox < ow; ox++) {
          const c0 = xs.i0[ox]!;
          const c1 = xs.i1[ox]!;
          const wx = xs.w[ox]!;
          const top = (1 - wx) * X[r0 + c0]! + wx * X[r0 + c1]!;
          const bottom = (1 - wx) * X[r1 + c0]! + wx * X[r1 + c1]!;
          out[op + oy * ow + ox] = (1 - wy) * top + wy * bottom;
        }
      }
    }
    return { data: out, shape };
  }
}

/** A new pure-JS operator set. */
export function createJsOps(): JsOps {
  return new JsOps();
}
