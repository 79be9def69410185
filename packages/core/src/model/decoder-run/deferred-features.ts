/**
 * The last decoder layer's input features recomputed instead of kept (full path, layer 1
 * streamed): layer 1 runs only its sums pass, which keeps each chunk's spatial features in place
 * of its input, and each chunk of layer 2's input is made from those, the sums and the chunk's
 * corr guidance each time layer 2 needs it (its sums pass and its finish pass). Held for every
 * class is then layer 1's spatial features (c·s² = 64·48² floats per class at R = 768, 0.59 MB)
 * instead of layer 2's input (32·96², 1.18 MB): 0.5 GB less at T = 847, for one more pass of
 * layer 1's second half. Exact: the same stages on the same values. Layer 2 is then streamed too
 * (it has twice layer 1's pooled values).
 */
import { runStage } from '../../ops/stage.js';
import { decoderLayerFromSumsStageOf } from '../stages/decoder-stages.js';
import type { ClassChunks } from './class-chunks.js';
import { corrGuidanceInput, releaseCorrGuidanceInput, type CorrGuidanceInputs } from './corr-guidance-inputs.js';
import type { DecoderRunState } from './decoder-run-state.js';
import { pooledValues, type FeatureChunks } from './run-decoder-layer.js';

/** Whether layer 1's outputs should be recomputed in layer 2 rather than kept (untraced, chunked, layer 1 streamed). */
export function defersLayer1Output<T>(run: DecoderRunState<T>, x1: ClassChunks<T>, cg: CorrGuidanceInputs<T>): boolean {
  return !run.tracer.enabled && cg.kind === 'recomputed' && x1.parts.length > 1 && pooledValues(run, x1) > run.allClassAttentionValues;
}

/**
 * Layer `layer`'s output features, chunk by chunk, from its FAM-spatial features `spatial` (kept
 * by its sums pass, until their last use here), its class attention `sums` over every class, its
 * `mergeGuidance` (`mergeGuidanceOf`) and corr guidance.
 */
export function deferredLayerOutput<T>(
  run: DecoderRunState<T>,
  layer: number,
  spatial: ClassChunks<T>,
  sums: { sumKV: T; sumK: T },
  cg: CorrGuidanceInputs<T>,
  mergeGuidance: T,
): FeatureChunks<T> {
  const stage = decoderLayerFromSumsStageOf(run.params, run.arch, layer, ['features'], 'spatial');
  return {
    counts: spatial.counts,
    get: async (i) => {
      const cgIn = await corrGuidanceInput(run, layer, cg, i);
      const out = await runStage(run.ops, stage, { spatial: spatial.parts[i]!, sumKV: sums.sumKV, sumK: sums.sumK, mergeGuidance, corrGuidanceInput: cgIn });
      releaseCorrGuidanceInput(run, cg, i, cgIn);
      return run.tensors.keep(out.features!);
    },
    release: (i, chunk, last) => {
      run.tensors.drop(chunk);
      if (last) run.tensors.drop(spatial.parts[i]);
    },
  };
}
