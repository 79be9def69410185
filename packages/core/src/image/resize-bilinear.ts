/**
 * Bilinear resize on the host with PyTorch's exact rules (`F.interpolate(mode='bilinear')`,
 * no antialiasing), computed in float32 like PyTorch's CPU kernel.
 */
const f = Math.fround;

interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w0: Float32Array;
  w1: Float32Array;
}

/** Source indices and weights along one axis (PyTorch `area_pixel_compute_source_index`). */
export function bilinearTaps(inSize: number, outSize: number, alignCorners: boolean): AxisTaps {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w0 = new Float32Array(outSize);
  const w1 = new Float32Array(outSize);
  const scale = alignCorners ? (outSize > 1 ? f((inSize - 1) / (outSize - 1)) : 0) : f(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    let src = alignCorners ? f(scale * d) : f(f(scale * f(d + 0.5)) - 0.5);
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = lo < inSize - 1 ? lo + 1 : lo;
    const lambda = f(src - lo);
    i0[d] = lo;
    i1[d] = hi;
    w1[d] = lambda;
    w0[d] = f(1 - lambda);
  }
  return { i0, i1, w0, w1 };
}

/**
 * Resizes `planes` row-major planes of inH×inW to outH×outW. `src` is planes·inH·inW values;
 * returns planes·outH·outW values.
 */
export function resizeBilinearPlanes(
  src: Float32Array,
  planes: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
  alignCorners: boolean,
): Float32Array {
  const out = new Float32Array(planes * outH * outW);
  const ty = bilinearTaps(inH, outH, alignCorners);
  const tx = bilinearTaps(inW, outW, alignCorners);
  for (let p = 0; p < planes; p++) {
    const base = p * inH * inW;
    const obase = p * outH * outW;
    for (let y = 0; y < outH; y++) {
      const r0 = base + ty.i0[y]! * inW;
      const r1 = base + ty.i1[y]! * inW;
      const wy0 = ty.w0[y]!;
      const wy1 = ty.w1[y]!;
      for (let x = 0; x < outW; x++) {
        const x0 = tx.i0[x]!;
        const x1 = tx.i1[x]!;
        const wx0 = tx.w0[x]!;
        const wx1 = tx.w1[x]!;
        const top = f(f(wx0 * src[r0 + x0]!) + f(wx1 * src[r0 + x1]!));
        const bottom = f(f(wx0 * src[r1 + x0]!) + f(wx1 * src[r1 + x1]!));
        out[obase + y * outW + x] = f(f(wy0 * top) + f(wy1 * bottom));
      }
    }
  }
  return out;
}

/**
 * The same resize along one axis as a matrix [outSize, inSize] (row d holds the two taps of
 * output d), so `resize(x) = A_h · x · A_wᵀ`. Backends whose own resize kernels have no correct
 * gradient for PyTorch's rules resize with it while training (matmul's gradient is exact).
 */
export function bilinearMatrix(inSize: number, outSize: number, alignCorners: boolean): Float32Array {
  const t = bilinearTaps(inSize, outSize, alignCorners);
  const m = new Float32Array(outSize * inSize);
  for (let d = 0; d < outSize; d++) {
    const lo = d * inSize + t.i0[d]!;
    const hi = d * inSize + t.i1[d]!;
    m[lo] = m[lo]! + t.w0[d]!;
    m[hi] = m[hi]! + t.w1[d]!;
  }
  return m;
}
