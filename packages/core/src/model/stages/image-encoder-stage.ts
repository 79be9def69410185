/** The image encoder as a compiled-graph stage (`imageEncoder`, DESIGN.md §2). */
import type { Ops } from '../../ops/ops.js';
import type { Stage } from '../../ops/stage.js';
import type { SedArchitecture } from '../../architecture/sed-architecture.js';
import { encodeImage } from '../encoders/image-encoder.js';
import type { ModelParams } from '../model-params.js';

/** The outputs of the `imageEncoder` stage, in order. */
export const IMAGE_FEATURE_NAMES = ['stem', 'res2', 'res3', 'res4', 'res5', 'dense'] as const;

/** `imageEncoder`: the pre-processed image [1, 3, R, R] → every image feature. */
export function imageEncoderStageOf<T>(params: ModelParams<T>, arch: SedArchitecture): Stage<T> {
  return {
    name: 'imageEncoder',
    inputs: [{ name: 'image', batchAxis: 0 }],
    outputs: IMAGE_FEATURE_NAMES,
    run: (ops: Ops<T>, inputs) => ({ ...encodeImage(ops, params, arch, inputs.image!) }),
  };
}
