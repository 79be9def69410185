/**
 * The complete list of tensors a SED checkpoint of a given architecture holds, with shapes —
 * the reference against which a checkpoint is checked (missing / mis-shaped / unexpected keys).
 */
import { CLIP_PREFIX, DECODER_PREFIX, IMAGE_PREFIX, type SedArchitecture } from './sed-architecture.js';

export type WeightPart = 'image_encoder' | 'text_encoder' | 'decoder' | 'other';

export function weightPart(name: string): WeightPart {
  if (name.startsWith(IMAGE_PREFIX)) return 'image_encoder';
  if (name === `${CLIP_PREFIX}logit_scale`) return 'other';
  if (name.startsWith(CLIP_PREFIX)) return 'text_encoder';
  if (name.startsWith(DECODER_PREFIX)) return 'decoder';
  return 'other';
}

function imageEncoderWeights(a: SedArchitecture, add: (name: string, shape: number[]) => void): void {
  const t = `${IMAGE_PREFIX}trunk.`;
  const [d0] = a.image_dims as [number];
  add(`${t}stem.0.weight`, [d0, 3, 4, 4]);
  add(`${t}stem.0.bias`, [d0]);
  add(`${t}stem.1.weight`, [d0]);
  add(`${t}stem.1.bias`, [d0]);
  a.image_dims.forEach((dim, i) => {
    const s = `${t}stages.${i}.`;
    if (i > 0) {
      const prev = a.image_dims[i - 1]!;
      add(`${s}downsample.0.weight`, [prev]);
      add(`${s}downsample.0.bias`, [prev]);
      add(`${s}downsample.1.weight`, [dim, prev, 2, 2]);
      add(`${s}downsample.1.bias`, [dim]);
    }
    for (let j = 0; j < a.image_depths[i]!; j++) {
      const b = `${s}blocks.${j}.`;
      add(`${b}gamma`, [dim]);
      add(`${b}conv_dw.weight`, [dim, 1, 7, 7]);
      add(`${b}conv_dw.bias`, [dim]);
      add(`${b}norm.weight`, [dim]);
      add(`${b}norm.bias`, [dim]);
      add(`${b}mlp.fc1.weight`, [4 * dim, dim]);
      add(`${b}mlp.fc1.bias`, [4 * dim]);
      add(`${b}mlp.fc2.weight`, [dim, 4 * dim]);
      add(`${b}mlp.fc2.bias`, [dim]);
    }
  });
  const last = a.image_dims[a.image_dims.length - 1]!;
  add(`${t}head.norm.weight`, [last]);
  add(`${t}head.norm.bias`, [last]);
  if (a.image_proj === 'linear') {
    add(`${IMAGE_PREFIX}head.proj.weight`, [a.embed_dim, last]);
  } else {
    add(`${IMAGE_PREFIX}head.mlp.fc1.weight`, [last, last]);
    add(`${IMAGE_PREFIX}head.mlp.fc1.bias`, [last]);
    add(`${IMAGE_PREFIX}head.mlp.fc2.weight`, [a.embed_dim, last]);
  }
}

function textEncoderWeights(a: SedArchitecture, add: (name: string, shape: number[]) => void): void {
  const c = CLIP_PREFIX;
  const w = a.text_width;
  add(`${c}positional_embedding`, [a.context_length, w]);
  add(`${c}text_projection`, [w, a.embed_dim]);
  add(`${c}token_embedding.weight`, [a.vocab_size, w]);
  for (let i = 0; i < a.text_layers; i++) {
    const r = `${c}transformer.resblocks.${i}.`;
    add(`${r}ln_1.weight`, [w]);
    add(`${r}ln_1.bias`, [w]);
    add(`${r}attn.in_proj_weight`, [3 * w, w]);
    add(`${r}attn.in_proj_bias`, [3 * w]);
    add(`${r}attn.out_proj.weight`, [w, w]);
    add(`${r}attn.out_proj.bias`, [w]);
    add(`${r}ln_2.weight`, [w]);
    add(`${r}ln_2.bias`, [w]);
    add(`${r}mlp.c_fc.weight`, [4 * w, w]);
    add(`${r}mlp.c_fc.bias`, [4 * w]);
    add(`${r}mlp.c_proj.weight`, [w, 4 * w]);
    add(`${r}mlp.c_proj.bias`, [w]);
  }
  add(`${c}ln_final.weight`, [w]);
  add(`${c}ln_final.bias`, [w]);
}

function decoderWeights(a: SedArchitecture, add: (name: string, shape: number[]) => void): void {
  const d = DECODER_PREFIX;
  const hidden = a.decoder_hidden_dim;
  add(`${d}conv1.weight`, [hidden, a.prompt_channel, 7, 7]);
  add(`${d}conv1.bias`, [hidden]);
  a.decoder_guidance_dims.forEach((inDim, i) => {
    const out = a.decoder_guidance_proj_dims[i]!;
    add(`${d}decoder_guidance_projection.${i}.0.weight`, [out, inDim, 3, 3]);
    add(`${d}decoder_guidance_projection.${i}.0.bias`, [out]);
  });
  // Corr guidance: a chain of ConvTranspose 2×2 (weight layout in×out×kh×kw) from P channels.
  let corrIn = a.prompt_channel;
  a.decoder_guidance_proj_dims.forEach((out, i) => {
    add(`${d}decoder_corr_guidance_projection.${i}.0.weight`, [corrIn, out, 2, 2]);
    add(`${d}decoder_corr_guidance_projection.${i}.0.bias`, [out]);
    corrIn = out;
  });
  let c = hidden;
  a.decoder_dims.forEach((out, i) => {
    const g = a.decoder_guidance_proj_dims[i]!;
    const k = a.decoder_kernel_size[i]!;
    const p = `${d}decoder${i + 1}.`;
    add(`${p}up.weight`, [c, c - g, 2, 2]);
    add(`${p}up.bias`, [c - g]);
    add(`${p}conv.double_conv.0.weight`, [out, c + g, 3, 3]);
    add(`${p}conv.double_conv.1.weight`, [out]);
    add(`${p}conv.double_conv.1.bias`, [out]);
    add(`${p}conv.double_conv.3.weight`, [out, out, 3, 3]);
    add(`${p}conv.double_conv.4.weight`, [out]);
    add(`${p}conv.double_conv.4.bias`, [out]);
    add(`${p}cnext.gamma`, [c]);
    add(`${p}cnext.dwconv.weight`, [c, 1, k, k]);
    add(`${p}cnext.dwconv.bias`, [c]);
    add(`${p}cnext.norm.weight`, [c]);
    add(`${p}cnext.norm.bias`, [c]);
    add(`${p}cnext.pwconv1.weight`, [4 * c, c]);
    add(`${p}cnext.pwconv1.bias`, [4 * c]);
    add(`${p}cnext.pwconv2.weight`, [c, 4 * c]);
    add(`${p}cnext.pwconv2.bias`, [c]);
    for (const qkv of ['q', 'k', 'v']) {
      add(`${p}attention.attention.${qkv}.weight`, [c, c]);
      add(`${p}attention.attention.${qkv}.bias`, [c]);
    }
    add(`${p}attention.MLP.0.weight`, [4 * c, c]);
    add(`${p}attention.MLP.0.bias`, [4 * c]);
    add(`${p}attention.MLP.2.weight`, [c, 4 * c]);
    add(`${p}attention.MLP.2.bias`, [c]);
    add(`${p}attention.norm1.weight`, [c]);
    add(`${p}attention.norm1.bias`, [c]);
    add(`${p}attention.norm2.weight`, [c]);
    add(`${p}attention.norm2.bias`, [c]);
    c = out;
  });
  const heads = ['head0', 'head1', 'head2', 'head'];
  const headIn = [hidden, ...a.decoder_dims];
  heads.forEach((h, i) => {
    add(`${d}${h}.weight`, [1, headIn[i]!, 3, 3]);
    add(`${d}${h}.bias`, [1]);
  });
}

/**
 * Name → shape of every tensor a checkpoint of this architecture must hold (plus the stored but
 * unused `logit_scale`, which is optional).
 */
export function expectedWeightShapes(a: SedArchitecture): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const add = (name: string, shape: number[]): void => void out.set(name, shape);
  textEncoderWeights(a, add);
  imageEncoderWeights(a, add);
  decoderWeights(a, add);
  return out;
}

/** Keys that may be present without being used. */
export const OPTIONAL_WEIGHTS: ReadonlyMap<string, number[]> = new Map([[`${CLIP_PREFIX}logit_scale`, []]]);
