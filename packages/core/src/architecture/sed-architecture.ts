/**
 * The sizes that define a SED model. Field names follow the reference `config.json`
 * (`architecture` object) so that a config file and an inferred architecture compare directly.
 */
export interface SedArchitecture {
  /** Blocks per ConvNeXt stage (B: [3,3,27,3]). */
  image_depths: number[];
  /** Channels per ConvNeXt stage (B: [128,256,512,1024]; L: [192,384,768,1536]). */
  image_dims: number[];
  /** CLIP joint embedding size D (B: 640, L: 768). */
  embed_dim: number;
  /** Dense projection after `trunk.head.norm`: `linear` (head.proj) or `mlp` (head.mlp.fc1/fc2). */
  image_proj: 'linear' | 'mlp';
  text_width: number;
  /** Not visible in shapes: OpenCLIP convention width / 64 unless a config says otherwise. */
  text_heads: number;
  text_head_dim: number;
  text_layers: number;
  context_length: number;
  vocab_size: number;
  /** Channels of corrEmbed (conv1 output). */
  decoder_hidden_dim: number;
  decoder_dims: number[];
  /** Input channels of the appearance-guidance projections (= dims of res4, res3, res2). */
  decoder_guidance_dims: number[];
  decoder_guidance_proj_dims: number[];
  /** Not visible in shapes: 4 unless a config says otherwise. */
  decoder_heads: number;
  decoder_kernel_size: number[];
  /** Not visible in shapes: [2, 2] unless a config says otherwise. */
  decoder_pooling: number[];
  /** Prompt templates P (input channels of conv1). */
  prompt_channel: number;
}

/** Every SED checkpoint key starts with this. */
export const SED_KEY_PREFIX = 'sem_seg_head.predictor.';
export const CLIP_PREFIX = `${SED_KEY_PREFIX}clip_model.`;
export const IMAGE_PREFIX = `${CLIP_PREFIX}visual.`;
export const DECODER_PREFIX = `${SED_KEY_PREFIX}transformer.`;

/** Defaults for the sizes that tensor shapes do not reveal. */
export const TEXT_HEAD_WIDTH = 64;
export const DEFAULT_DECODER_HEADS = 4;
export const DEFAULT_DECODER_POOLING: readonly number[] = [2, 2];

/** The fields a config may set that shapes cannot reveal. */
export const SHAPE_INVISIBLE_FIELDS = ['text_heads', 'decoder_heads', 'decoder_pooling'] as const;

/** Field order of the reference config, used when printing. */
export const ARCHITECTURE_FIELDS: readonly (keyof SedArchitecture)[] = [
  'image_depths',
  'image_dims',
  'embed_dim',
  'image_proj',
  'text_width',
  'text_heads',
  'text_head_dim',
  'text_layers',
  'context_length',
  'vocab_size',
  'decoder_hidden_dim',
  'decoder_dims',
  'decoder_guidance_dims',
  'decoder_guidance_proj_dims',
  'decoder_heads',
  'decoder_kernel_size',
  'decoder_pooling',
  'prompt_channel',
];
