/**
 * The SED graph split into stages (DESIGN.md §2) — what a compiling backend turns into one graph
 * each and what `sedseg export` writes:
 *
 * | stage | inputs | outputs |
 * | --- | --- | --- |
 * | `imageEncoder` | image [1, 3, R, R] | stem, res2…res5, dense |
 * | `decoderInput` | dense, res2, res3, res4, text [T, P, D] | corrClasses, corrEmbed, maskAux, guidance0…2 (+ corr) |
 * | `decoderLayer{i}` | x [T, ·], guidance, corrGuidanceInput [T, ·] | features, corrGuidance (+ logits) |
 *
 * T (classes) is the only size that changes between calls at a given resolution: inputs mark
 * it with `classAxis`. Category early rejection runs between the decoder stages, on the host.
 */
import type { Ops } from '../ops/ops.js';
import type { Stage } from '../ops/stage.js';
import type { SedArchitecture } from '../architecture/sed-architecture.js';
import { encodeImage } from './image-encoder.js';
import type { ModelParams } from './model-params.js';
import { decoderInputStage, decoderLayerStage, type DecoderArchitecture } from './sed-forward.js';

export const IMAGE_FEATURE_NAMES = ['stem', 'res2', 'res3', 'res4', 'res5', 'dense'] as const;

/** `imageEncoder`: the pre-processed image [1, 3, R, R] → every image feature. */
export function imageEncoderStage<T>(params: ModelParams<T>, arch: SedArchitecture): Stage<T> {
  return {
    name: 'imageEncoder',
    inputs: [{ name: 'image' }],
    outputs: IMAGE_FEATURE_NAMES,
    run: (ops: Ops<T>, inputs) => ({ ...encodeImage(ops, params, arch, inputs.image!) }),
  };
}

export interface DecoderInputStageOptions {
  /** Also output the cost map itself `corr` [1, P, T, h, w] (for tracing; costs memory). */
  withCorr?: boolean;
}

/** `decoderInput`: cost map, its class-batched embedding, head0 and the appearance guidances. */
export function decoderInputStageOf<T>(params: ModelParams<T>, options: DecoderInputStageOptions = {}): Stage<T> {
  const withCorr = options.withCorr ?? false;
  const outputs = ['corrClasses', 'corrEmbed', 'maskAux', 'guidance0', 'guidance1', 'guidance2'];
  return {
    name: withCorr ? 'decoderInputWithCorr' : 'decoderInput',
    inputs: [{ name: 'dense' }, { name: 'res2' }, { name: 'res3' }, { name: 'res4' }, { name: 'text', classAxis: 0 }],
    outputs: withCorr ? ['corr', ...outputs] : outputs,
    run: (ops: Ops<T>, i) => {
      const out = decoderInputStage(ops, params, { dense: i.dense!, res2: i.res2!, res3: i.res3!, res4: i.res4! }, i.text!);
      const [guidance0, guidance1, guidance2] = out.guidance;
      const result: Record<string, T> = {
        corrClasses: out.corrClasses,
        corrEmbed: out.corrEmbed,
        maskAux: out.maskAux,
        guidance0,
        guidance1,
        guidance2,
      };
      if (withCorr) result.corr = out.corr;
      else ops.dispose(out.corr);
      return result;
    },
  };
}

/** `decoderLayer{layer}` (0, 1, 2 = decoder1/2/3) for the classes given, with the head after it when `withHead`. */
export function decoderLayerStageOf<T>(params: ModelParams<T>, arch: DecoderArchitecture, layer: number, withHead: boolean): Stage<T> {
  return {
    name: `decoderLayer${layer}${withHead ? '' : 'NoHead'}`,
    inputs: [{ name: 'x', classAxis: 0 }, { name: 'guidance' }, { name: 'corrGuidanceInput', classAxis: 0 }],
    outputs: withHead ? ['features', 'corrGuidance', 'logits'] : ['features', 'corrGuidance'],
    run: (ops: Ops<T>, i) => {
      const out = decoderLayerStage(ops, params, arch, layer, { x: i.x!, guidance: i.guidance!, corrGuidanceInput: i.corrGuidanceInput! }, withHead);
      return { ...out } as Record<string, T>;
    },
  };
}
