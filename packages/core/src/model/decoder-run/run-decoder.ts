/**
 * The decoder forward pass from image features and class embeddings to host results: the full
 * path (`Aggregator.conv_decoder`) and the category-early-rejection fast path
 * (`Aggregator.fast_conv_decoder`). The decoder stages (sed-stages.ts) run through `runStage`;
 * with CER the auxiliary logits are read back between stages, the survivors selected on the host
 * (`topKSurvivors`) and their tensors gathered on the class axis.
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import { runStage } from '../../ops/stage.js';
import type { HostTensor } from '../../tensor/host-tensor.js';
import { maskToIndices, topKSurvivors } from './category-early-rejection.js';
import type { ModelParams } from '../model-params.js';
import { classBatchToBCTHW } from '../decoder/decoder-input.js';
import type { DecoderArchitecture, DecoderImageFeatures } from '../decoder/decoder-forward.js';
import { gatherClassChunks, joinClassChunks, splitClasses, DEFAULT_CLASS_CHUNK, type ClassChunks } from './class-chunks.js';

/** Default values (classes × channels × pixels) of pooled features the class attention takes at once. */
export const DEFAULT_ATTENTION_BAND_VALUES = 1 << 21;
import {
  appearanceGuidanceStageOf,
  decoderInputStageOf,
  decoderLayerAttentionStageOf,
  decoderLayerMergeStageOf,
  decoderLayerPoolStageOf,
  decoderLayerStageOf,
  type DecoderLayerOutput,
} from '../stages/decoder-stages.js';

/** A traced intermediate: a backend tensor, or a host tensor for values computed on the host. */
export type DecoderTraceValue<T> = T | HostTensor;

/** True when a trace value is a host tensor (its `data` is a typed array, not a backend handle). */
export function isHostTensor(v: unknown): v is HostTensor {
  // A backend tensor may hold host data too (ort): the dtype string is what only host tensors have.
  if (typeof v !== 'object' || v === null) return false;
  const h = v as { data?: unknown; dtype?: unknown };
  return typeof h.dtype === 'string' && ArrayBuffer.isView(h.data);
}

export interface RunDecoderOptions<T> {
  /** CER top-k; undefined runs the full path. */
  topK?: number;
  /**
   * Receives every intermediate under the reference's golden tensor names (`corr`, `corr_embed`,
   * `guidance_proj0..2`, `corr_guidance_proj0..2`, `mask_aux`, `decoder1..3`, `mask_aux0/1`,
   * `logits`; with CER `cer_top{K}_valid0..2`, `cer_top{K}_keep`, `cer_top{K}_mask_aux0/1`,
   * `cer_top{K}_output`). Tensors are alive until the returned promise settles and are
   * disposed afterwards (read them inside the callback).
   */
  trace?: (name: string, value: DecoderTraceValue<T>) => void | Promise<void>;
  /**
   * Classes per chunk in the decoder layers (default: the backend's `preferredClassChunk`, else
   * 16): per-class work runs a chunk at a time, so memory does not grow with the number of
   * classes. Results do not depend on it.
   */
  classChunk?: number;
  /**
   * With class chunks, the class attention runs on bands of pooled rows holding at most this many
   * values (classes × channels × pixels; default 2^21). Results do not depend on it.
   */
  attentionBandValues?: number;
  /**
   * Progress inside the decoder, after each stage run: `done` of `total` class steps, weighted by
   * the rough cost of a class in each part (`DECODER_STEP_WEIGHTS`); with CER the total shrinks as
   * classes are rejected. `detail` names the part running ("cost map", "layer 2 of 3").
   */
  onProgress?: (done: number, total: number, detail: string) => void;
}

/**
 * Relative cost of one class in the decoder input and in decoder layers 1–3 (the per-class stage
 * times of `bench/sed-speed` on SED-B at R = 768, rounded): weights for progress reports only.
 */
export const DECODER_STEP_WEIGHTS = [1, 2, 3, 5] as const;

/** Host results of `runDecoder`. */
export interface DecoderResult {
  classCount: number;
  /** Side of the output maps (R/4) as [height, width]. */
  outputSize: [number, number];
  /** Full path: logits [1, T, R/4, R/4]. */
  logits?: HostTensor<'float32'>;
  /** CER: the top-k used. */
  topK?: number;
  /** CER: survivors of stage 0 among all T classes (length T). */
  valid0?: HostTensor<'uint8'>;
  /** CER: survivors of stage 1 among the stage-0 survivors (length T1). */
  valid1?: HostTensor<'uint8'>;
  /** CER: survivors of stage 2 among the stage-1 survivors (length T2). */
  valid2?: HostTensor<'uint8'>;
  /** CER: cumulative survivors per stage in original class order [3, T]. */
  keep?: HostTensor<'uint8'>;
  /** CER: original indices of the classes decoder3 ran on. */
  survivors?: Int32Array;
  /** CER: head1 logits of the stage-0 survivors [1, T1, 2h, 2w]. */
  maskAux0?: HostTensor<'float32'>;
  /** CER: head2 logits of the stage-1 survivors [1, T2, 4h, 4w]. */
  maskAux1?: HostTensor<'float32'>;
  /** CER: probabilities [1, T, R/4, R/4]: sigmoid of the final logits, exactly 0 for rejected classes. */
  output?: HostTensor<'float32'>;
}

function host<D extends 'float32' | 'uint8'>(dtype: D, shape: readonly number[], data: HostTensor<D>['data']): HostTensor<D> {
  return { dtype, shape: [...shape], data };
}

/**
 * The decoder forward pass from image features and class embeddings to host results.
 *
 * `textFeatures`: class embeddings [T, P, D], as a backend tensor or as host float32 values
 * (T·P·D, row-major). `classCount` = T.
 */
export async function runDecoder<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  features: DecoderImageFeatures<T>,
  textFeatures: Float32Array | T,
  classCount: number,
  options: RunDecoderOptions<T> = {},
): Promise<DecoderResult> {
  const { topK, trace } = options;
  const classChunk = options.classChunk ?? ops.preferredClassChunk ?? DEFAULT_CLASS_CHUNK;
  const attentionBand = options.attentionBandValues ?? DEFAULT_ATTENTION_BAND_VALUES;
  if (!Number.isInteger(classChunk) || classChunk < 1) throw new SedsegError('E_ARGUMENT', `classChunk must be a positive integer, got ${classChunk}`);
  if (!(attentionBand > 0)) throw new SedsegError('E_ARGUMENT', `attentionBandValues must be positive, got ${attentionBand}`);
  if (!Number.isInteger(classCount) || classCount < 1) throw new SedsegError('E_ARGUMENT', `class count must be a positive integer, got ${classCount}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new SedsegError('E_ARGUMENT', `CER top-k must be a positive integer, got ${topK}`);

  // ---- progress: weighted class steps (see DECODER_STEP_WEIGHTS) ----
  /** Classes entering the decoder input and layers 1–3; later entries follow the latest known count. */
  const entering = [classCount, classCount, classCount, classCount];
  let stepsDone = 0;
  const stepsTotal = (): number => entering.reduce((sum, n, i) => sum + n * DECODER_STEP_WEIGHTS[i]!, 0);
  const advance = (part: number, classes: number, share = 1): void => {
    stepsDone += classes * DECODER_STEP_WEIGHTS[part]! * share;
    options.onProgress?.(Math.round(stepsDone), stepsTotal(), part === 0 ? 'cost map' : `layer ${part} of 3`);
  };
  const enterLayer = (layer: number, classes: number): void => {
    for (let i = layer + 1; i < entering.length; i++) entering[i] = classes;
  };
  options.onProgress?.(0, stepsTotal(), 'cost map');

  const live = new Set<T>();
  const keep = <X extends T | undefined>(t: X): X => {
    if (t !== undefined) live.add(t);
    return t;
  };
  const drop = (...ts: (T | undefined)[]): void => {
    const doomed = ts.filter((t): t is T => t !== undefined && live.delete(t));
    if (doomed.length) ops.dispose(doomed);
  };
  const emit = async (name: string, value: DecoderTraceValue<T>): Promise<void> => {
    if (trace) await trace(name, value);
  };
  const dropChunks = (...cs: (ClassChunks<T> | undefined)[]): void => {
    for (const c of cs) if (c) drop(...c.parts);
  };
  /** Traces per-class chunks joined (only when tracing). */
  const emitChunks = async (name: string, c: ClassChunks<T>, view: (t: T) => T = (t) => t): Promise<void> => {
    if (!trace) return;
    const joined = joinClassChunks(ops, c.parts);
    const v = view(joined);
    try {
      await trace(name, v);
    } finally {
      if (v !== joined) ops.dispose(v);
      if (c.parts.length > 1) ops.dispose(joined);
    }
  };

  try {
    // Class embeddings in chunks of `classChunk` classes: the cost map and everything per class
    // after it run a chunk at a time.
    const textChunks: T[] = [];
    const counts: number[] = [];
    if (textFeatures instanceof Float32Array) {
      const p = arch.prompt_channel;
      if (textFeatures.length % (classCount * p) !== 0) {
        throw new SedsegError('E_ARGUMENT', `text features: ${textFeatures.length} values do not make ${classCount} classes × ${p} prompts × D`);
      }
      const d = textFeatures.length / (classCount * p);
      for (let start = 0; start < classCount; start += classChunk) {
        const n = Math.min(classChunk, classCount - start);
        textChunks.push(keep(ops.constant(textFeatures.subarray(start * p * d, (start + n) * p * d), [n, p, d], 'text_features')));
        counts.push(n);
      }
    } else {
      const ts = ops.shape(textFeatures);
      if (ts[0] !== classCount) throw new SedsegError('E_ARGUMENT', `text features [${ts.join(', ')}] do not hold ${classCount} classes`);
      const split = splitClasses(ops, textFeatures, classChunk);
      for (const part of split.parts) textChunks.push(part === textFeatures ? part : keep(part));
      counts.push(...split.counts);
    }

    const g = await runStage(ops, appearanceGuidanceStageOf(params), { res2: features.res2, res3: features.res3, res4: features.res4 });
    const guidanceAll: [T, T, T] = [keep(g.guidance0!), keep(g.guidance1!), keep(g.guidance2!)];
    const inputStage = decoderInputStageOf(params, { withCorr: trace !== undefined });
    const perChunk: Record<string, T>[] = [];
    for (const [i, text] of textChunks.entries()) {
      const out = await runStage(ops, inputStage, { dense: features.dense, text });
      for (const t of Object.values(out)) keep(t);
      perChunk.push(out);
      drop(text);
      advance(0, counts[i]!);
    }
    const partsOf = (name: string): T[] => perChunk.map((o) => o[name]!);
    const joined = (name: string, axis: number): T => {
      const parts = partsOf(name);
      const all = keep(joinClassChunks(ops, parts, axis));
      if (parts.length > 1) drop(...parts);
      return all;
    };
    const inputs = {
      corrClasses: { parts: partsOf('corrClasses'), counts: [...counts] } as ClassChunks<T>,
      corrEmbed: { parts: partsOf('corrEmbed'), counts: [...counts] } as ClassChunks<T>,
      maskAux: joined('maskAux', 1),
      guidance: guidanceAll,
    };
    if (trace) {
      const corr = joined('corr', 2);
      await emit('corr', corr);
      drop(corr);
    }
    await emitChunks('corr_embed', inputs.corrEmbed, (t) => classBatchToBCTHW(ops, t));
    for (const [i, gi] of inputs.guidance.entries()) await emit(`guidance_proj${i}`, gi);
    await emit('mask_aux', inputs.maskAux);
    /**
     * Decoder layer `layer` on the classes of `x`/`cgIn` (chunks, consumed: each is freed after
     * its last use, so a layer's inputs go while its outputs come). Returns the chunks of the
     * outputs asked for; logits are joined on the class axis ([1, T', 2H, 2W]). One stage when the
     * classes fit in a chunk, else pool per chunk → class attention on all → merge per chunk.
     */
    const runLayer = async (
      layer: number,
      outputs: readonly DecoderLayerOutput[],
      x: ClassChunks<T>,
      cgIn: ClassChunks<T>,
    ): Promise<{ features?: ClassChunks<T>; corrGuidance?: ClassChunks<T>; logits?: T }> => {
      const guidance = inputs.guidance[layer]!;
      const perChunk: Record<string, T>[] = [];
      enterLayer(layer, x.counts.reduce((a, b) => a + b, 0));
      if (x.parts.length === 1) {
        perChunk.push(await runStage(ops, decoderLayerStageOf(params, arch, layer, outputs), { x: x.parts[0]!, guidance, corrGuidanceInput: cgIn.parts[0]! }));
        drop(x.parts[0], cgIn.parts[0]);
        advance(layer + 1, x.counts[0]!);
      } else {
        const poolStage = decoderLayerPoolStageOf(params, arch, layer);
        const pooled: T[] = [];
        // the spatial block before pooling is about a quarter of a layer's work, the merge the rest
        for (const [i, part] of x.parts.entries()) {
          pooled.push(keep((await runStage(ops, poolStage, { x: part })).pooled!));
          advance(layer + 1, x.counts[i]!, 0.25);
        }
        const cut = await classAttentionInBands(layer, pooled, x.counts);
        drop(...pooled);
        const mergeStage = decoderLayerMergeStageOf(params, arch, layer, outputs);
        for (const [i, part] of x.parts.entries()) {
          perChunk.push(await runStage(ops, mergeStage, { x: part, attended: cut.parts[i]!, guidance, corrGuidanceInput: cgIn.parts[i]! }));
          // the chunk's inputs are not needed any more: free them as the layer goes
          drop(cut.parts[i], part, cgIn.parts[i]);
          advance(layer + 1, x.counts[i]!, 0.75);
        }
      }
      for (const out of perChunk) for (const t of Object.values(out)) keep(t);
      const chunksOf = (name: DecoderLayerOutput): ClassChunks<T> => ({ parts: perChunk.map((o) => o[name]!), counts: [...x.counts] });
      const result: { features?: ClassChunks<T>; corrGuidance?: ClassChunks<T>; logits?: T } = {};
      if (outputs.includes('features')) result.features = chunksOf('features');
      if (outputs.includes('corrGuidance')) result.corrGuidance = chunksOf('corrGuidance');
      if (outputs.includes('logits')) {
        const parts = perChunk.map((o) => o.logits!);
        result.logits = keep(joinClassChunks(ops, parts, 1));
        if (parts.length > 1) drop(...parts);
      }
      return result;
    };
    /**
     * The class attention of `layer` on every class, from the pooled chunks, returned cut like the
     * chunks. It mixes classes but not pixels, so it runs on bands of pooled rows small enough
     * that its memory does not grow with classes × pixels (bands divide the height: one graph).
     */
    const classAttentionInBands = async (layer: number, pooled: readonly T[], counts: readonly number[]): Promise<ClassChunks<T>> => {
      const [, c, ph, pw] = ops.shape(pooled[0]!) as [number, number, number, number];
      const total = counts.reduce((a, b) => a + b, 0);
      const maxRows = Math.max(1, Math.floor(attentionBand / (total * c * pw)));
      let rows = 1;
      for (let r = 1; r <= ph; r++) if (ph % r === 0 && r <= maxRows) rows = r;
      const stage = decoderLayerAttentionStageOf(params, arch, layer);
      const bands: T[] = [];
      for (let r0 = 0; r0 < ph; r0 += rows) {
        const band = Int32Array.from({ length: rows }, (_, i) => r0 + i);
        const parts = rows === ph ? [...pooled] : pooled.map((p) => keep(ops.gather(p, band, 2)));
        const input = keep(joinClassChunks(ops, parts));
        if (rows !== ph) drop(...parts.filter((p) => p !== input));
        bands.push(keep((await runStage(ops, stage, { pooled: input })).attended!));
        if (!pooled.includes(input)) drop(input);
      }
      // cut every band like the chunks, then join each chunk's bands
      const result: T[] = [];
      let start = 0;
      for (const n of counts) {
        const classes = Int32Array.from({ length: n }, (_, i) => start + i);
        const pieces = bands.map((b) => (counts.length === 1 ? b : keep(ops.gather(b, classes, 0))));
        const joined = keep(joinClassChunks(ops, pieces, 2));
        if (counts.length > 1 && pieces.length > 1) drop(...pieces);
        result.push(joined);
        start += n;
      }
      drop(...bands.filter((b) => !result.includes(b)));
      return { parts: result, counts: [...counts] };
    };
    if (topK === undefined) {
      // ---- full path ------------------------------------------------------------------------
      drop(inputs.maskAux);
      let x = inputs.corrEmbed;
      let cgIn = inputs.corrClasses;
      let logits: T | undefined;
      for (let layer = 0; layer < 3; layer++) {
        const outputs: DecoderLayerOutput[] = trace !== undefined ? ['features', 'corrGuidance', 'logits'] : layer < 2 ? ['features', 'corrGuidance'] : ['logits'];
        const out = await runLayer(layer, outputs, x, cgIn);
        dropChunks(x, cgIn);
        drop(inputs.guidance[layer]);
        if (out.corrGuidance) await emitChunks(`corr_guidance_proj${layer}`, out.corrGuidance);
        if (out.features) await emitChunks(`decoder${layer + 1}`, out.features);
        if (layer < 2) {
          if (out.logits !== undefined) await emit(`mask_aux${layer}`, out.logits);
          drop(out.logits);
          x = out.features!;
          cgIn = out.corrGuidance!;
        } else {
          dropChunks(out.features, out.corrGuidance);
          logits = out.logits!;
          await emit('logits', logits);
        }
      }
      const shape = ops.shape(logits!);
      const data = await ops.read(logits!);
      drop(logits);
      return { classCount, outputSize: [shape[2]!, shape[3]!], logits: host('float32', shape, data) };
    }

    // ---- category early rejection -------------------------------------------------------------
    const prefix = `cer_top${topK}_`;
    const keepMask = new Uint8Array(3 * classCount);
    const valid: Uint8Array[] = [];
    const auxHost: HostTensor<'float32'>[] = [];
    let alive = Int32Array.from({ length: classCount }, (_, i) => i);
    let x = inputs.corrEmbed;
    let cgIn = inputs.corrClasses;
    let scores = inputs.maskAux;
    let final: Float32Array | undefined;
    let finalShape: readonly number[] = [];
    for (let layer = 0; layer < 3; layer++) {
      const [, n, sh, sw] = ops.shape(scores) as [number, number, number, number];
      const values = await ops.read(scores);
      if (layer > 0) auxHost.push(host('float32', [1, n, sh, sw], values));
      drop(scores);
      const v = topKSurvivors(values, n, sh * sw, topK);
      valid.push(v);
      await emit(`${prefix}valid${layer}`, host('uint8', [n], v));
      for (let j = 0; j < n; j++) if (v[j]) keepMask[layer * classCount + alive[j]!] = 1;
      const idx = maskToIndices(v);
      if (idx.length < n) {
        const gx = gatherClassChunks(ops, x, idx);
        const gc = gatherClassChunks(ops, cgIn, idx);
        for (const p of [...gx.parts, ...gc.parts]) keep(p);
        const reused = new Set([...gx.parts, ...gc.parts]);
        drop(...[...x.parts, ...cgIn.parts].filter((p) => !reused.has(p)));
        x = gx;
        cgIn = gc;
        alive = Int32Array.from(idx, (j) => alive[j]!);
      }
      const out = await runLayer(layer, layer < 2 ? ['features', 'corrGuidance', 'logits'] : ['logits'], x, cgIn);
      dropChunks(x, cgIn);
      drop(inputs.guidance[layer]);
      if (layer < 2) {
        await emit(`${prefix}mask_aux${layer}`, out.logits!);
        scores = out.logits!;
        x = out.features!;
        cgIn = out.corrGuidance!;
      } else {
        finalShape = ops.shape(out.logits!);
        final = await ops.read(out.logits!);
        drop(out.logits);
      }
    }
    await emit(`${prefix}keep`, host('uint8', [3, classCount], keepMask));

    const [, survivorsCount, oh, ow] = finalShape as [number, number, number, number];
    // sigmoid on the host: the logits are read anyway
    const probs = new Float32Array(final!.length);
    for (let i = 0; i < probs.length; i++) probs[i] = 1 / (1 + Math.exp(-final![i]!));
    const plane = oh * ow;
    const output = new Float32Array(classCount * plane);
    for (let j = 0; j < survivorsCount; j++) output.set(probs.subarray(j * plane, (j + 1) * plane), alive[j]! * plane);
    const outputTensor = host('float32', [1, classCount, oh, ow], output);
    await emit(`${prefix}output`, outputTensor);
    return {
      classCount,
      outputSize: [oh, ow],
      topK,
      valid0: host('uint8', [valid[0]!.length], valid[0]!),
      valid1: host('uint8', [valid[1]!.length], valid[1]!),
      valid2: host('uint8', [valid[2]!.length], valid[2]!),
      keep: host('uint8', [3, classCount], keepMask),
      survivors: alive,
      maskAux0: auxHost[0]!,
      maskAux1: auxHost[1]!,
      output: outputTensor,
    };
  } finally {
    if (live.size) ops.dispose([...live]);
    live.clear();
  }
}
