/**
 * One gradual-fusion decoder layer on the classes still in, over class chunks: one stage when
 * the classes fit in a chunk, else the FAM spatial block and the merge per chunk around the class
 * attention, which mixes every class. That attention runs either
 *
 * - on every class at once (pool per chunk → attention on all, in row bands → merge per chunk):
 *   the fastest on CPU, but its pooled features of all classes grow with the class count; or
 * - streamed (sums pass per chunk → each chunk from the sums): nothing holds every class, so
 *   memory is bounded by the chunk, at the cost of many small per-chunk attention kernels.
 *
 * The first is taken while the pooled features of all classes hold at most
 * `run.allClassAttentionValues` values, the second above (e.g. SED-B, R = 768, pooling 1: 150
 * classes at once, 847 streamed).
 */
import { runStage } from '../../ops/stage.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import { emptyClassAttentionSums } from '../decoder/class-attention.js';
import {
  decoderLayerFromSumsStageOf,
  decoderLayerMergeGuidanceStageOf,
  decoderLayerMergeSpatialStageOf,
  decoderLayerMergeStageOf,
  decoderLayerPoolStageOf,
  decoderLayerStageOf,
  decoderLayerSumsStageOf,
  type DecoderLayerOutput,
} from '../stages/decoder-stages.js';
import { classAttentionInBands } from './class-attention-bands.js';
import { corrGuidanceInput, releaseCorrGuidanceInput, type CorrGuidanceInputs } from './corr-guidance-inputs.js';
import type { ClassChunks } from './class-chunks.js';
import { hostTensor } from './decoder-result.js';
import type { DecoderRunState } from './decoder-run-state.js';

/** A layer's outputs: features and corr guidance as chunks (inputs of the next layer), logits on the host [1, T', 2H, 2W]. */
export interface DecoderLayerResult<T> {
  features?: ClassChunks<T>;
  corrGuidance?: ClassChunks<T>;
  logits?: HostTensor<'float32'>;
}

/**
 * Decoder layer `layer` (0, 1, 2) on the classes of `x` / `cg` with the layer's appearance
 * `guidance`. The input chunks are consumed: each is freed after its last use, so a layer's
 * inputs go while its outputs come (a recomputed corr guidance keeps its cost map, see
 * corr-guidance-inputs.ts). Returns the `outputs` asked for.
 */
export async function runDecoderLayer<T>(
  run: DecoderRunState<T>,
  layer: number,
  outputs: readonly DecoderLayerOutput[],
  x: ClassChunks<T>,
  cg: CorrGuidanceInputs<T>,
  guidance: T,
): Promise<DecoderLayerResult<T>> {
  run.progress.enterLayer(
    layer,
    x.counts.reduce((a, b) => a + b, 0),
  );
  if (x.parts.length === 1) return await layerResult(run, outputs, await runWholeLayer(run, layer, outputs, x, cg, guidance), x.counts);
  const mergeGuidance = await mergeGuidanceOf(run, layer, guidance);
  const perChunk =
    pooledValues(run, x) <= run.allClassAttentionValues
      ? await runLayerOnAllClasses(run, layer, outputs, x, cg, mergeGuidance)
      : await runLayerStreamed(run, layer, outputs, x, cg, mergeGuidance);
  run.tensors.drop(mergeGuidance);
  return await layerResult(run, outputs, perChunk, x.counts);
}

/**
 * Layer `layer`'s share of the merge that is the same for every class (merge-guidance.ts), from its
 * appearance `guidance`: made once for the chunked stages (owned by the run).
 */
export async function mergeGuidanceOf<T>(run: DecoderRunState<T>, layer: number, guidance: T): Promise<T> {
  const out = await runStage(run.ops, decoderLayerMergeGuidanceStageOf(run.params, layer), { guidance });
  return run.tensors.keep(out.mergeGuidance!);
}

/** Every class in one chunk: the whole layer as one stage. */
async function runWholeLayer<T>(
  run: DecoderRunState<T>,
  layer: number,
  outputs: readonly DecoderLayerOutput[],
  x: ClassChunks<T>,
  cg: CorrGuidanceInputs<T>,
  guidance: T,
): Promise<Record<string, T>[]> {
  const { ops, tensors } = run;
  const cgIn = await corrGuidanceInput(run, layer, cg, 0);
  const out = await runStage(ops, decoderLayerStageOf(run.params, run.arch, layer, outputs), { x: x.parts[0]!, guidance, corrGuidanceInput: cgIn });
  tensors.drop(x.parts[0]);
  releaseCorrGuidanceInput(run, cg, 0, cgIn);
  run.progress.advance(layer + 1, x.counts[0]!);
  return [out];
}

/** Values of the pooled features of every class of `x` (what the all-classes attention holds, per copy). */
export function pooledValues<T>(run: DecoderRunState<T>, x: ClassChunks<T>): number {
  const [, c, h, w] = run.ops.shape(x.parts[0]!) as [number, number, number, number];
  const pool = run.arch.decoder_pooling[0]!;
  return x.counts.reduce((a, b) => a + b, 0) * c * Math.floor(h / pool) * Math.floor(w / pool);
}

/** Several chunks, attention on all classes: pool per chunk → class attention on all (banded) → merge per chunk. */
async function runLayerOnAllClasses<T>(
  run: DecoderRunState<T>,
  layer: number,
  outputs: readonly DecoderLayerOutput[],
  x: ClassChunks<T>,
  cg: CorrGuidanceInputs<T>,
  mergeGuidance: T,
): Promise<Record<string, T>[]> {
  const { ops, tensors } = run;
  const poolStage = decoderLayerPoolStageOf(run.params, run.arch, layer);
  const pooled: T[] = [];
  // the spatial block before pooling is about a quarter of a layer's work, the merge the rest
  for (const [i, part] of x.parts.entries()) {
    pooled.push(tensors.keep((await runStage(ops, poolStage, { x: part })).pooled!));
    run.progress.advance(layer + 1, x.counts[i]!, 0.25);
  }
  const attended = await classAttentionInBands(run, layer, pooled, x.counts);
  // pooling 1: the pooled features are the spatial block's output, which the merge then takes
  // instead of running that block again
  const spatialKept = run.arch.decoder_pooling[0] === 1;
  if (!spatialKept) tensors.drop(...pooled);
  const mergeStage = spatialKept ? decoderLayerMergeSpatialStageOf(run.params, layer, outputs) : decoderLayerMergeStageOf(run.params, run.arch, layer, outputs);
  return finishEachChunk(run, layer, x, cg, async (part, cgIn, i) => {
    const common = { attended: attended.parts[i]!, mergeGuidance, corrGuidanceInput: cgIn };
    const out = await runStage(ops, mergeStage, spatialKept ? { spatial: pooled[i]!, ...common } : { x: part, ...common });
    tensors.drop(attended.parts[i]);
    if (spatialKept) tensors.drop(pooled[i]);
    return out;
  });
}

/** Several chunks, attention streamed: the class attention's sums over every chunk, then each chunk from them. */
async function runLayerStreamed<T>(
  run: DecoderRunState<T>,
  layer: number,
  outputs: readonly DecoderLayerOutput[],
  x: ClassChunks<T>,
  cg: CorrGuidanceInputs<T>,
  mergeGuidance: T,
): Promise<Record<string, T>[]> {
  // the sums pass keeps each chunk's spatial features in place of its input: the finish pass
  // then need not run the spatial block again
  const sums = await streamedSums(run, layer, storedChunks(run, x), true);
  const perChunk = await streamedFinish(run, layer, outputs, storedChunks(run, sums.spatial!), sums, cg, mergeGuidance, 'spatial');
  run.tensors.drop(sums.sumKV, sums.sumK);
  return perChunk;
}

/**
 * A layer's input features chunk by chunk: `get` gives chunk `i` (kept by the run), `release`
 * takes it back after a pass (`last`: the layer's last use of it).
 */
export interface FeatureChunks<T> {
  counts: readonly number[];
  get(index: number): Promise<T>;
  release(index: number, chunk: T, last: boolean): void;
}

/** Stored chunks: each freed after its last use. */
export function storedChunks<T>(run: DecoderRunState<T>, x: ClassChunks<T>): FeatureChunks<T> {
  return {
    counts: x.counts,
    get: async (i) => x.parts[i]!,
    release: (i, _chunk, last) => {
      if (last) run.tensors.drop(x.parts[i]);
    },
  };
}

/** The class attention's sums of a streamed layer (owned by the run), and the chunks' spatial features when kept. */
export interface StreamedSums<T> {
  sumKV: T;
  sumK: T;
  /** With `keepSpatial`: each chunk's FAM-spatial features (owned by the run), its input released for good. */
  spatial?: ClassChunks<T>;
}

/**
 * First pass of a streamed layer: the class attention's sums over every chunk of `x`. With
 * `keepSpatial` each chunk's FAM-spatial features are kept in place of the chunk (the same size),
 * for the finish pass to take (`streamedFinish(…, 'spatial')`).
 */
export async function streamedSums<T>(run: DecoderRunState<T>, layer: number, x: FeatureChunks<T>, keepSpatial = false): Promise<StreamedSums<T>> {
  const { ops, tensors } = run;
  const pool = run.arch.decoder_pooling[0]!;
  const sumsStage = decoderLayerSumsStageOf(run.params, run.arch, layer, keepSpatial);
  let sumKV: T | undefined;
  let sumK: T | undefined;
  const spatial: T[] = [];
  // the first pass (spatial block, pooling, keys and values) is about a quarter of a layer's work
  for (const [i, n] of x.counts.entries()) {
    const part = await x.get(i);
    if (sumKV === undefined || sumK === undefined) {
      const [, c, h, w] = ops.shape(part) as [number, number, number, number];
      const empty = emptyClassAttentionSums(ops, [1, c, Math.floor(h / pool), Math.floor(w / pool)], run.arch.decoder_heads);
      sumKV = tensors.keep(empty.sumKV);
      sumK = tensors.keep(empty.sumK);
    }
    const out = await runStage(ops, sumsStage, { x: part, sumKVIn: sumKV, sumKIn: sumK });
    x.release(i, part, keepSpatial);
    if (keepSpatial) spatial.push(tensors.keep(out.spatial!));
    tensors.drop(sumKV, sumK);
    sumKV = tensors.keep(out.sumKV!);
    sumK = tensors.keep(out.sumK!);
    run.progress.advance(layer + 1, n, 0.25);
  }
  return { sumKV: sumKV!, sumK: sumK!, ...(keepSpatial ? { spatial: { parts: spatial, counts: [...x.counts] } } : {}) };
}

/**
 * Second pass of a streamed layer: each chunk of `x` (the layer's input, or with `from` =
 * 'spatial' the spatial features the sums pass kept) from the sums over every class and the
 * layer's `mergeGuidance` (`mergeGuidanceOf`); the chunks are released for good.
 */
export async function streamedFinish<T>(
  run: DecoderRunState<T>,
  layer: number,
  outputs: readonly DecoderLayerOutput[],
  x: FeatureChunks<T>,
  sums: { sumKV: T; sumK: T },
  cg: CorrGuidanceInputs<T>,
  mergeGuidance: T,
  from: 'x' | 'spatial' = 'x',
): Promise<Record<string, T>[]> {
  const finishStage = decoderLayerFromSumsStageOf(run.params, run.arch, layer, outputs, from);
  const perChunk: Record<string, T>[] = [];
  for (const [i, n] of x.counts.entries()) {
    const part = await x.get(i);
    const cgIn = await corrGuidanceInput(run, layer, cg, i);
    perChunk.push(await runStage(run.ops, finishStage, { [from]: part, sumKV: sums.sumKV, sumK: sums.sumK, mergeGuidance, corrGuidanceInput: cgIn }));
    x.release(i, part, true);
    releaseCorrGuidanceInput(run, cg, i, cgIn);
    run.progress.advance(layer + 1, n, 0.75);
  }
  return perChunk;
}

/**
 * The second pass of a split layer: `finish` each chunk (three quarters of the layer's work),
 * freeing the chunk's inputs as the layer goes.
 */
async function finishEachChunk<T>(
  run: DecoderRunState<T>,
  layer: number,
  x: ClassChunks<T>,
  cg: CorrGuidanceInputs<T>,
  finish: (part: T, cgIn: T, index: number) => Promise<Record<string, T>>,
): Promise<Record<string, T>[]> {
  const perChunk: Record<string, T>[] = [];
  for (const [i, part] of x.parts.entries()) {
    const cgIn = await corrGuidanceInput(run, layer, cg, i);
    perChunk.push(await finish(part, cgIn, i));
    run.tensors.drop(part);
    releaseCorrGuidanceInput(run, cg, i, cgIn);
    run.progress.advance(layer + 1, x.counts[i]!, 0.75);
  }
  return perChunk;
}

/** Takes ownership of the per-chunk outputs and regroups them; logits are read to the host (every consumer reads them). */
export async function layerResult<T>(
  run: DecoderRunState<T>,
  outputs: readonly DecoderLayerOutput[],
  perChunk: Record<string, T>[],
  counts: readonly number[],
): Promise<DecoderLayerResult<T>> {
  const { tensors } = run;
  for (const out of perChunk) for (const t of Object.values(out)) tensors.keep(t);
  const chunksOf = (name: DecoderLayerOutput): ClassChunks<T> => ({ parts: perChunk.map((o) => o[name]!), counts: [...counts] });
  const result: DecoderLayerResult<T> = {};
  if (outputs.includes('features')) result.features = chunksOf('features');
  if (outputs.includes('corrGuidance')) result.corrGuidance = chunksOf('corrGuidance');
  if (outputs.includes('logits'))
    result.logits = await readLogits(
      run,
      perChunk.map((o) => o.logits!),
    );
  return result;
}

/**
 * Per-chunk logits [1, t_i, H, W] read into one host tensor [1, Σ t_i, H, W], each part freed once
 * read: no joined backend tensor (at R = 768, T = 847 the last layer's logits are 125 MB, and a
 * join would hold them three times — parts, joined, read — plus the join's arena).
 */
async function readLogits<T>(run: DecoderRunState<T>, parts: T[]): Promise<HostTensor<'float32'>> {
  const [, , h, w] = run.ops.shape(parts[0]!) as [number, number, number, number];
  const classes = parts.reduce((a, p) => a + run.ops.shape(p)[1]!, 0);
  const data = new Float32Array(classes * h * w);
  let offset = 0;
  for (const part of parts) {
    const values = await run.ops.read(part);
    data.set(values, offset);
    offset += values.length;
    run.tensors.drop(part);
  }
  return hostTensor('float32', [1, classes, h, w], data);
}
