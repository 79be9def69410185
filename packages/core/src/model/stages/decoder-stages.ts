/**
 * The decoder's compiled-graph stages (DESIGN.md §2; `Stage`, ops/stage.ts): what a compiling
 * backend turns into one graph each and what `sedseg export` writes. Each stage's `run` is one
 * forward function of decoder/decoder-forward.ts.
 *
 * | stage | inputs | outputs |
 * | --- | --- | --- |
 * | `imageEncoder` (image-encoder-stage.ts) | image [B, 3, R, R] | stem, res2…res5, dense |
 * | `textEncoder` (text-encoder-stage.ts) | padded token embeddings | features |
 * | `appearanceGuidance` | res2, res3, res4 | guidance0…2 |
 * | `decoderInput` | dense, text [T, P, D] | corrClasses, corrEmbed, maskAux (+ corr) — per class chunk |
 * | `decoderLayer{i}` | x [T, ·], guidance, corrGuidanceInput [T, ·] | features, corrGuidance, logits (as asked) |
 *
 * For many classes a decoder layer runs in class chunks instead, in two passes (memory bounded
 * by the chunk, not the class count): `decoderLayer{i}Sums` per chunk (x, sumKVIn, sumKIn → the
 * class attention's running sums sumKV, sumK), then `decoderLayer{i}FromSums` per chunk (x, sumKV, sumK,
 * mergeGuidance, corrGuidanceInput → features, corrGuidance, logits), where `mergeGuidance` is the
 * appearance guidance's share of the merge, made once per image by `decoderLayer{i}MergeGuidance`. (`decoderLayer{i}Pool` →
 * `decoderLayer{i}Attention` on every class → `decoderLayer{i}Merge`, the earlier split whose
 * attention held every class, remain available.) With chunks, a layer's corrGuidanceInput is
 * recomputed per chunk from the cost map (`corrGuidanceChain{i}`: corrClasses → corrGuidanceInput)
 * rather than kept for every class.
 *
 * T (classes) is the only size that changes between calls at a given resolution: inputs mark
 * it with `classAxis`. Category early rejection runs between decoder layers, on the host.
 */
import type { Ops } from '../../ops/ops.js';
import type { Stage } from '../../ops/stage.js';
import type { ModelParams } from '../model-params.js';
import {
  appearanceGuidanceForward,
  corrGuidanceChainForward,
  costMapForward,
  decoderLayerAttentionForward,
  decoderLayerMergeForward,
  decoderLayerMergeGuidanceForward,
  decoderLayerMergeSpatialForward,
  decoderLayerPoolForward,
  decoderLayerForward,
  decoderLayerFromSumsForward,
  decoderLayerFromSpatialSumsForward,
  decoderLayerSumsForward,
  type DecoderArchitecture,
} from '../decoder/decoder-forward.js';

export interface DecoderInputStageOptions {
  /** Also output the cost map itself `corr` [1, P, T, h, w] (for tracing; costs memory). */
  withCorr?: boolean;
}

/** `appearanceGuidance`: res4, res3, res2 → the appearance guidances of decoder1/2/3 (per image). */
export function appearanceGuidanceStageOf<T>(params: ModelParams<T>): Stage<T> {
  return {
    name: 'appearanceGuidance',
    inputs: [{ name: 'res2' }, { name: 'res3' }, { name: 'res4' }],
    outputs: ['guidance0', 'guidance1', 'guidance2'],
    run: (ops: Ops<T>, i) => {
      const [guidance0, guidance1, guidance2] = appearanceGuidanceForward(ops, params, { res2: i.res2!, res3: i.res3!, res4: i.res4! });
      return { guidance0, guidance1, guidance2 };
    },
  };
}

/** `decoderInput`, per class chunk: dense and text [t, P, D] → cost map (class-batched), its embedding and head0. */
export function decoderInputStageOf<T>(params: ModelParams<T>, options: DecoderInputStageOptions = {}): Stage<T> {
  const withCorr = options.withCorr ?? false;
  const outputs = ['corrClasses', 'corrEmbed', 'maskAux'];
  return {
    name: withCorr ? 'decoderInputWithCorr' : 'decoderInput',
    inputs: [{ name: 'dense' }, { name: 'text', classAxis: 0 }],
    outputs: withCorr ? ['corr', ...outputs] : outputs,
    run: (ops: Ops<T>, i) => {
      const out = costMapForward(ops, params, i.dense!, i.text!);
      const result: Record<string, T> = { corrClasses: out.corrClasses, corrEmbed: out.corrEmbed, maskAux: out.maskAux };
      if (withCorr) result.corr = out.corr;
      else ops.dispose(out.corr);
      return result;
    },
  };
}

/** A decoder layer's outputs: its features and corr guidance (inputs of the next layer) and the head after it. */
export type DecoderLayerOutput = 'features' | 'corrGuidance' | 'logits';

/** Keeps the outputs asked for, disposes the others. */
function selectOutputs<T>(ops: Ops<T>, out: Partial<Record<DecoderLayerOutput, T>>, outputs: readonly DecoderLayerOutput[]): Record<string, T> {
  const kept: Record<string, T> = {};
  for (const name of ['features', 'corrGuidance', 'logits'] as const) {
    const t = out[name];
    if (t === undefined) continue;
    if (outputs.includes(name)) kept[name] = t;
    else ops.dispose(t);
  }
  return kept;
}

/**
 * `decoderLayer{layer}` (0, 1, 2 = decoder1/2/3) for the classes given, with the `outputs` asked
 * for (the head runs only when `logits` is among them; the last layer usually needs only logits).
 */
export function decoderLayerStageOf<T>(params: ModelParams<T>, arch: DecoderArchitecture, layer: number, outputs: readonly DecoderLayerOutput[]): Stage<T> {
  const withHead = outputs.includes('logits');
  return {
    name: `decoderLayer${layer}[${outputs.join(',')}]`,
    inputs: [{ name: 'x', classAxis: 0 }, { name: 'guidance' }, { name: 'corrGuidanceInput', classAxis: 0 }],
    outputs,
    run: (ops: Ops<T>, i) =>
      selectOutputs(
        ops,
        decoderLayerForward(ops, params, arch, layer, { x: i.x!, guidance: i.guidance!, corrGuidanceInput: i.corrGuidanceInput! }, withHead),
        outputs,
      ),
  };
}

/**
 * `corrGuidanceChain{layer}` (1, 2), per class chunk: the class-batched cost map → the corr
 * guidance input of decoder layer `layer`, recomputed (decoder-run/corr-guidance-inputs.ts).
 */
export function corrGuidanceChainStageOf<T>(params: ModelParams<T>, layer: number): Stage<T> {
  return {
    name: `corrGuidanceChain${layer}`,
    inputs: [{ name: 'corr', classAxis: 0 }],
    outputs: ['corrGuidanceInput'],
    run: (ops: Ops<T>, i) => ({ corrGuidanceInput: corrGuidanceChainForward(ops, params, layer, i.corr!) }),
  };
}

/**
 * `decoderLayer{layer}MergeGuidance`, once per image for the chunked stages: the appearance
 * `guidance` → `mergeGuidance`, its share of the merge (the same for every class; merge-guidance.ts).
 */
export function decoderLayerMergeGuidanceStageOf<T>(params: ModelParams<T>, layer: number): Stage<T> {
  return {
    name: `decoderLayer${layer}MergeGuidance`,
    inputs: [{ name: 'guidance' }],
    outputs: ['mergeGuidance'],
    run: (ops: Ops<T>, i) => ({ mergeGuidance: decoderLayerMergeGuidanceForward(ops, params, layer, i.guidance!) }),
  };
}

/** `decoderLayer{layer}Pool`: for a chunk of classes, the pooled FAM-spatial features. */
export function decoderLayerPoolStageOf<T>(params: ModelParams<T>, arch: DecoderArchitecture, layer: number): Stage<T> {
  return {
    name: `decoderLayer${layer}Pool`,
    inputs: [{ name: 'x', classAxis: 0 }],
    outputs: ['pooled'],
    run: (ops: Ops<T>, i) => ({ pooled: decoderLayerPoolForward(ops, params, arch, layer, i.x!) }),
  };
}

/** `decoderLayer{layer}Attention`: the class attention on every class, at pooled resolution. */
export function decoderLayerAttentionStageOf<T>(params: ModelParams<T>, arch: DecoderArchitecture, layer: number): Stage<T> {
  return {
    name: `decoderLayer${layer}Attention`,
    inputs: [{ name: 'pooled', classAxis: 0 }],
    outputs: ['attended'],
    run: (ops: Ops<T>, i) => ({ attended: decoderLayerAttentionForward(ops, params, arch, layer, i.pooled!) }),
  };
}

/**
 * `decoderLayer{layer}Merge`: the rest of the layer for a chunk, with the `outputs` asked for.
 */
export function decoderLayerMergeStageOf<T>(
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  layer: number,
  outputs: readonly DecoderLayerOutput[],
): Stage<T> {
  const withHead = outputs.includes('logits');
  return {
    name: `decoderLayer${layer}Merge[${outputs.join(',')}]`,
    inputs: [{ name: 'x', classAxis: 0 }, { name: 'attended', classAxis: 0 }, { name: 'mergeGuidance' }, { name: 'corrGuidanceInput', classAxis: 0 }],
    outputs,
    run: (ops: Ops<T>, i) =>
      selectOutputs(
        ops,
        decoderLayerMergeForward(
          ops,
          params,
          arch,
          layer,
          { x: i.x!, attended: i.attended!, mergeGuidance: i.mergeGuidance!, corrGuidanceInput: i.corrGuidanceInput! },
          withHead,
        ),
        outputs,
      ),
  };
}

/**
 * `decoderLayer{layer}MergeSpatial`: `decoderLayer{layer}Merge` given the chunk's FAM-spatial
 * features (`spatial`, the pooled features at pooling 1) instead of `x`.
 */
export function decoderLayerMergeSpatialStageOf<T>(params: ModelParams<T>, layer: number, outputs: readonly DecoderLayerOutput[]): Stage<T> {
  const withHead = outputs.includes('logits');
  return {
    name: `decoderLayer${layer}MergeSpatial[${outputs.join(',')}]`,
    inputs: [{ name: 'spatial', classAxis: 0 }, { name: 'attended', classAxis: 0 }, { name: 'mergeGuidance' }, { name: 'corrGuidanceInput', classAxis: 0 }],
    outputs,
    run: (ops: Ops<T>, i) =>
      selectOutputs(
        ops,
        decoderLayerMergeSpatialForward(
          ops,
          params,
          layer,
          { spatial: i.spatial!, attended: i.attended!, mergeGuidance: i.mergeGuidance!, corrGuidanceInput: i.corrGuidanceInput! },
          withHead,
        ),
        outputs,
      ),
  };
}

/**
 * `decoderLayer{layer}Sums`: for a chunk of classes, the class attention's running sums (sumKVIn,
 * sumKIn → sumKV, sumK); with `keepSpatial` (`decoderLayer{layer}Sums[spatial]`) also the chunk's
 * FAM-spatial features `spatial`, which `decoderLayerFromSumsStageOf(…, 'spatial')` then takes.
 */
export function decoderLayerSumsStageOf<T>(params: ModelParams<T>, arch: DecoderArchitecture, layer: number, keepSpatial = false): Stage<T> {
  return {
    name: keepSpatial ? `decoderLayer${layer}Sums[spatial]` : `decoderLayer${layer}Sums`,
    // graph inputs and outputs need distinct names: the sums so far come in as `*In`
    inputs: [{ name: 'x', classAxis: 0 }, { name: 'sumKVIn' }, { name: 'sumKIn' }],
    outputs: keepSpatial ? ['sumKV', 'sumK', 'spatial'] : ['sumKV', 'sumK'],
    run: (ops: Ops<T>, i): Record<string, T> => {
      const { sumKV, sumK, spatial } = decoderLayerSumsForward(ops, params, arch, layer, i.x!, { sumKV: i.sumKVIn!, sumK: i.sumKIn! });
      if (keepSpatial) return { sumKV, sumK, spatial };
      ops.dispose(spatial);
      return { sumKV, sumK };
    },
  };
}

/**
 * `decoderLayer{layer}FromSums`: the layer for a chunk given the sums over every class, with the
 * `outputs` asked for, from the chunk's input `x` or (`from` = 'spatial',
 * `decoderLayer{layer}FromSpatialSums`) from the FAM-spatial features the sums pass kept.
 */
export function decoderLayerFromSumsStageOf<T>(
  params: ModelParams<T>,
  arch: DecoderArchitecture,
  layer: number,
  outputs: readonly DecoderLayerOutput[],
  from: 'x' | 'spatial' = 'x',
): Stage<T> {
  const withHead = outputs.includes('logits');
  return {
    name: `decoderLayer${layer}${from === 'x' ? 'FromSums' : 'FromSpatialSums'}[${outputs.join(',')}]`,
    inputs: [{ name: from, classAxis: 0 }, { name: 'sumKV' }, { name: 'sumK' }, { name: 'mergeGuidance' }, { name: 'corrGuidanceInput', classAxis: 0 }],
    outputs,
    run: (ops: Ops<T>, i) => {
      const common = { sums: { sumKV: i.sumKV!, sumK: i.sumK! }, mergeGuidance: i.mergeGuidance!, corrGuidanceInput: i.corrGuidanceInput! };
      const out =
        from === 'x'
          ? decoderLayerFromSumsForward(ops, params, arch, layer, { x: i.x!, ...common }, withHead)
          : decoderLayerFromSpatialSumsForward(ops, params, arch, layer, { spatial: i.spatial!, ...common }, withHead);
      return selectOutputs(ops, out, outputs);
    },
  };
}
