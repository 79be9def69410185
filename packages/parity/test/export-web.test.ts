/**
 * `exportStageGraphs` (what `sedseg export` writes) loaded in onnxruntime-web (wasm) — a different
 * runtime from the one the graphs were built on — and chained as the manifest says, on the golden
 * inputs of case-01, case-02 (decoder pooling 2) and case-04 (pooling 1, the default): the logits
 * match the reference (float32 weights: the usual tolerance; float16 weights: 1e-2 relative).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { classPrompts, combineClassEmbeddings, preprocessImage, type SedModel } from '@sedseg/core';
import { loadDefaultTokenizer, loadSedModel } from '@sedseg/core/node';
import { createOrtOps, exportStageGraphs, type LazyTensor, type StageManifest } from '@sedseg/backend-ort';
import { compareWithGolden, openCase, TINY_MODEL, type CaseName } from './helpers/golden.js';

ortWeb.env.wasm.numThreads = 1;

interface Exported {
  manifest: StageManifest;
  files: Map<string, Uint8Array>;
}

async function exportAll(model: SedModel<LazyTensor>, resolutions: number[], fp16: boolean, pooling?: number): Promise<Exported> {
  const files = new Map<string, Uint8Array>();
  for await (const f of exportStageGraphs(model, { resolutions, fp16, ...(pooling !== undefined ? { pooling } : {}) })) files.set(f.path, f.bytes);
  const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json'))) as StageManifest;
  return { manifest, files };
}

/** Runs the full path of the exported stages with onnxruntime-web; returns the logits. */
async function runExported(
  exp: Exported,
  resolution: number,
  image: Float32Array,
  text: { data: Float32Array; shape: number[] },
): Promise<{ data: Float32Array; shape: number[] }> {
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
    expect(exp.manifest.decoderPooling).toBe(1); // the default: the authors' evaluation setting
    expect((await exportAll(model, [64], false, 2)).manifest.decoderPooling).toBe(2);
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

  it('the exported text encoder and embedding tables reproduce the golden class embeddings (case-01)', async () => {
    const gcase = await openCase('case-01');
    try {
      const exp = await exportAll(model, [256], false);
      const { text, templates } = exp.manifest;
      const table = (file: string): Float32Array => new Float32Array(exp.files.get(file)!.slice().buffer);
      const tokenTable = table(text.tokenEmbedding.file);
      const positionalTable = table(text.positionalEmbedding.file);
      const width = text.tokenEmbedding.shape[1]!;
      const session = await ortWeb.InferenceSession.create(exp.files.get(text.stage.file)!, { executionProviders: ['wasm'] });
      const tokenizer = await loadDefaultTokenizer();
      const D = model.architecture.embed_dim;
      const P = templates.length;
      const out = new Float32Array(gcase.classes.length * P * D);
      try {
        for (const [c, name] of gcase.classes.entries()) {
          const prompts = classPrompts(name, templates);
          const n = prompts.texts.length;
          const tokens = tokenizer.tokenize(prompts.texts, text.contextLength);
          const ctx = text.contextLength;
          const eot = Array.from({ length: n }, (_, r) => {
            let best = 0;
            for (let i = 1; i < ctx; i++) if (tokens[r * ctx + i]! > tokens[r * ctx + best]!) best = i;
            return best;
          });
          const l = Math.max(...eot) + 1;
          const embeddings = new Float32Array(n * l * width);
          const oneHot = new Float32Array(n * l);
          for (let r = 0; r < n; r++) {
            for (let i = 0; i < l; i++)
              embeddings.set(tokenTable.subarray(tokens[r * ctx + i]! * width, (tokens[r * ctx + i]! + 1) * width), (r * l + i) * width);
            oneHot[r * l + eot[r]!] = 1;
          }
          const mask = new Float32Array(l * l);
          for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) mask[i * l + j] = -Infinity;
          const result = await session.run({
            embeddings: new ortWeb.Tensor('float32', embeddings, [n, l, width]),
            positional: new ortWeb.Tensor('float32', positionalTable.slice(0, l * width), [l, width]),
            mask: new ortWeb.Tensor('float32', mask, [l, l]),
            eot: new ortWeb.Tensor('float32', oneHot, [n, l, 1]),
          });
          out.set(combineClassEmbeddings(result.features!.data as Float32Array, P, prompts.synonyms.length, D), c * P * D);
        }
      } finally {
        await session.release();
      }
      const cmp = await compareWithGolden(gcase, 'text_features', { shape: [gcase.classes.length, P, D], data: out });
      console.log(`onnxruntime-web text_features: max |Δ| ${cmp.maxAbs.toExponential(2)} (tolerance ${cmp.tolerance.toExponential(2)})`);
      expect(cmp.ok, `max |Δ| ${cmp.maxAbs} > ${cmp.tolerance}`).toBe(true);
    } finally {
      await gcase.close();
    }
  });

  const cases: [CaseName, boolean, number][] = [
    ['case-01', false, 1e-4],
    ['case-02', false, 1e-4],
    ['case-04', false, 1e-4],
    ['case-01', true, 1e-2],
  ];
  it.each(cases)('%s (fp16 weights: %s) reproduces the golden logits', async (name, fp16, tolerance) => {
    const gcase = await openCase(name);
    try {
      const r = gcase.meta.resolution;
      // cases without decoder_pooling were made with [2, 2]; case-04 runs the export's default (1)
      const exp = await exportAll(model, [r], fp16, gcase.meta.decoder_pooling ? undefined : 2);
      // case-04 stores no input: the host pre-processing (checked against the golden inputs elsewhere)
      const input = gcase.meta.tensors.input?.stored ? await gcase.tensor('input') : { data: preprocessImage(await gcase.image(), r) };
      const text = await gcase.tensor('text_features');
      const logits = await runExported(exp, r, input.data as Float32Array, { data: text.data as Float32Array, shape: [...text.shape] });
      const cmp = await compareWithGolden(gcase, 'logits', logits, tolerance);
      console.log(
        `onnxruntime-web ${name} ${fp16 ? 'fp16' : 'fp32'} logits: max |Δ| ${cmp.maxAbs.toExponential(2)} (tolerance ${cmp.tolerance.toExponential(2)})`,
      );
      expect(cmp.ok, `max |Δ| ${cmp.maxAbs} > ${cmp.tolerance}`).toBe(true);
    } finally {
      await gcase.close();
    }
  });
});
