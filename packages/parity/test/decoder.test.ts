/**
 * Decoder parity: the SED decoder (cost map → corrEmbed → decoder1-3 → heads), full path and
 * category early rejection, fed with the GOLDEN image features and class embeddings of each
 * case, against every stored golden decoder tensor.
 *
 * - case-01, case-02: every stored decoder tensor, logits class means, probs, labels (where the
 *   golden margin ≥ 1e-4), and for every top-k of the case the CER masks (exact), aux logits,
 *   output (1e-4 relative) and labels (≤ 0.2 % differing pixels).
 * - case-03 stores only 3 classes' text features: only the per-class part of the decoder
 *   (corr → corrEmbed → head0 = `mask_aux`) can be checked, on those 3 classes.
 *
 * Time: a full decoder pass of case-02 (60 classes at 96×96) is the expensive part (about 30 s
 * on the pure-JS tfjs backend). A CER pass that keeps every class at every stage (case-02,
 * top-8) computes exactly the full path, so it is not run again: its golden tensors are checked
 * from the full path's traced values (selection by `topKSurvivors`, output = sigmoid(logits)).
 * The all-kept CER path still runs for real here on case-01 (top-8 keeps its 12 classes) and on
 * case-02 in the end-to-end dump tests; SEDSEG_PARITY_FULL=1 runs case-02 top-8 here too.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  architectureFromWeights,
  cerOutputToLabels,
  cerOutputToProbabilities,
  classMeans,
  DECODER_PREFIX,
  isHostTensor,
  decoderInputForward,
  logitsToLabels,
  logitsToProbabilities,
  probabilitiesToLabels,
  runDecoder,
  topKSurvivors,
  uploadParams,
  type HostTensor,
  type ModelParams,
  type Ops,
  type SedArchitecture,
} from '@sedseg/core';
import { openWeightsFile } from '@sedseg/core/node';
import { BACKENDS } from './helpers/backends';
import {
  compareLabels,
  compareWithGolden,
  openCase,
  sliceAxis,
  TINY_CONFIG,
  TINY_MODEL,
  type CaseName,
  type Comparison,
  type GoldenCase,
} from './helpers/golden';

interface Row {
  backend: string;
  test: string;
  name: string;
  maxAbs: number;
  tolerance: number;
  ok: boolean;
}

const rows: Row[] = [];
const timings: { backend: string; test: string; seconds: number }[] = [];

/** Trace values are backend tensors or host tensors (whose `data` is a typed array). */
/** A host tensor handed to the trace (a backend tensor may hold host data too, and is freed after the run: copy it). */
function isHostValue(v: unknown): v is HostValue {
  return isHostTensor(v);
}

function sigmoid(x: Float32Array): Float32Array {
  return x.map((v) => 1 / (1 + Math.exp(-v)));
}

/** A host tensor as traced: float32 maps or uint8 masks. */
type HostValue = HostTensor<'float32'> | HostTensor<'uint8'>;

function imageSize(gcase: GoldenCase): { height: number; width: number } {
  return (gcase.meta as unknown as { image: { height: number; width: number } }).image;
}

/** Exact comparison of a 0/1 mask with its golden U8 tensor. */
async function compareMask(gcase: GoldenCase, name: string, actual: HostValue): Promise<Comparison> {
  const golden = await gcase.tensor(name);
  expect([...actual.shape], `${name} shape`).toEqual([...golden.shape]);
  let maxAbs = 0;
  for (let i = 0; i < golden.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(Number(actual.data[i]) - Number(golden.data[i])));
  return { name, maxAbs, maxGolden: 1, tolerance: 0, ok: maxAbs === 0 };
}

/** CER runs replaced by the full path's values when every class survives every stage. */
const EMULATED_CER_CASES: ReadonlySet<string> = new Set(process.env.SEDSEG_PARITY_FULL === '1' ? [] : ['case-02']);

function allKept(gcase: GoldenCase, k: number): boolean {
  const stats = gcase.meta.stats.cer[`top${k}`];
  return stats?.kept_per_stage.every((n) => n === gcase.meta.num_classes) ?? false;
}

const emulatedTopKs = (gcase: GoldenCase): number[] => (EMULATED_CER_CASES.has(gcase.name) ? gcase.meta.topk.filter((k) => allKept(gcase, k)) : []);

/** Each case is opened once (its tensor file stays open until the end of the file's tests). */
const openCases = new Map<CaseName, Promise<GoldenCase>>();
function getCase(name: CaseName): Promise<GoldenCase> {
  let c = openCases.get(name);
  if (!c) {
    c = openCase(name);
    openCases.set(name, c);
  }
  return c;
}

/** Live tfjs tensors (undefined on backends that do not count them). */
function tensorCount(ops: Ops<unknown>): number | undefined {
  return (ops as { tf?: { memory(): { numTensors: number } } }).tf?.memory().numTensors;
}

for (const backend of BACKENDS) {
  describe(`decoder parity — ${backend.name}`, () => {
    let ops: Ops<unknown>;
    let params: ModelParams<unknown> & { dispose(): void };
    let arch: SedArchitecture;

    beforeAll(async () => {
      ops = (await backend.create()) as Ops<unknown>;
      const store = await openWeightsFile(TINY_MODEL);
      const config = JSON.parse(readFileSync(TINY_CONFIG, 'utf8')) as unknown;
      arch = architectureFromWeights(store, { config }).architecture;
      params = await uploadParams(ops, store, (n) => n.startsWith(DECODER_PREFIX));
      await store.close();
    });

    afterAll(() => params?.dispose());

    const record = (test: string, c: Comparison): void => {
      rows.push({ backend: backend.name, test, name: c.name, maxAbs: c.maxAbs, tolerance: c.tolerance, ok: c.ok });
    };

    const upload = async (gcase: GoldenCase, name: string): Promise<unknown> => {
      const t = await gcase.tensor(name);
      return ops.constant(t.data as Float32Array, t.shape, name);
    };

    /** Image features of a case (case-03 shares res2..res4 with case-02). */
    const loadFeatures = async (gcase: GoldenCase) => {
      const featureCase = gcase.meta.tensors.res2?.stored ? gcase : await getCase('case-02');
      return {
        dense: await upload(gcase, 'clip_vis_dense'),
        res2: await upload(featureCase, 'res2'),
        res3: await upload(featureCase, 'res3'),
        res4: await upload(featureCase, 'res4'),
      };
    };

    const disposeFeatures = (f: Record<string, unknown>): void => ops.dispose(Object.values(f));

    /**
     * A trace callback checking every stored golden tensor it receives (into `results`); the
     * values of the names in `keep` are copied to the host into `kept`.
     */
    const checker = (gcase: GoldenCase, test: string, results: Comparison[], keep: readonly string[] = [], kept = new Map<string, HostValue>()) => {
      return async (name: string, value: unknown): Promise<void> => {
        const meta = gcase.meta.tensors[name];
        if (!meta?.stored && !keep.includes(name)) return;
        const hostValue: HostValue = isHostValue(value) ? value : { dtype: 'float32', shape: [...ops.shape(value)], data: await ops.read(value) };
        if (keep.includes(name)) kept.set(name, hostValue);
        if (!meta?.stored) return;
        const c = meta.dtype === 'U8' ? await compareMask(gcase, name, hostValue) : await compareWithGolden(gcase, name, hostValue);
        results.push(c);
        record(test, c);
      };
    };

    const expectAllOk = (results: Comparison[]): void => {
      const bad = results.filter((c) => !c.ok).map((c) => `${c.name}: max |Δ| ${c.maxAbs.toExponential(2)} > ${c.tolerance.toExponential(2)}`);
      expect(bad, bad.join('\n')).toEqual([]);
    };

    for (const caseName of ['case-01', 'case-02'] as const) {
      it(`${caseName}: full path`, async () => {
        const t0 = performance.now();
        const gcase = await getCase(caseName);
        const features = await loadFeatures(gcase);
        const text = (await gcase.tensor('text_features')).data as Float32Array;
        const classCount = gcase.meta.num_classes;
        const results: Comparison[] = [];
        const test = `${caseName} full`;
        const emulated = emulatedTopKs(gcase);
        const kept = new Map<string, HostValue>();
        const keepNames = emulated.length ? ['mask_aux', 'mask_aux0', 'mask_aux1'] : [];
        const out = await runDecoder(ops, params, arch, features, text, classCount, { trace: checker(gcase, test, results, keepNames, kept) });
        disposeFeatures(features);
        const logits = out.logits!;
        expect([...logits.shape]).toEqual([1, classCount, ...out.outputSize]);

        const means = classMeans(logits);
        const cm = await compareWithGolden(gcase, 'logits_class_mean', { shape: [classCount], data: means });
        results.push(cm);
        record(test, cm);

        const img = imageSize(gcase);
        const probs = logitsToProbabilities(logits, img.height, img.width);
        for (const name of ['probs', 'probs_class_mean']) {
          if (!gcase.meta.tensors[name]?.stored) continue;
          const c =
            name === 'probs'
              ? await compareWithGolden(gcase, name, probs)
              : await compareWithGolden(gcase, name, { shape: [classCount], data: classMeans(probs) });
          results.push(c);
          record(test, c);
        }
        const labels = logitsToLabels(logits, img.height, img.width);
        // the per-pixel label computation equals the argmax of the materialised probabilities
        expect(probabilitiesToLabels(probs)).toEqual(labels);
        const lc = await compareLabels(gcase, 'labels', labels);
        rows.push({
          backend: backend.name,
          test,
          name: `labels (${lc.differing}/${lc.total} differ, ${lc.differingConfident} with margin ≥ 1e-4)`,
          maxAbs: lc.differingConfident,
          tolerance: 0,
          ok: lc.differingConfident === 0,
        });

        const expected = ['corr', 'corr_embed', 'mask_aux', 'mask_aux0', 'mask_aux1', 'logits'].filter((n) => gcase.meta.tensors[n]?.stored);
        for (const n of expected)
          expect(
            results.map((r) => r.name),
            `golden ${n} was traced`,
          ).toContain(n);
        expectAllOk(results);
        expect(lc.differingConfident).toBe(0);
        timings.push({ backend: backend.name, test, seconds: (performance.now() - t0) / 1000 });

        // CER passes that keep every class equal the full path: check their goldens from it.
        for (const k of emulated) {
          const cer: Comparison[] = [];
          const ctest = `${caseName} CER top-${k} (from full path)`;
          const prefix = `cer_top${k}_`;
          const check = checker(gcase, ctest, cer);
          const stages = ['mask_aux', 'mask_aux0', 'mask_aux1'].map((n) => kept.get(n)!);
          const keepMask = new Uint8Array(3 * classCount);
          for (const [s, scores] of stages.entries()) {
            const [, n, h, w] = scores.shape as [number, number, number, number];
            const valid = topKSurvivors(scores.data as Float32Array, n, h * w, k);
            keepMask.set(valid, s * classCount); // every class alive: stage s masks are in class order
            await check(`${prefix}valid${s}`, { dtype: 'uint8', shape: [n], data: valid });
            if (s > 0) await check(`${prefix}mask_aux${s - 1}`, scores);
          }
          await check(`${prefix}keep`, { dtype: 'uint8', shape: [3, classCount], data: keepMask });
          const output: HostTensor<'float32'> = { dtype: 'float32', shape: [...logits.shape], data: sigmoid(logits.data) };
          await check(`${prefix}output`, output);
          const cl = await compareLabels(gcase, `${prefix}labels`, cerOutputToLabels(output, img.height, img.width));
          const fraction = cl.differing / cl.total;
          rows.push({
            backend: backend.name,
            test: ctest,
            name: `${prefix}labels (${cl.differing}/${cl.total} differ = ${(100 * fraction).toFixed(3)} %)`,
            maxAbs: fraction,
            tolerance: 0.002,
            ok: fraction <= 0.002,
          });
          for (const n of ['valid0', 'valid1', 'valid2', 'keep', 'output'].map((x) => prefix + x)) expect(cer.map((r) => r.name)).toContain(n);
          expectAllOk(cer);
          expect(fraction).toBeLessThanOrEqual(0.002);
        }
      });

      if (caseName === 'case-01') {
        it(`${caseName}: decoder layers in class chunks of 5 (class attention on all classes in row bands, and streamed over the chunks; untraced: layer 2's input recomputed) match the reference`, async () => {
          const gcase = await getCase(caseName);
          const text = (await gcase.tensor('text_features')).data as Float32Array;
          const classCount = gcase.meta.num_classes;
          for (const [topK, streamed] of [
            [undefined, false],
            [8, false],
            [undefined, true],
            [8, true],
          ] as const) {
            const features = await loadFeatures(gcase);
            const results: Comparison[] = [];
            await runDecoder(ops, params, arch, features, text, classCount, {
              classChunk: 5,
              attentionBandValues: 4000, // a few pooled rows at a time
              allClassAttentionValues: streamed ? 0 : Number.POSITIVE_INFINITY,
              ...(topK !== undefined ? { topK } : {}),
              trace: checker(gcase, `${caseName} chunks of 5${streamed ? ' streamed' : ''}${topK ? ` CER top-${topK}` : ''}`, results),
            });
            disposeFeatures(features);
            expect(results.map((r) => r.name)).toContain(topK ? 'cer_top8_output' : 'logits');
            expectAllOk(results);
          }
          // untraced and streamed, the full path recomputes layer 2's input per chunk instead of keeping it
          const features = await loadFeatures(gcase);
          const out = await runDecoder(ops, params, arch, features, text, classCount, { classChunk: 5, allClassAttentionValues: 0 });
          disposeFeatures(features);
          const results: Comparison[] = [];
          await checker(gcase, `${caseName} chunks of 5 streamed, layer 2 input recomputed`, results)('logits', out.logits!);
          expect(results.map((r) => r.name)).toEqual(['logits']);
          expectAllOk(results);
        });
      }

      it(`${caseName}: category early rejection`, async () => {
        const gcase = await getCase(caseName);
        const img = imageSize(gcase);
        const text = (await gcase.tensor('text_features')).data as Float32Array;
        const classCount = gcase.meta.num_classes;
        const emulated = emulatedTopKs(gcase);
        for (const k of gcase.meta.topk.filter((kk) => !emulated.includes(kk))) {
          const t0 = performance.now();
          const before = tensorCount(ops);
          const features = await loadFeatures(gcase);
          const results: Comparison[] = [];
          const test = `${caseName} CER top-${k}`;
          const out = await runDecoder(ops, params, arch, features, text, classCount, { topK: k, trace: checker(gcase, test, results) });
          disposeFeatures(features);
          // no tensor left behind (weight re-layout caches aside, filled by the earlier passes)
          if (before !== undefined && k === gcase.meta.topk.at(-1)) expect(tensorCount(ops)).toBe(before);
          const prefix = `cer_top${k}_`;
          const expected = ['valid0', 'valid1', 'valid2', 'keep', 'output', 'mask_aux0', 'mask_aux1']
            .map((n) => prefix + n)
            .filter((n) => gcase.meta.tensors[n]?.stored);
          for (const n of expected)
            expect(
              results.map((r) => r.name),
              `golden ${n} was traced`,
            ).toContain(n);
          // The returned host results are the traced ones.
          expect([...out.keep!.shape]).toEqual([3, classCount]);
          expect(out.survivors!.length).toBe(gcase.meta.stats.cer[`top${k}`]!.kept_final_indices.length);
          expect([...out.survivors!]).toEqual(gcase.meta.stats.cer[`top${k}`]!.kept_final_indices);

          const labels = cerOutputToLabels(out.output!, img.height, img.width);
          const lc = await compareLabels(gcase, `${prefix}labels`, labels);
          const fraction = lc.differing / lc.total;
          rows.push({
            backend: backend.name,
            test,
            name: `${prefix}labels (${lc.differing}/${lc.total} differ = ${(100 * fraction).toFixed(3)} %)`,
            maxAbs: fraction,
            tolerance: 0.002,
            ok: fraction <= 0.002,
          });
          if (caseName === 'case-01') {
            // the per-pixel labels equal the argmax of the materialised probabilities
            expect(probabilitiesToLabels(cerOutputToProbabilities(out.output!, img.height, img.width))).toEqual(labels);
          }
          expectAllOk(results);
          expect(fraction).toBeLessThanOrEqual(0.002);
          timings.push({ backend: backend.name, test, seconds: (performance.now() - t0) / 1000 });
        }
      });
    }

    it('case-03: per-class decoder input (corr → corrEmbed → head0) on the stored class subset', async () => {
      const t0 = performance.now();
      const gcase = await getCase('case-03');
      const subset = gcase.meta.class_subset;
      const features = await loadFeatures(gcase);
      const text = await upload(gcase, 'text_features'); // [3, P, D]: only the subset is stored
      const inputs = decoderInputForward(ops, params, features, text);
      const maskAux = await ops.read(inputs.maskAux);
      ops.dispose([inputs.corr, inputs.corrClasses, inputs.corrEmbed, inputs.maskAux, ...inputs.guidance, text]);
      disposeFeatures(features);
      const golden = await gcase.tensor('mask_aux');
      const g = sliceAxis(golden.data as Float32Array, golden.shape, 1, subset);
      let maxAbs = 0;
      let maxGolden = 0;
      for (let i = 0; i < g.data.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(maskAux[i]! - g.data[i]!));
        maxGolden = Math.max(maxGolden, Math.abs(g.data[i]!));
      }
      const c: Comparison = {
        name: `mask_aux[classes ${subset.join(',')}]`,
        maxAbs,
        maxGolden,
        tolerance: 1e-4 * Math.max(1, maxGolden),
        ok: maxAbs <= 1e-4 * Math.max(1, maxGolden),
      };
      record('case-03 subset', c);
      expect(c.ok, `${c.name}: ${maxAbs}`).toBe(true);
      timings.push({ backend: backend.name, test: 'case-03 subset', seconds: (performance.now() - t0) / 1000 });
    });
  });
}

afterAll(async () => {
  for (const c of openCases.values()) await (await c).store.close();
  const lines = rows.map(
    (r) =>
      `${r.ok ? 'ok  ' : 'FAIL'} ${r.backend.padEnd(6)} ${r.test.padEnd(20)} ${r.name.padEnd(48)} ${r.maxAbs.toExponential(2)} (tol ${r.tolerance.toExponential(1)})`,
  );
  const times = timings.map((t) => `${t.backend.padEnd(6)} ${t.test.padEnd(20)} ${t.seconds.toFixed(1)} s`);
  console.log(['decoder parity, worst |actual − golden| per tensor:', ...lines, 'timings:', ...times].join('\n'));
});
