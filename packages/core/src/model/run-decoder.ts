/**
 * The decoder forward pass from image features and class embeddings to host results: the full
 * path (`Aggregator.conv_decoder`) and the category-early-rejection fast path
 * (`Aggregator.fast_conv_decoder`). The decoder stages (sed-stages.ts) run through `runStage`;
 * with CER the auxiliary logits are read back between stages, the survivors selected on the host
 * (`topKSurvivors`) and their tensors gathered on the class axis.
 */
import { SedsegError } from '../errors.js';
import type { Ops } from '../ops/ops.js';
import { runStage } from '../ops/stage.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { maskToIndices, topKSurvivors } from './category-early-rejection.js';
import type { ModelParams } from './model-params.js';
import { classBatchToBCTHW } from './decoder-input.js';
import type { DecoderArchitecture, DecoderImageFeatures, DecoderLayerOutputs } from './sed-forward.js';
import { decoderInputStageOf, decoderLayerStageOf } from './sed-stages.js';

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
}

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
  if (!Number.isInteger(classCount) || classCount < 1) throw new SedsegError('E_ARGUMENT', `class count must be a positive integer, got ${classCount}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new SedsegError('E_ARGUMENT', `CER top-k must be a positive integer, got ${topK}`);

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
  /** Traces a tensor derived from `t` by `view` (created only when tracing). */
  const emitView = async (name: string, t: T, view: (t: T) => T): Promise<void> => {
    if (!trace) return;
    const v = view(t);
    try {
      await trace(name, v);
    } finally {
      ops.dispose(v);
    }
  };

  try {
    let text: T;
    if (textFeatures instanceof Float32Array) {
      const p = arch.prompt_channel;
      if (textFeatures.length % (classCount * p) !== 0) {
        throw new SedsegError('E_ARGUMENT', `text features: ${textFeatures.length} values do not make ${classCount} classes × ${p} prompts × D`);
      }
      text = keep(ops.constant(textFeatures, [classCount, p, textFeatures.length / (classCount * p)], 'text_features'));
    } else {
      text = textFeatures;
      const ts = ops.shape(text);
      if (ts[0] !== classCount) throw new SedsegError('E_ARGUMENT', `text features [${ts.join(', ')}] do not hold ${classCount} classes`);
    }

    const stageOut = await runStage(ops, decoderInputStageOf(params, { withCorr: trace !== undefined }), {
      dense: features.dense,
      res2: features.res2,
      res3: features.res3,
      res4: features.res4,
      text,
    });
    for (const t of Object.values(stageOut)) keep(t);
    const inputs: { corr: T | undefined; corrClasses: T; corrEmbed: T; maskAux: T; guidance: [T, T, T] } = {
      corr: stageOut.corr,
      corrClasses: stageOut.corrClasses!,
      corrEmbed: stageOut.corrEmbed!,
      maskAux: stageOut.maskAux!,
      guidance: [stageOut.guidance0!, stageOut.guidance1!, stageOut.guidance2!],
    };
    drop(text);
    if (inputs.corr !== undefined) await emit('corr', inputs.corr);
    await emitView('corr_embed', inputs.corrEmbed, (t) => classBatchToBCTHW(ops, t));
    for (const [i, g] of inputs.guidance.entries()) await emit(`guidance_proj${i}`, g);
    await emit('mask_aux', inputs.maskAux);
    drop(inputs.corr);
    const runLayer = async (layer: number, withHead: boolean, x: T, corrGuidanceInput: T): Promise<DecoderLayerOutputs<T>> => {
      const out = await runStage(ops, decoderLayerStageOf(params, arch, layer, withHead), { x, guidance: inputs.guidance[layer]!, corrGuidanceInput });
      return { features: out.features!, corrGuidance: out.corrGuidance!, ...(withHead ? { logits: out.logits! } : {}) };
    };

    if (topK === undefined) {
      // ---- full path ------------------------------------------------------------------------
      drop(inputs.maskAux);
      let x = inputs.corrEmbed;
      let cgIn = inputs.corrClasses;
      let logits: T | undefined;
      for (let layer = 0; layer < 3; layer++) {
        const withHead = layer === 2 || trace !== undefined;
        const out = await runLayer(layer, withHead, x, cgIn);
        keep(out.features);
        keep(out.corrGuidance);
        keep(out.logits);
        drop(x, cgIn, inputs.guidance[layer]);
        await emit(`corr_guidance_proj${layer}`, out.corrGuidance);
        await emit(`decoder${layer + 1}`, out.features);
        if (layer < 2) {
          if (out.logits !== undefined) await emit(`mask_aux${layer}`, out.logits);
          drop(out.logits);
        } else {
          logits = out.logits!;
          await emit('logits', logits);
        }
        x = out.features;
        cgIn = out.corrGuidance;
      }
      drop(x, cgIn);
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
    let final: T | undefined;
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
        const gx = keep(ops.gather(x, idx, 0));
        const gc = keep(ops.gather(cgIn, idx, 0));
        drop(x, cgIn);
        x = gx;
        cgIn = gc;
        alive = Int32Array.from(idx, (j) => alive[j]!);
      }
      const out = await runLayer(layer, true, x, cgIn);
      keep(out.features);
      keep(out.corrGuidance);
      keep(out.logits);
      drop(x, cgIn, inputs.guidance[layer]);
      if (layer < 2) {
        await emit(`${prefix}mask_aux${layer}`, out.logits!);
        scores = out.logits!;
        x = out.features;
        cgIn = out.corrGuidance;
      } else {
        drop(out.features, out.corrGuidance);
        final = out.logits!;
      }
    }
    await emit(`${prefix}keep`, host('uint8', [3, classCount], keepMask));

    const [, survivorsCount, oh, ow] = ops.shape(final!) as [number, number, number, number];
    const probsT = keep(ops.sigmoid(final!));
    drop(final);
    const probs = await ops.read(probsT);
    drop(probsT);
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
