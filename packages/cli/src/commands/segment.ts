import { join } from 'node:path';
import { isSedsegError, SedModel, SedsegError, type Segmentation, type SedProgress } from '@sedseg/core';
import { parseCommandArgs } from '../args.js';
import { entryExists } from '@sedseg/core/node';
import { BACKEND_HELP, backendRequest, startBackend } from '../backends.js';
import { defaultCacheDir } from '../cache-dir.js';
import { parseClassesOption } from '../class-args.js';
import { displayClassName } from '../class-display.js';
import { readClassesFile } from '../class-list.js';
import { expandImageInputs, type InputProblem } from '../image-inputs.js';
import { readImageFile, type DecodedImage } from '../image-io.js';
import { checkOutputDir, createOutputDir } from '../output-dir.js';
import { outputNames } from '../output-names.js';
import { OutputSet } from '../output-set.js';
import { DEFAULT_MAX_PIXELS, HARD_MAX_PIXELS, maxPixelsOption } from '../pixel-limit.js';
import { formatSeconds, ProgressBar } from '../progress.js';
import { classPalette } from '../render/palette.js';
import { labelMapPng } from '../render/png-encode.js';
import { renderOverlay } from '../render/overlay.js';
import { encodeRgbImage } from '../render/write-image.js';
import { DEFAULT_MAX_RESOLUTION, DEFAULT_RESOLUTION, HARD_MAX_RESOLUTION, resolutionOptions } from '../resolution-option.js';
import { MAX_THREADS, threadsOption } from '../threads-option.js';
import { UsageError } from '../usage-error.js';
import { optionalPositiveInt } from '../positive-int.js';
import { poolingOption, poolingHelp } from '../pooling-option.js';
import { resolveWeightsArg, DEFAULT_MODEL } from '../weights-arg.js';
import { maxMemoryOption } from '../memory-check.js';
import { loadCheckedModel } from '../load-checked-model.js';
import type { CommandIO } from '../command.js';

export const SEGMENT_HELP = `Usage: sedseg segment IMAGE|DIR|PATTERN... [--weights W]
                      (--classes "a, b, c|d" | --classes-file F.json | --vocabulary NAME)
                      [--topk K] [--resolution R] [--pooling 1|2] [--out DIR] [--format png|json] [--backend NAME] [--device D]
                      [--config FILE] [--cache-dir DIR | --no-cache] [--overwrite] [--json] [--threads N]
                      [--strict] [--max-pixels N] [--max-resolution R] [--max-memory GIB]

Segments images for any list of class names with SED. For each image writes, into --out:
  <name>.labels.png   label map at the image size: a palette PNG whose pixel values are class
                      indices (16-bit grayscale when there are more than 256 classes)
  <name>.overlay.png  the image blended with the class colours, with a legend of the classes present
  <name>.json         classes, share of pixels per class, classes kept by CER, model, backend, timings,
                      warnings about the image's data
With --format json only the JSON is written (it then also holds the label map, run-length encoded).
<name> is the image's file name without its extension (shots/photo.jpg → photo). Inputs that would
share a <name> keep their extension (photo.jpg, photo.png → photo.jpg.*, photo.png.*); inputs that
still would (a/photo.jpg, b/photo.jpg) are named by their path from the folder they have in common,
"/" written "_" (a_photo.jpg.*, b_photo.jpg.*). Names are compared ignoring case.
Each file is written under a temporary name and moved into place once all of an image's outputs
are written: a failure leaves none of that image's outputs behind.

Classes:
  --classes "car, road, person|people"   commas separate classes, "|" joins synonyms of one class
  --classes-file F.json                  JSON array of names (", " inside a name joins synonyms)
  --vocabulary NAME                      ade150, ade847, pc59, pc459, voc20, voc20b, coco171 (case,
                                         dashes and common aliases accepted: ADE-150, coco, pascal-voc)

Options:
  --weights W         SED checkpoint: a file (.pth from the authors, or .safetensors from sedseg
                      convert), a released model by name (sed-b: ConvNeXt-B, sed-l: ConvNeXt-L)
                      or an http(s) URL; names and URLs are downloaded once (resumable) into
                      ${join(defaultCacheDir(), 'models')}. Default: ${DEFAULT_MODEL}
  --config FILE       architecture config (default: <name>.config.json or config.json beside W)
  --topk K            category early rejection keeping each pixel's top K classes (paper: 8);
                      default: the full decoder on every class
  --resolution R      model input side, a multiple of 32 (default ${DEFAULT_RESOLUTION}, the official one), at most
                      --max-resolution
  --max-resolution R  the largest --resolution accepted (default ${DEFAULT_MAX_RESOLUTION}, at most ${HARD_MAX_RESOLUTION}): memory grows
                      with R², and R = 4096 took over 6 GB
${poolingHelp(22)}
  --out DIR           output folder (default: the current folder; created if missing, after every
                      check has passed; /proc, /sys and other kernel filesystems are refused)
  --format png|json   what to write (default png: label map, overlay and JSON)
${BACKEND_HELP}
  --threads N         compute threads of the backend (default: its own choice, one per core for ort);
                      more than the CPUs is lowered to their number, more than ${MAX_THREADS} is refused
  --max-memory GIB    refuse a run whose estimated peak memory is above this many GiB (default:
                      the machine's physical memory); the refusal says what lowers it
  --max-pixels N      the largest image accepted, in pixels (width × height, read from the header
                      before decoding); N or NM for megapixels (default ${DEFAULT_MAX_PIXELS / 1e6}M, at most ${HARD_MAX_PIXELS / 1e6}M)
  --strict            an image with corrupt data the decoder can work around (a damaged JPEG scan)
                      fails; by default it is segmented with a warning (stderr and the JSON)
  --cache-dir DIR     class-embedding cache (default: ${join(defaultCacheDir(), 'class-embeddings')})
  --no-cache          do not read or write the class-embedding cache
  --overwrite         replace existing outputs (any entry at an output path: a symbolic link is
                      replaced, never written through; without --overwrite nothing is replaced)
  --json              one JSON line per image and a summary line on stdout (for scripts)
  -h, --help          show this help

Inputs: image files, folders (the images directly inside) and quoted patterns ("shots/*.png",
"data/**/*.jpg": * and ? within names, ** for any depth of folders). FIFOs, sockets and devices
are refused.
Images may be JPEG, PNG, WebP, TIFF, GIF or AVIF; EXIF orientation is honoured, alpha is ignored.
A bad image (unreadable, too large, or not written) is reported and the others are still
segmented (exit code 1).
On a terminal, a progress line on stderr shows the image, the model's phase and the overall ETA.

The cache folder is ${defaultCacheDir()} (SEDSEG_CACHE_DIR moves it).

Examples:
  sedseg segment photo.jpg --vocabulary ade150          # downloads sed-b on first use
  sedseg segment photo.jpg --weights sed-l --classes "car, road, sky, person|people"
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

function outputsFor(name: string, outDir: string, format: 'png' | 'json'): Outputs {
  return format === 'png'
    ? { labels: join(outDir, `${name}.labels.png`), overlay: join(outDir, `${name}.overlay.png`), json: join(outDir, `${name}.json`) }
    : { json: join(outDir, `${name}.json`) };
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

export async function segmentCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('segment', argv, {
    weights: { type: 'string' },
    config: { type: 'string' },
    classes: { type: 'string' },
    'classes-file': { type: 'string' },
    vocabulary: { type: 'string' },
    topk: { type: 'string' },
    resolution: { type: 'string' },
    'max-resolution': { type: 'string' },
    pooling: { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
    backend: { type: 'string' },
    device: { type: 'string' },
    threads: { type: 'string' },
    'max-pixels': { type: 'string' },
    'max-memory': { type: 'string' },
    strict: { type: 'boolean' },
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
  const classSources = (['classes', 'classes-file', 'vocabulary'] as const).filter((k) => values[k] !== undefined);
  if (classSources.length === 0) throw new UsageError('no classes: give --classes, --classes-file or --vocabulary', 'segment');
  if (classSources.length > 1)
    throw new UsageError(`give only one of --classes, --classes-file, --vocabulary (got ${classSources.map((s) => `--${s}`).join(' and ')})`, 'segment');
  const topK = optionalPositiveInt(values.topk as string | undefined, '--topk', 'segment');
  const resolution = resolutionOptions(values.resolution as string | undefined, values['max-resolution'] as string | undefined, 'segment');
  const pooling = poolingOption(values.pooling as string | undefined, 'segment');
  const threads = threadsOption(values.threads as string | undefined, 'segment');
  const maxMemory = maxMemoryOption(values['max-memory'] as string | undefined, 'segment');
  const maxPixels = maxPixelsOption(values['max-pixels'] as string | undefined, 'segment');
  const strict = Boolean(values.strict);
  const format = (values.format as string | undefined) ?? 'png';
  if (format !== 'png' && format !== 'json') throw new UsageError(`--format must be png or json, got "${format}"`, 'segment');
  if (values['no-cache'] && values['cache-dir'] !== undefined) throw new UsageError('--no-cache and --cache-dir contradict each other', 'segment');
  const json = Boolean(values.json);
  // the named backend's module loads now: a bad --backend fails before any download or model work
  const backendRequested = await backendRequest(
    {
      backend: values.backend as string | undefined,
      device: values.device as string | undefined,
      ...(threads !== undefined ? { threads: threads.threads } : {}),
    },
    'segment',
  );
  const overwrite = Boolean(values.overwrite);

  let classes: string[];
  if (values.classes !== undefined) classes = parseClassesOption(values.classes as string, 'segment');
  else if (values['classes-file'] !== undefined) classes = await readClassesFile(values['classes-file'] as string);
  else classes = SedModel.resolveClasses({ vocabulary: values.vocabulary as string });
  const shown = classes.map(displayClassName);

  // ---- inputs, weights and outputs: all checked before anything is created or loaded ----------
  const { files, problems } = await expandImageInputs(positionals);
  if (files.length === 0) throw new SedsegError('E_IO', problems.map((p) => p.message).join('; ') || 'no image to segment');
  const outDir = (values.out as string | undefined) ?? '.';
  const outDirCheck = await checkOutputDir(outDir);
  const cacheDir = values['no-cache'] ? undefined : ((values['cache-dir'] as string | undefined) ?? join(defaultCacheDir(), 'class-embeddings'));
  // the cache folder is created when first written: /proc and the like would hang that mkdir
  if (cacheDir !== undefined) await checkOutputDir(cacheDir, 'the class-embedding cache', { writable: false });
  const names = outputNames(files);
  const plan = files.map((file, i) => ({ file, outputs: outputsFor(names[i]!, outDir, format) }));
  if (!overwrite && outDirCheck.exists) {
    for (const p of plan) {
      for (const out of Object.values(p.outputs)) {
        if (await entryExists(out)) throw new SedsegError('E_IO', `${out} exists (use --overwrite to replace it)`);
      }
    }
  }

  const bar = new ProgressBar();
  // a name or URL downloads here (once), after every cheap check and before anything is created
  const weights = await resolveWeightsArg(values.weights as string | undefined, 'segment', io, { bar, json });
  const failures: InputProblem[] = [...problems];
  const say = (line: string): void => {
    bar.clear();
    io.out(line);
  };
  const tell = (line: string): void => {
    bar.clear();
    io.err(line);
  };
  const announce = (problem: InputProblem): void => {
    if (json) say(JSON.stringify({ event: 'error', input: problem.input, message: problem.message }));
    else tell(`sedseg segment: ${problem.message}`);
  };
  for (const p of problems) announce(p);
  if (threads?.notice !== undefined) tell(`sedseg segment: ${threads.notice}`);

  // ---- model ---------------------------------------------------------------------------------
  const t0 = performance.now();
  const runtime = await startBackend(backendRequested);
  if (runtime.notice !== undefined) tell(`sedseg segment: ${runtime.notice}`);
  const ops = runtime.ops;
  const onProgress = (p: SedProgress): void => bar.report(p);
  const { model, memory } = await loadCheckedModel({
    ops,
    weightsPath: weights.path,
    ...(values.config !== undefined ? { configPath: values.config as string } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    resolution,
    classes: classes.length,
    pooling,
    ...(topK !== undefined ? { topK } : {}),
    maxMemory,
    onProgress,
  });
  bar.clear();
  const palette = classPalette(classes.length);
  let segmented = 0;
  let cachedEmbeddings: number | undefined;
  // The next image is read and decoded (sharp, off the main thread) while the model runs on the
  // current one; class embeddings are encoded once and then come from the model's cache.
  const reads = new Map<number, Promise<DecodedImage>>();
  const readAhead = (index: number): Promise<DecodedImage> | undefined => {
    if (index >= plan.length) return undefined;
    let reading = reads.get(index);
    if (reading === undefined) {
      reading = readImageFile(plan[index]!.file, { maxPixels, strict });
      reading.catch(() => {}); // reported when its turn comes
      reads.set(index, reading);
    }
    return reading;
  };
  try {
    await createOutputDir(outDirCheck);
    for (const [index, { file, outputs }] of plan.entries()) {
      bar.startImage(index, plan.length);
      const started = performance.now();
      const written = new OutputSet({ overwrite });
      let decoded: DecodedImage;
      let result: Segmentation;
      let record: Record<string, unknown> & {
        present: { index: number; name: string; share: number }[];
        timings_ms: Record<string, number> & { total: number };
      };
      try {
        const reading = readAhead(index)!;
        reads.delete(index);
        decoded = await reading;
        if (decoded.warnings.length > 0) {
          tell(
            `sedseg segment: warning: ${file}: bad image data, segmented anyway (the decoder warned: ${decoded.warnings.join('; ')}); --strict refuses such images`,
          );
        }
        const { image, warnings } = decoded;
        readAhead(index + 1);
        result = await model.segment(image, { classes, resolution, pooling, ...(topK !== undefined ? { topK } : {}), onProgress });
        if (outputs.labels) await written.add(outputs.labels, labelMapPng(result.labels, image.width, image.height, palette, classes.length).bytes);
        if (outputs.overlay)
          await written.add(outputs.overlay, await encodeRgbImage(renderOverlay(image, result.labels, classes, result.areas, { palette }), 'png'));
        const areas = result.areas;
        const total = performance.now() - started;
        const present = areas.map((share, i) => ({ index: i, name: classes[i]!, share })).filter((c) => c.share > 0);
        record = {
          image: file,
          width: image.width,
          height: image.height,
          warnings,
          classes: classes.map((name, i) => ({
            index: i,
            name,
            color: Array.from(palette.subarray(i * 3, i * 3 + 3)),
            share: areas[i]!,
            pixels: Math.round(areas[i]! * image.width * image.height),
          })),
          present: present.sort((a, b) => b.share - a.share),
          cer: result.topK !== undefined ? { topk: result.topK, kept_per_stage: result.keptPerStage, kept_classes: result.keptClasses } : null,
          resolution,
          decoder_pooling: result.pooling,
          memory_estimate_bytes: memory.bytes,
          model: { weights: weights.spec, file: weights.path, ...(weights.name !== undefined ? { name: weights.name } : {}), architecture: model.architecture },
          backend: runtime.name,
          device: runtime.device,
          text_embeddings: result.textEmbeddings,
          timings_ms: { ...result.timings, read_write: total - result.timings.total, total },
          outputs,
          ...(format === 'json' ? { labels: { encoding: 'rle-row-major', data: runLengths(result.labels) } } : {}),
        };
        await written.add(outputs.json, `${JSON.stringify(record, null, 2)}\n`);
        await written.commit();
      } catch (e) {
        await written.abort();
        bar.finishImage();
        if (!isSedsegError(e)) throw e;
        const problem = { input: file, message: e.message };
        failures.push(problem);
        announce(problem);
        continue;
      }
      bar.finishImage();
      segmented++;
      cachedEmbeddings ??= result.textEmbeddings.cached;
      if (json) {
        say(
          JSON.stringify({
            event: 'image',
            image: file,
            outputs,
            present: record.present.map((c) => ({ name: c.name, share: c.share })),
            ...(decoded.warnings.length > 0 ? { warnings: decoded.warnings } : {}),
            text_embeddings: result.textEmbeddings,
            timings_ms: record.timings_ms,
          }),
        );
      } else {
        const present = record.present;
        const top = present
          .slice(0, 3)
          .map((c) => `${shown[c.index]} ${(c.share * 100).toFixed(1)}%`)
          .join(', ');
        say(
          `${file} → ${outputs.labels ?? outputs.json} (${plural(present.length, 'class', 'classes')}: ${top}${present.length > 3 ? ', …' : ''}; ${formatSeconds(record.timings_ms.total / 1000)})`,
        );
      }
    }
  } finally {
    bar.clear();
    model.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  const inputs = plan.length + problems.length;
  const cacheNote =
    cacheDir === undefined
      ? 'class-embedding cache off'
      : cachedEmbeddings === classes.length
        ? `class embeddings from the cache (${cacheDir})`
        : `class embeddings encoded and cached in ${cacheDir}`;
  if (json) {
    io.out(JSON.stringify({ event: 'done', segmented, failed: failures.length, seconds, cache: cacheDir ?? null, classes_from_cache: cachedEmbeddings ?? 0 }));
  } else if (inputs > 1 || failures.length === 0) {
    io.err(`segmented ${segmented} of ${inputs} input(s) in ${formatSeconds(seconds)}; ${cacheNote}`);
    if (failures.length > 0) {
      io.err(`${failures.length} input(s) failed:`);
      for (const f of failures) io.err(`  ${f.message}`);
    }
  }
  return failures.length > 0 ? 1 : 0;
}
