/**
 * The geometric steps shared by the image (3 interleaved channels) and its label map (1
 * channel): crop, horizontal flip, pad right/bottom. Row-major H×W×C typed arrays; the output
 * has the input's array type.
 */
import { SedsegError } from '../errors.js';

/** A label map: one class index per pixel, row-major. */
export interface LabelImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array | Uint16Array | Int32Array;
}

export type PixelArray = Uint8Array | Uint8ClampedArray | Uint16Array | Int32Array;

/** A row-major H×W×C raster. */
export interface Raster<A extends PixelArray = PixelArray> {
  width: number;
  height: number;
  channels: number;
  data: A;
}

function like<A extends PixelArray>(data: A, length: number): A {
  return new (data.constructor as new (n: number) => A)(length);
}

/** Checks that `labels` is a well-formed label map. */
export function assertLabelImage(labels: LabelImage, what = 'labels'): void {
  const { width, height, data } = labels;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SedsegError('E_ARGUMENT', `${what}: invalid size ${width}×${height}`);
  }
  if (data.length !== width * height) throw new SedsegError('E_ARGUMENT', `${what}: ${data.length} values for ${width}×${height}`);
}

/** The window `x0 … x0+width−1`, `y0 … y0+height−1` (detectron2 `CropTransform`); must lie inside. */
export function cropRaster<A extends PixelArray>(r: Raster<A>, x0: number, y0: number, width: number, height: number): Raster<A> {
  if (x0 < 0 || y0 < 0 || width < 1 || height < 1 || x0 + width > r.width || y0 + height > r.height) {
    throw new SedsegError('E_ARGUMENT', `crop ${width}×${height} at (${x0}, ${y0}) outside ${r.width}×${r.height}`);
  }
  const c = r.channels;
  const out = like(r.data, width * height * c);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * r.width + x0) * c;
    out.set(r.data.subarray(from, from + width * c), y * width * c);
  }
  return { width, height, channels: c, data: out };
}

/** Mirror left-right (detectron2 `HFlipTransform`: `x ↦ W − 1 − x`). */
export function flipRasterHorizontal<A extends PixelArray>(r: Raster<A>): Raster<A> {
  const { width, height, channels: c } = r;
  const out = like(r.data, r.data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * c;
    for (let x = 0; x < width; x++) {
      const s = row + (width - 1 - x) * c;
      const d = row + x * c;
      for (let k = 0; k < c; k++) out[d + k] = r.data[s + k]!;
    }
  }
  return { width, height, channels: c, data: out };
}

/**
 * `torch.nn.functional.pad(x, [0, width − W, 0, height − H], value)` on the H×W plane: new
 * columns/rows on the right/bottom hold `value`; a negative amount drops columns/rows there,
 * as F.pad does.
 */
export function padRasterTo<A extends PixelArray>(r: Raster<A>, width: number, height: number, value: number): Raster<A> {
  const c = r.channels;
  const out = like(r.data, width * height * c);
  out.fill(value);
  const w = Math.min(width, r.width);
  for (let y = 0; y < Math.min(height, r.height); y++) {
    const from = y * r.width * c;
    out.set(r.data.subarray(from, from + w * c), y * width * c);
  }
  return { width, height, channels: c, data: out };
}
