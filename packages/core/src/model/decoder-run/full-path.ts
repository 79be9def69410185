/**
 * The full decoder path (`Aggregator.conv_decoder`): every class through decoder layers 1–3,
 * then the final head. With many classes (layer 1 streamed, untraced) layer 2's input is
 * recomputed per chunk rather than kept (deferred-features.ts). Traces `corr_guidance_proj0..2`, `decoder1..3`, `mask_aux0/1`, `logits`.
 */
import type { DecoderLayerOutput } from '../stages/decoder-stages.js';
import {
  corrGuidanceOutputNeeded,
  dropCorrGuidanceInputs,
  firstCorrGuidanceInputs,
  nextCorrGuidanceInputs,
  type CorrGuidanceInputs,
} from './corr-guidance-inputs.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import type { DecoderResult } from './decoder-result.js';
import type { DecoderLayerInputs, DecoderRunState } from './decoder-run-state.js';
import type { ClassChunks } from './class-chunks.js';
import { defersLayer1Output, deferredLayerOutput } from './deferred-features.js';
import { layerResult, mergeGuidanceOf, runDecoderLayer, storedChunks, streamedFinish, streamedSums } from './run-decoder-layer.js';

/** The full path from the decoder inputs (consumed) to host logits [1, T, R/4, R/4]. */
export async function decodeAllClasses<T>(run: DecoderRunState<T>, inputs: DecoderLayerInputs<T>, classCount: number): Promise<DecoderResult> {
  const { tensors, tracer } = run;
  tensors.drop(inputs.maskAux); // no rejection: head0 is not needed
  let x = inputs.corrEmbed;
  let cg = firstCorrGuidanceInputs(run, inputs.corrClasses, inputs.corrEmbed);
  let logits: HostTensor<'float32'> | undefined;
  for (let layer = 0; layer < 3; layer++) {
    // the auxiliary heads and intermediate features only when traced
    const outputs: DecoderLayerOutput[] = tracer.enabled
      ? ['features', 'corrGuidance', 'logits']
      : layer < 2
        ? corrGuidanceOutputNeeded(cg)
          ? ['features', 'corrGuidance']
          : ['features']
        : ['logits'];
    if (layer === 1 && defersLayer1Output(run, x, cg)) {
      logits = await lastLayersDeferred(run, x, cg, inputs.guidance[1], inputs.guidance[2]);
      break;
    }
    const out = await runDecoderLayer(run, layer, outputs, x, cg, inputs.guidance[layer]!);
    tensors.dropChunks(x);
    tensors.drop(inputs.guidance[layer]);
    if (out.corrGuidance) await tracer.emitChunks(`corr_guidance_proj${layer}`, out.corrGuidance);
    if (out.features) await tracer.emitChunks(`decoder${layer + 1}`, out.features);
    if (layer < 2) {
      if (out.logits !== undefined) await tracer.emit(`mask_aux${layer}`, out.logits);
      x = out.features!;
      cg = nextCorrGuidanceInputs(run, cg, out.corrGuidance);
    } else {
      dropCorrGuidanceInputs(run, cg);
      tensors.dropChunks(out.features, out.corrGuidance);
      logits = out.logits!;
      await tracer.emit('logits', logits);
    }
  }
  return { classCount, outputSize: [logits!.shape[2]!, logits!.shape[3]!], logits: logits! };
}

/**
 * Layers 1 and 2 with layer 2's input recomputed per chunk (deferred-features.ts): layer 1's
 * sums pass, then layer 2 streamed over chunks made from layer 1's inputs. Consumes `x1`, `cg`
 * and both guidances.
 */
async function lastLayersDeferred<T>(
  run: DecoderRunState<T>,
  x1: ClassChunks<T>,
  cg: CorrGuidanceInputs<T>,
  guidance1: T,
  guidance2: T,
): Promise<HostTensor<'float32'>> {
  const { tensors } = run;
  const total = x1.counts.reduce((a, b) => a + b, 0);
  run.progress.enterLayer(1, total);
  // layer 1's spatial features replace its input: the recomputation below starts from them
  const sums1 = await streamedSums(run, 1, storedChunks(run, x1), true);
  // layer 1's second half runs inside layer 2: count it as done here
  for (const n of x1.counts) run.progress.advance(2, n, 0.75);
  run.progress.enterLayer(2, total);
  const merge1 = await mergeGuidanceOf(run, 1, guidance1);
  const merge2 = await mergeGuidanceOf(run, 2, guidance2);
  tensors.drop(guidance1, guidance2);
  const x2 = deferredLayerOutput(run, 1, sums1.spatial!, sums1, cg, merge1);
  const sums2 = await streamedSums(run, 2, x2);
  const perChunk = await streamedFinish(run, 2, ['logits'], x2, sums2, cg, merge2);
  tensors.drop(sums1.sumKV, sums1.sumK, sums2.sumKV, sums2.sumK, merge1, merge2);
  tensors.dropChunks(x1, sums1.spatial);
  dropCorrGuidanceInputs(run, cg);
  return (await layerResult(run, ['logits'], perChunk, x1.counts)).logits!;
}
