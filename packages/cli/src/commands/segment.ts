import { access, mkdir, writeFile } from 'node:fs/promises';
import { constants, existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { isSedsegError, SedModel, SedsegError, type RgbImage, type Segmentation, type SedProgress } from '@sedseg/core';
import { loadSedModel } from '@sedseg/core/node';
import { parseCommandArgs } from '../args.js';
import { backendName, createBackend, BACKEND_NAMES, DEFAULT_BACKEND } from '../backends.js';
import { defaultCacheDir } from '../cache-dir.js';
import { parseClassesOption } from '../class-args.js';
import { readClassesFile } from '../class-list.js';
import { expandImageInputs, type InputProblem } from '../image-inputs.js';
import { readRgbImage } from '../image-io.js';
import { formatSeconds, ProgressBar } from '../progress.js';
import { classPalette } from '../render/palette.js';
import { labelMapPng } from '../render/png-encode.js';
import { renderOverlay } from '../render/overlay.js';
import { writeRgbImage } from '../render/write-image.js';
import { UsageError } from '../usage-error.js';
import { optionalPositiveInt } from '../positive-int.js';
import { poolingOption, poolingHelp } from '../pooling-option.js';
import type { CommandIO } from '../command.js';

export const SEGMENT_HELP = `Usage: sedseg segment IMAGE|DIR|PATTERN... --weights W
                      (--classes "a, b, c|d" | --classes-file F.json | --vocabulary NAME)
                      [--topk K] [--resolution R] [--pooling 1|2] [--out DIR] [--format png|json] [--backend NAME]
                      [--config FILE] [--cache-dir DIR | --no-cache] [--overwrite] [--json] [--threads N]

Segments images for any list of class names with SED. For each image writes, into --out:
  <name>.labels.png   label map at the image size: a palette PNG whose pixel values are class
                      indices (16-bit grayscale when there are more than 256 classes)
  <name>.overlay.png  the image blended with the class colours, with a legend of the classes present
  <name>.json         classes, share of pixels per class, classes kept by CER, model, backend, timings
With --format json only the JSON is written (it then also holds the label map, run-length encoded).

Classes:
  --classes "car, road, person|people"   commas separate classes, "|" joins synonyms of one class
  --classes-file F.json                  JSON array of names (", " inside a name joins synonyms)
  --vocabulary NAME                      ade150, ade847, pc59, pc459, voc20, voc20b, coco171

Options:
  --weights W         SED checkpoint (.pth from the authors, or .safetensors from sedseg convert)
  --config FILE       architecture config (default: <name>.config.json or config.json beside W)
  --topk K            category early rejection keeping each pixel's top K classes (paper: 8);
                      default: the full decoder on every class
  --resolution R      model input side, a multiple of 32 (default 768, the official one)
${poolingHelp(22)}
  --out DIR           output folder (default: the current folder; created if missing)
  --format png|json   what to write (default png: label map, overlay and JSON)
  --backend NAME      ${BACKEND_NAMES.join(', ')} (default ${DEFAULT_BACKEND})
  --threads N         compute threads of the ort backend (default: one per core; tfjs ignores it)
  --cache-dir DIR     class-embedding cache (default: ${defaultCacheDir()})
  --no-cache          do not read or write the class-embedding cache
  --overwrite         replace existing output files
  --json              one JSON line per image and a summary line on stdout (for scripts)
  -h, --help          show this help

Inputs: image files, folders (the images directly inside) and quoted patterns ("shots/*.png",
"data/**/*.jpg": * and ? within names, ** for any depth of folders).
Images may be JPEG, PNG, WebP, TIFF, GIF or AVIF of any size; EXIF orientation is honoured,
alpha is ignored. A bad image is reported and the others are still segmented (exit code 1).

Examples:
  sedseg segment photo.jpg --weights sed_model_base.pth --vocabulary ade150
  sedseg segment photos/ --weights sed_model_base.pth --classes "car, road, sky, person|people" --topk 8 --out results
  sedseg segment "shots/*.png" --weights sed.safetensors --classes-file classes.json --json > results.jsonl`;

/** Row-major run-length encoding of a label map: [value, count, value, count, …]. */
function runLengths(labels: Int32Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < labels.length; ) {
    let j = i + 1;
    while (j < labels.length && labels[j] === labels[i]) j++;
    out.push(labels[i]!, j - i);
    i = j;
  }
  return out;
}

interface Outputs {
  labels?: string;
  overlay?: string;
  json: string;
}

function outputsFor(file: string, outDir: string, format: 'png' | 'json'): Outputs {
  const stem = basename(file, extname(file));
  return format === 'png'
    ? { labels: join(outDir, `${stem}.labels.png`), overlay: join(outDir, `${stem}.overlay.png`), json: join(outDir, `${stem}.json`) }
    : { json: join(outDir, `${stem}.json`) };
}

async function prepareOutDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'not writable' : code === 'ENOTDIR' || code === 'EEXIST' ? 'not a folder' : (e as Error).message;
    throw new SedsegError('E_IO', `${dir}: cannot write outputs there (${why})`);
  }
}

export async function segmentCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('segment', argv, {
    weights: { type: 'string' },
    config: { type: 'string' },
    classes: { type: 'string' },
    'classes-file': { type: 'string' },
    vocabulary: { type: 'string' },
    topk: { type: 'string' },
    resolution: { type: 'string' },
    pooling: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'cache-dir': { type: 'string' },
    'no-cache': { type: 'boolean' },
    overwrite: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(SEGMENT_HELP);
    return 0;
  }
  // ---- command line ---------------------------------------------------------------------------
  if (positionals.length === 0) throw new UsageError('no image given', 'segment');
  if (values.weights === undefined) throw new UsageError('missing --weights (a SED checkpoint, .pth or .safetensors)', 'segment');
  const classSources = (['classes', 'classes-file', 'vocabulary'] as const).filter((k) => values[k] !== undefined);
  if (classSources.length === 0) throw new UsageError('no classes: give --classes, --classes-file or --vocabulary', 'segment');
  if (classSources.length > 1) throw new UsageError(`give only one of --classes, --classes-file, --vocabulary (got ${classSources.map((s) => `--${s}`).join(' and ')})`, 'segment');
  const topK = optionalPositiveInt(values.topk as string | undefined, '--topk', 'segment');
  const resolution = optionalPositiveInt(values.resolution as string | undefined, '--resolution', 'segment') ?? 768;
  if (resolution % 32 !== 0) throw new UsageError(`--resolution must be a multiple of 32, got ${resolution}`, 'segment');
  const pooling = poolingOption(values.pooling as string | undefined, 'segment');
  const threads = optionalPositiveInt(values.threads as string | undefined, '--threads', 'segment');
  const format = (values.format as string | undefined) ?? 'png';
  if (format !== 'png' && format !== 'json') throw new UsageError(`--format must be png or json, got "${format}"`, 'segment');
  if (values['no-cache'] && values['cache-dir'] !== undefined) throw new UsageError('--no-cache and --cache-dir contradict each other', 'segment');
  const backend = backendName(values.backend as string | undefined, 'segment');
  const json = Boolean(values.json);

  let classes: string[];
  if (values.classes !== undefined) classes = parseClassesOption(values.classes as string, 'segment');
  else if (values['classes-file'] !== undefined) classes = await readClassesFile(values['classes-file'] as string);
  else classes = SedModel.resolveClasses({ vocabulary: values.vocabulary as string });

  // ---- inputs and outputs, checked before the (slow) model load -------------------------------
  const { files, problems } = await expandImageInputs(positionals);
  const failures: InputProblem[] = [...problems];
  const outDir = (values.out as string | undefined) ?? '.';
  const plan = files.map((file) => ({ file, outputs: outputsFor(file, outDir, format) }));
  const byJson = new Map<string, string>();
  for (const p of plan) {
    const clash = byJson.get(resolve(p.outputs.json));
    if (clash) throw new SedsegError('E_ARGUMENT', `${clash} and ${p.file} would write the same outputs in ${outDir} (segment them into different --out folders)`);
    byJson.set(resolve(p.outputs.json), p.file);
  }
  if (!values.overwrite) {
    for (const p of plan) {
      for (const out of Object.values(p.outputs)) {
        if (existsSync(out)) throw new SedsegError('E_IO', `${out} exists (use --overwrite to replace it)`);
      }
    }
  }
  const report = (problem: InputProblem): void => {
    failures.push(problem);
    if (json) io.out(JSON.stringify({ event: 'error', input: problem.input, message: problem.message }));
    else io.err(`sedseg segment: ${problem.message}`);
  };
  if (plan.length === 0) throw new SedsegError('E_IO', problems.map((p) => p.message).join('; ') || 'no image to segment');
  for (const p of problems) {
    if (json) io.out(JSON.stringify({ event: 'error', input: p.input, message: p.message }));
    else io.err(`sedseg segment: ${p.message}`);
  }
  await prepareOutDir(outDir);

  // ---- model ---------------------------------------------------------------------------------
  const bar = new ProgressBar();
  const t0 = performance.now();
  const ops = await createBackend(backend, 'segment', threads !== undefined ? { threads } : {});
  const cacheDir = values['no-cache'] ? undefined : ((values['cache-dir'] as string | undefined) ?? join(defaultCacheDir(), 'class-embeddings'));
  const onProgress = (p: SedProgress): void => {
    if (p.phase === 'text' && p.total > 0) bar.update('encoding class names', p.done, p.total);
    if (p.phase === 'weights') bar.update('loading weights', p.done, p.total);
  };
  const model = await loadSedModel(values.weights as string, {
    backend: ops,
    onProgress,
    ...(values.config !== undefined ? { configPath: values.config as string } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
  });
  bar.clear();
  const palette = classPalette(classes.length);
  let done = 0;
  let cachedEmbeddings: number | undefined;
  try {
    for (const { file, outputs } of plan) {
      if (!json) bar.update('segmenting', done, plan.length);
      const started = performance.now();
      let image: RgbImage;
      let result: Segmentation;
      try {
        image = await readRgbImage(file);
        result = await model.segment(image, { classes, resolution, pooling, ...(topK !== undefined ? { topK } : {}), onProgress });
      } catch (e) {
        bar.clear();
        if (!isSedsegError(e)) throw e;
        report({ input: file, message: e.message });
        done++;
        continue;
      }
      cachedEmbeddings ??= result.textEmbeddings.cached;
      if (outputs.labels) {
        const png = labelMapPng(result.labels, image.width, image.height, palette, classes.length);
        await writeFile(outputs.labels, png.bytes);
      }
      if (outputs.overlay) {
        await writeRgbImage(outputs.overlay, renderOverlay(image, result.labels, classes, result.areas, { palette }));
      }
      const total = performance.now() - started;
      const timings = { ...result.timings, read_write: total - result.timings.total, total };
      const present = result.areas.map((share, index) => ({ index, name: classes[index]!, share })).filter((c) => c.share > 0);
      const record = {
        image: file,
        width: image.width,
        height: image.height,
        classes: classes.map((name, index) => ({
          index,
          name,
          color: Array.from(palette.subarray(index * 3, index * 3 + 3)),
          share: result.areas[index]!,
          pixels: Math.round(result.areas[index]! * image.width * image.height),
        })),
        present: present.sort((a, b) => b.share - a.share),
        cer: result.topK !== undefined ? { topk: result.topK, kept_per_stage: result.keptPerStage, kept_classes: result.keptClasses } : null,
        resolution,
        decoder_pooling: result.pooling,
        model: { weights: values.weights, architecture: model.architecture },
        backend: model.backend.name,
        text_embeddings: result.textEmbeddings,
        timings_ms: timings,
        outputs,
        ...(format === 'json' ? { labels: { encoding: 'rle-row-major', data: runLengths(result.labels) } } : {}),
      };
      await writeFile(outputs.json, `${JSON.stringify(record, null, 2)}\n`);
      done++;
      bar.clear();
      if (json) {
        io.out(JSON.stringify({ event: 'image', image: file, outputs, present: record.present.map((c) => ({ name: c.name, share: c.share })), text_embeddings: result.textEmbeddings, timings_ms: record.timings_ms }));
      } else {
        const top = record.present.slice(0, 3).map((c) => `${c.name} ${(c.share * 100).toFixed(1)}%`).join(', ');
        io.out(`${file} → ${outputs.labels ?? outputs.json} (${present.length} classes: ${top}${present.length > 3 ? ', …' : ''}; ${formatSeconds(record.timings_ms.total / 1000)})`);
      }
    }
  } finally {
    bar.clear();
    model.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const ok = done - (failures.length - problems.length);
  const cacheNote =
    cacheDir === undefined
      ? 'class-embedding cache off'
      : cachedEmbeddings === classes.length
        ? `class embeddings from the cache (${cacheDir})`
        : `class embeddings encoded and cached in ${cacheDir}`;
  if (json) {
    io.out(JSON.stringify({ event: 'done', segmented: ok, failed: failures.length, seconds, cache: cacheDir ?? null, classes_from_cache: cachedEmbeddings ?? 0 }));
  } else if (plan.length + problems.length > 1 || failures.length === 0) {
    io.err(`segmented ${ok} of ${plan.length + problems.length} input(s) in ${formatSeconds(seconds)}; ${cacheNote}`);
    if (failures.length > 0) {
      io.err(`${failures.length} input(s) failed:`);
      for (const f of failures) io.err(`  ${f.message}`);
    }
  }
  return failures.length > 0 ? 1 : 0;
}
