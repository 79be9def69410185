/**
 * Where a decoder layer takes its corr guidance input from, chunk by chunk:
 *
 * - `stored`: the previous layer's corr guidance output, kept for every class (the cost map for
 *   layer 0) — what one chunk does (the whole layer as one stage);
 * - `recomputed`: only the class-batched cost map [T, P, h, w] is kept, and each chunk's input
 *   is recomputed from it when the layer needs it (`corrGuidanceChain{layer}`: layer 1 one,
 *   layer 2 two transposed convolutions). With class chunks this saves memory that grows with
 *   the classes: the corr guidance of layer 2's input is [16, 96, 96] per class at R = 768
 *   (0.59 MB; 500 MB at T = 847), the cost map [80, 24, 24] (0.18 MB). Exact: the same
 *   operators on the same values.
 */
import { runStage } from '../../ops/stage.js';
import { corrGuidanceChainStageOf } from '../stages/decoder-stages.js';
import { gatherClassChunks, type ClassChunks } from './class-chunks.js';
import type { DecoderRunState } from './decoder-run-state.js';
import { pooledValues } from './run-decoder-layer.js';

export type CorrGuidanceInputs<T> = { kind: 'stored'; chunks: ClassChunks<T> } | { kind: 'recomputed'; corr: ClassChunks<T> };

/** Chunk `index`'s corr guidance input of `layer`, owned by the run; give it back with `releaseCorrGuidanceInput`. */
export async function corrGuidanceInput<T>(run: DecoderRunState<T>, layer: number, cg: CorrGuidanceInputs<T>, index: number): Promise<T> {
  if (cg.kind === 'stored') return cg.chunks.parts[index]!;
  const corr = cg.corr.parts[index]!;
  if (layer === 0) return corr;
  const out = await runStage(run.ops, corrGuidanceChainStageOf(run.params, layer), { corr });
  return run.tensors.keep(out.corrGuidanceInput!);
}

/** After chunk `index`'s last use in a layer: frees a stored input or a recomputed one (never the cost map). */
export function releaseCorrGuidanceInput<T>(run: DecoderRunState<T>, cg: CorrGuidanceInputs<T>, index: number, input: T): void {
  if (cg.kind === 'stored') run.tensors.drop(cg.chunks.parts[index]);
  else if (input !== cg.corr.parts[index]) run.tensors.drop(input);
}

/** The classes `idx` (sorted) of the corr guidance inputs; parts no longer needed are freed. */
export function gatherCorrGuidanceInputs<T>(run: DecoderRunState<T>, cg: CorrGuidanceInputs<T>, idx: Int32Array): CorrGuidanceInputs<T> {
  const chunks = cg.kind === 'stored' ? cg.chunks : cg.corr;
  const gathered = gatherClassChunks(run.ops, chunks, idx);
  for (const p of gathered.parts) run.tensors.keep(p);
  const reused = new Set(gathered.parts);
  run.tensors.drop(...chunks.parts.filter((p) => !reused.has(p)));
  return cg.kind === 'stored' ? { kind: 'stored', chunks: gathered } : { kind: 'recomputed', corr: gathered };
}

/** Frees every part still held. */
export function dropCorrGuidanceInputs<T>(run: DecoderRunState<T>, cg: CorrGuidanceInputs<T>): void {
  run.tensors.dropChunks(cg.kind === 'stored' ? cg.chunks : cg.corr);
}

/**
 * Layer 0's inputs from the cost map chunks (owned by the run): recomputed when the last layer's
 * class attention will be streamed (many classes: memory matters more than the small stages the
 * recomputation adds; with few classes they cost far more than their arithmetic — measured at
 * R = 768, T = 150 on ort: +25 % decoder CPU time, the other sessions' threads slowed), stored
 * otherwise.
 * The last layer holds 4× the pooled values of layer 0 (`corrEmbed`): SED's decoder halves the
 * channels as it doubles the side.
 */
export function firstCorrGuidanceInputs<T>(run: DecoderRunState<T>, corrClasses: ClassChunks<T>, corrEmbed: ClassChunks<T>): CorrGuidanceInputs<T> {
  const streamedLast = corrClasses.parts.length > 1 && 4 * pooledValues(run, corrEmbed) > run.allClassAttentionValues;
  return streamedLast ? { kind: 'recomputed', corr: corrClasses } : { kind: 'stored', chunks: corrClasses };
}

/** Whether a layer must output its corr guidance for the next layer (stored inputs). */
export function corrGuidanceOutputNeeded<T>(cg: CorrGuidanceInputs<T>): boolean {
  return cg.kind === 'stored';
}

/**
 * The next layer's inputs after a layer that output `corrGuidance` (stored) or not (recomputed;
 * a corr guidance output asked for tracing is freed here).
 */
export function nextCorrGuidanceInputs<T>(run: DecoderRunState<T>, cg: CorrGuidanceInputs<T>, corrGuidance: ClassChunks<T> | undefined): CorrGuidanceInputs<T> {
  if (cg.kind === 'stored') return { kind: 'stored', chunks: corrGuidance! };
  run.tensors.dropChunks(corrGuidance);
  return cg;
}
