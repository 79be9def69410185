/**
 * The class attention of a decoder layer on every class, in bands of pooled rows. It mixes
 * classes but not pixels, so it can run on a few rows at a time: its memory then does not grow
 * with classes × pixels. Bands divide the height evenly, so every band is the same graph.
 */
import { runStage } from '../../ops/stage.js';
import { decoderLayerAttentionStageOf } from '../stages/decoder-stages.js';
import { joinClassChunks, type ClassChunks } from './class-chunks.js';
import type { DecoderRunState } from './decoder-run-state.js';

/** The largest divisor of `height` that is at most `maxRows` (at least 1). */
function bandRows(height: number, maxRows: number): number {
  let rows = 1;
  for (let r = 1; r <= height; r++) if (height % r === 0 && r <= maxRows) rows = r;
  return rows;
}

/**
 * The attention output of `layer` for the pooled chunks [t_i, c, h', w'] (not consumed),
 * returned cut like the chunks. Bands hold at most `run.attentionBandValues` values.
 */
export async function classAttentionInBands<T>(
  run: DecoderRunState<T>,
  layer: number,
  pooled: readonly T[],
  counts: readonly number[],
): Promise<ClassChunks<T>> {
  const { ops, tensors } = run;
  const [, c, ph, pw] = ops.shape(pooled[0]!) as [number, number, number, number];
  const total = counts.reduce((a, b) => a + b, 0);
  const rows = bandRows(ph, Math.max(1, Math.floor(run.attentionBandValues / (total * c * pw))));
  const stage = decoderLayerAttentionStageOf(run.params, run.arch, layer);
  const bands: T[] = [];
  for (let r0 = 0; r0 < ph; r0 += rows) {
    const band = Int32Array.from({ length: rows }, (_, i) => r0 + i);
    const parts = rows === ph ? [...pooled] : pooled.map((p) => tensors.keep(ops.gather(p, band, 2)));
    const input = tensors.keep(joinClassChunks(ops, parts));
    if (rows !== ph) tensors.drop(...parts.filter((p) => p !== input));
    bands.push(tensors.keep((await runStage(ops, stage, { pooled: input })).attended!));
    if (!pooled.includes(input)) tensors.drop(input);
  }
  // cut every band like the chunks, then join each chunk's bands
  const result: T[] = [];
  let start = 0;
  for (const n of counts) {
    const classes = Int32Array.from({ length: n }, (_, i) => start + i);
    const pieces = bands.map((b) => (counts.length === 1 ? b : tensors.keep(ops.gather(b, classes, 0))));
    const joined = tensors.keep(joinClassChunks(ops, pieces, 2));
    if (counts.length > 1 && pieces.length > 1) tensors.drop(...pieces);
    result.push(joined);
    start += n;
  }
  tensors.drop(...bands.filter((b) => !result.includes(b)));
  return { parts: result, counts: [...counts] };
}
