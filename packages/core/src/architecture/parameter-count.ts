import { shapeSize } from '../tensor/host-tensor.js';
import type { TensorInfo } from '../weights/weight-store.js';
import { weightPart, type WeightPart } from './expected-weights.js';

export type ParameterCounts = Record<WeightPart | 'total', number>;

/** Number of stored values per model part (image encoder, text encoder, decoder, other). */
export function countParameters(infos: readonly TensorInfo[]): ParameterCounts {
  const counts: ParameterCounts = { image_encoder: 0, text_encoder: 0, decoder: 0, other: 0, total: 0 };
  for (const info of infos) {
    const n = shapeSize(info.shape);
    counts[weightPart(info.name)] += n;
    counts.total += n;
  }
  return counts;
}
