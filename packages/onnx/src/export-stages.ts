/**
 * `sedseg export`: the model's stages as standalone ONNX graphs (opset 17, weights inside, the
 * class count a dynamic dimension named `classes`), one set per resolution, plus a manifest that
 * says how to chain them. Graphs only use operators that onnxruntime-web runs (wasm, WebGPU).
 *
 * The text encoder is exported once (`text/textEncoder.onnx`, batch and length dynamic) with its
 * two embedding tables as raw little-endian arrays, since the token lookup happens on the host.
 * The host steps between stages (tokenizing, pre-processing, category early rejection,
 * post-processing) are described in the manifest.
 */
import {
  CLIP_PIXEL_MEAN,
  CLIP_PIXEL_STD,
  CLIP_PREFIX,
  DEFAULT_INFERENCE_POOLING,
  float32ToFloat16Array,
  validatePooling,
  type SedArchitecture,
  type SedModel,
  type Shape,
  type Stage,
} from '@sedseg/core';
import { serializeOnnxModel, type OnnxValueInfo } from './onnx/onnx-model.js';
import type { LazyTensor } from './graph/lazy-tensor.js';
import { DYNAMIC_SIZES } from './graph/dynamic-sizes.js';
import { OPSET } from './opset.js';
import { TracingOps } from './tracing-ops.js';

export const MANIFEST_FORMAT = 'sedseg-onnx-stages';

export interface ExportOptions {
  /** Input sides to export graphs for (multiples of 32; default [768]). */
  resolutions?: readonly number[];
  /** Weights stored as float16 (cast to float32 inside the graph): half the size. */
  fp16?: boolean;
  /** Producer version written into the graphs. */
  producerVersion?: string;
  /** Decoder pooling the decoder graphs compute (default 1, the authors' evaluation setting). */
  pooling?: number;
}

export interface ManifestValue {
  name: string;
  dtype: 'float32';
  /** Sizes; `"classes"` and `"batch"` mark dynamic ones. */
  dims: (number | string | null)[];
}

export interface ManifestStage {
  name: string;
  file: string;
  bytes: number;
  inputs: ManifestValue[];
  outputs: ManifestValue[];
}

/** A raw little-endian array file. */
export interface ManifestArray {
  file: string;
  dtype: 'float32' | 'float16';
  shape: number[];
}

export interface StageManifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  opset: number;
  weightsDtype: 'float32' | 'float16';
  weightsDigest: string;
  /** The architecture as inferred (its `decoder_pooling` is the training config's). */
  architecture: SedArchitecture;
  /** Decoder pooling k×k the decoder graphs compute (k = 1: the authors' evaluation setting). */
  decoderPooling: number;
  /** Prompt templates the class embeddings (`text` input, [classes, P, D]) are averaged over. */
  templates: readonly string[];
  preprocess: { mean: number[]; std: number[]; resize: 'bilinear, align_corners=false, to R×R' };
  /** How to chain the stages; CER between decoder layers is optional. */
  pipeline: string[];
  /** The text encoder and the host steps around it. */
  text: {
    stage: ManifestStage;
    tokenEmbedding: ManifestArray;
    positionalEmbedding: ManifestArray;
    contextLength: number;
    steps: string[];
  };
  resolutions: Record<string, { stages: ManifestStage[] }>;
}

/** One exported file. */
export interface ExportedFile {
  /** Path relative to the export folder. */
  path: string;
  bytes: Uint8Array;
}

function manifestValues(values: readonly OnnxValueInfo[]): ManifestValue[] {
  return values.map((v) => ({ name: v.name, dtype: 'float32', dims: [...v.dims] }));
}

/**
 * Traces every stage of `model` (loaded on a `TracingOps` backend, e.g. `OrtOps`) and yields the graph files one at
 * a time (so that only one serialized graph is in memory), then the manifest (`manifest.json`).
 */
export async function* exportStageGraphs(model: SedModel<LazyTensor>, options: ExportOptions = {}): AsyncGenerator<ExportedFile> {
  const ops = model.backend;
  // Only tracing is needed: any TracingOps (the ort backend, a browser one) will do.
  if (!(ops instanceof TracingOps)) throw new TypeError('exportStageGraphs: the model must be loaded with an ONNX-tracing backend (e.g. the ort backend)');
  const resolutions = options.resolutions ?? [768];
  const weightType = options.fp16 ? 'float16' : 'float32';
  const arch = model.architecture;
  const pooling = validatePooling(options.pooling ?? DEFAULT_INFERENCE_POOLING);
  for (const r of resolutions) validatePooling(pooling, r);
  await model.loadTextEncoder(); // the text encoder is exported too
  const stages = model.stages({ pooling });
  const manifest: StageManifest = {
    format: MANIFEST_FORMAT,
    version: 1,
    opset: OPSET,
    weightsDtype: weightType,
    weightsDigest: model.weightsDigest,
    architecture: arch,
    decoderPooling: pooling,
    templates: model.templates,
    preprocess: {
      mean: [...CLIP_PIXEL_MEAN],
      std: [...CLIP_PIXEL_STD],
      resize: 'bilinear, align_corners=false, to R×R',
    },
    pipeline: [
      'text (once per class list, see "text"): textEncoder -> class embeddings text [classes, P, D]',
      'imageEncoder(image) -> stem, res2, res3, res4, res5, dense',
      'appearanceGuidance(res2, res3, res4) -> guidance0..2',
      'decoderInput(dense, text) -> corrClasses, corrEmbed, maskAux [1, classes, R/32, R/32] (may run per class chunk)',
      'decoderLayer0(x=corrEmbed, guidance=guidance0, corrGuidanceInput=corrClasses) -> features, corrGuidance, logits (head1)',
      'decoderLayer1(x=features, guidance=guidance1, corrGuidanceInput=corrGuidance) -> features, corrGuidance, logits (head2)',
      'decoderLayer2(x=features, guidance=guidance2, corrGuidanceInput=corrGuidance) -> logits [1, classes, R/4, R/4]',
      'CER (optional): before decoderLayer i, keep the classes in the top-k of maskAux (i=0) or the previous logits at any pixel; gather them on axis 0 of x and corrGuidanceInput',
    ],
    resolutions: {},
    text: undefined as unknown as StageManifest['text'],
  };
  const asFile = (data: Float32Array): Uint8Array =>
    options.fp16 ? new Uint8Array(float32ToFloat16Array(data).buffer) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const tables: Record<string, ManifestArray> = {};
  for (const [name, key] of [
    ['token_embedding', `${CLIP_PREFIX}token_embedding.weight`],
    ['positional_embedding', `${CLIP_PREFIX}positional_embedding`],
  ] as const) {
    const t = await model.readWeight(key);
    tables[name] = { file: `text/${name}.bin`, dtype: weightType, shape: [...t.shape] };
    yield { path: tables[name]!.file, bytes: asFile(t.data) };
  }
  const W = arch.text_width;
  const textTrace = ops.traceStage(stages.textEncoder, { embeddings: [1, 1, W], positional: [1, W], mask: [1, 1], eot: [1, 1, 1] }, { weightType });
  const textBytes = serializeOnnxModel(textTrace.graph, { opset: OPSET, producerName: 'sedseg', metadata: { stage: 'textEncoder' } });
  yield { path: 'text/textEncoder.onnx', bytes: textBytes };
  manifest.text = {
    stage: {
      name: 'textEncoder',
      file: 'text/textEncoder.onnx',
      bytes: textBytes.length,
      inputs: manifestValues(textTrace.graph.inputs),
      outputs: manifestValues(textTrace.graph.outputs),
    },
    tokenEmbedding: tables.token_embedding!,
    positionalEmbedding: tables.positional_embedding!,
    contextLength: arch.context_length,
    steps: [
      'prompts: for each class, every template filled with every synonym (", " separates synonyms), template-major',
      'tokens: CLIP BPE (@sedseg/core ClipTokenizer), contextLength ids per text; EOT (49407) position = argmax of the ids',
      'L = the largest EOT position + 1 in the batch; embeddings [N, L, W] = tokenEmbedding rows of the first L ids; positional = its first L rows',
      'mask [L, L] = 0 on and below the diagonal, -Infinity above; eot [N, L, 1] = one-hot of each EOT position',
      'features [N, D] -> per class: L2-normalise each text, average over synonyms per template, re-normalise -> text [classes, P, D]',
    ],
  };
  for (const r of resolutions) {
    if (!Number.isInteger(r) || r < 32 || r % 32 !== 0) throw new RangeError(`export: resolution must be a positive multiple of 32, got ${r}`);
    const entries: ManifestStage[] = [];
    const emit = (stage: Stage<LazyTensor>, inputs: Record<string, Shape>, name = stage.name): { file: ExportedFile; outputs: Record<string, number[]> } => {
      const traced = ops.traceStage({ ...stage, name }, inputs, { weightType });
      const bytes = serializeOnnxModel(traced.graph, {
        opset: OPSET,
        producerName: 'sedseg',
        ...(options.producerVersion ? { producerVersion: options.producerVersion } : {}),
        metadata: { stage: name, resolution: String(r), decoder_pooling: String(pooling) },
      });
      const path = `r${r}/${name}.onnx`;
      entries.push({ name, file: path, bytes: bytes.length, inputs: manifestValues(traced.graph.inputs), outputs: manifestValues(traced.graph.outputs) });
      return { file: { path, bytes }, outputs: traced.outputShapes };
    };
    const image = emit(stages.imageEncoder, { image: [1, 3, r, r] });
    yield image.file;
    // The image encoder takes any batch; the decoder stages take one image's features.
    const f = Object.fromEntries(Object.entries(image.outputs).map(([n, shape]) => [n, shape.map((d) => (d === DYNAMIC_SIZES.batch ? 1 : d))]));
    const guidance = emit(stages.appearanceGuidance, { res2: f.res2!, res3: f.res3!, res4: f.res4! });
    yield guidance.file;
    const input = emit(stages.decoderInput, { dense: f.dense!, text: [DYNAMIC_SIZES.classes, arch.prompt_channel, arch.embed_dim] });
    yield input.file;
    let x = input.outputs.corrEmbed!;
    let cg = input.outputs.corrClasses!;
    for (const [i, stage] of stages.decoderLayers.entries()) {
      const layer = emit(stage, { x, guidance: guidance.outputs[`guidance${i}`]!, corrGuidanceInput: cg }, `decoderLayer${i}`);
      yield layer.file;
      if (i < 2) {
        x = layer.outputs.features!;
        cg = layer.outputs.corrGuidance!;
      }
    }
    manifest.resolutions[String(r)] = { stages: entries };
  }
  yield { path: 'manifest.json', bytes: new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`) };
}
