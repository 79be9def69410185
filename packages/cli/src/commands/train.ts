import { createHash } from 'node:crypto';
import { copyFile, link, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  architectureFromWeights,
  assertWeightsComplete,
  ClassEmbeddingCache,
  cosineLrFactor,
  loadTrainingBatch,
  SedModel,
  SedsegError,
  TRAIN_DATASET_NAMES,
  trainAugmentationOptions,
  TrainingSampler,
  validatePooling,
  type AdamWState,
  type WeightStore,
} from '@sedseg/core';
import { ClassEmbeddingDiskCache, findConfig, loadDefaultTokenizer, loadSedModel, openWeightsFile, writeFileAtomic } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { backendRequest, startBackend } from '../backends.js';
import { defaultCacheDir } from '../cache-dir.js';
import type { CommandIO } from '../command.js';
import { canonical, settingsDifferences, sha256File, sha256Json } from '../eval-settings.js';
import { checkOutputDir, createOutputDir } from '../output-dir.js';
import { positiveInt } from '../positive-int.js';
import { formatSeconds } from '../progress.js';
import { MAX_THREADS, threadsOption } from '../threads-option.js';
import { openTrainData, readTrainClasses } from '../train-data.js';
import { TrainLog } from '../train-log.js';
import { TrainProgress } from '../train-progress.js';
import { prepareNewRunFolder, readMoments, readTrainState, recoverCheckpoint, RUN_FILES, type TrainState, writeCheckpoint } from '../train-run-folder.js';
import { optimizerSettings, TRAIN_DEFAULTS, TRAIN_FORMAT, type TrainSettings } from '../train-settings.js';
import { openValidationSet, validate, type ValidationResult, type ValidationSet } from '../train-validation.js';
import { trainedWeightStore } from '../train-weights.js';
import { UsageError } from '../usage-error.js';
import { resolveWeightsArg } from '../weights-arg.js';

export const TRAIN_HELP = `Usage: sedseg train --weights INIT (--images DIR --labels DIR | --dataset NAME [--root DIR])
                    --classes-file F --out RUN/ [--iters N] [--batch B] [--crop S] [--lr X] [--seed N]
                    [--checkpoint-period N] [--keep-checkpoints] [--val-images DIR --val-labels DIR
                    [--eval-period N]] [--resume | --overwrite] [--device D] [--threads N] [--json]

Fine-tunes SED with the authors' recipe on TensorFlow.js: the image tower and the decoder train,
the text tower is frozen. Defaults are the authors' (xb534/SED configs): AdamW lr 2e-4 (image
tower ×0.01), weight decay 1e-4 (0 for norm layers), full-model gradient clipping at L2 norm 0.01,
cosine schedule over --iters without warm-up, batch 4, 768×768 crops with the authors'
augmentation (resize, crop, colour jitter, flip, pad), decoder pooling 2 while training. The
class names' text features are computed once with the frozen text tower (and cached).

The run folder RUN/ holds:
  model.safetensors      the whole model, official key names (trained tensors updated, frozen ones
                         copied): "sedseg segment --weights RUN/model.safetensors" uses it as is;
                         model.config.json beside it keeps the architecture
  optimizer.safetensors  AdamW moments m/<key>, v/<key>
  state.json             iteration, settings (init weights SHA-256, classes, dataset, recipe),
                         per-tensor AdamW steps
  log.jsonl              one JSON line per iteration (iter, loss, loss_0..3, lr, grad_norm,
                         clip_coef, images_per_s, seconds) and per evaluation (mIoU, fwIoU, …)
A checkpoint (every --checkpoint-period iterations and at the end) is written so that a kill at
any moment leaves one that resumes. --resume continues from it; the resumed run ends with the
same weights, bit for bit, as an uninterrupted one (batches and augmentation are a function of
the seed and the iteration). Options not given to a resume are taken from state.json; options
given must describe the same run (a differing setting is refused, named). Resume on the same
machine and tfjs platform: another platform may round differently.

Options:
  --weights INIT         checkpoint to start from (.pth, .safetensors, sed-b / sed-l, or URL)
  --config FILE          its architecture config (default: beside the weights, if present)
  --images DIR           training images (paired with --labels by file name, as detectron2)
  --labels DIR           training label maps (PNG/TIFF; value k = class k)
  --image-ext EXT        image extension (default jpg); --label-ext EXT (default png)
  --ignore-label N       label value of unlabelled pixels (default 255)
  --dataset NAME         a training split under --root (${TRAIN_DATASET_NAMES.join(', ')}); default root
                         $DETECTRON2_DATASETS, else ./datasets
  --classes-file F       class names, class k = label value k: a JSON array (.json) or a typed
                         list "grass, red circle, person|people" (| joins synonyms). Required
                         with --images; with --dataset it renames the split's classes
  --out RUN              the run folder
  --iters N              iterations (the cosine schedule's max_iter; default ${TRAIN_DEFAULTS.iters})
  --batch B              images per iteration (default ${TRAIN_DEFAULTS.batch})
  --crop S               training crop side, a multiple of 32 (64 at least; default ${TRAIN_DEFAULTS.crop})
  --lr X                 base learning rate (default ${TRAIN_DEFAULTS.lr}; the image tower gets X × 0.01)
  --seed N               sampling and augmentation seed (default ${TRAIN_DEFAULTS.seed})
  --pooling 1|2          decoder pooling while training (default ${TRAIN_DEFAULTS.pooling}, the authors')
  --checkpoint-period N  checkpoint every N iterations (default ${TRAIN_DEFAULTS.checkpointPeriod}; always at the end)
  --keep-checkpoints     also keep model_<iter>.safetensors at every checkpoint
  --val-images DIR       validation images, evaluated every --eval-period iterations and at the
  --val-labels DIR       end (current weights at --crop resolution, pooling 1; mIoU, fwIoU, mACC,
                         pACC to the terminal and log.jsonl); same extensions and ignore label
  --eval-period N        default: the checkpoint period
  --resume               continue the run in RUN/
  --overwrite            start again in a RUN/ that holds a run (its run files are removed)
  --device D             auto (tfjs-node-gpu, then tfjs-node, then pure JS), cpu or cuda
  --threads N            compute threads (at most ${MAX_THREADS})
  --cache-dir DIR        class-embedding cache (default: ${join(defaultCacheDir(), 'class-embeddings')})
  --no-cache             do not read or write the class-embedding cache
  --json                 print a summary of the run as JSON on stdout
  --stop-after N         testing: stop after iteration N as if killed (no final checkpoint)
  -h, --help             show this help

Examples:
  sedseg train --weights sed-b --images data/images --labels data/labels --image-ext png \\
               --classes-file data/classes.json --out run --iters 2000 --batch 2 --crop 384
  sedseg train --out run --resume
  sedseg segment photo.jpg --weights run/model.safetensors --classes-file data/classes.json`;

/** Options a resume takes from state.json when they are not given again. */
const RUN_OPTIONS = [
  'weights',
  'config',
  'dataset',
  'root',
  'images',
  'labels',
  'image-ext',
  'label-ext',
  'ignore-label',
  'classes-file',
  'iters',
  'batch',
  'crop',
  'lr',
  'seed',
  'pooling',
  'checkpoint-period',
  'keep-checkpoints',
  'val-images',
  'val-labels',
  'eval-period',
  'device',
  'threads',
  'cache-dir',
  'no-cache',
] as const;
type RunOption = (typeof RUN_OPTIONS)[number];
const PATH_OPTIONS: readonly RunOption[] = ['config', 'root', 'images', 'labels', 'classes-file', 'val-images', 'val-labels', 'cache-dir'];

const EXT = /^[A-Za-z0-9]+$/;

function nonNegativeInt(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new UsageError(`${option} must be a non-negative integer, got "${text}"`, 'train');
  return n;
}

function positiveNumber(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${option} must be a positive number, got "${text}"`, 'train');
  return n;
}

/** A trainer batch from the data pipeline's stacked batch. */
function trainerImages(b: Awaited<ReturnType<typeof loadTrainingBatch>>) {
  const { height: H, width: W } = b;
  return {
    images: Array.from({ length: b.batchSize }, (_, k) => ({ width: W, height: H, data: b.images.subarray(k * H * W * 3, (k + 1) * H * W * 3) })),
    labels: Array.from({ length: b.batchSize }, (_, k) => ({ width: W, height: H, data: b.labels.subarray(k * H * W, (k + 1) * H * W) })),
  };
}

function formatMetrics(r: ValidationResult): string {
  const f = (v: number | null): string => (v === null ? '—' : v.toFixed(2));
  return `mIoU ${f(r.mIoU)} · fwIoU ${f(r.fwIoU)} · mACC ${f(r.mACC)} · pACC ${f(r.pACC)} (${r.images} image(s), ${formatSeconds(r.seconds)})`;
}

export async function trainCommand(argv: string[], io: CommandIO): Promise<number> {
  const spec = {
    weights: { type: 'string' },
    config: { type: 'string' },
    dataset: { type: 'string' },
    root: { type: 'string' },
    images: { type: 'string' },
    labels: { type: 'string' },
    'image-ext': { type: 'string' },
    'label-ext': { type: 'string' },
    'ignore-label': { type: 'string' },
    'classes-file': { type: 'string' },
    out: { type: 'string' },
    iters: { type: 'string' },
    batch: { type: 'string' },
    crop: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    pooling: { type: 'string' },
    'checkpoint-period': { type: 'string' },
    'keep-checkpoints': { type: 'boolean' },
    'val-images': { type: 'string' },
    'val-labels': { type: 'string' },
    'eval-period': { type: 'string' },
    resume: { type: 'boolean' },
    overwrite: { type: 'boolean' },
    device: { type: 'string' },
    threads: { type: 'string' },
    'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' },
    json: { type: 'boolean' },
    'stop-after': { type: 'string' },
  } as const;
  const { values: given, positionals } = parseCommandArgs('train', argv, spec);
  if (given.help) {
    io.out(TRAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (train takes options only)`, 'train');
  const outText = given.out;
  if (outText === undefined || outText === '') throw new UsageError('missing --out (the run folder)', 'train');
  const out = resolve(outText);
  if (given.resume && given.overwrite) throw new UsageError('--resume and --overwrite exclude each other', 'train');
  const stopAfter = given['stop-after'] === undefined ? undefined : positiveInt(given['stop-after'], '--stop-after', 'train');
  const started = performance.now();

  // ---- options: a resume takes what it is not given from the run's state ----------------------
  const runOptions: Partial<Record<RunOption, string | boolean>> = {};
  for (const k of RUN_OPTIONS) {
    const v = given[k];
    if (v === undefined) continue;
    runOptions[k] = typeof v === 'string' && PATH_OPTIONS.includes(k) ? resolve(v) : v;
  }
  if (typeof runOptions.weights === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(runOptions.weights) && /[\\/.]/.test(runOptions.weights)) {
    runOptions.weights = resolve(runOptions.weights); // a file (a model name or URL stays as given)
  }
  let previous: TrainState | undefined;
  if (given.resume) {
    previous = await readTrainState(out);
    for (const [k, v] of Object.entries(previous.options)) {
      if ((RUN_OPTIONS as readonly string[]).includes(k) && runOptions[k as RunOption] === undefined) runOptions[k as RunOption] = v;
    }
  }
  const str = (k: RunOption): string | undefined => runOptions[k] as string | undefined;
  const iters = str('iters') === undefined ? TRAIN_DEFAULTS.iters : positiveInt(str('iters')!, '--iters', 'train');
  const batch = str('batch') === undefined ? TRAIN_DEFAULTS.batch : positiveInt(str('batch')!, '--batch', 'train');
  const crop = str('crop') === undefined ? TRAIN_DEFAULTS.crop : positiveInt(str('crop')!, '--crop', 'train');
  const lr = str('lr') === undefined ? TRAIN_DEFAULTS.lr : positiveNumber(str('lr')!, '--lr');
  const seed = str('seed') === undefined ? TRAIN_DEFAULTS.seed : nonNegativeInt(str('seed')!, '--seed');
  const pooling = str('pooling') === undefined ? TRAIN_DEFAULTS.pooling : Number(str('pooling'));
  if (pooling !== 1 && pooling !== 2) throw new UsageError(`--pooling must be 1 or 2, got "${str('pooling')}"`, 'train');
  if (crop % 32 !== 0) throw new UsageError(`--crop must be a multiple of 32 (the image tower's stride), got ${crop}`, 'train');
  if (crop < 64) throw new UsageError(`--crop must be at least 64 (the image tower's last map must be 2×2 at least), got ${crop}`, 'train');
  try {
    validatePooling(pooling, crop);
  } catch (e) {
    throw new UsageError(`--crop ${crop}: ${(e as Error).message}`, 'train');
  }
  const checkpointPeriod =
    str('checkpoint-period') === undefined ? TRAIN_DEFAULTS.checkpointPeriod : positiveInt(str('checkpoint-period')!, '--checkpoint-period', 'train');
  const valImages = str('val-images');
  const valLabels = str('val-labels');
  if ((valImages === undefined) !== (valLabels === undefined)) throw new UsageError('--val-images and --val-labels go together', 'train');
  if (str('eval-period') !== undefined && valImages === undefined) throw new UsageError('--eval-period needs --val-images and --val-labels', 'train');
  const evalPeriod = str('eval-period') === undefined ? checkpointPeriod : positiveInt(str('eval-period')!, '--eval-period', 'train');
  const threads = threadsOption(str('threads'), 'train');
  if (runOptions['no-cache'] && str('cache-dir') !== undefined) throw new UsageError('--no-cache and --cache-dir contradict each other', 'train');
  const imageExt = str('image-ext') ?? 'jpg';
  const labelExt = str('label-ext') ?? 'png';
  for (const [opt, v] of [
    ['--image-ext', imageExt],
    ['--label-ext', labelExt],
  ] as const) {
    if (!EXT.test(v)) throw new UsageError(`${opt} must be letters and digits without the dot (e.g. png), got "${v}"`, 'train');
  }
  const ignoreLabel = str('ignore-label') === undefined ? TRAIN_DEFAULTS.ignoreLabel : nonNegativeInt(str('ignore-label')!, '--ignore-label');
  const custom = (['images', 'labels'] as const).filter((k) => runOptions[k] !== undefined);
  if (str('dataset') !== undefined) {
    if (custom.length > 0) throw new UsageError(`give --dataset or --images/--labels, not both (got --${custom.join(', --')})`, 'train');
    for (const k of ['image-ext', 'label-ext', 'ignore-label'] as const) {
      if (runOptions[k] !== undefined) throw new UsageError(`--${k} is for --images/--labels; --dataset uses the split's layout`, 'train');
    }
  } else {
    if (custom.length < 2) throw new UsageError('no training data: give --images DIR --labels DIR (and --classes-file), or --dataset NAME', 'train');
    if (str('classes-file') === undefined) throw new UsageError('missing --classes-file (class k = label value k)', 'train');
  }
  if (str('weights') === undefined) throw new UsageError('missing --weights (the checkpoint to start from)', 'train');
  const cacheDir = runOptions['no-cache'] ? undefined : (str('cache-dir') ?? join(defaultCacheDir(), 'class-embeddings'));
  const backendRequested = await backendRequest({ backend: 'tfjs', ...(str('device') !== undefined ? { device: str('device') } : {}) }, 'train');
  const outCheck = await checkOutputDir(out, 'the training run');
  // checked now, emptied (--overwrite) only once everything else is known to be right
  if (!given.resume) await prepareNewRunFolder(out, Boolean(given.overwrite), { dryRun: true });

  // ---- data (every pair checked before the model loads) ---------------------------------------
  const classes = str('classes-file') === undefined ? undefined : await readTrainClasses(str('classes-file')!);
  const data = await openTrainData({
    ...(str('dataset') !== undefined ? { dataset: str('dataset')!, root: str('root') ?? process.env.DETECTRON2_DATASETS ?? 'datasets' } : {}),
    ...(str('images') !== undefined ? { imageDir: str('images')!, labelDir: str('labels')! } : {}),
    imageExt,
    labelExt,
    ignoreLabel,
    ...(classes !== undefined ? { classes } : {}),
  });
  const progress = new TrainProgress(iters, (line) => io.err(line));
  const tell = (line: string): void => progress.tell(`sedseg train: ${line}`);
  if (data.folder.unpairedImages > 0 || data.folder.unpairedLabels > 0) {
    tell(
      `${data.folder.size} pairs: ${data.folder.unpairedImages} image(s) without a label and ${data.folder.unpairedLabels} label(s) without an image left out`,
    );
  }
  if (data.unusedClasses.length > 0) {
    tell(
      `warning: no label uses ${data.unusedClasses.length} of the ${data.folder.classNames.length} classes (${data.unusedClasses.slice(0, 5).join('; ')}${data.unusedClasses.length > 5 ? '; …' : ''}): check that the class list matches the label values`,
    );
  }
  const valSet: ValidationSet | undefined =
    valImages === undefined
      ? undefined
      : await openValidationSet(valImages, valLabels!, data.settings.image_ext, data.settings.label_ext, data.folder.classNames, data.settings.ignore_label);
  if (threads?.notice !== undefined) tell(threads.notice);

  // ---- weights, backend, text features ---------------------------------------------------------
  const weights = await resolveWeightsArg(str('weights'), 'train', io);
  const config = await findConfig(weights.path, str('config'));
  const runtime = await startBackend({ ...backendRequested, ...(threads !== undefined ? { threads: threads.threads } : {}) });
  const { TfjsOps, SedTrainer } = await import('@sedseg/backend-tfjs');
  const ops = runtime.ops;
  if (!(ops instanceof TfjsOps)) throw new SedsegError('E_BACKEND', `training runs on tfjs, but the backend started is ${runtime.name}`);
  if (runtime.notice !== undefined) tell(runtime.notice);
  const tokenizer = await loadDefaultTokenizer();
  const cache = new ClassEmbeddingCache(cacheDir !== undefined ? { persistence: new ClassEmbeddingDiskCache(cacheDir) } : {});
  const textModel = await loadSedModel(weights.path, {
    backend: ops,
    tokenizer,
    cache,
    ...(str('config') !== undefined ? { configPath: str('config')! } : {}),
  });
  let text: { data: Float32Array; shape: [number, number, number] };
  try {
    const encoded = await textModel.encodeClasses(data.folder.classNames);
    text = { data: encoded.embeddings, shape: [data.folder.classNames.length, textModel.templates.length, textModel.architecture.embed_dim] };
  } finally {
    textModel.dispose();
  }

  const settings: TrainSettings = {
    format: TRAIN_FORMAT,
    weights: {
      file: basename(weights.path),
      bytes: (await stat(weights.path)).size,
      sha256: await sha256File(weights.path),
      config_sha256: config === undefined ? null : sha256Json(JSON.parse(canonical(config.config))),
    },
    classes: [...data.folder.classNames],
    dataset: data.settings,
    iters,
    batch,
    crop,
    decoder_pooling: pooling,
    seed,
    optimizer: optimizerSettings(lr, TRAIN_DEFAULTS.clipValue),
    schedule: { name: 'cosine', max_iter: iters, warmup_iters: 0 },
    augmentation: trainAugmentationOptions(crop, { ignoreLabel: data.settings.ignore_label }),
    templates: text.shape[1],
  };
  if (previous !== undefined) {
    const diff = settingsDifferences(previous.settings, settings);
    if (diff.length > 0) {
      throw new SedsegError(
        'E_ARGUMENT',
        `${join(out, RUN_FILES.state)}: this run was made with other settings (${diff.join('; ')}); a resume must continue the same run (start a new one in another folder, e.g. from ${join(out, RUN_FILES.model)})`,
      );
    }
    await recoverCheckpoint(out, previous);
    const platform = previous.info.tfjs_platform;
    if (platform !== undefined && platform !== ops.platform) {
      tell(
        `warning: the run was trained on tfjs ${String(platform)}, this resume runs on ${ops.platform}: the weights may differ in the last bits from an uninterrupted run`,
      );
    }
  }

  // ---- the model being trained -----------------------------------------------------------------
  const init = await openWeightsFile(weights.path);
  let trainer: Awaited<ReturnType<typeof SedTrainer.create>> | undefined;
  try {
    const inferred = architectureFromWeights(init, config ? { config: config.config, configSource: config.path } : {});
    assertWeightsComplete(inferred.check, init.source);
    const unexpected = new Set(inferred.check.unexpected);
    const keys = init.keys().filter((k) => !unexpected.has(k));
    const architecture = inferred.architecture;
    let start = 0;
    let parameters: Map<string, Float32Array> | undefined;
    let moments: Map<string, AdamWState> | undefined;
    if (previous !== undefined) {
      start = previous.iteration;
      const saved = await openWeightsFile(join(out, RUN_FILES.model));
      try {
        parameters = new Map();
        for (const key of Object.keys(previous.adam_steps)) {
          const t = await saved.read(key);
          if (t.dtype !== 'float32') throw new SedsegError('E_CORRUPT', `${saved.source}: "${key}" is ${t.dtype}, not float32`);
          parameters.set(key, new Float32Array(t.data as Float32Array));
        }
      } finally {
        await saved.close();
      }
      moments = await readMoments(out, Object.keys(previous.adam_steps), previous.adam_steps);
    } else {
      await prepareNewRunFolder(out, Boolean(given.overwrite));
      await createOutputDir(outCheck);
      await writeFileAtomic(join(out, RUN_FILES.modelConfig), `${JSON.stringify({ architecture }, null, 2)}\n`, { overwrite: true });
    }
    const log = await TrainLog.open(join(out, RUN_FILES.log), previous === undefined ? undefined : start);
    trainer = await SedTrainer.create({
      ops,
      weights: init,
      architecture: { ...architecture, decoder_pooling: [pooling, pooling] },
      optimizer: {
        baseLr: lr,
        weightDecay: settings.optimizer.weight_decay,
        weightDecayNorm: settings.optimizer.weight_decay_norm,
        clipMultiplier: settings.optimizer.clip_multiplier,
      },
      clipValue: settings.optimizer.clip_value,
      schedule: { maxIter: iters },
      ...(parameters !== undefined ? { parameters } : {}),
      ...(moments !== undefined ? { moments } : {}),
      iteration: start,
    });
    const t = trainer;
    const model = (): WeightStore => trainedWeightStore(init, keys, t.parameters, join(out, RUN_FILES.model));
    const shapes = new Map([...t.parameters].map(([k, p]) => [k, p.shape]));
    const textSha = createHash('sha256')
      .update(new Uint8Array(text.data.buffer, text.data.byteOffset, text.data.byteLength))
      .digest('hex');
    const stateAt = (iteration: number): TrainState => ({
      format: TRAIN_FORMAT,
      iteration,
      settings,
      options: runOptions as Record<string, string | boolean>,
      adam_steps: Object.fromEntries([...t.moments].map(([k, m]) => [k, m.step])),
      info: {
        weights_path: weights.path,
        image_dir: resolve(data.imageDir),
        label_dir: resolve(data.labelDir),
        text_features_sha256: textSha,
        unused_classes: data.unusedClasses,
        backend: runtime.name,
        tfjs_platform: ops.platform,
        node: process.version,
        written: new Date().toISOString(),
      },
    });
    const checkpoint = async (iteration: number): Promise<void> => {
      await writeCheckpoint(out, {
        model: model(),
        modelMetadata: {
          format: 'pt',
          'sedseg.source': basename(weights.path),
          'sedseg.architecture': JSON.stringify(architecture),
          'sedseg.producer': 'sedseg train',
        },
        moments: t.moments,
        shapes,
        state: stateAt(iteration),
      });
      if (runOptions['keep-checkpoints']) {
        const name = `model_${String(iteration).padStart(7, '0')}`;
        const snapshot = join(out, `${name}.safetensors`);
        await link(join(out, RUN_FILES.model), snapshot).catch(() => copyFile(join(out, RUN_FILES.model), snapshot));
        await copyFile(join(out, RUN_FILES.modelConfig), join(out, `${name}.config.json`));
      }
    };
    let lastEval: (ValidationResult & { iter: number }) | undefined;
    const evaluate = async (iter: number): Promise<void> => {
      if (valSet === undefined) return;
      const evalModel = await SedModel.load(model(), {
        backend: ops,
        tokenizer,
        cache,
        ...(config ? { config: config.config, configSource: config.path } : {}),
      });
      try {
        const r = await validate(evalModel, valSet, crop);
        lastEval = { ...r, iter };
        await log.append({ type: 'eval', iter, mIoU: r.mIoU, fwIoU: r.fwIoU, mACC: r.mACC, pACC: r.pACC, iou: r.iou, images: r.images, seconds: r.seconds });
        tell(`eval after iteration ${iter + 1}: ${formatMetrics(r)}`);
      } finally {
        evalModel.dispose();
      }
    };

    // ---- the loop ------------------------------------------------------------------------------
    const augmentation = settings.augmentation;
    const sampler = new TrainingSampler(data.folder.size, batch, seed);
    const end = stopAfter === undefined ? iters : Math.min(iters, Math.max(start, stopAfter));
    if (start >= iters) tell(`the run in ${out} is complete (${start} of ${iters} iterations): nothing to do`);
    else if (start > 0) tell(`resuming the run in ${out} at iteration ${start + 1} of ${iters}`);
    let last: { total: number; losses: number[] } | undefined;
    let trainedImages = 0;
    let trainSeconds = 0;
    for (let i = start; i < end; i++) {
      const stepStart = performance.now();
      const b = await loadTrainingBatch(data.folder, i, { seed, batchSize: batch, augmentation, sampler });
      const r = await t.step({ ...trainerImages(b), text, ignoreLabel: data.settings.ignore_label });
      const seconds = (performance.now() - stepStart) / 1000;
      trainedImages += batch;
      trainSeconds += seconds;
      const lrNow = lr * cosineLrFactor(i, { maxIter: iters });
      last = { total: r.total, losses: r.losses };
      await log.append({
        type: 'train',
        iter: i,
        loss: r.total,
        loss_0: r.losses[0],
        loss_1: r.losses[1],
        loss_2: r.losses[2],
        loss_3: r.losses[3],
        lr: lrNow,
        grad_norm: r.gradNorm,
        clip_coef: r.clipCoef,
        images_per_s: batch / seconds,
        seconds,
      });
      progress.step(i, r.total, lrNow, batch / seconds, seconds);
      const done = i + 1;
      if (done % evalPeriod === 0 || done === iters) await evaluate(i);
      if (done % checkpointPeriod === 0 || done === iters) await checkpoint(done);
    }
    progress.clear();
    const stopped = end < iters;
    const seconds = (performance.now() - started) / 1000;
    if (stopped) tell(`stopped after iteration ${end} (--stop-after); "sedseg train --out ${outText} --resume" continues from the last checkpoint`);
    else if (end > start) tell(`${end - start} iteration(s) in ${formatSeconds(seconds)}; ${join(outText, RUN_FILES.model)} is the trained model`);
    if (given.json) {
      io.out(
        JSON.stringify({
          run: out,
          model: join(out, RUN_FILES.model),
          iterations: { from: start, to: end, total: iters },
          stopped,
          loss: last?.total ?? null,
          losses: last?.losses ?? null,
          images_per_s: trainSeconds > 0 ? trainedImages / trainSeconds : null,
          seconds,
          eval: lastEval ?? null,
          backend: { name: runtime.name, tfjs_platform: ops.platform },
        }),
      );
    }
    return 0;
  } finally {
    trainer?.dispose();
    await init.close();
  }
}
