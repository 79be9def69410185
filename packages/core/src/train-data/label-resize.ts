/**
 * The label map's resize in the authors' training mapper. `MaskFormerSemanticDatasetMapper`
 * reads the label with `.astype("double")`, so detectron2 `ResizeTransform.apply_segmentation`
 * does NOT go through PIL (uint8 only) but through `F.interpolate(mode="nearest")`: PyTorch's
 * legacy nearest, `src = min(floor(dst · scale), in − 1)` with `scale = (float) in / out` and the
 * product in float32 (`nearest_idx`); `out == in` copies, `out == 2·in` takes `dst >> 1`. This
 * is not PIL's NEAREST (which samples pixel centres, `floor((dst + 0.5) · scale)`).
 */
import { SedsegError } from '../errors.js';

/** Source index of each output index along one axis (PyTorch `nearest_idx`). */
export function torchNearestIndices(inSize: number, outSize: number): Int32Array {
  const idx = new Int32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    if (outSize === inSize) idx[i] = i;
    else if (outSize === 2 * inSize) idx[i] = i >> 1;
    else idx[i] = Math.min(Math.floor(Math.fround(i * scale)), inSize - 1);
  }
  return idx;
}

/** `F.interpolate(labels[None, None], (height, width), mode="nearest")`; keeps the array type. */
export function resizeLabelsNearest<A extends Uint8Array | Uint16Array | Int32Array>(
  labels: { width: number; height: number; data: A },
  width: number,
  height: number,
): { width: number; height: number; data: A } {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new SedsegError('E_ARGUMENT', `label resize target must be positive integers, got ${width}×${height}`);
  }
  const xs = torchNearestIndices(labels.width, width);
  const ys = torchNearestIndices(labels.height, height);
  const out = new (labels.data.constructor as new (n: number) => A)(width * height);
  for (let y = 0; y < height; y++) {
    const row = ys[y]! * labels.width;
    for (let x = 0; x < width; x++) out[y * width + x] = labels.data[row + xs[x]!]!;
  }
  return { width, height, data: out };
}
