/**
 * Access to the reference golden cases (../shared/reference/tiny/case-*) and the comparison
 * rule of the issues: max |actual − golden| ≤ 1e-4 × max(1, max |golden|), after slicing the
 * actual tensor to the case's class subset where the golden tensor keeps only a subset.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSafetensors, type HostTensor, type RgbImage, type SafetensorsStore } from '@sedseg/core';
import { compareLabels as compareLabelArrays } from '@sedseg/core/conformance';
import { fileSource } from '@sedseg/core/node';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const REFERENCE_DIR = resolve(REPO_ROOT, '../shared/reference');
export const TINY_DIR = resolve(REFERENCE_DIR, 'tiny');
export const TINY_MODEL = resolve(TINY_DIR, 'model.pth');
export const TINY_CONFIG = resolve(TINY_DIR, 'config.json');
export const CASE_NAMES = ['case-01', 'case-02', 'case-03', 'case-04'] as const;
export type CaseName = (typeof CASE_NAMES)[number];

export interface GoldenTensorMeta {
  stored: boolean;
  dtype: 'F32' | 'I32' | 'U8';
  shape?: number[];
  full_shape?: number[];
  class_subset?: boolean;
  class_axis?: number;
}

export interface CaseMeta {
  name: string;
  resolution: number;
  num_classes: number;
  topk: number[];
  class_subset: number[];
  /** Decoder pooling the case was made with; absent = the training config's [2, 2]. */
  decoder_pooling?: [number, number];
  tensors: Record<string, GoldenTensorMeta>;
  stats: { cer: Record<string, { kept_per_stage: number[]; kept_final_indices: number[] }> };
}

export interface GoldenCase {
  name: CaseName;
  dir: string;
  meta: CaseMeta;
  classes: string[];
  store: SafetensorsStore;
  image(): Promise<RgbImage>;
  /** A stored golden tensor (throws if the case does not store it). */
  tensor(name: string): Promise<HostTensor>;
  /** Names of the tensors this case stores. */
  storedNames(): string[];
  close(): Promise<void>;
}

export async function openCase(name: CaseName): Promise<GoldenCase> {
  const dir = resolve(TINY_DIR, name);
  if (!existsSync(dir)) throw new Error(`golden case not found: ${dir} (is ../shared beside the repository?)`);
  const meta = JSON.parse(readFileSync(resolve(dir, 'case.json'), 'utf8')) as CaseMeta;
  const classes = JSON.parse(readFileSync(resolve(dir, 'classes.json'), 'utf8')) as string[];
  const store = (await openSafetensors(await fileSource(resolve(dir, 'tensors.safetensors')))) as SafetensorsStore;
  return {
    name,
    dir,
    meta,
    classes,
    store,
    async image() {
      const t = await store.read('image');
      const [height, width] = t.shape as [number, number, number];
      return { width, height, data: t.data as Uint8Array };
    },
    tensor: (n) => store.read(n),
    storedNames: () =>
      Object.entries(meta.tensors)
        .filter(([, m]) => m.stored)
        .map(([n]) => n),
    close: () => store.close(),
  };
}

/** Selects `indices` along `axis` of a row-major tensor. */
export function sliceAxis(
  data: ArrayLike<number>,
  shape: readonly number[],
  axis: number,
  indices: readonly number[],
): { data: Float64Array; shape: number[] } {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const out = new Float64Array(outer * indices.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++)
    for (const idx of indices) {
      const base = (a * n + idx) * inner;
      for (let i = 0; i < inner; i++) out[o++] = data[base + i]!;
    }
  const newShape = [...shape];
  newShape[axis] = indices.length;
  return { data: out, shape: newShape };
}

export interface Comparison {
  name: string;
  maxAbs: number;
  maxGolden: number;
  tolerance: number;
  ok: boolean;
}

/**
 * Compares a full tensor (all classes) with the golden one of `name`, slicing to the class
 * subset when the golden file stores only that.
 */
export async function compareWithGolden(
  gcase: GoldenCase,
  name: string,
  actual: { shape: readonly number[]; data: ArrayLike<number> },
  relTolerance = 1e-4,
): Promise<Comparison> {
  const meta = gcase.meta.tensors[name];
  if (!meta?.stored) throw new Error(`${gcase.name} stores no golden tensor "${name}"`);
  const golden = await gcase.tensor(name);
  let data: ArrayLike<number> = actual.data;
  let shape: readonly number[] = actual.shape;
  if (meta.class_subset) {
    const fullShape = meta.full_shape!;
    if (JSON.stringify(shape) !== JSON.stringify(fullShape)) {
      throw new Error(`${name}: shape [${shape}] differs from the full golden shape [${fullShape}]`);
    }
    ({ data, shape } = sliceAxis(data, shape, meta.class_axis!, gcase.meta.class_subset));
  }
  if (JSON.stringify([...shape]) !== JSON.stringify([...golden.shape])) {
    throw new Error(`${name}: shape [${shape}] differs from golden [${golden.shape}]`);
  }
  const g = golden.data as ArrayLike<number>;
  let maxAbs = 0;
  let maxGolden = 0;
  for (let i = 0; i < g.length; i++) {
    const d = Math.abs(Number(data[i]) - Number(g[i]));
    maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
    maxGolden = Math.max(maxGolden, Math.abs(Number(g[i])));
  }
  const tolerance = relTolerance * Math.max(1, maxGolden);
  return { name, maxAbs, maxGolden, tolerance, ok: maxAbs <= tolerance };
}

/**
 * Pixels whose labels differ, and the count where the golden margin is ≥ `margin` (the
 * conformance kit's rule, `compareLabels` of @sedseg/core/conformance).
 */
export async function compareLabels(
  gcase: GoldenCase,
  name: string,
  actual: Int32Array,
  margin = 1e-4,
): Promise<{ differing: number; differingConfident: number; total: number }> {
  const golden = (await gcase.tensor(name)).data as Int32Array;
  const margins = (await gcase.tensor('labels_margin')).data as Float32Array;
  return compareLabelArrays(golden, margins, actual, margin);
}
