import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  clampBackground,
  ConfusionMatrix,
  EVAL_DATASET_NAMES,
  type EvalDataset,
  evalDataset,
  evalInput,
  isSedsegError,
  type SedModel,
  type SedProgress,
  SedsegError,
  TEST_MAX_SIZE,
  TEST_MIN_SIZE,
  VOCABULARIES,
} from '@sedseg/core';
import { type EvalPair, findConfig, listEvalPairs, readLabelFile, writeFileAtomic } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { BACKEND_HELP, backendRequest, startBackend } from '../backends.js';
import { defaultCacheDir } from '../cache-dir.js';
import { readClassesFile } from '../class-list.js';
import type { CommandIO } from '../command.js';
import { buildResult, confusionOfRecords, type EvalResultImage, formatResult } from '../eval-result.js';
import { canonical, type EvalSettings, sha256File, sha256Json } from '../eval-settings.js';
import { type EvalImageRecord, EvalState } from '../eval-state.js';
import { readImageFile } from '../image-io.js';
import { maxMemoryOption } from '../memory-check.js';
import { loadCheckedModel } from '../load-checked-model.js';
import { checkOutputDir, createOutputDir } from '../output-dir.js';
import { maxPixelsOption } from '../pixel-limit.js';
import { poolingHelp, poolingOption } from '../pooling-option.js';
import { optionalPositiveInt } from '../positive-int.js';
import { formatSeconds, ProgressBar } from '../progress.js';
import { classPalette } from '../render/palette.js';
import { labelMapPng } from '../render/png-encode.js';
import { DEFAULT_RESOLUTION, resolutionOptions } from '../resolution-option.js';
import { inShard, shardOption } from '../shard-option.js';
import { MAX_THREADS, threadsOption } from '../threads-option.js';
import { UsageError } from '../usage-error.js';
import { resolveWeightsArg } from '../weights-arg.js';
import { evalMergeCommand } from './eval-merge.js';

export const EVAL_HELP = `Usage: sedseg eval --dataset ade150|ade847|pc59|pc459|voc20|voc20b [--root DIR] [--weights W]
                   [--topk K] [--resolution R] [--pooling 1|2] [--limit N] [--shard i/n]
                   [--out result.json] [--state DIR] [--save-predictions DIR]
                   [--backend NAME] [--device D] [--threads N] [--config FILE] [--cache-dir DIR | --no-cache]
       sedseg eval --images DIR --labels DIR --classes-file F.json --ignore-label N [--image-ext jpg] [--label-ext png] …
       sedseg eval merge A.json B.json … --out ALL.json

Evaluates SED on a semantic-segmentation benchmark with the authors' test protocol and reports
detectron2's metrics: mIoU, fwIoU, mACC, pACC and the IoU and accuracy of every class (percent).

Protocol, per image (the authors' eval.sh, detectron2 test mapper and SemSegEvaluator):
  decode (EXIF orientation applied) → resize with detectron2 ResizeShortestEdge(${TEST_MIN_SIZE}, max ${TEST_MAX_SIZE}),
  Pillow bilinear, bit-exact → the model (its own resize to R×R; decoder pooling 1) → the R/4 maps
  cropped to the resized image ([:newh, :neww]) and resized bilinearly to the original size
  (sem_seg_postprocess) → argmax → confusion counts against the ground truth (the ignore label in
  its own column). mIoU is the mean IoU over the classes present in the ground truth (current
  detectron2); mIoU_v06 in the JSON is the older formula (over classes in ground truth or
  prediction). VOC-20b counts every prediction of a background prompt (≥ 20) as background.

Datasets (under --root, default $DETECTRON2_DATASETS or ./datasets; the authors' layouts):
  ade150   ADEChallengeData2016/images/validation/*.jpg + annotations_detectron2/validation/*.png (ignore 255)
  ade847   ADE20K_2021_17_01/images_detectron2/validation/*.jpg + annotations_detectron2/validation/*.tif (16-bit, ignore 65535)
  pc59     VOCdevkit/VOC2010/JPEGImages/*.jpg + annotations_detectron2/pc59_val/*.png (ignore 255)
  pc459    VOCdevkit/VOC2010/JPEGImages/*.jpg + annotations_detectron2/pc459_val/*.tif (16-bit, ignore 459)
  voc20    VOCdevkit/VOC2012/JPEGImages/*.jpg + annotations_detectron2/val/*.png (ignore 255)
  voc20b   VOCdevkit/VOC2012/JPEGImages/*.jpg + annotations_detectron2_bg/val/*.png (21 classes, ignore 255)
Images and labels pair as detectron2 load_sem_seg pairs them: each folder's files sorted by name,
paired in order; when the counts differ, the names found in both.
A custom dataset: --images DIR --labels DIR --classes-file F.json (JSON array of names)
--ignore-label N, with --image-ext (default jpg) and --label-ext (default png).
Labels are read as stored: 8/16-bit grayscale or palette PNG, 8/16-bit TIFF; a value that is
neither a class nor the ignore label is an error naming the file and the value.

Options:
  --weights W         SED checkpoint (file, sed-b / sed-l, or URL; as for segment). Default: sed-b
  --config FILE       architecture config (default: <name>.config.json or config.json beside W)
  --topk K            category early rejection with top-K (the paper's CER: 8); default: full decoder
  --resolution R      model input side (default ${DEFAULT_RESOLUTION}); --max-resolution R raises its limit
${poolingHelp(22)}
  --limit N           evaluate the first N pairs only
  --shard i/n         evaluate shard i of n (1-based): pair k (0-based, after --limit) belongs to
                      shard (k mod n) + 1; merge the shards' results with "sedseg eval merge"
  --out FILE          write the result as JSON (metrics, per-class IoU/accuracy, the non-zero
                      confusion entries [pred, gt, count], settings, images evaluated)
  --state DIR         resumable state: one record per image done (default: FILE.state beside --out;
                      without --out and --state the run is not resumable). A run continues where an
                      interrupted one with the same settings stopped; other settings are refused
  --save-predictions DIR  write each prediction as <stem>.png (class index per pixel; palette PNG,
                      16-bit grayscale above 256 classes)
${BACKEND_HELP}
  --threads N         compute threads of the backend (at most ${MAX_THREADS})
  --max-memory GIB    refuse a run whose estimated peak memory is above this
  --max-pixels N      the largest image accepted, in pixels (N or NM)
  --cache-dir DIR     class-embedding cache (default: ${join(defaultCacheDir(), 'class-embeddings')})
  --no-cache          do not read or write the class-embedding cache
  -h, --help          show this help

A progress line with the ETA is shown on a terminal. Exit code 1 on a failure (the images done
so far stay in the state, so fixing the cause and running again continues).

Examples:
  sedseg eval --dataset ade150 --weights sed-b --out ade150.json
  sedseg eval --dataset pc459 --root /data --weights sed-l --topk 8 --out pc459-cer8.json
  sedseg eval --dataset ade847 --shard 3/8 --out shard-3.json     # then: sedseg eval merge shard-*.json --out ade847.json`;

const EXT = /^[A-Za-z0-9]+$/;

interface EvalSource {
  dataset: EvalDataset | undefined;
  name: string;
  imageDir: string;
  labelDir: string;
  /** As recorded in the settings. */
  imageDirSetting: string;
  labelDirSetting: string;
  imageExt: string;
  labelExt: string;
  ignoreLabel: number;
  numClasses: number;
  backgroundFrom: number | undefined;
  classNames: readonly string[];
  /** The model's prompts. */
  prompts: string[];
  vocabulary: string;
}

async function evalSource(values: Record<string, unknown>): Promise<EvalSource> {
  const custom = (['images', 'labels', 'classes-file', 'ignore-label'] as const).filter((k) => values[k] !== undefined);
  if (values.dataset !== undefined && custom.length > 0) {
    throw new UsageError(
      `give --dataset or a custom dataset (--images, --labels, --classes-file, --ignore-label), not both (got --${custom.join(', --')})`,
      'eval',
    );
  }
  if (values.dataset === undefined) {
    if (custom.length === 0)
      throw new UsageError(`no dataset: give --dataset (${EVAL_DATASET_NAMES.join(', ')}) or --images/--labels/--classes-file/--ignore-label`, 'eval');
    const missing = (['images', 'labels', 'classes-file', 'ignore-label'] as const).filter((k) => values[k] === undefined);
    if (missing.length > 0)
      throw new UsageError(`a custom dataset needs --images, --labels, --classes-file and --ignore-label (missing --${missing.join(', --')})`, 'eval');
    const ignoreText = values['ignore-label'] as string;
    const ignoreLabel = Number(ignoreText);
    if (!/^\d+$/.test(ignoreText) || !Number.isSafeInteger(ignoreLabel))
      throw new UsageError(`--ignore-label must be a non-negative integer, got "${ignoreText}"`, 'eval');
    const imageExt = (values['image-ext'] as string | undefined) ?? 'jpg';
    const labelExt = (values['label-ext'] as string | undefined) ?? 'png';
    for (const [opt, v] of [
      ['--image-ext', imageExt],
      ['--label-ext', labelExt],
    ] as const) {
      if (!EXT.test(v)) throw new UsageError(`${opt} must be letters and digits without the dot (e.g. png), got "${v}"`, 'eval');
    }
    const classesFile = values['classes-file'] as string;
    const prompts = await readClassesFile(classesFile);
    const imageDir = values.images as string;
    const labelDir = values.labels as string;
    return {
      dataset: undefined,
      name: 'custom',
      imageDir,
      labelDir,
      imageDirSetting: imageDir,
      labelDirSetting: labelDir,
      imageExt,
      labelExt,
      ignoreLabel,
      numClasses: prompts.length,
      backgroundFrom: undefined,
      classNames: prompts,
      prompts,
      vocabulary: basename(classesFile),
    };
  }
  for (const opt of ['image-ext', 'label-ext'] as const) {
    if (values[opt] !== undefined) throw new UsageError(`--${opt} is for a custom dataset (--images/--labels); --dataset uses the authors' layout`, 'eval');
  }
  let dataset: EvalDataset;
  try {
    dataset = evalDataset(values.dataset as string);
  } catch (e) {
    throw new UsageError((e as Error).message, 'eval');
  }
  const root = (values.root as string | undefined) ?? process.env.DETECTRON2_DATASETS ?? 'datasets';
  return {
    dataset,
    name: dataset.name,
    imageDir: join(root, dataset.imageDir),
    labelDir: join(root, dataset.labelDir),
    imageDirSetting: dataset.imageDir,
    labelDirSetting: dataset.labelDir,
    imageExt: dataset.imageExt,
    labelExt: dataset.labelExt,
    ignoreLabel: dataset.ignoreLabel,
    numClasses: dataset.numClasses,
    backgroundFrom: dataset.backgroundFrom,
    classNames: dataset.classNames,
    prompts: [...VOCABULARIES[dataset.vocabulary].classes],
    vocabulary: dataset.vocabulary,
  };
}

export async function evalCommand(argv: string[], io: CommandIO): Promise<number> {
  if (argv[0] === 'merge') return evalMergeCommand(argv.slice(1), io);
  const { values, positionals } = parseCommandArgs('eval', argv, {
    weights: { type: 'string' },
    config: { type: 'string' },
    dataset: { type: 'string' },
    root: { type: 'string' },
    images: { type: 'string' },
    labels: { type: 'string' },
    'classes-file': { type: 'string' },
    'ignore-label': { type: 'string' },
    'image-ext': { type: 'string' },
    'label-ext': { type: 'string' },
    topk: { type: 'string' },
    resolution: { type: 'string' },
    'max-resolution': { type: 'string' },
    pooling: { type: 'string' },
    limit: { type: 'string' },
    shard: { type: 'string' },
    out: { type: 'string' },
    state: { type: 'string' },
    'save-predictions': { type: 'string' },
    backend: { type: 'string' },
    device: { type: 'string' },
    threads: { type: 'string' },
    'max-memory': { type: 'string' },
    'max-pixels': { type: 'string' },
    'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' },
  });
  if (values.help) {
    io.out(EVAL_HELP);
    return 0;
  }
  // ---- command line ---------------------------------------------------------------------------
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}" (eval takes options only; "sedseg eval merge" merges results)`, 'eval');
  const topK = optionalPositiveInt(values.topk as string | undefined, '--topk', 'eval');
  const resolution = resolutionOptions(values.resolution as string | undefined, values['max-resolution'] as string | undefined, 'eval');
  const pooling = poolingOption(values.pooling as string | undefined, 'eval');
  const limit = optionalPositiveInt(values.limit as string | undefined, '--limit', 'eval');
  const shard = shardOption(values.shard as string | undefined, 'eval');
  const threads = threadsOption(values.threads as string | undefined, 'eval');
  const maxMemory = maxMemoryOption(values['max-memory'] as string | undefined, 'eval');
  const maxPixels = maxPixelsOption(values['max-pixels'] as string | undefined, 'eval');
  if (values['no-cache'] && values['cache-dir'] !== undefined) throw new UsageError('--no-cache and --cache-dir contradict each other', 'eval');
  const source = await evalSource(values);
  const backendRequested = await backendRequest(
    {
      backend: values.backend as string | undefined,
      device: values.device as string | undefined,
      ...(threads !== undefined ? { threads: threads.threads } : {}),
    },
    'eval',
  );

  // ---- dataset, outputs, weights: checked before the model loads -------------------------------
  let listed: Awaited<ReturnType<typeof listEvalPairs>>;
  try {
    listed = await listEvalPairs(source.imageDir, source.labelDir, source.imageExt, source.labelExt);
  } catch (e) {
    if (isSedsegError(e) && source.dataset !== undefined && e.code === 'E_IO') {
      throw new SedsegError(
        'E_IO',
        `${e.message}; the ${source.name} dataset is read from ${source.dataset.imageDir} and ${source.dataset.labelDir} under the datasets root (--root, else $DETECTRON2_DATASETS, else ./datasets)`,
      );
    }
    throw e;
  }
  const allPairs = limit === undefined ? listed.pairs : listed.pairs.slice(0, limit);
  const plan = allPairs.map((pair, index) => ({ pair, index })).filter(({ index }) => inShard(index, shard));
  const out = values.out as string | undefined;
  if (out !== undefined) await checkOutputDir(dirname(resolve(out)), 'the result');
  const stateDir = (values.state as string | undefined) ?? (out !== undefined ? `${out}.state` : undefined);
  if (stateDir !== undefined) await checkOutputDir(stateDir, 'the evaluation state');
  const predDirText = values['save-predictions'] as string | undefined;
  const predDir = predDirText === undefined ? undefined : await checkOutputDir(predDirText, 'predictions');
  const cacheDir = values['no-cache'] ? undefined : ((values['cache-dir'] as string | undefined) ?? join(defaultCacheDir(), 'class-embeddings'));
  if (cacheDir !== undefined) await checkOutputDir(cacheDir, 'the class-embedding cache', { writable: false });

  const bar = new ProgressBar();
  const tell = (line: string): void => {
    bar.clear();
    io.err(line);
  };
  if (listed.unpairedImages > 0 || listed.unpairedLabels > 0) {
    tell(
      `sedseg eval: ${listed.pairs.length} pairs: the names found in both folders (${listed.unpairedImages} image(s) without a label and ${listed.unpairedLabels} label(s) without an image left out, as detectron2 does)`,
    );
  }
  if (threads?.notice !== undefined) tell(`sedseg eval: ${threads.notice}`);
  const weights = await resolveWeightsArg(values.weights as string | undefined, 'eval', io, { bar });
  const config = await findConfig(weights.path, values.config as string | undefined);
  const settings: EvalSettings = {
    protocol: 'sedseg-eval/1 (detectron2 ResizeShortestEdge + PIL bilinear, sem_seg_postprocess, SemSegEvaluator)',
    dataset: source.name,
    registration: source.dataset?.registration ?? null,
    image_dir: source.imageDirSetting,
    label_dir: source.labelDirSetting,
    image_ext: source.imageExt,
    label_ext: source.labelExt,
    ignore_label: source.ignoreLabel,
    num_classes: source.numClasses,
    background_from: source.backgroundFrom ?? null,
    vocabulary: source.vocabulary,
    prompt_classes: source.prompts.length,
    prompt_classes_sha256: sha256Json(source.prompts),
    model: {
      file: basename(weights.path),
      bytes: (await stat(weights.path)).size,
      sha256: await sha256File(weights.path),
      config_sha256: config === undefined ? null : sha256Json(JSON.parse(canonical(config.config))),
    },
    resolution,
    decoder_pooling: pooling,
    topk: topK ?? null,
    min_size_test: TEST_MIN_SIZE,
    max_size_test: TEST_MAX_SIZE,
    limit: limit ?? null,
  };
  const state = stateDir === undefined ? undefined : await EvalState.open(stateDir, settings, shard);
  if (out !== undefined) await mkdir(dirname(resolve(out)), { recursive: true }); // checked above: the result can be written at the end
  const expected = new Map(plan.map(({ pair, index }) => [index, { image: basename(pair.image), label: basename(pair.label) }]));
  const done = state === undefined ? new Map<number, EvalImageRecord>() : await state.load(expected);
  const todo = plan.filter(({ index }) => !done.has(index));
  if (done.size > 0) tell(`sedseg eval: resuming from ${stateDir}: ${done.size} of ${plan.length} image(s) already evaluated`);

  // ---- model (only when there is something left to evaluate) ----------------------------------
  let environment: Record<string, unknown> = { backend: backendRequested.definition?.name ?? null, device: backendRequested.device };
  if (todo.length > 0) {
    const runtime = await startBackend(backendRequested);
    if (runtime.notice !== undefined) tell(`sedseg eval: ${runtime.notice}`);
    environment = { backend: runtime.name, device: runtime.device, threads: threads?.threads ?? null, node: process.version };
    const ops = runtime.ops;
    const onProgress = (p: SedProgress): void => bar.report(p);
    const { model } = await loadCheckedModel({
      ops,
      weightsPath: weights.path,
      ...(values.config !== undefined ? { configPath: values.config as string } : {}),
      ...(cacheDir !== undefined ? { cacheDir } : {}),
      resolution,
      classes: source.prompts.length,
      pooling,
      ...(topK !== undefined ? { topK } : {}),
      maxMemory,
      onProgress,
    });
    bar.clear();
    if (predDir !== undefined) await createOutputDir(predDir);
    const palette = classPalette(source.numClasses);
    try {
      for (const [k, { pair, index }] of todo.entries()) {
        bar.startImage(k, todo.length);
        const record = await evaluatePair(model, pair, index, {
          source,
          resolution,
          pooling,
          topK,
          maxPixels,
          onProgress,
          warn: (line) => tell(`sedseg eval: warning: ${line}`),
          savePrediction:
            predDir === undefined
              ? undefined
              : async (labels, width, height) => {
                  await writeFileAtomic(join(predDir.dir, `${pair.stem}.png`), labelMapPng(labels, width, height, palette, source.numClasses).bytes, {
                    overwrite: true,
                  });
                },
        });
        await state?.save(record);
        done.set(index, record);
        bar.finishImage();
        if (!bar.enabled) io.err(`[${done.size}/${plan.length}] ${record.image} (${record.width}×${record.height}) ${formatSeconds(record.seconds)}`);
      }
    } finally {
      bar.clear();
      model.dispose();
    }
  }

  // ---- result ---------------------------------------------------------------------------------
  const records = plan.map(({ index }) => done.get(index)!);
  const images: EvalResultImage[] = records.map((r) => ({
    index: r.index,
    image: r.image,
    label: r.label,
    height: r.height,
    width: r.width,
    kept_per_stage: r.kept_per_stage,
    seconds: r.seconds,
  }));
  const result = buildResult({
    settings,
    shard: shard ?? null,
    datasetImages: allPairs.length,
    classNames: source.classNames,
    confusion: confusionOfRecords(source.numClasses, records),
    images,
    environment,
  });
  io.out(formatResult(result));
  if (out !== undefined) {
    await writeFileAtomic(out, `${JSON.stringify(result, null, 1)}\n`, { overwrite: true });
    io.err(`sedseg eval: result written to ${out}`);
  }
  return 0;
}

interface PairOptions {
  source: EvalSource;
  resolution: number;
  pooling: number;
  topK: number | undefined;
  maxPixels: number;
  onProgress: (p: SedProgress) => void;
  warn: (line: string) => void;
  savePrediction: ((labels: Int32Array, width: number, height: number) => Promise<void>) | undefined;
}

/** One image through the protocol: decode, test resize, model, crop + resize back, counts. */
async function evaluatePair(model: SedModel, pair: EvalPair, index: number, o: PairOptions): Promise<EvalImageRecord> {
  const started = performance.now();
  const decoded = await readImageFile(pair.image, { maxPixels: o.maxPixels });
  if (decoded.warnings.length > 0) o.warn(`${pair.image}: the decoder worked around bad data (${decoded.warnings.join('; ')})`);
  const image = decoded.image;
  const gt = await readLabelFile(pair.label);
  if (gt.width !== image.width || gt.height !== image.height) {
    throw new SedsegError('E_FORMAT', `${pair.label} is ${gt.width}×${gt.height} but its image ${pair.image} is ${image.width}×${image.height}`);
  }
  const prepared = evalInput(image);
  const seg = await model.segment(prepared.input, {
    classes: o.source.prompts,
    resolution: o.resolution,
    pooling: o.pooling,
    ...(o.topK !== undefined ? { topK: o.topK } : {}),
    outputSize: prepared.original,
    onProgress: o.onProgress,
  });
  const pred = o.source.backgroundFrom === undefined ? seg.labels : clampBackground(seg.labels, o.source.backgroundFrom);
  const conf = new ConfusionMatrix(o.source.numClasses);
  conf.addLabels(pred, gt.data, { ignoreLabel: o.source.ignoreLabel, source: pair.label, width: gt.width });
  if (o.savePrediction) await o.savePrediction(pred, image.width, image.height);
  return {
    index,
    image: basename(pair.image),
    label: basename(pair.label),
    height: image.height,
    width: image.width,
    resized: [prepared.resized.height, prepared.resized.width],
    confusion: conf.nonzero(),
    kept_per_stage: seg.keptPerStage ?? null,
    seconds: (performance.now() - started) / 1000,
    decoder_ms: seg.timings.decoder,
  };
}
