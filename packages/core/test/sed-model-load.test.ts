import { describe, expect, it } from 'vitest';
import { SedModel, type Ops, type WeightStore } from '../src/index.js';
import { openWeightsFile } from '../src/node.js';
import { referencePath } from './helpers/reference.js';

/** A view of a store with some keys hidden or re-shaped (no data is read by these tests). */
function tampered(store: WeightStore, hide: string[], reshape: Record<string, number[]> = {}): WeightStore {
  return {
    source: store.source,
    format: store.format,
    keys: () => store.keys().filter((k) => !hide.includes(k)),
    info: (name) => {
      const i = hide.includes(name) ? undefined : store.info(name);
      return i && reshape[name] ? { ...i, shape: reshape[name] } : i;
    },
    read: (name) => store.read(name),
    close: () => store.close(),
  };
}

// Loading must fail on the key check, before any backend call: a backend that throws on use proves it.
const untouchable = new Proxy({} as Ops<unknown>, {
  get: (_t, p) => {
    if (p === 'then') return undefined;
    throw new Error(`backend used: ${String(p)}`);
  },
});
const tokenizer = { tokenize: () => new Int32Array(0) };

describe('SedModel.load key checks', () => {
  it('names a missing key', async () => {
    const store = await openWeightsFile(referencePath('tiny', 'model.pth'));
    const key = 'sem_seg_head.predictor.transformer.decoder3.attention.norm2.bias';
    await expect(SedModel.load(tampered(store, [key]), { backend: untouchable, tokenizer })).rejects.toThrow(
      new RegExp(`missing 1 key\\(s\\): ${key.replaceAll('.', '\\.')}`),
    );
    await store.close();
  });

  it('names a mis-shaped key', async () => {
    const store = await openWeightsFile(referencePath('tiny', 'model.pth'));
    const key = 'sem_seg_head.predictor.clip_model.visual.trunk.stages.2.blocks.1.mlp.fc1.weight';
    await expect(SedModel.load(tampered(store, [], { [key]: [255, 64] }), { backend: untouchable, tokenizer })).rejects.toThrow(
      /key "sem_seg_head\.predictor\.clip_model\.visual\.trunk\.stages\.2\.blocks\.1\.mlp\.fc1\.weight" has shape \[255, 64\], expected \[256, 64\]/,
    );
    await store.close();
  });
});
