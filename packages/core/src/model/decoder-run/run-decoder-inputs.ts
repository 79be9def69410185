/**
 * The decoder's inputs (DESIGN.md §3.5–3.6): the appearance guidances of res4/res3/res2 once per
 * image, then per class chunk the cost map, its embedding `corrEmbed` and `head0` (the scores of
 * the first rejection). Traces `corr`, `corr_embed`, `guidance_proj0..2` and `mask_aux`.
 */
import { runStage } from '../../ops/stage.js';
import { classBatchToBCTHW } from '../decoder/decoder-input.js';
import type { DecoderImageFeatures } from '../decoder/decoder-forward.js';
import { appearanceGuidanceStageOf, decoderInputStageOf } from '../stages/decoder-stages.js';
import { joinClassChunks, type ClassChunks } from './class-chunks.js';
import type { DecoderLayerInputs, DecoderRunState } from './decoder-run-state.js';

/** Runs the decoder-input stages; `text` chunks are consumed (freed one by one as they are used). */
export async function runDecoderInputs<T>(run: DecoderRunState<T>, features: DecoderImageFeatures<T>, text: ClassChunks<T>): Promise<DecoderLayerInputs<T>> {
  const { ops, params, tensors, tracer } = run;
  const g = await runStage(ops, appearanceGuidanceStageOf(params), { res2: features.res2, res3: features.res3, res4: features.res4 });
  const guidance: [T, T, T] = [tensors.keep(g.guidance0!), tensors.keep(g.guidance1!), tensors.keep(g.guidance2!)];
  const inputStage = decoderInputStageOf(params, { withCorr: tracer.enabled });
  const perChunk: Record<string, T>[] = [];
  for (const [i, part] of text.parts.entries()) {
    const out = await runStage(ops, inputStage, { dense: features.dense, text: part });
    for (const t of Object.values(out)) tensors.keep(t);
    perChunk.push(out);
    tensors.drop(part);
    run.progress.advance(0, text.counts[i]!);
  }
  const partsOf = (name: string): T[] => perChunk.map((o) => o[name]!);
  const joined = (name: string, axis: number): T => {
    const parts = partsOf(name);
    const all = tensors.keep(joinClassChunks(ops, parts, axis));
    if (parts.length > 1) tensors.drop(...parts);
    return all;
  };
  const inputs: DecoderLayerInputs<T> = {
    corrClasses: { parts: partsOf('corrClasses'), counts: [...text.counts] },
    corrEmbed: { parts: partsOf('corrEmbed'), counts: [...text.counts] },
    maskAux: joined('maskAux', 1),
    guidance,
  };
  if (tracer.enabled) {
    const corr = joined('corr', 2);
    await tracer.emit('corr', corr);
    tensors.drop(corr);
  }
  await tracer.emitChunks('corr_embed', inputs.corrEmbed, (t) => classBatchToBCTHW(ops, t));
  for (const [i, gi] of inputs.guidance.entries()) await tracer.emit(`guidance_proj${i}`, gi);
  await tracer.emit('mask_aux', inputs.maskAux);
  return inputs;
}
