/**
 * SED at a glance — the paper's Fig. 2 for one image:
 *
 *     class names → text encoder (frozen CLIP) ───────────────┐
 *                                                              ├→ cost map F_cv
 *     image → hierarchical image encoder (ConvNeXt) → dense ──┘        │
 *                                    └→ F2, F3, F4 (guidance) ─→ gradual fusion decoder:
 *                                                                3 × (FAM → SFM), with category
 *                                                                early rejection before each layer
 *                                                                      │
 *                                          labels ← argmax ← upsample to the image
 *
 * Each step calls into its piece: classes/ (text encoder + cache), encoders/ and stages/ (image
 * encoder), decoder-run/ (cost map and decoder, full path or CER) and segmentation-output.ts.
 * `SedModel.segment` validates the request and calls `segmentImage`.
 */
import type { Ops } from '../ops/ops.js';
import type { RgbImage } from '../image/rgb-image.js';
import type { DecoderResult } from './decoder-run/decoder-result.js';
import type { ImageFeatures } from './encoders/image-encoder.js';
import type { SedModel, SedProgress, Segmentation, TraceFn } from './sed-model.js';
import { segmentationOf } from './segmentation-output.js';

/** A checked segmentation request (`SedModel.segment` resolves and validates the options). */
export interface SegmentRequest {
  classes: string[];
  resolution: number;
  pooling: number;
  topK?: number;
  classChunk?: number;
  probabilities?: boolean;
  /** Labels at this size (crop to the image's size at R/4 first): see `SegmentOptions.outputSize`. */
  outputSize?: { height: number; width: number };
  trace?: TraceFn;
  progress?: (progress: SedProgress) => void;
}

const now = (): number => performance.now();

/** Segments `image` for `request.classes`; `start` is when the request came in (for the timings). */
export async function segmentImage<T>(model: SedModel<T>, image: RgbImage, request: SegmentRequest, start = now()): Promise<Segmentation> {
  const { classes, resolution, pooling, trace, progress } = request;
  const ops = model.backend;

  // Text encoder: one P×D embedding per class (P prompt templates), from the cache when known.
  const text = await model.encodeClasses(classes, progress);
  const tText = now();
  if (trace) {
    await trace('text_features', { dtype: 'float32', shape: [classes.length, model.templates.length, model.architecture.embed_dim], data: text.embeddings });
  }

  // Hierarchical image encoder: the multi-level features F2…F5 and the dense CLIP features.
  progress?.({ phase: 'image', done: 0, total: 1 });
  const { input, features } = await model.encodeImage(image, resolution);
  let decoded: DecoderResult;
  let tImage: number;
  try {
    if (trace) await traceImageFeatures(ops, trace, input, resolution, features);
    else await ops.read(features.dense); // waits for the encoder (asynchronous backends), for honest timings
    tImage = now();
    progress?.({ phase: 'image', done: 1, total: 1 });
    // Cost map F_cv and the gradual fusion decoder, rejecting classes early when topK is set.
    decoded = await model.decode(features, text.embeddings, classes.length, {
      pooling,
      ...(request.topK !== undefined ? { topK: request.topK } : {}),
      ...(request.classChunk !== undefined ? { classChunk: request.classChunk } : {}),
      ...(trace ? { trace } : {}),
      ...(progress ? { onProgress: progress } : {}),
    });
  } finally {
    model.disposeFeatures(features);
  }
  const tDecoder = now();

  // Upsample the class maps to the image and take each pixel's best class.
  return segmentationOf(decoded, {
    image,
    outputSize: request.outputSize,
    classes,
    resolution,
    pooling,
    topK: request.topK,
    probabilities: Boolean(request.probabilities),
    text,
    backend: ops.name,
    times: { start, text: tText, image: tImage, decoder: tDecoder },
  });
}

/** Traces the model input and every image feature under the golden names. */
async function traceImageFeatures<T>(ops: Ops<T>, trace: TraceFn, input: Float32Array, resolution: number, features: ImageFeatures<T>): Promise<void> {
  await trace('input', { dtype: 'float32', shape: [1, 3, resolution, resolution], data: input });
  const named: [string, T][] = [
    ['stem', features.stem],
    ['res2', features.res2],
    ['res3', features.res3],
    ['res4', features.res4],
    ['res5', features.res5],
    ['clip_vis_dense', features.dense],
  ];
  for (const [name, t] of named) await trace(name, { dtype: 'float32', shape: [...ops.shape(t)], data: await ops.read(t) });
}
