/**
 * The evaluation's per-image path around the model (the SED test mapper and `SED.forward`):
 *
 *     decoded uint8 RGB (h×w) → ResizeShortestEdge(640, 2560) with PIL bilinear → newh×neww
 *     → model (its own resize to R×R) → maps (T, R/4, R/4)
 *     → sem_seg_postprocess: crop [:newh, :neww] of the R/4 maps, bilinear to h×w → argmax
 *
 * `evalInput` gives the model input and the sizes; `SedModel.segment(input, { outputSize })`
 * does the rest (postprocess.ts `semSegPostprocessLabels`).
 */
import type { RgbImage } from '../image/rgb-image.js';
import { pilResizeBilinear } from './pil-resize.js';
import { type ImageSize, resizeShortestEdgeSize, TEST_MAX_SIZE, TEST_MIN_SIZE } from './test-resize.js';

export { semSegPostprocessLabels } from '../model/postprocess.js';

export interface EvalInput {
  /** The test-time resized image the model is given. */
  input: RgbImage;
  /** The original image size: the predictions' (and the ground truth's) size. */
  original: ImageSize;
  /** The resized size (newh, neww). */
  resized: ImageSize;
  /** The rows and columns of the R/4 output maps that `sem_seg_postprocess` keeps. */
  crop: (resolution: number) => ImageSize;
}

/** The test mapper's resize of a decoded image (detectron2 `ResizeShortestEdge` + PIL bilinear). */
export function evalInput(image: RgbImage, minSize = TEST_MIN_SIZE, maxSize = TEST_MAX_SIZE): EvalInput {
  const resized = resizeShortestEdgeSize(image.height, image.width, minSize, maxSize);
  const input = resized.height === image.height && resized.width === image.width ? image : pilResizeBilinear(image, resized.width, resized.height);
  return {
    input,
    original: { height: image.height, width: image.width },
    resized,
    crop: (resolution) => ({ height: Math.min(resized.height, resolution / 4), width: Math.min(resized.width, resolution / 4) }),
  };
}
