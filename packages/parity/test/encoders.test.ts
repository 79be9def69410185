/**
 * Encoder parity: the image encoder (stem, res2…res5, dense CLIP features) on case-01 and
 * case-02, and the class text embeddings (T×80×D) on all three cases, against the golden
 * tensors (max |Δ| ≤ 1e-4 × max(1, max |golden|)). case-03 stores 3 of its 171 classes: only
 * those are encoded and compared.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  architectureFromWeights,
  ClassEmbeddingCache,
  classPrompts,
  combineClassEmbeddings,
  runStage,
  textEncoderStageInputs,
  textEncoderStageOf,
  CLIP_PREFIX,
  computeClassEmbeddings,
  encodeImage,
  encodeTexts,
  preprocessImage,
  uploadParams,
  type ModelParams,
  type Ops,
  type SedArchitecture,
} from '@sedseg/core';
import { loadDefaultTokenizer, openWeightsFile } from '@sedseg/core/node';
import { BACKENDS } from './helpers/backends';
import { CASE_NAMES, compareWithGolden, openCase, TINY_CONFIG, TINY_MODEL, type Comparison, type GoldenCase } from './helpers/golden';

interface Row {
  backend: string;
  test: string;
  comparison: Comparison;
}

const rows: Row[] = [];
const timings: string[] = [];

const IMAGE_OUTPUTS = [
  ['stem', 'stem'],
  ['res2', 'res2'],
  ['res3', 'res3'],
  ['res4', 'res4'],
  ['res5', 'res5'],
  ['dense', 'clip_vis_dense'],
] as const;

function expectAllOk(results: readonly Comparison[]): void {
  const bad = results.filter((c) => !c.ok).map((c) => `${c.name}: max |Δ| ${c.maxAbs.toExponential(2)} > ${c.tolerance.toExponential(2)}`);
  expect(bad, bad.join('\n')).toEqual([]);
}

for (const backend of BACKENDS) {
  describe(`encoder parity — ${backend.name}`, () => {
    let ops: Ops<unknown>;
    let params: ModelParams<unknown> & { dispose(): void };
    let arch: SedArchitecture;
    let tokenizer: Awaited<ReturnType<typeof loadDefaultTokenizer>>;

    beforeAll(async () => {
      ops = await backend.create();
      const store = await openWeightsFile(TINY_MODEL);
      try {
        const config = JSON.parse(readFileSync(TINY_CONFIG, 'utf8')) as unknown;
        arch = architectureFromWeights(store, { config }).architecture;
        params = await uploadParams(ops, store, (n) => n.startsWith(CLIP_PREFIX));
      } finally {
        await store.close();
      }
      tokenizer = await loadDefaultTokenizer();
    });

    afterAll(() => params?.dispose());

    const record = (test: string, c: Comparison): Comparison => {
      rows.push({ backend: backend.name, test, comparison: c });
      return c;
    };

    it('uses the config-only text head count', () => {
      expect(arch.text_heads).toBe(2);
      expect(arch.image_proj).toBe('linear');
    });

    const checkImageEncoder = async (gcase: GoldenCase, test: string, input: Float32Array): Promise<Comparison[]> => {
      const R = gcase.meta.resolution;
      const t0 = performance.now();
      const x = ops.constant(input, [1, 3, R, R], 'input');
      const features = encodeImage(ops, params, arch, x);
      const results: Comparison[] = [];
      try {
        for (const [key, golden] of IMAGE_OUTPUTS) {
          const t = features[key];
          const data = await ops.read(t);
          if (!gcase.meta.tensors[golden]?.stored) continue;
          results.push(record(test, await compareWithGolden(gcase, golden, { shape: ops.shape(t), data })));
        }
      } finally {
        ops.dispose([x, features.stem, features.res2, features.res3, features.res4, features.res5, features.dense]);
      }
      timings.push(`${backend.name} ${test} image encoder R=${R}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
      expect(results.map((c) => c.name)).toEqual(IMAGE_OUTPUTS.map(([, g]) => g).filter((g) => gcase.meta.tensors[g]?.stored));
      return results;
    };

    for (const caseName of ['case-01', 'case-02'] as const) {
      it(`${caseName}: image encoder on preprocessImage(image) (stem, res2…res5, clip_vis_dense)`, async () => {
        const gcase = await openCase(caseName);
        expectAllOk(await checkImageEncoder(gcase, caseName, preprocessImage(await gcase.image(), gcase.meta.resolution)));
      });

      // The encoder alone, without the pre-processing's own deviation.
      it(`${caseName}: image encoder on the golden input`, async () => {
        const gcase = await openCase(caseName);
        const input = (await gcase.tensor('input')).data as Float32Array;
        expectAllOk(await checkImageEncoder(gcase, `${caseName}*`, input));
      });
    }

    it('case-01: the padded textEncoder stage (what export writes) gives the golden class embeddings', async () => {
      const gcase: GoldenCase = await openCase('case-01');
      const P = 80;
      const D = arch.embed_dim;
      const stage = textEncoderStageOf(params, arch);
      const full = new Float32Array(gcase.classes.length * P * D);
      for (const [c, name] of gcase.classes.entries()) {
        const prompts = classPrompts(name);
        // two batches of different sizes and lengths: one graph for both on compiling backends
        const half = Math.ceil(prompts.texts.length / 2);
        const features = new Float32Array(prompts.texts.length * D);
        for (const [start, end] of [
          [0, half],
          [half, prompts.texts.length],
        ] as const) {
          const tokens = tokenizer.tokenize(prompts.texts.slice(start, end), 77);
          const inputs = textEncoderStageInputs(ops, params, arch, tokens, end - start);
          const out = await runStage(ops, stage, inputs);
          features.set(await ops.read(out.features!), start * D);
          ops.dispose([...Object.values(inputs), out.features!]);
        }
        full.set(combineClassEmbeddings(features, P, prompts.synonyms.length, D), c * P * D);
      }
      const c = record('case-01 (stage)', await compareWithGolden(gcase, 'text_features', { shape: [gcase.classes.length, P, D], data: full }));
      await gcase.close();
      expectAllOk([c]);
    });

    for (const caseName of CASE_NAMES) {
      it(`${caseName}: class text embeddings`, async () => {
        const gcase: GoldenCase = await openCase(caseName);
        const meta = gcase.meta.tensors.text_features!;
        // A class-subset golden tensor: encode only the stored classes, placed at their indices.
        const indices = meta.class_subset ? gcase.meta.class_subset : gcase.classes.map((_, i) => i);
        const names = indices.map((i) => gcase.classes[i]!);
        const t0 = performance.now();
        const embeddings = await computeClassEmbeddings(ops, params, arch, tokenizer, names);
        timings.push(`${backend.name} ${caseName} text embeddings, ${names.length} classes: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
        const P = 80;
        const D = arch.embed_dim;
        const full = new Float32Array(gcase.classes.length * P * D);
        indices.forEach((cls, i) => {
          full.set(embeddings.subarray(i * P * D, (i + 1) * P * D), cls * P * D);
        });
        const c = record(caseName, await compareWithGolden(gcase, 'text_features', { shape: [gcase.classes.length, P, D], data: full }));
        expectAllOk([c]);
      });
    }

    it('text features do not depend on chunking, padding or batch order', async () => {
      const texts = ['a photo of a dog.', 'a photo of a dog in the snow, far away.', 'dog', 'a photo of a cat.', 'a photo of a dog.', ''];
      const tokens = tokenizer.tokenize(texts, 77);
      const reference = await encodeTexts(ops, params, arch, tokens, texts.length);
      const chunked = await encodeTexts(ops, params, arch, tokens, texts.length, { chunkSize: 1 });
      // The same texts one by one, with rows cut to 20 columns (all EOTs are earlier).
      const short = new Int32Array(texts.length * 20);
      for (let r = 0; r < texts.length; r++) short.set(tokens.subarray(r * 77, r * 77 + 20), r * 20);
      const cut = await encodeTexts(ops, params, arch, short, texts.length, { chunkSize: 2 });
      const D = arch.embed_dim;
      let maxChunk = 0;
      let maxCut = 0;
      for (let i = 0; i < reference.length; i++) {
        maxChunk = Math.max(maxChunk, Math.abs(reference[i]! - chunked[i]!));
        maxCut = Math.max(maxCut, Math.abs(reference[i]! - cut[i]!));
      }
      expect(maxChunk).toBeLessThan(1e-5);
      expect(maxCut).toBeLessThan(1e-5);
      // The duplicate text gives the same row, wherever it is.
      expect(Array.from(reference.subarray(4 * D, 5 * D))).toEqual(Array.from(reference.subarray(0, D)));
    });

    it('class embeddings: a cache hit returns the encoded values, synonyms are averaged per template', async () => {
      const cache = new ClassEmbeddingCache();
      const opts = { cache, weightsDigest: 'tiny' };
      const first = await computeClassEmbeddings(ops, params, arch, tokenizer, ['person, people', 'sky'], undefined, opts);
      let encodedTexts = 0;
      const second = await computeClassEmbeddings(ops, params, arch, tokenizer, ['sky', 'person, people', 'tree'], undefined, {
        ...opts,
        onProgress: (_done, total) => (encodedTexts = total),
      });
      expect(encodedTexts).toBe(80); // only "tree" was encoded
      const block = 80 * arch.embed_dim;
      expect(Array.from(second.subarray(0, block))).toEqual(Array.from(first.subarray(block, 2 * block)));
      expect(Array.from(second.subarray(block, 2 * block))).toEqual(Array.from(first.subarray(0, block)));
      for (let p = 0; p < 80; p++) {
        let ss = 0;
        for (let d = 0; d < arch.embed_dim; d++) ss += first[p * arch.embed_dim + d]! ** 2;
        expect(Math.sqrt(ss)).toBeCloseTo(1, 5);
      }
    });

    it('refuses a wrong input shape with a clear error', () => {
      const x = ops.constant(new Float32Array(3 * 40 * 40), [1, 3, 40, 40]);
      try {
        expect(() => encodeImage(ops, params, arch, x)).toThrow(/H and W multiples of 32, got \[1, 3, 40, 40\]/);
      } finally {
        ops.dispose(x);
      }
    });
  });
}

afterAll(() => {
  const lines = rows.map(
    (r) =>
      `  ${r.backend.padEnd(6)} ${r.test.padEnd(9)} ${r.comparison.name.padEnd(15)} max |Δ| ${r.comparison.maxAbs.toExponential(2)}` +
      ` (tolerance ${r.comparison.tolerance.toExponential(2)}, max |golden| ${r.comparison.maxGolden.toFixed(3)})${r.comparison.ok ? '' : '  FAIL'}`,
  );
  console.log(
    ['encoder parity, worst |actual − golden| per tensor (case-0N* = from the golden input):', ...lines, 'timings:', ...timings.map((t) => `  ${t}`)].join(
      '\n',
    ),
  );
});
