/**
 * Golden conformance: the tiny model of the reference data set, loaded on the backend under test,
 * segments each golden case like the reference implementation (PyTorch) did: the final labels
 * wherever the reference was confident, and for each category-early-rejection top-k the classes
 * kept and (nearly all) labels. Browser-safe: the reference files come through `ReferenceFiles`.
 */
import { openSafetensors, type SafetensorsStore } from '../checkpoint/safetensors.js';
import { memorySource } from '../io/byte-source.js';
import { SedModel, type Segmentation } from '../model/sed-model.js';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.js';
import { openWeights } from '../weights/open-weights.js';
import { CheckFailure, report, timed, type BackendFactory, type ConformanceReport, type ConformanceResult } from './report.js';

/**
 * Read access to the reference data set (`shared/reference`: README.md, tiny/model.pth,
 * tiny/case-01/…). `path` is relative to its root with `/` separators, e.g. `tiny/model.pth`;
 * the promise gives undefined when the file does not exist. `referenceDirectory(dir)` from
 * `@sedseg/core/node` reads a folder; `fetchReference(baseUrl)` reads over HTTP.
 */
export interface ReferenceFiles {
  read(path: string): Promise<Uint8Array | undefined>;
}

/** Golden labels may differ only where the reference's top-two margin is below this. */
export const LABEL_MARGIN = 1e-4;
/** Share of pixels whose CER labels may differ from the reference's. */
export const CER_LABEL_TOLERANCE = 0.002;

/**
 * Pixels whose labels differ from the golden ones: all of them, and those where the golden top-two
 * probability margin is ≥ `margin` (where the label is decided, not a float32 coin toss).
 */
export function compareLabels(
  golden: ArrayLike<number>,
  margins: ArrayLike<number>,
  actual: ArrayLike<number>,
  margin = LABEL_MARGIN,
): { differing: number; differingConfident: number; total: number } {
  if (actual.length !== golden.length) throw new CheckFailure(`${actual.length} labels, expected ${golden.length}`);
  let differing = 0;
  let differingConfident = 0;
  for (let i = 0; i < golden.length; i++) {
    if (golden[i] !== actual[i]) {
      differing++;
      if (margins[i]! >= margin) differingConfident++;
    }
  }
  return { differing, differingConfident, total: golden.length };
}

/** A `ReferenceFiles` over HTTP(S) (e.g. the reference folder served next to a browser test page). */
export function fetchReference(baseUrl: string | URL, fetchFn: typeof fetch = fetch): ReferenceFiles {
  const base = new URL(baseUrl.toString().endsWith('/') ? baseUrl.toString() : `${baseUrl.toString()}/`);
  return {
    async read(path) {
      const response = await fetchFn(new URL(path, base));
      if (response.status === 404) return undefined;
      if (!response.ok) throw new Error(`${new URL(path, base).href}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

export interface GoldenCheckOptions {
  reference: ReferenceFiles;
  /** Case folders under `tiny/` to run (default: case-01, case-02, … up to the first one missing). */
  cases?: readonly string[];
  /** CER top-k values to check (default: every top-k the case has); an empty list checks none. */
  topK?: readonly number[];
  onResult?(result: ConformanceResult): void;
}

interface CaseMeta {
  resolution: number;
  topk?: number[];
  decoder_pooling?: [number, number];
  tensors?: Record<string, { stored?: boolean }>;
  stats?: { cer?: Record<string, { kept_final_indices: number[] }> };
}

async function need(reference: ReferenceFiles, path: string): Promise<Uint8Array> {
  const bytes = await reference.read(path);
  if (bytes === undefined) throw new CheckFailure(`reference file ${path} not found`);
  return bytes;
}

function json<X>(bytes: Uint8Array, path: string): X {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as X;
  } catch (e) {
    throw new CheckFailure(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

const listText = (xs: readonly number[]): string => (xs.length > 12 ? `[${xs.slice(0, 12).join(', ')}, … (${xs.length})]` : `[${xs.join(', ')}]`);

async function discoverCases(reference: ReferenceFiles): Promise<string[]> {
  const names: string[] = [];
  for (let i = 1; i < 100; i++) {
    const name = `case-${String(i).padStart(2, '0')}`;
    if ((await reference.read(`tiny/${name}/case.json`)) === undefined) break;
    names.push(name);
  }
  return names;
}

/**
 * Loads the reference's tiny model on the backend `create` makes and segments its golden cases;
 * one result per case and check: `case-NN labels` (equal to the golden labels wherever the golden
 * margin is ≥ 1e-4), and per top-k of the case `case-NN CER top-K kept classes` (exactly the
 * reference's) and `case-NN CER top-K labels` (at most 0.2 % of pixels differ).
 */
export async function runGoldenChecks(create: BackendFactory, options: GoldenCheckOptions): Promise<ConformanceReport> {
  const { reference } = options;
  const results: ConformanceResult[] = [];
  const emit = (r: ConformanceResult): ConformanceResult => {
    results.push(r);
    options.onResult?.(r);
    return r;
  };
  let model: SedModel<unknown> | undefined;
  const loaded = emit(
    await timed('golden', 'tiny model loads (tiny/model.pth, tiny/config.json)', async () => {
      const [weights, configBytes, vocab] = await Promise.all([
        need(reference, 'tiny/model.pth'),
        need(reference, 'tiny/config.json'),
        need(reference, 'bpe_simple_vocab_16e6.txt.gz'),
      ]);
      const tokenizer = ClipTokenizer.fromGzip(vocab);
      const config = json<unknown>(configBytes, 'tiny/config.json');
      const backend = await create();
      const store = await openWeights(memorySource(weights, 'tiny/model.pth'));
      try {
        model = await SedModel.load(store, { backend, tokenizer, config, configSource: 'tiny/config.json' });
      } finally {
        await store.close();
      }
    }),
  );
  if (!loaded.ok || !model) return report(results);

  try {
    const names = options.cases ?? (await discoverCases(reference));
    if (names.length === 0) emit({ group: 'golden', name: 'golden cases', ok: false, message: 'no case found (expected tiny/case-01/case.json)', ms: 0 });
    for (const name of names) await runCase(model, reference, name, emit, options.topK);
  } finally {
    model.dispose();
  }
  return report(results);
}

async function runCase(
  model: SedModel<unknown>,
  reference: ReferenceFiles,
  name: string,
  emit: (r: ConformanceResult) => ConformanceResult,
  topK: readonly number[] | undefined,
): Promise<void> {
  let meta: CaseMeta | undefined;
  let classes: string[] | undefined;
  let store: SafetensorsStore | undefined;
  let image: { width: number; height: number; data: Uint8Array } | undefined;
  let pooling = 2;
  try {
    // reading the case is part of its first check
    const labels = await timed('golden', `${name} labels`, async () => {
      const dir = `tiny/${name}`;
      const metaBytes = await reference.read(`${dir}/case.json`);
      if (metaBytes === undefined) throw new CheckFailure(`case not found in the reference (${dir}/case.json)`);
      meta = json<CaseMeta>(metaBytes, `${dir}/case.json`);
      classes = json<string[]>(await need(reference, `${dir}/classes.json`), `${dir}/classes.json`);
      store = (await openSafetensors(memorySource(await need(reference, `${dir}/tensors.safetensors`), `${dir}/tensors.safetensors`))) as SafetensorsStore;
      const img = await store.read('image');
      const [height, width] = img.shape as [number, number, number];
      image = { width, height, data: img.data as Uint8Array };
      // case.json decoder_pooling: absent = the training config's [2, 2]
      pooling = meta.decoder_pooling?.[0] ?? 2;
      const seg = await model.segment(image, { classes, resolution: meta.resolution, pooling });
      const cmp = compareLabels((await store.read('labels')).data as Int32Array, (await store.read('labels_margin')).data as Float32Array, seg.labels);
      if (cmp.differingConfident > 0) {
        throw new CheckFailure(
          `${cmp.differingConfident} confident pixels differ (golden margin ≥ ${LABEL_MARGIN}; ${cmp.differing} of ${cmp.total} differ in all)`,
        );
      }
    });
    emit(labels);
    if (!meta || !classes || !store || !image) return;
    for (const k of (meta.topk ?? []).filter((v) => topK === undefined || topK.includes(v))) {
      let seg: Segmentation | undefined;
      const kept = await timed('golden', `${name} CER top-${k} kept classes`, async () => {
        seg = await model.segment(image!, { classes: classes!, resolution: meta!.resolution, pooling, topK: k });
        const expected = meta!.stats?.cer?.[`top${k}`]?.kept_final_indices;
        if (!expected) throw new CheckFailure(`case.json has no stats.cer.top${k}.kept_final_indices`);
        const got = seg.keptClasses ?? [];
        if (got.length !== expected.length || got.some((c, i) => c !== expected[i]))
          throw new CheckFailure(`kept ${listText(got)}, expected ${listText(expected)}`);
      });
      emit(kept);
      emit(
        await timed('golden', `${name} CER top-${k} labels`, async () => {
          if (!seg) throw new CheckFailure('no segmentation (it failed, see the kept-classes check)');
          const tensor = `cer_top${k}_labels`;
          if (!store!.keys().includes(tensor)) throw new CheckFailure(`the case stores no ${tensor}`);
          const cmp = compareLabels((await store!.read(tensor)).data as Int32Array, new Float32Array(seg.labels.length).fill(Infinity), seg.labels);
          if (cmp.differing > CER_LABEL_TOLERANCE * cmp.total) {
            throw new CheckFailure(
              `${((100 * cmp.differing) / cmp.total).toFixed(2)} % of pixels differ (${cmp.differing} of ${cmp.total}; at most ${CER_LABEL_TOLERANCE * 100} %)`,
            );
          }
        }),
      );
    }
  } finally {
    await (store as SafetensorsStore | undefined)?.close();
  }
}
