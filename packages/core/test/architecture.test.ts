import { describe, expect, it } from 'vitest';
import { architectureFromWeights, assertWeightsComplete, countParameters, expectedWeightShapes, type SedArchitecture, type TensorInfo } from '../src/index.js';
import { readReferenceJson } from './helpers/reference.js';

type KeysJson = Record<string, { shape: number[]; dtype: string }>;
const keys = readReferenceJson<KeysJson>('tiny', 'keys.json');
const config = readReferenceJson<{ architecture: Record<string, unknown> }>('tiny', 'config.json');
const tinyInfos: TensorInfo[] = Object.entries(keys).map(([name, v]) => ({ name, shape: v.shape, dtype: 'float32' }));
const referenceArchitecture = Object.fromEntries(Object.entries(config.architecture).filter(([k]) => k !== 'note'));

/** SED-B sizes (DESIGN.md §3). */
const SED_B: SedArchitecture = {
  image_depths: [3, 3, 27, 3],
  image_dims: [128, 256, 512, 1024],
  embed_dim: 640,
  image_proj: 'linear',
  text_width: 640,
  text_heads: 10,
  text_head_dim: 64,
  text_layers: 12,
  context_length: 77,
  vocab_size: 49408,
  decoder_hidden_dim: 128,
  decoder_dims: [64, 32, 16],
  decoder_guidance_dims: [512, 256, 128],
  decoder_guidance_proj_dims: [32, 16, 8],
  decoder_heads: 4,
  decoder_kernel_size: [9, 9, 9],
  decoder_pooling: [2, 2],
  prompt_channel: 80,
};
const SED_L: SedArchitecture = {
  ...SED_B,
  image_depths: [3, 3, 27, 3],
  image_dims: [192, 384, 768, 1536],
  embed_dim: 768,
  image_proj: 'mlp',
  text_width: 768,
  text_heads: 12,
  text_layers: 16,
  decoder_guidance_dims: [768, 384, 192],
};

function infosOf(arch: SedArchitecture): TensorInfo[] {
  return [...expectedWeightShapes(arch)].map(([name, shape]) => ({ name, shape, dtype: 'float32' as const }));
}

describe('architectureFromWeights', () => {
  it('infers the tiny model exactly as tiny/config.json, given the config (text heads)', () => {
    const r = architectureFromWeights(tinyInfos, { config });
    expect(r.architecture).toEqual(referenceArchitecture);
    expect(r.check).toEqual({ missing: [], unexpected: [], misShaped: [] });
    expect(r.origin.text_heads).toBe('config');
    expect(r.origin.image_dims).toBe('weights');
  });

  it('without a config, uses the OpenCLIP head-width convention (64) and 4 decoder heads', () => {
    const r = architectureFromWeights(tinyInfos);
    expect(r.architecture).toEqual({ ...referenceArchitecture, text_heads: 1, text_head_dim: 64 });
    expect(r.origin.text_heads).toBe('default');
    expect(r.origin.decoder_heads).toBe('default');
  });

  it('every tiny key is expected with its exact shape (expected-weights covers the checkpoint)', () => {
    const arch = architectureFromWeights(tinyInfos, { config }).architecture;
    const expected = expectedWeightShapes(arch);
    expect(expected.size + 1).toBe(tinyInfos.length); // + logit_scale
  });

  it.each([
    ['SED-B', SED_B],
    ['SED-L', SED_L],
  ])('round-trips the %s sizes from shapes alone', (_name, arch) => {
    const r = architectureFromWeights(infosOf(arch));
    expect(r.architecture).toEqual(arch);
    expect(r.check.missing).toEqual([]);
  });

  it('reports missing, unexpected and mis-shaped keys by name', () => {
    const infos = tinyInfos
      .filter((i) => !i.name.endsWith('decoder2.cnext.gamma'))
      .map((i) => (i.name.endsWith('transformer.head1.weight') ? { ...i, shape: [1, 63, 3, 3] } : i));
    infos.push({ name: 'sem_seg_head.predictor.extra.weight', shape: [3], dtype: 'float32' });
    const r = architectureFromWeights(infos, { config });
    expect(r.check.missing).toEqual(['sem_seg_head.predictor.transformer.decoder2.cnext.gamma']);
    expect(r.check.unexpected).toEqual(['sem_seg_head.predictor.extra.weight']);
    expect(r.check.misShaped).toEqual([{ name: 'sem_seg_head.predictor.transformer.head1.weight', expected: [1, 64, 3, 3], actual: [1, 63, 3, 3] }]);
    expect(() => assertWeightsComplete(r.check, 'x.pth')).toThrow(
      /x\.pth: missing 1 key\(s\): sem_seg_head\.predictor\.transformer\.decoder2\.cnext\.gamma; key "sem_seg_head\.predictor\.transformer\.head1\.weight" has shape \[1, 63, 3, 3\], expected \[1, 64, 3, 3\]/,
    );
  });

  it('names the key it needed when an inference key is missing', () => {
    const infos = tinyInfos.filter((i) => !i.name.endsWith('token_embedding.weight'));
    expect(() => architectureFromWeights(infos)).toThrow(
      /missing key "sem_seg_head\.predictor\.clip_model\.token_embedding\.weight" \(needed to infer text_width\)/,
    );
  });

  it('refuses checkpoints of another kind', () => {
    const openclip: TensorInfo[] = [{ name: 'visual.trunk.stem.0.weight', shape: [128, 3, 4, 4], dtype: 'float32' }];
    expect(() => architectureFromWeights(openclip)).toThrow(/not a SED checkpoint.*plain OpenCLIP/);
    const d2: TensorInfo[] = [{ name: 'backbone.res2.0.conv1.weight', shape: [64, 64, 1, 1], dtype: 'float32' }];
    expect(() => architectureFromWeights(d2)).toThrow(/detectron2/);
    expect(() => architectureFromWeights([])).toThrow(/holds no tensors/);
  });

  it('refuses a config that contradicts the weights, or bad config values', () => {
    expect(() => architectureFromWeights(tinyInfos, { config: { image_dims: [16, 32, 64, 256] }, configSource: 'c.json' })).toThrow(
      /c\.json: image_dims is \[16,32,64,256\] but the weights in <weights> have \[16,32,64,128\]/,
    );
    expect(() => architectureFromWeights(tinyInfos, { config: { text_heads: 3 } })).toThrow(/text_heads 3 does not divide text_width 64/);
    expect(() => architectureFromWeights(tinyInfos, { config: { decoder_heads: 'four' } })).toThrow(/decoder_heads must be a positive integer/);
    expect(() => architectureFromWeights(tinyInfos, { config: [] })).toThrow(/expected a JSON object/);
  });

  it('counts parameters per part', () => {
    const c = countParameters(tinyInfos);
    expect(c.total).toBe(c.image_encoder + c.text_encoder + c.decoder + c.other);
    expect(c.other).toBe(1); // logit_scale
    expect(c.text_encoder).toBeGreaterThan(49408 * 64);
  });
});
