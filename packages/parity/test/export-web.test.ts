/**
 * `exportStageGraphs` (what `sedseg export` writes) loaded in onnxruntime-web (wasm) — a different
 * runtime from the one the graphs were built on — and chained as the manifest says, on the golden
 * inputs of case-01 and case-02: the logits match the reference (float32 weights: the usual
 * tolerance; float16 weights: 1e-2 relative).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { SedModel } from '@sedseg/core';
import { loadSedModel } from '@sedseg/core/node';
import { createOrtOps, exportStageGraphs, type LazyTensor, type StageManifest } from '@sedseg/backend-ort';
import { compareWithGolden, openCase, TINY_MODEL, type CaseName } from './helpers/golden.js';

ortWeb.env.wasm.numThreads = 1;

interface Exported {
  manifest: StageManifest;
  files: Map<string, Uint8Array>;
}

async function exportAll(model: SedModel<LazyTensor>, resolutions: number[], fp16: boolean): Promise<Exported> {
  const files = new Map<string, Uint8Array>();
  for await (const f of exportStageGraphs(model, { resolutions, fp16 })) files.set(f.path, f.bytes);
  const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json'))) as StageManifest;
  return { manifest, files };
}

/** Runs the full path of the exported stages with onnxruntime-web; returns the logits. */
async function runExported(exp: Exported, resolution: number, image: Float32Array, text: { data: Float32Array; shape: number[] }): Promise<{ data: Float32Array; shape: number[] }> {
  const stages = exp.manifest.resolutions[String(resolution)]!.stages;
  const run = async (name: string, feeds: Record<string, ortWeb.Tensor>): Promise<Record<string, ortWeb.Tensor>> => {
    const entry = stages.find((s) => s.name === name)!;
    const session = await ortWeb.InferenceSession.create(exp.files.get(entry.file)!, { executionProviders: ['wasm'] });
    try {
      return await session.run(feeds);
    } finally {
      await session.release();
    }
  };
  const f = await run('imageEncoder', { image: new ortWeb.Tensor('float32', image, [1, 3, resolution, resolution]) });
  const g = await run('appearanceGuidance', { res2: f.res2!, res3: f.res3!, res4: f.res4! });
  const d = await run('decoderInput', { dense: f.dense!, text: new ortWeb.Tensor('float32', text.data, text.shape) });
  let x = d.corrEmbed!;
  let cg = d.corrClasses!;
  let logits: ortWeb.Tensor | undefined;
  for (let i = 0; i < 3; i++) {
    const out = await run(`decoderLayer${i}`, { x, guidance: g[`guidance${i}`]!, corrGuidanceInput: cg });
    x = out.features!;
    cg = out.corrGuidance!;
    logits = out.logits!;
  }
  return { data: logits!.data as Float32Array, shape: [...logits!.dims] };
}

describe('exported ONNX stages in onnxruntime-web (wasm)', () => {
  let model: SedModel<LazyTensor>;
  beforeAll(async () => {
    model = (await loadSedModel(TINY_MODEL, { backend: createOrtOps({ threads: 1 }) })) as SedModel<LazyTensor>;
  });
  afterAll(() => model?.dispose());

  it('writes a manifest naming every stage, its file and its dynamic class axis', async () => {
    const exp = await exportAll(model, [256, 384], false);
    expect(Object.keys(exp.manifest.resolutions)).toEqual(['256', '384']);
    const names = exp.manifest.resolutions['256']!.stages.map((s) => s.name);
    expect(names).toEqual(['imageEncoder', 'appearanceGuidance', 'decoderInput', 'decoderLayer0', 'decoderLayer1', 'decoderLayer2']);
    for (const s of exp.manifest.resolutions['256']!.stages) expect(exp.files.get(s.file)?.length).toBe(s.bytes);
    const text = exp.manifest.resolutions['256']!.stages[2]!.inputs.find((i) => i.name === 'text')!;
    expect(text.dims).toEqual(['classes', model.architecture.prompt_channel, model.architecture.embed_dim]);
    expect(exp.manifest.templates).toHaveLength(model.templates.length);
    const image = exp.manifest.resolutions['256']!.stages[0]!.inputs[0]!;
    expect(image).toMatchObject({ name: 'image', dims: ['batch', 3, 256, 256] });
  });

  it('the image encoder graph takes any batch: a batch of two equals two runs of one', async () => {
    const exp = await exportAll(model, [64], false);
    const entry = exp.manifest.resolutions['64']!.stages.find((s) => s.name === 'imageEncoder')!;
    const session = await ortWeb.InferenceSession.create(exp.files.get(entry.file)!, { executionProviders: ['wasm'] });
    try {
      const one = 3 * 64 * 64;
      const images = Float32Array.from({ length: 2 * one }, (_, i) => Math.sin(i * 0.37));
      const both = await session.run({ image: new ortWeb.Tensor('float32', images, [2, 3, 64, 64]) });
      const dense = both.dense!.data as Float32Array;
      const per = dense.length / 2;
      for (const b of [0, 1]) {
        const single = await session.run({ image: new ortWeb.Tensor('float32', images.slice(b * one, (b + 1) * one), [1, 3, 64, 64]) });
        const d = single.dense!.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < per; i++) worst = Math.max(worst, Math.abs(d[i]! - dense[b * per + i]!));
        expect(worst).toBeLessThan(1e-5);
      }
    } finally {
      await session.release();
    }
  });

  const cases: [CaseName, boolean, number][] = [
    ['case-01', false, 1e-4],
    ['case-02', false, 1e-4],
    ['case-01', true, 1e-2],
  ];
  it.each(cases)('%s (fp16 weights: %s) reproduces the golden logits', async (name, fp16, tolerance) => {
    const gcase = await openCase(name);
    try {
      const r = gcase.meta.resolution;
      const exp = await exportAll(model, [r], fp16);
      const input = await gcase.tensor('input');
      const text = await gcase.tensor('text_features');
      const logits = await runExported(exp, r, input.data as Float32Array, { data: text.data as Float32Array, shape: [...text.shape] });
      const cmp = await compareWithGolden(gcase, 'logits', logits, tolerance);
      console.log(`onnxruntime-web ${name} ${fp16 ? 'fp16' : 'fp32'} logits: max |Δ| ${cmp.maxAbs.toExponential(2)} (tolerance ${cmp.tolerance.toExponential(2)})`);
      expect(cmp.ok, `max |Δ| ${cmp.maxAbs} > ${cmp.tolerance}`).toBe(true);
    } finally {
      await gcase.close();
    }
  });
});
