/**
 * CER top-k sweep (not a test): for k ∈ {1, 2, 4, 8, all} the decoder time, the total time per
 * image (image encoder + decoder + sem_seg_postprocess to the image size, as `sedseg eval` runs
 * them) and the classes entering each decoder layer, on the ort backend with random weights at a
 * released size (bench/random-sed-model.mjs) or a real checkpoint.
 *
 *   npm run build && node bench/cer-sweep.bench.mjs [--model B|L] [--weights FILE] [--resolution 384]
 *       [--classes 150] [--k 1,2,4,8,all] [--pooling 1] [--runs 2] [--threads 2]
 *
 * One process: the model is built once, each run encodes the image once and decodes it with
 * every k (median over `runs` after one warm-up decode). Random weights keep far more classes
 * through CER than a trained model does (they separate classes badly), so the times are upper
 * bounds of what CER saves; `--weights` with a trained checkpoint gives real rejection rates.
 * Prints one JSON document (stdout) and a Markdown table (stderr).
 */
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const core = await import(new URL('../packages/core/dist/index.js', import.meta.url).href);
const { createOrtOps } = await import(new URL('../packages/backend-ort/dist/index.js', import.meta.url).href);
const { randomSedModel, randomImage } = await import('./random-sed-model.mjs');

const threads = Number(opt('threads', 2));
const resolution = Number(opt('resolution', 384));
const classes = Number(opt('classes', 150));
const pooling = Number(opt('pooling', 1));
const runs = Number(opt('runs', 2));
const ks = String(opt('k', '1,2,4,8,all')).split(',').filter(Boolean);
const weights = opt('weights');
const modelSize = opt('model', 'B');

const ops = createOrtOps({ threads });
const tLoad = performance.now();
let model;
if (weights) {
  const { loadSedModel } = await import(new URL('../packages/core/dist/node.js', import.meta.url).href);
  model = await loadSedModel(weights, { backend: ops });
} else {
  model = await randomSedModel(modelSize, ops);
}
const loadMs = performance.now() - tLoad;

const D = model.architecture.embed_dim;
const P = model.architecture.prompt_channel;
const text = new Float32Array(classes * P * D);
for (let i = 0; i < text.length; i++) text[i] = Math.sin(i * 12.9898) * 0.05;
// a photo-sized image, resized as the evaluation does (ResizeShortestEdge 640 + Pillow bilinear)
const original = randomImage(500, 375);
const prepared = core.evalInput(original);
const crop = prepared.crop(resolution);

async function decodeOnce(k) {
  const t0 = performance.now();
  const { features } = await model.encodeImage(prepared.input, resolution);
  await ops.read(features.dense);
  const t1 = performance.now();
  const out = await model.decode(features, text, classes, { pooling, ...(k === 'all' ? {} : { topK: Number(k) }) });
  const t2 = performance.now();
  model.disposeFeatures(features);
  const cer = out.output !== undefined;
  core.semSegPostprocessLabels(cer ? out.output : out.logits, crop, prepared.original, !cer);
  const t3 = performance.now();
  const kept = cer ? [out.valid0, out.valid1, out.valid2].map((v) => v.data.reduce((a, b) => a + b, 0)) : [classes, classes, classes];
  return { encoder: t1 - t0, decoder: t2 - t1, postprocess: t3 - t2, total: t3 - t0, kept };
}

process.stderr.write(
  `model ${weights ?? `random SED-${modelSize}`} loaded in ${(loadMs / 1000).toFixed(1)} s; R ${resolution}, ${classes} classes, pooling ${pooling}, ${runs} run(s), ${threads} threads\n`,
);
await decodeOnce('all'); // warm-up: sessions built, caches warm
const results = [];
for (const k of ks) {
  const timed = [];
  for (let r = 0; r < runs; r++) timed.push(await decodeOnce(k));
  const res = {
    k,
    decoderMs: Math.round(median(timed.map((t) => t.decoder))),
    totalMs: Math.round(median(timed.map((t) => t.total))),
    encoderMs: Math.round(median(timed.map((t) => t.encoder))),
    postprocessMs: Math.round(median(timed.map((t) => t.postprocess))),
    keptPerStage: timed[0].kept,
  };
  results.push(res);
  process.stderr.write(`  k ${k}: ${JSON.stringify(res)}\n`);
}
const full = results.find((r) => r.k === 'all');
const rows = results.map(
  (r) =>
    `| ${r.k === 'all' ? 'all (full decoder)' : r.k} | ${(r.decoderMs / 1000).toFixed(2)} s | ${(r.totalMs / 1000).toFixed(2)} s | ${full ? `${((r.decoderMs / full.decoderMs) * 100).toFixed(0)}%` : ''} | ${r.keptPerStage.join(' / ')} |`,
);
process.stderr.write(
  [
    '',
    '| top-k | decoder per image | total per image | decoder vs full | classes kept before decoder layers 1 / 2 / 3 |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n'),
);
process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: 'cer-sweep',
      backend: 'ort',
      model: weights ?? `random SED-${modelSize}`,
      resolution,
      classes,
      pooling,
      runs,
      threads,
      image: { original: [original.height, original.width], resized: [prepared.resized.height, prepared.resized.width] },
      node: process.version,
      date: new Date().toISOString(),
      results,
    },
    null,
    2,
  )}\n`,
);
model.dispose();
