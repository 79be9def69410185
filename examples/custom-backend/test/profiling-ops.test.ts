/**
 * The profiling backend runs the tiny golden case through three backends (tfjs: eager; ort:
 * compiling; js: this example's, with only the required members) and gives the same labels as
 * the reference where it is confident, with counts and times per operator and per stage.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSafetensors, type SedModel, type BackendOps, type RgbImage } from '@sedseg/core';
import { fileSource, loadSedModel } from '@sedseg/core/node';
import { createOrtOps } from '@sedseg/backend-ort';
import { createTfjsOps } from '@sedseg/backend-tfjs';
import { profile } from '../src/index.js';
import { JsOps } from '../src/js-ops.js';

const TINY = resolve(import.meta.dirname, '../../../../shared/reference/tiny');

async function goldenCase01() {
  const dir = resolve(TINY, 'case-01');
  const store = await openSafetensors(await fileSource(resolve(dir, 'tensors.safetensors')));
  const img = await store.read('image');
  const [height, width] = img.shape as [number, number];
  const image: RgbImage = { width, height, data: img.data as Uint8Array };
  const labels = (await store.read('labels')).data as Int32Array;
  const margin = (await store.read('labels_margin')).data as Float32Array;
  const classes = JSON.parse(readFileSync(resolve(dir, 'classes.json'), 'utf8')) as string[];
  const { resolution } = JSON.parse(readFileSync(resolve(dir, 'case.json'), 'utf8')) as { resolution: number };
  await store.close();
  return { image, labels, margin, classes, resolution };
}

const BACKENDS: [string, () => Promise<BackendOps<unknown>>][] = [
  ['tfjs', async () => (await createTfjsOps({ platform: 'cpu' })) as unknown as BackendOps<unknown>],
  ['ort', async () => createOrtOps({ threads: 1 }) as unknown as BackendOps<unknown>],
  // only the required members: core's defaults (layerNorm, linear, …) are timed as one operator each
  ['js', async () => new JsOps() as unknown as BackendOps<unknown>],
];

describe.each(BACKENDS)('profiling backend around %s', (name, create) => {
  it('segments the tiny case like the reference and reports per op and per stage', async () => {
    const golden = await goldenCase01();
    const ops = profile(await create());
    const model = (await loadSedModel(resolve(TINY, 'model.pth'), { backend: ops })) as SedModel<unknown>;
    try {
      const result = await model.segment(golden.image, { classes: golden.classes, resolution: golden.resolution, topK: 8, pooling: 2 }); // case-01: pooling [2, 2]
      let confidentDiffs = 0;
      for (let i = 0; i < golden.labels.length; i++) if (golden.margin[i]! >= 1e-4 && result.labels[i] !== golden.labels[i]) confidentDiffs++;
      expect(confidentDiffs).toBe(0);

      const report = ops.report();
      expect(report.backend).toBe(name);
      const stages = Object.keys(report.stages);
      for (const prefix of ['imageEncoder', 'appearanceGuidance', 'decoderInput'])
        expect(
          stages.filter((s) => s.startsWith(prefix)),
          prefix,
        ).toHaveLength(1);
      // a decoder layer runs whole, or in class chunks (pool, attention, merge, with the
      // guidance's share of the merge made once) when the backend prefers chunks smaller than
      // the class count (ort on a CPU)
      const chunked = (ops.preferredClassChunk ?? 16) < golden.classes.length;
      for (const layer of [0, 1, 2]) {
        const kinds = stages.filter((s) => s.startsWith(`decoderLayer${layer}`)).map((s) => s.replace(/\[.*$/, ''));
        expect(kinds.sort(), `decoderLayer${layer}`).toEqual(
          chunked
            ? [`decoderLayer${layer}Attention`, `decoderLayer${layer}Merge`, `decoderLayer${layer}MergeGuidance`, `decoderLayer${layer}Pool`]
            : [`decoderLayer${layer}`],
        );
      }
      expect(report.stages.imageEncoder!.calls).toBe(1);
      expect(report.ops.read!.calls).toBeGreaterThan(0);
      if (name !== 'ort') {
        // eager: the stage operators ran through the wrapper
        expect(report.ops.conv2d!.calls).toBeGreaterThan(10);
        expect(report.ops.layerNorm!.calls).toBeGreaterThan(0);
      }
      for (const e of [...Object.values(report.ops), ...Object.values(report.stages)]) expect(e.ms).toBeGreaterThanOrEqual(0);
      console.log(`profile(${name}):`, JSON.stringify({ stages: report.stages, topOps: Object.entries(report.ops).slice(0, 5) }));
    } finally {
      model.dispose();
    }
  });
});
