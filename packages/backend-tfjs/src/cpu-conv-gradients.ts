/**
 * Gradients of the NCHW convolutions of `cpu-kernels.ts`, for training on tfjs's pure-JS `cpu`
 * backend, whose own Conv2DBackpropFilter is a plain 7-deep loop (on the tiny SED model it took
 * 90 % of a training step). Same layouts as the forward kernels: x [N, C, H, W], weight OIHW
 * [O, C/groups, kh, kw], dy [N, O, OH, OW].
 *
 * - dense/grouped: dx by `dy·W` (gemmNT) then col2im; dW by `dy·im2col(x)` (gemmNT), both in
 *   bands of output pixels like the forward;
 * - depthwise (groups = C, O = C·m): direct loops.
 */
import { gatherPatches, gemmNT } from './cpu-kernels.js';

type Data = Float32Array;
type Shape4 = readonly [number, number, number, number];

const BAND_FLOATS = 1 << 16;

function outSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

function bandOf(P: number, Kd: number): number {
  return Math.max(4, Math.min(P, Math.floor(BAND_FLOATS / Math.max(1, Kd)) & ~3));
}

/** ∂L/∂x of a dense or grouped convolution. */
export function conv2dBackpropInput(dy: Data, w: Data, xShape: Shape4, wShape: Shape4, stride: number, pad: number, groups: number): Data {
  const [N, C, H, W] = xShape;
  const [O, Cg, kh, kw] = wShape;
  const OH = outSize(H, kh, stride, pad);
  const OW = outSize(W, kw, stride, pad);
  const P = OH * OW;
  const Kd = Cg * kh * kw;
  const og = O / groups;
  const dx = new Float32Array(N * C * H * W);
  const band = bandOf(P, Kd);
  const dyT = new Float32Array(band * og);
  const dcols = new Float32Array(band * Kd);
  for (let g = 0; g < groups; g++) {
    // wT[k, o] = w[g·og + o, k]: rows along o for gemmNT
    const wT = new Float32Array(Kd * og);
    for (let o = 0; o < og; o++) for (let k = 0; k < Kd; k++) wT[k * og + o] = w[(g * og + o) * Kd + k]!;
    for (let n = 0; n < N; n++) {
      for (let p0 = 0; p0 < P; p0 += band) {
        const p1 = Math.min(P, p0 + band);
        const pb = p1 - p0;
        for (let o = 0; o < og; o++) {
          const row = (n * O + g * og + o) * P;
          for (let p = p0; p < p1; p++) dyT[(p - p0) * og + o] = dy[row + p]!;
        }
        // dcols[p, k] = Σ_o dy[o, p] · w[o, k]
        gemmNT(pb, Kd, og, dyT, 0, wT, 0, dcols, 0, Kd);
        for (let p = p0; p < p1; p++) {
          const oy = Math.floor(p / OW);
          const ox = p - oy * OW;
          const iy0 = oy * stride - pad;
          const ix0 = ox * stride - pad;
          let q = (p - p0) * Kd;
          for (let ci = 0; ci < Cg; ci++) {
            const plane = (n * C + g * Cg + ci) * H * W;
            for (let ky = 0; ky < kh; ky++) {
              const iy = iy0 + ky;
              if (iy < 0 || iy >= H) {
                q += kw;
                continue;
              }
              const r = plane + iy * W;
              for (let kx = 0; kx < kw; kx++, q++) {
                const ix = ix0 + kx;
                if (ix >= 0 && ix < W) dx[r + ix] = dx[r + ix]! + dcols[q]!;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

/** ∂L/∂W of a dense or grouped convolution. */
export function conv2dBackpropFilter(x: Data, dy: Data, xShape: Shape4, wShape: Shape4, stride: number, pad: number, groups: number): Data {
  const [N, , H, W] = xShape;
  const [O, Cg, kh, kw] = wShape;
  const OH = outSize(H, kh, stride, pad);
  const OW = outSize(W, kw, stride, pad);
  const P = OH * OW;
  const Kd = Cg * kh * kw;
  const og = O / groups;
  const dw = new Float64Array(O * Kd);
  const band = bandOf(P, Kd);
  const colsT = new Float32Array(Kd * band);
  const dyBand = new Float32Array(og * band);
  const part = new Float32Array(og * Kd);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      for (let p0 = 0; p0 < P; p0 += band) {
        const p1 = Math.min(P, p0 + band);
        const pb = p1 - p0;
        gatherPatches(x, xShape, n, g * Cg, Cg, kh, kw, stride, pad, OW, p0, p1, colsT, true);
        for (let o = 0; o < og; o++) dyBand.set(dy.subarray((n * O + g * og + o) * P + p0, (n * O + g * og + o) * P + p1), o * pb);
        // part[o, k] = Σ_p dy[o, p] · cols[p, k]
        gemmNT(og, Kd, pb, dyBand, 0, colsT, 0, part, 0, Kd);
        const base = g * og * Kd;
        for (let i = 0; i < og * Kd; i++) dw[base + i] = dw[base + i]! + part[i]!;
      }
    }
  }
  return Float32Array.from(dw);
}

/** ∂L/∂x and ∂L/∂W of a depthwise convolution (groups = C, weight [C·m, 1, kh, kw]). */
export function depthwiseConv2dGradients(x: Data, w: Data, dy: Data, xShape: Shape4, wShape: Shape4, stride: number, pad: number): { dx: Data; dw: Data } {
  const [N, C, H, W] = xShape;
  const [O, , kh, kw] = wShape;
  const m = O / C;
  const OH = outSize(H, kh, stride, pad);
  const OW = outSize(W, kw, stride, pad);
  const dx = new Float32Array(N * C * H * W);
  const dw = new Float64Array(O * kh * kw);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const c = Math.floor(o / m);
      const xp = (n * C + c) * H * W;
      const yp = (n * O + o) * OH * OW;
      const wp = o * kh * kw;
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const wv = w[wp + ky * kw + kx]!;
          let acc = 0;
          for (let oy = 0; oy < OH; oy++) {
            const iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= H) continue;
            const xr = xp + iy * W;
            const yr = yp + oy * OW;
            // ox range with 0 ≤ ox·s − pad + kx < W
            const lo = Math.max(0, Math.ceil((pad - kx) / stride));
            const hi = Math.min(OW, Math.floor((W - 1 + pad - kx) / stride) + 1);
            for (let ox = lo; ox < hi; ox++) {
              const ix = ox * stride - pad + kx;
              const g = dy[yr + ox]!;
              acc += g * x[xr + ix]!;
              dx[xr + ix] = dx[xr + ix]! + g * wv;
            }
          }
          dw[wp + ky * kw + kx] = dw[wp + ky * kw + kx]! + acc;
        }
      }
    }
  }
  return { dx, dw: Float32Array.from(dw) };
}
