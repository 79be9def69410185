/**
 * Pillow's `Image.resize(size, Image.BILINEAR)` on an 8-bit RGB image, bit for bit (the
 * evaluation protocol's test-time resize: detectron2 `ResizeTransform` hands the uint8 image to
 * PIL). Pillow's `ImagingResample`: separable, the horizontal pass first, then the vertical one,
 * each rounded to uint8. Per axis `in → out`: `scale = in / out`, `filterscale = max(scale, 1)`
 * (the triangle widens when shrinking: antialiasing), `support = filterscale`; output `i` has
 * `center = (i + 0.5)·scale` and taps `xmin … xmax−1` with `xmin = max(trunc(center − support +
 * 0.5), 0)`, `xmax = min(trunc(center + support + 0.5), in)`, weights
 * `max(0, 1 − |(x − center + 0.5)·(1/filterscale)|)` normalised to sum 1 (double precision), then
 * fixed point with 22 fraction bits (`trunc(w·2^22 + 0.5)`); `out = clip8((2^21 + Σ in·w) >> 22)`.
 * An axis whose size does not change is copied (Pillow skips that pass).
 */
import { SedsegError } from '../errors.js';
import { assertRgbImage, type RgbImage } from '../image/rgb-image.js';

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const CLIP_LIMIT = 2 ** (PRECISION_BITS + 8);

/** Fixed-point taps of one axis: output i reads `count[i]` inputs from `start[i]`, weights at `i·ksize`. */
interface PilTaps {
  start: Int32Array;
  count: Int32Array;
  ksize: number;
  weights: Int32Array;
}

/** Pillow's `precompute_coeffs` (bilinear filter, support 1) and `normalize_coeffs_8bpc`. */
export function pilBilinearTaps(inSize: number, outSize: number): PilTaps {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const ss = 1 / filterscale;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      let t = (x + xmin - center + 0.5) * ss;
      if (t < 0) t = -t;
      const w = t < 1 ? 1 - t : 0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, ksize, weights };
}

function clip8(v: number): number {
  if (v >= CLIP_LIMIT) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** Horizontal pass: H×inW×3 → H×outW×3. */
function resampleHorizontal(src: Uint8Array | Uint8ClampedArray, height: number, inW: number, outW: number): Uint8Array {
  const taps = pilBilinearTaps(inW, outW);
  const out = new Uint8Array(height * outW * 3);
  for (let y = 0; y < height; y++) {
    const row = y * inW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = taps.start[xx]!;
      const n = taps.count[xx]!;
      const kb = xx * taps.ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0; x < n; x++) {
        const w = taps.weights[kb + x]!;
        const p = row + (xmin + x) * 3;
        s0 += src[p]! * w;
        s1 += src[p + 1]! * w;
        s2 += src[p + 2]! * w;
      }
      const o = (y * outW + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

/** Vertical pass: inH×W×3 → outH×W×3. */
function resampleVertical(src: Uint8Array | Uint8ClampedArray, width: number, inH: number, outH: number): Uint8Array {
  const taps = pilBilinearTaps(inH, outH);
  const rowLength = width * 3;
  const out = new Uint8Array(outH * rowLength);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = taps.start[yy]!;
    const n = taps.count[yy]!;
    const kb = yy * taps.ksize;
    const o = yy * rowLength;
    for (let i = 0; i < rowLength; i++) {
      let s = HALF;
      for (let y = 0; y < n; y++) s += src[(ymin + y) * rowLength + i]! * taps.weights[kb + y]!;
      out[o + i] = clip8(s);
    }
  }
  return out;
}

/** `PIL.Image.fromarray(rgb).resize((width, height), Image.BILINEAR)` as H×W×3 bytes. */
export function pilResizeBilinear(image: RgbImage, width: number, height: number): RgbImage {
  assertRgbImage(image);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SedsegError('E_ARGUMENT', `resize target must be positive integers, got ${width}×${height}`);
  }
  let data: Uint8Array | Uint8ClampedArray = image.data;
  if (width !== image.width) data = resampleHorizontal(data, image.height, image.width, width);
  if (height !== image.height) data = resampleVertical(data, width, image.height, height);
  if (data === image.data) data = new Uint8Array(data);
  return { width, height, data };
}
