/**
 * Category early rejection (paper §3.3 "Category Early Rejection", Fig. 4b;
 * `Aggregator.fast_conv_decoder`). Before each decoder layer:
 *
 * 1. rank the classes by the auxiliary head of the step before (head0 on the cost-map
 *    embedding, then head1, head2) and keep the union over pixels of each pixel's top-k;
 * 2. gather the survivors' features and corr guidance: rejected classes leave the decoder;
 * 3. run the decoder layer on the survivors only.
 *
 * The survivors' final logits become probabilities; rejected classes get exactly 0. Traces
 * `cer_top{K}_valid0..2`, `cer_top{K}_mask_aux0/1`, `cer_top{K}_keep`, `cer_top{K}_output`.
 */
import type { HostTensor } from '../../tensor/host-tensor.js';
import type { DecoderLayerOutput } from '../stages/decoder-stages.js';
import { sigmoidHost } from '../postprocess.js';
import { maskToIndices, topKSurvivors } from './category-early-rejection.js';
import { gatherClassChunks, type ClassChunks } from './class-chunks.js';
import {
  corrGuidanceOutputNeeded,
  dropCorrGuidanceInputs,
  firstCorrGuidanceInputs,
  gatherCorrGuidanceInputs,
  nextCorrGuidanceInputs,
  type CorrGuidanceInputs,
} from './corr-guidance-inputs.js';
import { hostTensor, type DecoderResult } from './decoder-result.js';
import type { DecoderLayerInputs, DecoderRunState } from './decoder-run-state.js';
import { runDecoderLayer } from './run-decoder-layer.js';

/** CER from the decoder inputs (consumed) to host probabilities [1, T, R/4, R/4] and the survivors. */
export async function decodeWithRejection<T>(run: DecoderRunState<T>, inputs: DecoderLayerInputs<T>, classCount: number, topK: number): Promise<DecoderResult> {
  const { ops, tensors, tracer } = run;
  const prefix = `cer_top${topK}_`;
  /** Per rejection (row), the classes still in, in original class order. */
  const keepMask = new Uint8Array(3 * classCount);
  const valid: Uint8Array[] = [];
  const auxHost: HostTensor<'float32'>[] = [];
  /** Original indices of the classes still in. */
  let alive = Int32Array.from({ length: classCount }, (_, i) => i);
  let x = inputs.corrEmbed;
  let cg = firstCorrGuidanceInputs(run, inputs.corrClasses, inputs.corrEmbed);
  // the scores of each rejection on the host: head0's, then each layer's logits (read by the layer)
  let scores = hostTensor('float32', ops.shape(inputs.maskAux), await ops.read(inputs.maskAux));
  tensors.drop(inputs.maskAux);
  let final: HostTensor<'float32'> | undefined;
  for (let layer = 0; layer < 3; layer++) {
    // 1. rank by the auxiliary head, keep each pixel's top-k
    const [, n, sh, sw] = scores.shape as [number, number, number, number];
    const values = scores.data;
    if (layer > 0) auxHost.push(scores);
    const kept = topKSurvivors(values, n, sh * sw, topK);
    valid.push(kept);
    await tracer.emit(`${prefix}valid${layer}`, hostTensor('uint8', [n], kept));
    for (let j = 0; j < n; j++) if (kept[j]) keepMask[layer * classCount + alive[j]!] = 1;

    // 2. gather the survivors
    const idx = maskToIndices(kept);
    if (idx.length < n) {
      ({ x, cg } = gatherSurvivors(run, x, cg, idx));
      alive = Int32Array.from(idx, (j) => alive[j]!);
    }

    // 3. the decoder layer on the survivors (its head scores the next rejection)
    const outputs: DecoderLayerOutput[] =
      layer < 2 ? (corrGuidanceOutputNeeded(cg) ? ['features', 'corrGuidance', 'logits'] : ['features', 'logits']) : ['logits'];
    const out = await runDecoderLayer(run, layer, outputs, x, cg, inputs.guidance[layer]!);
    tensors.dropChunks(x);
    tensors.drop(inputs.guidance[layer]);
    if (layer < 2) {
      await tracer.emit(`${prefix}mask_aux${layer}`, out.logits!);
      scores = out.logits!;
      x = out.features!;
      cg = nextCorrGuidanceInputs(run, cg, out.corrGuidance);
    } else {
      dropCorrGuidanceInputs(run, cg);
      final = out.logits!;
    }
  }
  await tracer.emit(`${prefix}keep`, hostTensor('uint8', [3, classCount], keepMask));

  const output = scatterSurvivorProbabilities(final!, alive, classCount);
  await tracer.emit(`${prefix}output`, output);
  return {
    classCount,
    outputSize: [output.shape[2]!, output.shape[3]!],
    topK,
    valid0: hostTensor('uint8', [valid[0]!.length], valid[0]!),
    valid1: hostTensor('uint8', [valid[1]!.length], valid[1]!),
    valid2: hostTensor('uint8', [valid[2]!.length], valid[2]!),
    keep: hostTensor('uint8', [3, classCount], keepMask),
    survivors: alive,
    maskAux0: auxHost[0]!,
    maskAux1: auxHost[1]!,
    output,
  };
}

/** The classes `idx` of the layer input and corr guidance inputs; parts no longer needed are freed. */
function gatherSurvivors<T>(
  run: DecoderRunState<T>,
  x: ClassChunks<T>,
  cg: CorrGuidanceInputs<T>,
  idx: Int32Array,
): { x: ClassChunks<T>; cg: CorrGuidanceInputs<T> } {
  const { ops, tensors } = run;
  const gx = gatherClassChunks(ops, x, idx);
  for (const p of gx.parts) tensors.keep(p);
  const reused = new Set(gx.parts);
  tensors.drop(...x.parts.filter((p) => !reused.has(p)));
  return { x: gx, cg: gatherCorrGuidanceInputs(run, cg, idx) };
}

/**
 * Probabilities of every class [1, T, h, w] from the survivors' final logits [1, T', h, w]:
 * sigmoid on the host (the logits are read anyway), exactly 0 for the rejected classes.
 */
function scatterSurvivorProbabilities(logits: HostTensor<'float32'>, survivors: Int32Array, classCount: number): HostTensor<'float32'> {
  const [, survivorsCount, oh, ow] = logits.shape as [number, number, number, number];
  const plane = oh * ow;
  const output = new Float32Array(classCount * plane);
  // straight into each survivor's plane: no third T'-plane array at the end of a large run
  for (let j = 0; j < survivorsCount; j++) {
    sigmoidHost(logits.data.subarray(j * plane, (j + 1) * plane), output.subarray(survivors[j]! * plane, (survivors[j]! + 1) * plane));
  }
  return hostTensor('float32', [1, classCount, oh, ow], output);
}
