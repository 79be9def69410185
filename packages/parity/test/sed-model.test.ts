/**
 * The public API on a real backend: SedModel.load + segment on golden case-01 (labels equal the
 * reference where its margin ≥ 1e-4), the class-embedding cache, CER results and errors, on every
 * backend; no tensor leaks over 20 consecutive segment calls (tfjs), no recompilation (ort).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryWeightStore, SedModel, type HostTensor, type Ops, type RgbImage } from '@sedseg/core';
import { loadDefaultTokenizer, loadSedModel, openWeightsFile } from '@sedseg/core/node';
import type { createTfjsOps } from '@sedseg/backend-tfjs';
import { BACKENDS } from './helpers/backends.js';
import { compareLabels, openCase, TINY_CONFIG, TINY_MODEL, type GoldenCase } from './helpers/golden.js';

describe.each(BACKENDS.map((b) => [b.name, b] as const))('SedModel on %s', (name, backend) => {
  let gcase: GoldenCase;
  let model: SedModel<unknown>;
  let image: RgbImage;
  let ops: Ops<unknown>;

  beforeAll(async () => {
    gcase = await openCase('case-01');
    image = await gcase.image();
    ops = await backend.create();
    model = (await loadSedModel(TINY_MODEL, { backend: ops })) as SedModel<unknown>;
  });
  afterAll(async () => {
    model?.dispose();
    await gcase?.close();
  });

  it('infers the architecture (config found beside the weights)', () => {
    const config = JSON.parse(readFileSync(TINY_CONFIG, 'utf8'));
    expect(model.architecture.text_heads).toBe(config.architecture.text_heads);
    expect(model.architecture.image_dims).toEqual(config.architecture.image_dims);
  });

  it('segments case-01 like the reference, full path and CER', async () => {
    // case-01 was made with the training config's pooling [2, 2]
    const full = await model.segment(image, { classes: gcase.classes, resolution: gcase.meta.resolution, pooling: 2 });
    expect(full.pooling).toBe(2);
    expect(full.labels).toHaveLength(image.width * image.height);
    const cmp = await compareLabels(gcase, 'labels', full.labels);
    expect(cmp.differingConfident).toBe(0);
    expect(full.areas.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(full.textEmbeddings.encoded + full.textEmbeddings.cached).toBe(gcase.classes.length);
    expect(full.keptClasses).toBeUndefined();

    const cer = await model.segment(image, { classes: gcase.classes, resolution: gcase.meta.resolution, topK: 1, pooling: 2 });
    const expected = gcase.meta.stats.cer.top1!;
    expect(cer.keptPerStage).toEqual(expected.kept_per_stage);
    expect(cer.keptClasses).toEqual(expected.kept_final_indices);
    expect(cer.textEmbeddings).toEqual({ cached: gcase.classes.length, encoded: 0 });
    const cerCmp = await compareLabels(gcase, 'cer_top1_labels', cer.labels);
    expect(cerCmp.differing / cerCmp.total).toBeLessThanOrEqual(0.002);
  });

  it('segments case-04 like the reference with the default decoder pooling (1), whole and in class chunks, with decoder progress', async () => {
    const c4 = await openCase('case-04');
    try {
      const img = await c4.image();
      const events: { done: number; total: number; detail?: string }[] = [];
      const full = await model.segment(img, {
        classes: c4.classes,
        resolution: c4.meta.resolution,
        onProgress: (p) => p.phase === 'decoder' && events.push(p),
      });
      expect(full.pooling).toBe(1);
      expect((await compareLabels(c4, 'labels', full.labels)).differingConfident).toBe(0);
      // progress inside the decoder: from 0 to the total, never backwards, naming the layers
      expect(events.length).toBeGreaterThan(3);
      expect(events[0]!.done).toBe(0);
      expect(events.at(-1)!.done).toBe(events.at(-1)!.total);
      for (let i = 1; i < events.length; i++) expect(events[i]!.done).toBeGreaterThanOrEqual(events[i - 1]!.done);
      expect(events.map((e) => e.detail)).toContain('layer 3 of 3');
      // chunks of 5 classes: pool (the identity) per chunk, attention at every pixel in row bands, merge per chunk
      const chunked = await model.segment(img, { classes: c4.classes, resolution: c4.meta.resolution, classChunk: 5, topK: 1 });
      expect(chunked.keptClasses).toEqual(c4.meta.stats.cer.top1!.kept_final_indices);
      const cmp = await compareLabels(c4, 'cer_top1_labels', chunked.labels);
      expect(cmp.differing / cmp.total).toBeLessThanOrEqual(0.002);
      // the training setting gives other labels on this case (the reference: 77.5 % differ)
      const pooled2 = await model.segment(img, { classes: c4.classes, resolution: c4.meta.resolution, pooling: 2 });
      expect((await compareLabels(c4, 'labels', pooled2.labels)).differing / img.width / img.height).toBeGreaterThan(0.5);
    } finally {
      await c4.close();
    }
  });

  it('encodes only new classes when the vocabulary changes', async () => {
    const r = await model.segment(image, { classes: [...gcase.classes.slice(0, 3), 'zebra crossing'], resolution: 64 });
    expect(r.textEmbeddings).toEqual({ cached: 3, encoded: 1 });
    expect(r.classes).toHaveLength(4);
  });

  it('loads the text tower only to encode classes, and frees it again', async () => {
    const own = await backend.create(); // its own session count
    const lazy = (await loadSedModel(TINY_MODEL, { backend: own })) as SedModel<unknown>;
    const freeing = (await loadSedModel(TINY_MODEL, { backend: own, releaseTextEncoderAfterUse: true })) as SedModel<unknown>;
    try {
      expect(lazy.textEncoderLoaded).toBe(false);
      const classes = ['zebra crossing', gcase.classes[0]!];
      const first = await lazy.encodeClasses(classes);
      expect(lazy.textEncoderLoaded).toBe(true); // kept by default
      const sessions = (own as unknown as { sessionCount?: number }).sessionCount;
      lazy.releaseTextEncoder();
      expect(lazy.textEncoderLoaded).toBe(false);
      // a compiling backend drops the sessions that embedded the released weights
      if (sessions !== undefined) expect((own as unknown as { sessionCount: number }).sessionCount).toBeLessThan(sessions);
      expect(() => lazy.stages().textEncoder).toThrow(/text encoder's weights are not loaded/);

      const again = await freeing.encodeClasses(classes);
      expect(freeing.textEncoderLoaded).toBe(false);
      expect(again.embeddings).toEqual(first.embeddings);
      const seg = await freeing.segment(image, { classes, resolution: 64 });
      expect(seg.textEmbeddings).toEqual({ cached: 2, encoded: 0 });
      expect(freeing.textEncoderLoaded).toBe(false);
      // read again when an uncached class comes
      const more = await freeing.encodeClasses([...classes, 'pedestrian bridge']);
      expect(more).toMatchObject({ cached: 2, encoded: 1 });
      expect(more.embeddings.subarray(0, first.embeddings.length)).toEqual(first.embeddings);
    } finally {
      lazy.dispose();
      freeing.dispose();
    }
  });

  it('refuses text-tower weights that changed after the model was loaded', async () => {
    const file = await openWeightsFile(TINY_MODEL);
    const tensors: Record<string, HostTensor> = {};
    for (const key of file.keys()) tensors[key] = await file.read(key);
    await file.close();
    const key = 'sem_seg_head.predictor.clip_model.ln_final.weight';
    const changed = { ...tensors, [key]: { ...tensors[key]!, data: (tensors[key]!.data as Float32Array).map((v) => v * 1.5) } };
    const m = await SedModel.load(memoryWeightStore(tensors), {
      backend: ops,
      tokenizer: await loadDefaultTokenizer(),
      config: JSON.parse(readFileSync(TINY_CONFIG, 'utf8')),
      reopenWeights: async () => memoryWeightStore(changed as Record<string, HostTensor>, 'changed.safetensors'),
    });
    try {
      await expect(m.encodeClasses(['zebra crossing'])).rejects.toThrow(
        /changed\.safetensors: the text encoder's weights are not the ones the model was loaded with \(the file changed since\)/,
      );
      expect(m.textEncoderLoaded).toBe(false);
    } finally {
      m.dispose();
    }
  });

  it('refuses bad class lists and options with clear errors', async () => {
    await expect(model.segment(image, { classes: [] })).rejects.toThrow(/class list is empty/);
    await expect(model.segment(image, { classes: ['car', 'road', 'car'] })).rejects.toThrow(/class "car" appears twice \(positions 1 and 3\)/);
    await expect(model.segment(image, { vocabulary: 'ade999' })).rejects.toThrow(/unknown vocabulary "ade999"/);
    await expect(model.segment(image, { classes: ['car'], topK: 0 })).rejects.toThrow(/topK must be a positive integer/);
    await expect(model.segment(image, { classes: ['car'], resolution: 100 })).rejects.toThrow(/multiple of 32/);
    await expect(model.segment(image, { classes: ['car'], pooling: 0 })).rejects.toThrow(/decoder pooling must be a positive integer/);
    await expect(model.segment(image, { classes: ['car'], resolution: 96, pooling: 4 })).rejects.toThrow(
      /decoder pooling 4 does not divide the first decoder map \(6×6/,
    );
  });

  // Backends with manual memory management (tfjs) must free every tensor; ort's are garbage collected.
  it.runIf(name === 'tfjs')('does not leak tensors over 20 consecutive segment calls', async () => {
    const tf = (ops as unknown as Awaited<ReturnType<typeof createTfjsOps>>).tf;
    const small: RgbImage = { width: 40, height: 30, data: image.data.subarray(0, 40 * 30 * 3) };
    const classes = gcase.classes.slice(0, 4);
    await model.segment(small, { classes, resolution: 64, topK: 2 }); // warm-up (caches)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await model.segment(small, { classes, resolution: 64, topK: i % 2 === 0 ? 2 : undefined });
    expect(tf.memory().numTensors).toBe(before);
  });

  it.runIf(name === 'ort')('compiles each stage once per signature: 20 more calls add no session', async () => {
    const ort = ops as unknown as { sessionCount: number };
    const small: RgbImage = { width: 40, height: 30, data: image.data.subarray(0, 40 * 30 * 3) };
    const classes = gcase.classes.slice(0, 4);
    for (const topK of [2, undefined]) await model.segment(small, { classes, resolution: 64, ...(topK ? { topK } : {}) }); // warm-up
    const before = ort.sessionCount;
    for (let i = 0; i < 20; i++) await model.segment(small, { classes, resolution: 64, topK: i % 2 === 0 ? 2 : undefined });
    expect(ort.sessionCount).toBe(before);
  });
});
