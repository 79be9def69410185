import { architectureFromWeights, assertWeightsComplete, SedsegError, toFloat32, type HostTensor, type RgbImage, type WeightStore } from '@sedseg/core';
import { entryExists, findConfig, loadSedModel, openWeightsFile, writeSafetensorsFile } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { readClassesFile } from '../class-list.js';
import { positiveInt } from '../positive-int.js';
import { UsageError } from '../usage-error.js';
import { resolveWeightsArg } from '../weights-arg.js';
import type { CommandIO } from '../command.js';

export const TRAIN_STEP_HELP = `Usage: sedseg train-step --weights W --batch B.safetensors --out F.safetensors
                         [--config FILE] [--classes-file C.json] [--ignore-label N]
                         [--iteration I] [--max-iter N] [--pooling 1|2] [--device auto|cpu|cuda]
                         [--overwrite]

Runs one training iteration of SED with the authors' recipe on a fixed batch (no augmentation)
and writes what the reference training-step files hold, under their names:
loss/loss_sem_seg_0..3, loss/total, forward/output_0..3, forward/clip_vis_dense,
grad_norm/total, grad_norm/clip_coef, and grad/<key> (before clipping) and after_step/<key>
(after clipping and AdamW) for every trainable key — so any implementation can be compared
with the reference step by step.

The batch file holds images U8 (B,H,W,3) RGB, labels (B,H,W) integers (the ignore label for
unlabelled pixels) and, optionally, text_features F32 (T,P,D). Without text_features, the class
names of --classes-file are encoded with the model's frozen text tower.

Options:
  --weights W        SED checkpoint (.pth or .safetensors), a released model name or a URL
  --config FILE      architecture config (default: beside the weights, if present)
  --batch B          the batch (.safetensors)
  --classes-file C   JSON array of class names (needed when the batch has no text_features)
  --ignore-label N   label value of unlabelled pixels (default 255)
  --iteration I      the iteration this step is (its learning rate; default 0)
  --max-iter N       the cosine schedule's length (default 80000, the authors')
  --pooling 1|2      decoder pooling while training (default 2, the authors' training setting)
  --device D         auto (default: cuda when tfjs-node-gpu is installed, else cpu), cpu or cuda
  --out F            output .safetensors file
  --overwrite        replace F if it exists
  -h, --help         show this help

Example:
  sedseg train-step --weights tiny/model.pth --config tiny/config.json \\
                    --batch train/batch.safetensors --out step.safetensors`;

/** Splits a (B,H,W,3) uint8 tensor into B images. */
function batchImages(t: HostTensor, file: string): RgbImage[] {
  const [B, H, W, C] = t.shape as [number, number, number, number];
  if (t.shape.length !== 4 || C !== 3 || t.dtype !== 'uint8') {
    throw new SedsegError('E_ARGUMENT', `${file}: "images" must be uint8 (B, H, W, 3), got ${t.dtype} [${t.shape.join(', ')}]`);
  }
  const data = t.data as Uint8Array;
  return Array.from({ length: B }, (_, b) => ({ width: W, height: H, data: data.subarray(b * H * W * 3, (b + 1) * H * W * 3) }));
}

function batchLabels(t: HostTensor, images: readonly RgbImage[], file: string): { width: number; height: number; data: ArrayLike<number> }[] {
  const [B, H, W] = t.shape as [number, number, number];
  const first = images[0]!;
  if (t.shape.length !== 3 || B !== images.length || H !== first.height || W !== first.width) {
    throw new SedsegError(
      'E_ARGUMENT',
      `${file}: "labels" [${t.shape.join(', ')}] does not match the images (expected [${images.length}, ${first.height}, ${first.width}])`,
    );
  }
  if (!['uint8', 'int16', 'int32', 'int64', 'uint16'].includes(t.dtype))
    throw new SedsegError('E_ARGUMENT', `${file}: "labels" must be integers, got ${t.dtype}`);
  const values = t.data as ArrayLike<number | bigint>;
  const flat = new Int32Array(B * H * W);
  for (let i = 0; i < flat.length; i++) flat[i] = Number(values[i]!);
  return Array.from({ length: B }, (_, b) => ({ width: W, height: H, data: flat.subarray(b * H * W, (b + 1) * H * W) }));
}

async function readTensor(store: WeightStore, name: string, file: string): Promise<HostTensor> {
  if (store.info(name) === undefined) throw new SedsegError('E_KEY', `${file}: no tensor "${name}" (has ${store.keys().join(', ')})`);
  return store.read(name);
}

export async function trainStepCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs('train-step', argv, {
    weights: { type: 'string' },
    config: { type: 'string' },
    batch: { type: 'string' },
    'classes-file': { type: 'string' },
    'ignore-label': { type: 'string' },
    iteration: { type: 'string' },
    'max-iter': { type: 'string' },
    pooling: { type: 'string' },
    device: { type: 'string' },
    out: { type: 'string' },
    overwrite: { type: 'boolean' },
  });
  if (values.help) {
    io.out(TRAIN_STEP_HELP);
    return 0;
  }
  for (const required of ['weights', 'batch', 'out'] as const) {
    if (values[required] === undefined) throw new UsageError(`missing --${required}`, 'train-step');
  }
  const ignoreLabel = values['ignore-label'] === undefined ? 255 : Number(values['ignore-label']);
  if (!Number.isInteger(ignoreLabel) || ignoreLabel < 0)
    throw new UsageError(`--ignore-label must be a non-negative integer, got "${values['ignore-label']}"`, 'train-step');
  const iteration = values.iteration === undefined ? 0 : Number(values.iteration);
  if (!Number.isInteger(iteration) || iteration < 0)
    throw new UsageError(`--iteration must be a non-negative integer, got "${values.iteration}"`, 'train-step');
  const maxIter = values['max-iter'] === undefined ? 80_000 : positiveInt(values['max-iter'] as string, '--max-iter', 'train-step');
  if (iteration >= maxIter) throw new UsageError(`--iteration ${iteration} is past the schedule's end (--max-iter ${maxIter})`, 'train-step');
  const pooling = values.pooling === undefined ? 2 : Number(values.pooling);
  if (pooling !== 1 && pooling !== 2) throw new UsageError(`--pooling must be 1 or 2, got "${values.pooling}"`, 'train-step');
  const device = (values.device as string | undefined) ?? 'auto';
  if (!['auto', 'cpu', 'cuda'].includes(device)) throw new UsageError(`--device must be auto, cpu or cuda, got "${device}"`, 'train-step');
  const out = values.out as string;
  if (!values.overwrite && (await entryExists(out))) throw new SedsegError('E_IO', `${out} exists (use --overwrite to replace it)`);

  // the batch
  const batchFile = values.batch as string;
  const batchStore = await openWeightsFile(batchFile);
  let images: RgbImage[];
  let labels: { width: number; height: number; data: ArrayLike<number> }[];
  let text: HostTensor<'float32'> | undefined;
  try {
    images = batchImages(await readTensor(batchStore, 'images', batchFile), batchFile);
    labels = batchLabels(await readTensor(batchStore, 'labels', batchFile), images, batchFile);
    if (batchStore.info('text_features') !== undefined) text = toFloat32(await batchStore.read('text_features'));
  } finally {
    await batchStore.close();
  }
  if (text === undefined && values['classes-file'] === undefined) {
    throw new UsageError(`${batchFile} has no text_features: give --classes-file to encode the class names`, 'train-step');
  }

  const { createTrainingOps, SedTrainer } = await import('@sedseg/backend-tfjs');
  const ops = await createTrainingOps(device as 'auto' | 'cpu' | 'cuda');
  const weights = await resolveWeightsArg(values.weights as string, 'train-step', io);
  if (text === undefined) {
    const classes = await readClassesFile(values['classes-file'] as string);
    const model = await loadSedModel(weights.path, { backend: ops, ...(values.config !== undefined ? { configPath: values.config as string } : {}) });
    try {
      const encoded = await model.encodeClasses(classes);
      text = { dtype: 'float32', shape: [classes.length, model.templates.length, model.architecture.embed_dim], data: encoded.embeddings };
    } finally {
      model.dispose();
    }
  }
  const [T, P, D] = text.shape as [number, number, number];
  if (text.shape.length !== 3) throw new SedsegError('E_ARGUMENT', `${batchFile}: "text_features" must be (T, P, D), got [${text.shape.join(', ')}]`);

  const store = await openWeightsFile(weights.path);
  const tensors = new Map<string, HostTensor>();
  let summary: string;
  try {
    const config = await findConfig(weights.path, values.config as string | undefined);
    const inferred = architectureFromWeights(store, config ? { config: config.config, configSource: config.path } : {});
    assertWeightsComplete(inferred.check, store.source);
    const architecture = { ...inferred.architecture, decoder_pooling: [pooling, pooling] };
    if (architecture.embed_dim !== D) {
      throw new SedsegError('E_ARGUMENT', `${batchFile}: text_features have ${D} channels, the model's embedding has ${architecture.embed_dim}`);
    }
    const trainer = await SedTrainer.create({ ops, weights: store, architecture, schedule: { maxIter }, iteration });
    try {
      const started = performance.now();
      const r = await trainer.step({ images, labels, text: { data: text.data, shape: [T, P, D] }, ignoreLabel }, { keepOutputs: true, keepGradients: true });
      const seconds = (performance.now() - started) / 1000;
      const scalar = (v: number): HostTensor => ({ dtype: 'float32', shape: [], data: Float32Array.of(v) });
      for (const [i, l] of r.losses.entries()) tensors.set(`loss/loss_sem_seg_${i}`, scalar(l));
      tensors.set('loss/total', scalar(r.total));
      for (const [i, o] of r.outputs!.entries()) tensors.set(`forward/output_${i}`, o);
      tensors.set('forward/clip_vis_dense', r.dense!);
      tensors.set('grad_norm/total', scalar(r.gradNorm));
      tensors.set('grad_norm/clip_coef', scalar(r.clipCoef));
      for (const g of trainer.groups) {
        const p = trainer.parameters.get(g.key)!;
        tensors.set(`grad/${g.key}`, { dtype: 'float32', shape: p.shape, data: r.gradients!.get(g.key)! });
      }
      for (const g of trainer.groups) tensors.set(`after_step/${g.key}`, trainer.parameters.get(g.key)!);
      summary =
        `${out}: one training step at iteration ${iteration} on ${images.length} image(s) of ${images[0]!.width}×${images[0]!.height}, ${T} classes, ` +
        `${trainer.groups.length} trainable tensors; loss ${r.total.toPrecision(6)} (${r.losses.map((l) => l.toPrecision(4)).join(' + ')}), ` +
        `grad norm ${r.gradNorm.toPrecision(6)}, clip ${r.clipCoef.toPrecision(4)}, ${seconds.toFixed(1)} s on tfjs ${ops.platform}`;
    } finally {
      trainer.dispose();
    }
  } finally {
    await store.close();
  }
  const entries = [...tensors.entries()];
  await writeSafetensorsFile(out, entries, {
    infos: entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    metadata: { producer: 'sedseg train-step', backend: 'tfjs', platform: ops.platform, iteration: String(iteration), decoder_pooling: String(pooling) },
    overwrite: Boolean(values.overwrite),
    overwriteHint: 'use --overwrite to replace it',
  });
  io.out(summary);
  return 0;
}
