/**
 * The last step of the pipeline: the decoder's class maps (R/4) upsampled to the image and
 * turned into a label per pixel (postprocess.ts), with each class' share of the image and, for
 * CER, how many classes each rejection kept.
 */
import type { HostTensor } from '../tensor/host-tensor.js';
import type { DecoderResult } from './decoder-run/decoder-result.js';
import type { Segmentation } from './sed-model.js';
import { SedsegError } from '../errors.js';
import { cerOutputToProbabilities, logitsToProbabilities, semSegPostprocessLabels } from './postprocess.js';

/** Labels (and, when asked, probabilities) at image size from either decoder path. */
export function classMapsAtImageSize(
  decoded: DecoderResult,
  height: number,
  width: number,
  withProbabilities: boolean,
  crop: { height: number; width: number } = { height, width },
): { labels: Int32Array; probabilities?: HostTensor<'float32'> } {
  // the CER output is already probabilities; the full path gives logits
  const cer = decoded.output !== undefined;
  const maps = cer ? decoded.output! : decoded.logits!;
  const labels = semSegPostprocessLabels(maps, crop, { height, width }, !cer);
  if (!withProbabilities) return { labels };
  if (crop.height !== height || crop.width !== width) {
    throw new SedsegError('E_ARGUMENT', 'probabilities are only given at the image size (outputSize is for labels)');
  }
  return { labels, probabilities: cer ? cerOutputToProbabilities(maps, height, width) : logitsToProbabilities(maps, height, width) };
}

/** Share of the pixels labelled with each of `classCount` classes (sums to 1). */
export function labelAreas(labels: Int32Array, classCount: number): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]! += 1;
  return counts.map((c) => c / labels.length);
}

/** CER: how many classes each rejection kept (before decoder layers 1, 2, 3). */
export function keptPerRejection(decoded: DecoderResult): [number, number, number] {
  const keep = decoded.keep!.data;
  const T = decoded.classCount;
  const kept = (row: number): number => keep.subarray(row * T, (row + 1) * T).reduce((a, b) => a + b, 0);
  return [kept(0), kept(1), kept(2)];
}

/** What `segmentationOf` needs besides the decoder's result. */
export interface SegmentationRun {
  /** The image the model was given (the labels' crop; see `SegmentOptions.outputSize`). */
  image: { width: number; height: number };
  /** Labels at this size instead of the image's. */
  outputSize?: { width: number; height: number } | undefined;
  classes: string[];
  resolution: number;
  pooling: number;
  topK?: number | undefined;
  probabilities: boolean;
  /** Class embeddings taken from the cache and encoded. */
  text: { cached: number; encoded: number };
  backend: string;
  /** `performance.now()` when the request came in, and after the text encoder, the image encoder and the decoder. */
  times: { start: number; text: number; image: number; decoder: number };
}

/** The `Segmentation` of a decoder result: labels (and probabilities) at image size, areas, CER counts, timings. */
export function segmentationOf(decoded: DecoderResult, run: SegmentationRun): Segmentation {
  const { width, height } = run.outputSize ?? run.image;
  const crop = { height: run.image.height, width: run.image.width };
  const { labels, probabilities } = classMapsAtImageSize(decoded, height, width, run.probabilities, crop);
  const areas = labelAreas(labels, run.classes.length);
  const end = performance.now();
  const { start, text, image, decoder } = run.times;
  const result: Segmentation = {
    width,
    height,
    resolution: run.resolution,
    pooling: run.pooling,
    classes: run.classes,
    labels,
    areas,
    textEmbeddings: { cached: run.text.cached, encoded: run.text.encoded },
    backend: run.backend,
    timings: { text: text - start, image: image - text, decoder: decoder - image, postprocess: end - decoder, total: end - start },
  };
  if (probabilities) result.probabilities = probabilities;
  if (decoded.output !== undefined) {
    result.topK = run.topK!;
    result.keptPerStage = keptPerRejection(decoded);
    result.keptClasses = Array.from(decoded.survivors!);
  }
  return result;
}
