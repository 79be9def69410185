/**
 * `loadExportedModel`: the tiny model exported as `sedseg export` does (graphs traced once here),
 * then segmented from the export folder's files alone on onnxruntime-web (wasm, Node build) —
 * no weights, no tracing — against the golden labels of tiny/case-04 (R=320, pooling 1): full
 * path where the golden margin is ≥ 1e-4, CER top-1 within 0.2 %; fp16 graphs where it is ≥ 0.02; and
 * what the folder cannot do fails naming what it holds.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CER_LABEL_TOLERANCE, compareLabels } from '@sedseg/core/conformance';
import { loadDefaultTokenizer, loadSedModel, openWeightsFile } from '@sedseg/core/node';
import { exportStageGraphs, type LazyTensor } from '@sedseg/onnx';
import { createWebOps, loadExportedModel, type ExportedSedModel } from '../src/index.js';

const TINY = fileURLToPath(new URL('../../../../shared/reference/tiny/', import.meta.url));
const CASE = `${TINY}case-04/`;

interface Golden {
  image: { width: number; height: number; data: Uint8Array };
  classes: string[];
  labels: Float32Array;
  margin: Float32Array;
  cerTop1: Float32Array;
}

async function readGolden(): Promise<Golden> {
  const { readFile } = await import('node:fs/promises');
  const classes = JSON.parse(await readFile(`${CASE}classes.json`, 'utf8')) as string[];
  const store = await openWeightsFile(`${CASE}tensors.safetensors`);
  try {
    const img = await store.read('image');
    const [height, width] = img.shape as [number, number, number];
    const f32 = async (name: string) => Float32Array.from((await store.read(name)).data as ArrayLike<number>);
    return {
      image: { width, height, data: img.data as Uint8Array },
      classes,
      labels: await f32('labels'),
      margin: await f32('labels_margin'),
      cerTop1: await f32('cer_top1_labels'),
    };
  } finally {
    await store.close();
  }
}

/** The files `sedseg export --resolution 320` writes, in memory. */
async function exportFolder(fp16: boolean): Promise<Map<string, Uint8Array>> {
  const ops = await createWebOps({ device: 'wasm', threads: 1 });
  const model = await loadSedModel<LazyTensor>(`${TINY}model.pth`, { backend: ops, configPath: `${TINY}config.json` });
  const files = new Map<string, Uint8Array>();
  for await (const f of exportStageGraphs(model, { resolutions: [320], fp16 })) files.set(f.path, f.bytes);
  model.dispose();
  return files;
}

const reader =
  (files: Map<string, Uint8Array>, read: string[] = []) =>
  async (path: string) => {
    read.push(path);
    const bytes = files.get(path);
    if (!bytes) throw new Error(`${path}: no such file`);
    return bytes;
  };

async function load(files: Map<string, Uint8Array>, read?: string[]): Promise<ExportedSedModel> {
  return loadExportedModel(reader(files, read), {
    ops: await createWebOps({ device: 'wasm', threads: 1 }),
    tokenizer: await loadDefaultTokenizer(),
    classEmbeddings: false,
  });
}

describe('a model from a sedseg export folder (ort-web wasm)', () => {
  let golden: Golden;
  let files: Map<string, Uint8Array>;
  beforeAll(async () => {
    [golden, files] = await Promise.all([readGolden(), exportFolder(false)]);
  }, 60_000);

  it('segments tiny/case-04 like the reference from the graphs alone (full path and CER top-1)', async () => {
    const read: string[] = [];
    const model = await load(files, read);
    expect(model.resolutions).toEqual([320]);
    const full = await model.segment(golden.image, { classes: golden.classes, resolution: 320 });
    expect(full.pooling).toBe(1);
    const cmp = compareLabels(golden.labels, golden.margin, full.labels);
    expect(cmp.differingConfident, `${cmp.differing} labels differ, ${cmp.differingConfident} where the golden margin is ≥ 1e-4`).toBe(0);
    const cer = await model.segment(golden.image, { classes: golden.classes, resolution: 320, topK: 1 });
    const diff = compareLabels(golden.cerTop1, golden.margin, cer.labels);
    expect(diff.differing / diff.total).toBeLessThanOrEqual(CER_LABEL_TOLERANCE);
    expect(cer.keptPerStage?.[0]).toBeLessThanOrEqual(golden.classes.length);
    // every stage ran from the folder's graphs: the text encoder and every r320 graph were read
    expect(read).toContain('text/textEncoder.onnx');
    expect(read.filter((p) => p.startsWith('r320/')).sort()).toEqual([...files.keys()].filter((p) => p.startsWith('r320/')).sort());
    await model.dispose();
  }, 120_000);

  it('runs fp16 graphs (labels close to the reference)', async () => {
    const model = await load(await exportFolder(true));
    const seg = await model.segment(golden.image, { classes: golden.classes, resolution: 320 });
    // fp16 weights move the logits by about 1e-3 relative: labels may flip where the classes are that close
    const cmp = compareLabels(golden.labels, golden.margin, seg.labels, 0.02);
    expect(cmp.differingConfident, `${cmp.differing} labels differ, ${cmp.differingConfident} where the golden margin is ≥ 0.02`).toBe(0);
    expect(cmp.differing / cmp.total).toBeLessThan(0.03);
    await model.dispose();
  }, 120_000);

  it('says what the folder cannot do', async () => {
    const model = await load(files);
    const image = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3) };
    await expect(model.segment(image, { classes: ['sky'], resolution: 384 })).rejects.toThrow(/resolutions 320, not 384/);
    await expect(model.segment(image, { classes: ['sky'], resolution: 320, pooling: 2 })).rejects.toThrow(/pooling 1, not 2/);
    const notManifest = new Map(files);
    notManifest.set('manifest.json', new TextEncoder().encode('{"format":"something-else"}'));
    await expect(load(notManifest)).rejects.toThrow(/not a sedseg export manifest/);
    const noTable = new Map(files);
    noTable.set('text/token_embedding.bin', new Uint8Array(12));
    await expect(load(noTable)).rejects.toThrow(/token_embedding\.bin: 12 bytes, expected/);
  }, 60_000);
});
