/**
 * `sedseg segment` on a folder of images vs the same images one invocation each (not a test).
 *
 *   npm run build && node bench/segment-batch.bench.mjs [--images 16] [--resolution 768]
 *       [--classes 150] [--threads 2] [--weights F.safetensors [--config F.config.json]]
 *       [--modes folder,single]
 *
 * Random SED-B weights are written to a temporary .safetensors (write-random-weights.mjs) unless
 * `--weights` is given; `--images` random 853×640 PNGs are written next to them. Both modes use
 * the same class names (`--classes` of ADE-847's) and their own empty class-embedding cache:
 *
 * - `folder`: one `sedseg segment DIR`: the model is loaded once, the class embeddings encoded
 *   once (then from the model's cache), the next image decoded while the model runs;
 * - `single`: one `sedseg segment IMAGE` per image (model loaded each time; class embeddings
 *   from the on-disk cache after the first).
 *
 * Reports wall time and images/s of each mode (JSON on stdout, a table on stderr).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { randomImage } from './random-sed-model.mjs';
import { writeRandomWeights } from './write-random-weights.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const images = Number(opt('images', 16));
const resolution = Number(opt('resolution', 768));
const classCount = Number(opt('classes', 150));
const threads = Number(opt('threads', 2));
const modes = String(opt('modes', 'folder,single')).split(',');
const cli = fileURLToPath(new URL('../packages/cli/bin/sedseg.js', import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'sedseg-batch-'));
try {
  let weights = opt('weights') && resolve(opt('weights'));
  let config = opt('config') && resolve(opt('config'));
  if (!weights) {
    process.stderr.write('writing random SED-B weights …\n');
    ({ weights, config } = await writeRandomWeights(join(work, 'sed-b-random.safetensors')));
  }
  const { ade847 } = await import(new URL('../packages/core/dist/index.js', import.meta.url).href).then((core) => ({
    ade847: core.SedModel.resolveClasses({ vocabulary: 'ade847' }),
  }));
  const classesFile = join(work, 'classes.json');
  writeFileSync(classesFile, JSON.stringify(ade847.slice(0, classCount)));
  const imageDir = join(work, 'images');
  mkdirSync(imageDir);
  for (let i = 0; i < images; i++) {
    const { width, height, data } = randomImage(853, 640, 7 + i);
    await sharp(Buffer.from(data.buffer), { raw: { width, height, channels: 3 } })
      .png()
      .toFile(join(imageDir, `img${String(i).padStart(2, '0')}.png`));
  }
  const files = readdirSync(imageDir).map((f) => join(imageDir, f));
  const common = ['--weights', weights, ...(config ? ['--config', config] : []), '--classes-file', classesFile, '--resolution', String(resolution)];
  const segment = (inputs, out, cache) => {
    const r = spawnSync(
      process.execPath,
      [cli, 'segment', ...inputs, ...common, '--out', out, '--cache-dir', cache, '--threads', String(threads), '--json', '--overwrite'],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      },
    );
    if (r.status !== 0) throw new Error(`sedseg segment failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  };

  const results = [];
  for (const mode of modes) {
    process.stderr.write(`mode ${mode}: ${files.length} images, R=${resolution}, T=${classCount} …\n`);
    const out = join(work, `out-${mode}`);
    const cache = join(work, `cache-${mode}`);
    const t0 = performance.now();
    let lines;
    if (mode === 'folder') lines = segment([imageDir], out, cache);
    else if (mode === 'single') lines = files.flatMap((f) => segment([f], out, cache));
    else throw new Error(`unknown mode ${mode} (folder, single)`);
    const seconds = (performance.now() - t0) / 1000;
    const perImage = lines.filter((l) => l.event === 'image');
    const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : null);
    const later = perImage.slice(1);
    results.push({
      mode,
      images: perImage.length,
      seconds: +seconds.toFixed(1),
      imagesPerSecond: +(perImage.length / seconds).toFixed(4),
      // the first image pays for the class embeddings; the later ones reuse them (folder: model cache, single: disk cache)
      firstImageMs: Math.round(perImage[0].timings_ms.total),
      firstTextMs: Math.round(perImage[0].timings_ms.text),
      medianLaterImageMs: Math.round(median(later.map((l) => l.timings_ms.total))),
      medianLaterTextMs: Math.round(median(later.map((l) => l.timings_ms.text))),
    });
    process.stderr.write(`  ${JSON.stringify(results.at(-1))}\n`);
  }
  process.stderr.write(
    [
      '',
      '| mode | images | wall s | images/s | first image ms (of which text) | median later image ms (of which text) |',
      '| --- | --- | --- | --- | --- | --- |',
      ...results.map(
        (r) =>
          `| ${r.mode} | ${r.images} | ${r.seconds} | ${r.imagesPerSecond} | ${r.firstImageMs} (${r.firstTextMs}) | ${r.medianLaterImageMs} (${r.medianLaterTextMs}) |`,
      ),
      '',
    ].join('\n'),
  );
  process.stdout.write(
    `${JSON.stringify({ benchmark: 'segment-batch', resolution, classes: classCount, threads, node: process.version, date: new Date().toISOString(), results }, null, 2)}\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
