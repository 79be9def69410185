/**
 * Infers a SED model's sizes from the names and shapes of its checkpoint tensors (never from the
 * file name), then checks every tensor against the shapes that architecture requires.
 */
import { SedsegError } from '../errors.js';
import { shapeToString, shapesEqual } from '../tensor/host-tensor.js';
import type { TensorInfo, WeightStore } from '../weights/weight-store.js';
import { parseArchitectureConfig } from './architecture-config.js';
import { expectedWeightShapes, OPTIONAL_WEIGHTS } from './expected-weights.js';
import {
  ARCHITECTURE_FIELDS,
  CLIP_PREFIX,
  DECODER_PREFIX,
  DEFAULT_DECODER_HEADS,
  DEFAULT_DECODER_POOLING,
  IMAGE_PREFIX,
  SED_KEY_PREFIX,
  TEXT_HEAD_WIDTH,
  type SedArchitecture,
} from './sed-architecture.js';

export interface MisShapedWeight {
  name: string;
  expected: number[];
  actual: number[];
}

/** Result of checking a checkpoint's tensors against its architecture. */
export interface WeightCheck {
  missing: string[];
  unexpected: string[];
  misShaped: MisShapedWeight[];
}

export type FieldOrigin = 'weights' | 'config' | 'default';

export interface InferredArchitecture {
  architecture: SedArchitecture;
  /** Where each field came from: read off tensor shapes, given by the config, or the convention. */
  origin: Record<keyof SedArchitecture, FieldOrigin>;
  check: WeightCheck;
}

export interface InferOptions {
  /** A parsed config (reference `config.json` or its `architecture` object). */
  config?: unknown;
  /** Name of the config for messages (its path). */
  configSource?: string;
}

/** Explains what a checkpoint without SED keys looks like instead. */
function notSedMessage(source: string, names: readonly string[]): string {
  const sample = names
    .slice(0, 3)
    .map((n) => `"${n}"`)
    .join(', ');
  let kind = '';
  if (names.some((n) => n.startsWith('visual.') || n.startsWith('transformer.resblocks.'))) {
    kind = ' (it looks like a plain OpenCLIP checkpoint)';
  } else if (names.some((n) => n.startsWith('backbone.'))) {
    kind = ' (it looks like a detectron2 model of another kind)';
  }
  return names.length === 0
    ? `${source}: not a SED checkpoint: it holds no tensors`
    : `${source}: not a SED checkpoint: no keys start with "${SED_KEY_PREFIX}"${kind}; first keys: ${sample}`;
}

/** Distinct integer indices found at `prefix<i>.` in the names, sorted. */
function indicesAfter(names: readonly string[], prefix: string): number[] {
  const found = new Set<number>();
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(\d+)\./.exec(n.slice(prefix.length));
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

/** 0..n-1 with no holes, or an error naming the first missing index. */
function contiguousCount(source: string, indices: number[], what: string, prefix: string): number {
  indices.forEach((v, i) => {
    if (v !== i) throw new SedsegError('E_KEY', `${source}: missing ${what} ${i} (no keys under "${prefix}${i}.")`);
  });
  return indices.length;
}

export function architectureFromWeights(weights: WeightStore | readonly TensorInfo[], options: InferOptions = {}): InferredArchitecture {
  const source = 'source' in weights && !Array.isArray(weights) ? (weights as WeightStore).source : '<weights>';
  const infos: TensorInfo[] = Array.isArray(weights)
    ? [...(weights as readonly TensorInfo[])]
    : (weights as WeightStore).keys().map((k) => (weights as WeightStore).info(k)!);
  const byName = new Map(infos.map((i) => [i.name, i]));
  const names = infos.map((i) => i.name);
  if (!names.some((n) => n.startsWith(SED_KEY_PREFIX))) throw new SedsegError('E_KEY', notSedMessage(source, names));

  /** Dimension `dim` of tensor `key`, or an error naming the key and what it was needed for. */
  const dimOf = (key: string, dim: number, field: keyof SedArchitecture): number => {
    const info = byName.get(key);
    if (!info) throw new SedsegError('E_KEY', `${source}: missing key "${key}" (needed to infer ${field})`);
    const v = info.shape[dim];
    if (v === undefined) {
      throw new SedsegError('E_KEY', `${source}: key "${key}" has shape ${shapeToString(info.shape)}, too few dimensions to infer ${field}`);
    }
    return v;
  };

  const trunk = `${IMAGE_PREFIX}trunk.`;
  const stagePrefix = `${trunk}stages.`;
  const stageCount = contiguousCount(source, indicesAfter(names, stagePrefix), 'image stage', stagePrefix);
  if (stageCount === 0) throw new SedsegError('E_KEY', `${source}: missing the image encoder (no keys under "${stagePrefix}")`);
  const image_depths: number[] = [];
  const image_dims: number[] = [];
  for (let i = 0; i < stageCount; i++) {
    const bp = `${stagePrefix}${i}.blocks.`;
    image_depths.push(contiguousCount(source, indicesAfter(names, bp), 'block', bp));
    image_dims.push(dimOf(`${bp}0.conv_dw.weight`, 0, 'image_dims'));
  }
  const image_proj: SedArchitecture['image_proj'] = byName.has(`${IMAGE_PREFIX}head.mlp.fc2.weight`) ? 'mlp' : 'linear';
  const embed_dim =
    image_proj === 'mlp' ? dimOf(`${IMAGE_PREFIX}head.mlp.fc2.weight`, 0, 'embed_dim') : dimOf(`${IMAGE_PREFIX}head.proj.weight`, 0, 'embed_dim');

  const text_width = dimOf(`${CLIP_PREFIX}token_embedding.weight`, 1, 'text_width');
  const vocab_size = dimOf(`${CLIP_PREFIX}token_embedding.weight`, 0, 'vocab_size');
  const context_length = dimOf(`${CLIP_PREFIX}positional_embedding`, 0, 'context_length');
  const resPrefix = `${CLIP_PREFIX}transformer.resblocks.`;
  const text_layers = contiguousCount(source, indicesAfter(names, resPrefix), 'text layer', resPrefix);

  const decoder_hidden_dim = dimOf(`${DECODER_PREFIX}conv1.weight`, 0, 'decoder_hidden_dim');
  const prompt_channel = dimOf(`${DECODER_PREFIX}conv1.weight`, 1, 'prompt_channel');
  const layerCount = names.reduce((n, k) => {
    const m = new RegExp(`^${DECODER_PREFIX.replaceAll('.', '\\.')}decoder(\\d+)\\.`).exec(k);
    return m ? Math.max(n, Number(m[1])) : n;
  }, 0);
  if (layerCount === 0) throw new SedsegError('E_KEY', `${source}: missing the decoder layers (no keys under "${DECODER_PREFIX}decoder1.")`);
  const decoder_dims: number[] = [];
  const decoder_kernel_size: number[] = [];
  const decoder_guidance_dims: number[] = [];
  const decoder_guidance_proj_dims: number[] = [];
  for (let i = 0; i < layerCount; i++) {
    decoder_dims.push(dimOf(`${DECODER_PREFIX}decoder${i + 1}.conv.double_conv.0.weight`, 0, 'decoder_dims'));
    decoder_kernel_size.push(dimOf(`${DECODER_PREFIX}decoder${i + 1}.cnext.dwconv.weight`, 2, 'decoder_kernel_size'));
    const g = `${DECODER_PREFIX}decoder_guidance_projection.${i}.0.weight`;
    decoder_guidance_dims.push(dimOf(g, 1, 'decoder_guidance_dims'));
    decoder_guidance_proj_dims.push(dimOf(g, 0, 'decoder_guidance_proj_dims'));
  }

  const fromWeights: Omit<SedArchitecture, 'text_heads' | 'text_head_dim' | 'decoder_heads' | 'decoder_pooling'> = {
    image_depths,
    image_dims,
    embed_dim,
    image_proj,
    text_width,
    text_layers,
    context_length,
    vocab_size,
    decoder_hidden_dim,
    decoder_dims,
    decoder_guidance_dims,
    decoder_guidance_proj_dims,
    decoder_kernel_size,
    prompt_channel,
  };

  const configSource = options.configSource ?? 'config';
  const config = options.config === undefined ? {} : parseArchitectureConfig(options.config, configSource);
  const origin = {} as Record<keyof SedArchitecture, FieldOrigin>;
  // A config may not contradict what the weights show.
  for (const [field, value] of Object.entries(fromWeights) as [keyof SedArchitecture, unknown][]) {
    origin[field] = 'weights';
    const given = config[field];
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(value)) {
      throw new SedsegError('E_ARGUMENT', `${configSource}: ${field} is ${JSON.stringify(given)} but the weights in ${source} have ${JSON.stringify(value)}`);
    }
  }

  const text_heads = config.text_heads ?? Math.max(1, Math.round(text_width / TEXT_HEAD_WIDTH));
  origin.text_heads = config.text_heads !== undefined ? 'config' : 'default';
  if (text_width % text_heads !== 0) {
    throw new SedsegError('E_ARGUMENT', `${configSource}: text_heads ${text_heads} does not divide text_width ${text_width}`);
  }
  const text_head_dim = text_width / text_heads;
  if (config.text_head_dim !== undefined && config.text_head_dim !== text_head_dim) {
    throw new SedsegError('E_ARGUMENT', `${configSource}: text_head_dim ${config.text_head_dim} disagrees with text_width / text_heads = ${text_head_dim}`);
  }
  origin.text_head_dim = origin.text_heads;
  const decoder_heads = config.decoder_heads ?? DEFAULT_DECODER_HEADS;
  origin.decoder_heads = config.decoder_heads !== undefined ? 'config' : 'default';
  for (const c of [decoder_hidden_dim, ...decoder_dims.slice(0, -1)]) {
    if (c % decoder_heads !== 0) {
      throw new SedsegError('E_ARGUMENT', `${configSource}: decoder_heads ${decoder_heads} does not divide decoder channels ${c}`);
    }
  }
  const decoder_pooling = config.decoder_pooling ?? [...DEFAULT_DECODER_POOLING];
  origin.decoder_pooling = config.decoder_pooling !== undefined ? 'config' : 'default';
  if (decoder_pooling.length !== 2) {
    throw new SedsegError('E_ARGUMENT', `${configSource}: decoder_pooling must have 2 entries, got ${JSON.stringify(decoder_pooling)}`);
  }

  const architecture: SedArchitecture = {
    ...fromWeights,
    text_heads,
    text_head_dim,
    decoder_heads,
    decoder_pooling,
  };
  const ordered = Object.fromEntries(ARCHITECTURE_FIELDS.map((f) => [f, architecture[f]])) as unknown as SedArchitecture;
  const orderedOrigin = Object.fromEntries(ARCHITECTURE_FIELDS.map((f) => [f, origin[f]])) as Record<keyof SedArchitecture, FieldOrigin>;
  return { architecture: ordered, origin: orderedOrigin, check: checkWeights(infos, ordered) };
}

/** Compares stored tensors with the ones the architecture needs. */
export function checkWeights(infos: readonly TensorInfo[], architecture: SedArchitecture): WeightCheck {
  const expected = expectedWeightShapes(architecture);
  const present = new Map(infos.map((i) => [i.name, i]));
  const missing = [...expected.keys()].filter((k) => !present.has(k));
  const unexpected: string[] = [];
  const misShaped: MisShapedWeight[] = [];
  for (const info of infos) {
    const want = expected.get(info.name) ?? OPTIONAL_WEIGHTS.get(info.name);
    if (!want) unexpected.push(info.name);
    else if (!shapesEqual(want, info.shape)) misShaped.push({ name: info.name, expected: want, actual: [...info.shape] });
  }
  return { missing, unexpected, misShaped };
}

/**
 * Throws E_KEY when the checkpoint cannot run: names every missing and mis-shaped key
 * (unexpected keys are only reported, the model ignores them).
 */
export function assertWeightsComplete(check: WeightCheck, source: string): void {
  const problems: string[] = [];
  if (check.missing.length > 0) problems.push(`missing ${check.missing.length} key(s): ${check.missing.join(', ')}`);
  for (const m of check.misShaped) {
    problems.push(`key "${m.name}" has shape ${shapeToString(m.actual)}, expected ${shapeToString(m.expected)}`);
  }
  if (problems.length > 0) throw new SedsegError('E_KEY', `${source}: ${problems.join('; ')}`);
}
