/**
 * Post-processing on the host (DESIGN.md §3.8, reference README "Post-processing"):
 *
 *     probs  = sigmoid(logits)[0]            # full path; the CER output is already probabilities
 *     probs  = probs[:, :H, :W]              # crop (a no-op whenever H, W ≥ R/4)
 *     probs  = bilinear(probs, (H, W), align_corners = False)
 *     labels = argmax over classes            # first index on exact ties, int32
 *
 * The label functions compute the resized value of every class at one pixel at a time, so they
 * never hold T×H×W floats; `*ToProbabilities` materialise the full maps (for dumps).
 * Interpolation uses the same float32 operations as `resizeBilinearPlanes`, so labels equal the
 * argmax of the materialised probabilities.
 */
import { SedsegError } from '../errors.js';
import { bilinearTaps, resizeBilinearPlanes } from '../image/resize-bilinear.js';
import type { HostTensor } from '../tensor/host-tensor.js';

const f = Math.fround;

/** Class maps as [1, T, h, w] or [T, h, w] (batch entry 0 is used). */
export type ClassMaps = Pick<HostTensor<'float32'>, 'shape' | 'data'>;

/** Element-wise logistic sigmoid in float32 (into `out` when given, e.g. a slice of a larger array). */
export function sigmoidHost(x: Float32Array, out: Float32Array = new Float32Array(x.length)): Float32Array {
  for (let i = 0; i < x.length; i++) out[i] = 1 / (1 + Math.exp(-x[i]!));
  return out;
}

function mapsGeometry(maps: ClassMaps): { classes: number; h: number; w: number } {
  const s = maps.shape;
  let classes: number, h: number, w: number;
  if (s.length === 4 && s[0] === 1) [, classes, h, w] = s as [number, number, number, number];
  else if (s.length === 3) [classes, h, w] = s as [number, number, number];
  else throw new SedsegError('E_ARGUMENT', `class maps must be [1, T, h, w] or [T, h, w], got [${s.join(', ')}]`);
  if (maps.data.length !== classes * h * w) throw new SedsegError('E_ARGUMENT', `class maps [${s.join(', ')}] hold ${maps.data.length} values`);
  return { classes, h, w };
}

function checkImageSize(height: number, width: number): void {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new SedsegError('E_ARGUMENT', `image size must be positive integers, got ${height}×${width}`);
  }
}

/** The low-resolution planes cropped to [:H, :W] (optionally after sigmoid). */
function croppedPlanes(maps: ClassMaps, height: number, width: number, sigmoid: boolean): { data: Float32Array; classes: number; ch: number; cw: number } {
  const { classes, h, w } = mapsGeometry(maps);
  const ch = Math.min(h, height);
  const cw = Math.min(w, width);
  const src = maps.data;
  let data: Float32Array;
  if (ch === h && cw === w) {
    data = sigmoid ? sigmoidHost(src) : src;
  } else {
    data = new Float32Array(classes * ch * cw);
    for (let c = 0; c < classes; c++) for (let y = 0; y < ch; y++) data.set(src.subarray((c * h + y) * w, (c * h + y) * w + cw), (c * ch + y) * cw);
    if (sigmoid) data = sigmoidHost(data);
  }
  return { data, classes, ch, cw };
}

/** Sigmoid (when `sigmoid`), crop and bilinear resize of every class map: [T, H, W]. */
function classMapsToProbabilities(maps: ClassMaps, height: number, width: number, sigmoid: boolean): HostTensor<'float32'> {
  checkImageSize(height, width);
  const { data, classes, ch, cw } = croppedPlanes(maps, height, width, sigmoid);
  return { dtype: 'float32', shape: [classes, height, width], data: resizeBilinearPlanes(data, classes, ch, cw, height, width, false) };
}

/**
 * Labels [H×W] of class maps: per pixel, argmax over classes of the resized (sigmoid) maps. The
 * maps are cropped to [:cropHeight, :cropWidth] first (default: the output size; the evaluation
 * crops to the model input image's size and resizes to the original image's).
 */
function classMapsToLabels(maps: ClassMaps, height: number, width: number, sigmoid: boolean, cropHeight = height, cropWidth = width): Int32Array {
  checkImageSize(height, width);
  checkImageSize(cropHeight, cropWidth);
  const { data: src, classes, ch, cw } = croppedPlanes(maps, cropHeight, cropWidth, sigmoid);
  const ty = bilinearTaps(ch, height, false);
  const tx = bilinearTaps(cw, width, false);
  const plane = ch * cw;
  const labels = new Int32Array(height * width);
  for (let y = 0; y < height; y++) {
    const r0 = ty.i0[y]! * cw;
    const r1 = ty.i1[y]! * cw;
    const wy0 = ty.w0[y]!;
    const wy1 = ty.w1[y]!;
    for (let x = 0; x < width; x++) {
      const x0 = tx.i0[x]!;
      const x1 = tx.i1[x]!;
      const wx0 = tx.w0[x]!;
      const wx1 = tx.w1[x]!;
      let best = -Infinity;
      let arg = 0;
      for (let c = 0, base = 0; c < classes; c++, base += plane) {
        const top = f(f(wx0 * src[base + r0 + x0]!) + f(wx1 * src[base + r0 + x1]!));
        const bottom = f(f(wx0 * src[base + r1 + x0]!) + f(wx1 * src[base + r1 + x1]!));
        const v = f(f(wy0 * top) + f(wy1 * bottom));
        if (v > best) {
          best = v;
          arg = c;
        }
      }
      labels[y * width + x] = arg;
    }
  }
  return labels;
}

/** Full path: logits [1, T, R/4, R/4] → probabilities [T, H, W]. */
export function logitsToProbabilities(logits: ClassMaps, height: number, width: number): HostTensor<'float32'> {
  return classMapsToProbabilities(logits, height, width, true);
}

/** Full path: logits [1, T, R/4, R/4] → labels H×W (int32). */
export function logitsToLabels(logits: ClassMaps, height: number, width: number): Int32Array {
  return classMapsToLabels(logits, height, width, true);
}

/** CER: output probabilities [1, T, R/4, R/4] (0 for rejected classes) → probabilities [T, H, W]. */
export function cerOutputToProbabilities(output: ClassMaps, height: number, width: number): HostTensor<'float32'> {
  return classMapsToProbabilities(output, height, width, false);
}

/** CER: output probabilities [1, T, R/4, R/4] → labels H×W (int32), no second sigmoid. */
export function cerOutputToLabels(output: ClassMaps, height: number, width: number): Int32Array {
  return classMapsToLabels(output, height, width, false);
}

/**
 * detectron2 `sem_seg_postprocess` followed by the argmax, as the evaluation runs it: the maps
 * ([1, T, R/4, R/4] or [T, R/4, R/4]) cropped to `[:, :crop.height, :crop.width]` (the size of
 * the image the model was given, in the maps' own coordinates: a no-op unless a side is below
 * R/4), sigmoid when `sigmoid` (full-path logits; the CER output is already probabilities),
 * bilinear (align_corners = false) to `height`×`width`, argmax (first index on ties).
 */
export function semSegPostprocessLabels(
  maps: ClassMaps,
  crop: { height: number; width: number },
  size: { height: number; width: number },
  sigmoid: boolean,
): Int32Array {
  return classMapsToLabels(maps, size.height, size.width, sigmoid, crop.height, crop.width);
}

/** Argmax over classes of already resized probabilities [T, H, W] (first index on ties). */
export function probabilitiesToLabels(probs: ClassMaps): Int32Array {
  const { classes, h, w } = mapsGeometry(probs);
  const plane = h * w;
  const labels = new Int32Array(plane);
  const best = new Float32Array(plane).fill(-Infinity);
  for (let c = 0; c < classes; c++) {
    const off = c * plane;
    for (let p = 0; p < plane; p++) {
      const v = probs.data[off + p]!;
      if (v > best[p]!) {
        best[p] = v;
        labels[p] = c;
      }
    }
  }
  return labels;
}

/** Per-class spatial means of class maps ([1, T, h, w] or [T, h, w]) → [T]. */
export function classMeans(maps: ClassMaps): Float32Array {
  const { classes, h, w } = mapsGeometry(maps);
  const plane = h * w;
  const out = new Float32Array(classes);
  for (let c = 0; c < classes; c++) {
    let s = 0;
    for (let p = 0; p < plane; p++) s += maps.data[c * plane + p]!;
    out[c] = s / plane;
  }
  return out;
}
