/**
 * The full decoder path (`Aggregator.conv_decoder`): every class through decoder layers 1–3,
 * then the final head. Traces `corr_guidance_proj0..2`, `decoder1..3`, `mask_aux0/1`, `logits`.
 */
import type { DecoderLayerOutput } from '../stages/decoder-stages.js';
import { corrGuidanceOutputNeeded, dropCorrGuidanceInputs, firstCorrGuidanceInputs, nextCorrGuidanceInputs } from './corr-guidance-inputs.js';
import { hostTensor, type DecoderResult } from './decoder-result.js';
import type { DecoderLayerInputs, DecoderRunState } from './decoder-run-state.js';
import { runDecoderLayer } from './run-decoder-layer.js';

/** The full path from the decoder inputs (consumed) to host logits [1, T, R/4, R/4]. */
export async function decodeAllClasses<T>(run: DecoderRunState<T>, inputs: DecoderLayerInputs<T>, classCount: number): Promise<DecoderResult> {
  const { ops, tensors, tracer } = run;
  tensors.drop(inputs.maskAux); // no rejection: head0 is not needed
  let x = inputs.corrEmbed;
  let cg = firstCorrGuidanceInputs(inputs.corrClasses);
  let logits: T | undefined;
  for (let layer = 0; layer < 3; layer++) {
    // the auxiliary heads and intermediate features only when traced
    const outputs: DecoderLayerOutput[] = tracer.enabled
      ? ['features', 'corrGuidance', 'logits']
      : layer < 2
        ? corrGuidanceOutputNeeded(cg)
          ? ['features', 'corrGuidance']
          : ['features']
        : ['logits'];
    const out = await runDecoderLayer(run, layer, outputs, x, cg, inputs.guidance[layer]!);
    tensors.dropChunks(x);
    tensors.drop(inputs.guidance[layer]);
    if (out.corrGuidance) await tracer.emitChunks(`corr_guidance_proj${layer}`, out.corrGuidance);
    if (out.features) await tracer.emitChunks(`decoder${layer + 1}`, out.features);
    if (layer < 2) {
      if (out.logits !== undefined) await tracer.emit(`mask_aux${layer}`, out.logits);
      tensors.drop(out.logits);
      x = out.features!;
      cg = nextCorrGuidanceInputs(run, cg, out.corrGuidance);
    } else {
      dropCorrGuidanceInputs(run, cg);
      tensors.dropChunks(out.features, out.corrGuidance);
      logits = out.logits!;
      await tracer.emit('logits', logits);
    }
  }
  const shape = ops.shape(logits!);
  const data = await ops.read(logits!);
  tensors.drop(logits);
  return { classCount, outputSize: [shape[2]!, shape[3]!], logits: hostTensor('float32', shape, data) };
}
