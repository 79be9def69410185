/**
 * The evaluation's test-time image size: detectron2 `ResizeShortestEdge(short_edge_length=640,
 * max_size=2560, sample_style="choice")` as the SED test mapper builds it from
 * `INPUT.MIN_SIZE_TEST` / `INPUT.MAX_SIZE_TEST`: the short side becomes 640 unless the long side
 * would then pass 2560, in which case the long side becomes 2560; sides rounded half up
 * (`int(x + 0.5)`), computed in double precision in the same order as detectron2.
 */
import { SedsegError } from '../errors.js';

export const TEST_MIN_SIZE = 640;
export const TEST_MAX_SIZE = 2560;

export interface ImageSize {
  height: number;
  width: number;
}

/** detectron2 `ResizeShortestEdge.get_output_shape(h, w, short, max)`. */
export function resizeShortestEdgeSize(height: number, width: number, shortEdge = TEST_MIN_SIZE, maxSize = TEST_MAX_SIZE): ImageSize {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new SedsegError('E_ARGUMENT', `image size must be positive integers, got ${height}×${width}`);
  }
  const size = shortEdge * 1.0;
  let scale = size / Math.min(height, width);
  let newh: number;
  let neww: number;
  if (height < width) {
    newh = size;
    neww = scale * width;
  } else {
    newh = scale * height;
    neww = size;
  }
  if (Math.max(newh, neww) > maxSize) {
    scale = (maxSize * 1.0) / Math.max(newh, neww);
    newh = newh * scale;
    neww = neww * scale;
  }
  return { height: Math.trunc(newh + 0.5), width: Math.trunc(neww + 0.5) };
}
