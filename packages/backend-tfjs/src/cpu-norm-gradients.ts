/**
 * Gradients of the host normalisation and GELU kernels of `cpu-kernels.ts`, for training on
 * tfjs's pure-JS `cpu` backend (there, tfjs composes each norm from a dozen broadcasting ops,
 * each with its own backward ops, and its broadcasting kernels walk index by index).
 * Statistics are recomputed from x in float64, as the forward kernels compute them.
 */
import { erf } from './cpu-kernels.js';

type Data = Float32Array;

/** Gradients of `normalized·w + b` for rows of `len` values normalised together, scaled by `w[channel]`. */
interface NormGradients {
  dx: Data;
  dw: Data;
  db: Data;
}

/**
 * The backward pass shared by LayerNorm and GroupNorm: for one normalisation set of values
 * (indices `at(i)`, i < len) with per-value weight `wOf(i)` and channel `chOf(i)`:
 * x̂ = (x − μ)·r, dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·w.
 */
function normSetBackward(
  x: Data,
  dy: Data,
  len: number,
  at: (i: number) => number,
  wOf: (i: number) => number,
  chOf: (i: number) => number,
  eps: number,
  out: NormGradients,
  dw: Float64Array,
  db: Float64Array,
): void {
  let s = 0;
  for (let i = 0; i < len; i++) s += x[at(i)]!;
  const mean = s / len;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const d = x[at(i)]! - mean;
    v += d * d;
  }
  const r = 1 / Math.sqrt(v / len + eps);
  let sumG = 0;
  let sumGX = 0;
  for (let i = 0; i < len; i++) {
    const k = at(i);
    const xh = (x[k]! - mean) * r;
    const g = dy[k]!;
    const gx = g * wOf(i);
    sumG += gx;
    sumGX += gx * xh;
    const c = chOf(i);
    dw[c] = dw[c]! + g * xh;
    db[c] = db[c]! + g;
  }
  const mG = sumG / len;
  const mGX = sumGX / len;
  for (let i = 0; i < len; i++) {
    const k = at(i);
    const xh = (x[k]! - mean) * r;
    out.dx[k] = r * (dy[k]! * wOf(i) - mG - xh * mGX);
  }
}

/** LayerNorm over rows of length L (see `layerNormRows`). */
export function layerNormRowsGradients(x: Data, dy: Data, L: number, w: Data, eps: number): NormGradients {
  const out: NormGradients = { dx: new Float32Array(x.length), dw: new Float32Array(L), db: new Float32Array(L) };
  const dw = new Float64Array(L);
  const db = new Float64Array(L);
  const rows = L === 0 ? 0 : x.length / L;
  for (let row = 0; row < rows; row++) {
    const o = row * L;
    normSetBackward(
      x,
      dy,
      L,
      (i) => o + i,
      (i) => w[i]!,
      (i) => i,
      eps,
      out,
      dw,
      db,
    );
  }
  out.dw.set(dw);
  out.db.set(db);
  return out;
}

/** GroupNorm on [N, C, S] (see `groupNorm`). */
export function groupNormGradients(x: Data, dy: Data, N: number, C: number, S: number, groups: number, w: Data, eps: number): NormGradients {
  const out: NormGradients = { dx: new Float32Array(x.length), dw: new Float32Array(C), db: new Float32Array(C) };
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  const cg = C / groups;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const o = (n * C + g * cg) * S;
      const ch = (i: number): number => g * cg + Math.floor(i / S);
      normSetBackward(
        x,
        dy,
        cg * S,
        (i) => o + i,
        (i) => w[ch(i)]!,
        ch,
        eps,
        out,
        dw,
        db,
      );
    }
  }
  out.dw.set(dw);
  out.db.set(db);
  return out;
}

/** dy · GELU'(x) with GELU'(x) = Φ(x) + x·φ(x) (exact GELU, the erf of `cpu-kernels.ts`). */
export function geluGradient(x: Data, dy: Data): Data {
  const out = new Float32Array(x.length);
  const c = 1 / Math.sqrt(2 * Math.PI);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    out[i] = dy[i]! * (0.5 * (1 + erf(v * Math.SQRT1_2)) + v * c * Math.exp(-0.5 * v * v));
  }
  return out;
}
