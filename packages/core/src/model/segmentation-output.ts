/**
 * The last step of the pipeline: the decoder's class maps (R/4) upsampled to the image and
 * turned into a label per pixel (postprocess.ts), with each class' share of the image and, for
 * CER, how many classes each rejection kept.
 */
import type { HostTensor } from '../tensor/host-tensor.js';
import type { DecoderResult } from './decoder-run/decoder-result.js';
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
