import { cerOutputToLabels, classMeans, logitsToProbabilities, probabilitiesToLabels, SedsegError, type HostTensor } from '@sedseg/core';
import { entryExists, loadSedModel, writeSafetensorsFile } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { BACKEND_HELP, backendRequest, startBackend } from '../backends.js';
import { readClassesFile } from '../class-list.js';
import { readRgbImage } from '../image-io.js';
import { UsageError } from '../usage-error.js';
import { resolveWeightsArg } from '../weights-arg.js';
import { positiveInt } from '../positive-int.js';
import { poolingOption, poolingHelp } from '../pooling-option.js';
import type { CommandIO } from '../command.js';

export const DUMP_HELP = `Usage: sedseg dump --weights W --image I --classes-file C.json --resolution R --out F.safetensors
                   [--config FILE] [--pooling 1|2] [--topk K]... [--backend NAME] [--overwrite]

Runs SED on one image and writes every intermediate tensor under the names of the reference
golden files (input, stem, res2..res5, clip_vis_dense, text_features, corr, corr_embed,
guidance_proj0-2, corr_guidance_proj0-2, mask_aux, decoder1-3, mask_aux0/1, logits, probs,
labels, labels_margin, logits_class_mean, probs_class_mean and, per --topk K, cer_topK_valid0-2,
cer_topK_keep, cer_topK_mask_aux0/1, cer_topK_output, cer_topK_labels), always for all classes,
so that any backend can be compared with the reference implementation.

Options:
  --weights W        SED checkpoint: a file (.pth or .safetensors), a released model by name
                     (sed-b, sed-l) or an http(s) URL (downloaded once into the cache)
  --config FILE      architecture config (default: beside the weights, if present)
  --image I          image file (JPEG, PNG, WebP, TIFF, GIF)
  --classes-file C   JSON array of class names (", " inside a name joins synonyms)
  --resolution R     model input side, a multiple of 32 (the official one is 768)
${poolingHelp(21)}
  --topk K           also run category early rejection with top-k K (repeatable)
${BACKEND_HELP}
  --out F            output .safetensors file
  --overwrite        replace F if it exists
  -h, --help         show this help

Example:
  sedseg dump --weights tiny/model.pth --image case-01/image.png --classes-file case-01/classes.json \\
              --resolution 256 --topk 8 --topk 1 --out case-01.safetensors`;

/** top-1 minus top-2 probability per pixel of T×H×W maps. */
function labelsMargin(probs: HostTensor<'float32'>): Float32Array {
  const [T, H, W] = probs.shape as [number, number, number];
  const plane = H * W;
  const out = new Float32Array(plane);
  const p = probs.data;
  for (let i = 0; i < plane; i++) {
    let a = -Infinity;
    let b = -Infinity;
    for (let t = 0; t < T; t++) {
      const v = p[t * plane + i]!;
      if (v > a) {
        b = a;
        a = v;
      } else if (v > b) b = v;
    }
    out[i] = T > 1 ? Math.fround(a - b) : a;
  }
  return out;
}

export async function dumpCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs('dump', argv, {
    weights: { type: 'string' },
    config: { type: 'string' },
    image: { type: 'string' },
    'classes-file': { type: 'string' },
    resolution: { type: 'string' },
    topk: { type: 'string', multiple: true },
    pooling: { type: 'string' },
    backend: { type: 'string' },
    device: { type: 'string' },
    out: { type: 'string' },
    overwrite: { type: 'boolean' },
  });
  if (values.help) {
    io.out(DUMP_HELP);
    return 0;
  }
  for (const required of ['weights', 'image', 'classes-file', 'resolution', 'out'] as const) {
    if (values[required] === undefined) throw new UsageError(`missing --${required}`, 'dump');
  }
  const resolution = positiveInt(values.resolution as string, '--resolution', 'dump');
  if (resolution % 32 !== 0) throw new UsageError(`--resolution must be a multiple of 32, got ${resolution}`, 'dump');
  const pooling = poolingOption(values.pooling as string | undefined, 'dump');
  const topks = ((values.topk as string[] | undefined) ?? []).map((k) => positiveInt(k, '--topk', 'dump'));
  const out = values.out as string;
  if (!values.overwrite && (await entryExists(out))) throw new SedsegError('E_IO', `${out} exists (use --overwrite to replace it)`);

  const classes = await readClassesFile(values['classes-file'] as string);
  const image = await readRgbImage(values.image as string);
  const started = await startBackend(
    await backendRequest({ backend: values.backend as string | undefined, device: values.device as string | undefined }, 'dump'),
  );
  if (started.notice !== undefined) io.err(`sedseg dump: ${started.notice}`);
  const backend = started.ops;
  const weights = await resolveWeightsArg(values.weights as string, 'dump', io);
  const model = await loadSedModel(weights.path, {
    backend,
    ...(values.config !== undefined ? { configPath: values.config as string } : {}),
  });
  const tensors = new Map<string, HostTensor>();
  const record = (name: string, t: HostTensor): void => void tensors.set(name, t);
  try {
    record('image', { dtype: 'uint8', shape: [image.height, image.width, 3], data: Uint8Array.from(image.data) });
    const text = await model.encodeClasses(classes);
    record('text_features', { dtype: 'float32', shape: [classes.length, model.templates.length, model.architecture.embed_dim], data: text.embeddings });
    const { input, features } = await model.encodeImage(image, resolution);
    try {
      record('input', { dtype: 'float32', shape: [1, 3, resolution, resolution], data: input });
      const ops = model.backend;
      for (const [name, t] of [
        ['stem', features.stem],
        ['res2', features.res2],
        ['res3', features.res3],
        ['res4', features.res4],
        ['res5', features.res5],
        ['clip_vis_dense', features.dense],
      ] as const) {
        record(name, { dtype: 'float32', shape: [...ops.shape(t)], data: await ops.read(t) });
      }
      const full = await model.decode(features, text.embeddings, classes.length, { pooling, trace: record });
      const probs = logitsToProbabilities(full.logits!, image.height, image.width);
      record('probs', probs);
      const labels = probabilitiesToLabels(probs);
      record('labels', { dtype: 'int32', shape: [image.height, image.width], data: labels });
      record('labels_margin', { dtype: 'float32', shape: [image.height, image.width], data: labelsMargin(probs) });
      record('logits_class_mean', { dtype: 'float32', shape: [classes.length], data: classMeans(full.logits!) });
      record('probs_class_mean', { dtype: 'float32', shape: [classes.length], data: classMeans(probs) });
      for (const k of topks) {
        const cer = await model.decode(features, text.embeddings, classes.length, { topK: k, pooling, trace: record });
        const cerLabels = cerOutputToLabels(cer.output!, image.height, image.width);
        record(`cer_top${k}_labels`, { dtype: 'int32', shape: [image.height, image.width], data: cerLabels });
      }
    } finally {
      model.disposeFeatures(features);
    }
  } finally {
    model.dispose();
  }
  const entries = [...tensors.entries()];
  await writeSafetensorsFile(out, entries, {
    infos: entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    metadata: { producer: 'sedseg dump', backend: started.name, device: started.device, resolution: String(resolution), decoder_pooling: String(pooling) },
    overwrite: Boolean(values.overwrite),
    overwriteHint: 'use --overwrite to replace it',
  });
  io.out(
    `${out}: ${entries.length} tensors (${classes.length} classes, R=${resolution}, decoder pooling ${pooling}, backend ${started.name} on ${started.device})`,
  );
  return 0;
}
