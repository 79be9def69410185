/**
 * SED speed and memory on the ort backend with random weights at the released sizes (not a test).
 *
 *   npm run build && node bench/sed-speed.bench.mjs [--model B|L] [--resolution 768,384]
 *       [--classes 150,847] [--path full,k8,k1] [--pooling 1,2] [--runs 3] [--threads 2] [--chunk C]
 *       [--text N] [--only-text]
 *
 * Every configuration runs in its own process (clean peak RSS): model built in-process, one
 * warm-up run, then `runs` timed runs of image encoder + decoder on a random 640×853 image with
 * precomputed (random) class embeddings. Reports the median total/encoder/decoder ms, median ms
 * per stage, classes entering each decoder layer, decoder ms per live class per layer and the
 * peak RSS. `--pooling` is the decoder pooling (default 1, the authors' evaluation setting and
 * sedseg's default; 2 is their training setting, 4× less class-attention work). `--text N` also times the text tower on N class names, cold then warm (cache).
 * Prints one JSON document (stdout) and a table (stderr).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const list = (name, fallback) => String(opt(name, fallback)).split(',').filter(Boolean);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function child(config) {
  const { createOrtOps } = await import(new URL('../packages/backend-ort/dist/index.js', import.meta.url).href);
  const { randomSedModel, randomImage } = await import('./random-sed-model.mjs');
  const ops = createOrtOps({ threads: config.threads, ...(process.env.SEDSEG_BENCH_NO_ARENA ? { memArena: false } : {}) });
  // Time every stage the model hands to the backend.
  const stageMs = new Map();
  const run = ops.runStage.bind(ops);
  ops.runStage = async (stage, inputs) => {
    const t0 = performance.now();
    try {
      return await run(stage, inputs);
    } finally {
      stageMs.set(stage.name, (stageMs.get(stage.name) ?? 0) + performance.now() - t0);
    }
  };
  const tLoad = performance.now();
  const model = await randomSedModel(config.model, ops);
  const loadMs = performance.now() - tLoad;
  const result = { ...config, loadMs: Math.round(loadMs) };

  if (config.text) {
    const names = (tag) => Array.from({ length: config.text }, (_, i) => `${tag} object number ${i}`);
    const t0 = performance.now();
    await model.encodeClasses(names('cold'));
    const cold = performance.now() - t0;
    const t1 = performance.now();
    await model.encodeClasses(names('cold'));
    const warm = performance.now() - t1;
    result.text = { classes: config.text, coldMsPerClass: Math.round(cold / config.text), warmMsPerClass: +(warm / config.text).toFixed(3) };
    if (config.onlyText) {
      result.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
      return result;
    }
  }

  const { resolution: R, classes: T } = config;
  const D = model.architecture.embed_dim;
  const P = model.architecture.prompt_channel;
  const text = new Float32Array(T * P * D);
  for (let i = 0; i < text.length; i++) text[i] = Math.sin(i * 12.9898) * 0.05;
  const image = randomImage();
  const topK = config.path === 'full' ? undefined : Number(config.path.slice(1));

  const runs = [];
  for (let r = 0; r <= config.runs; r++) {
    stageMs.clear();
    const t0 = performance.now();
    const { features } = await model.encodeImage(image, R);
    const t1 = performance.now();
    const out = await model.decode(features, text, T, {
      pooling: config.pooling,
      ...(topK !== undefined ? { topK } : {}),
      ...(config.classChunk ? { classChunk: config.classChunk } : {}),
    });
    const t2 = performance.now();
    model.disposeFeatures(features);
    const live = topK === undefined ? [T, T, T] : [out.valid0, out.valid1, out.valid2].map((v) => v.data.reduce((a, b) => a + b, 0));
    if (r > 0) runs.push({ total: t2 - t0, encoder: t1 - t0, decoder: t2 - t1, stages: Object.fromEntries(stageMs), live });
  }
  const stageNames = Object.keys(runs[0].stages);
  const live = runs[0].live;
  const stages = Object.fromEntries(stageNames.map((n) => [n, Math.round(median(runs.map((x) => x.stages[n])))]));
  result.medianMs = {
    total: Math.round(median(runs.map((x) => x.total))),
    encoder: Math.round(median(runs.map((x) => x.encoder))),
    decoder: Math.round(median(runs.map((x) => x.decoder))),
  };
  result.stageMs = stages;
  result.classesPerLayer = live;
  const layerMs = (i) =>
    Object.entries(stages)
      .filter(([n]) => n.startsWith(`decoderLayer${i}`))
      .reduce((a, [, ms]) => a + ms, 0);
  result.decoderMsPerLiveClass = [0, 1, 2].map((i) => +(layerMs(i) / live[i]).toFixed(2));
  result.runsMs = runs.map((x) => Math.round(x.total));
  result.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  return result;
}

if (process.env.SEDSEG_BENCH_CHILD) {
  const config = JSON.parse(process.env.SEDSEG_BENCH_CHILD);
  const r = await child(config);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

const threads = Number(opt('threads', 2));
const runs = Number(opt('runs', 3));
const configs = [];
const textClasses = Number(opt('text', 0));
if (textClasses) for (const model of list('model', 'B')) configs.push({ model, threads, text: textClasses, onlyText: true });
if (!args.includes('--only-text')) {
  for (const model of list('model', 'B'))
    for (const resolution of list('resolution', '768').map(Number))
      for (const classes of list('classes', '150').map(Number))
        for (const pooling of list('pooling', '1').map(Number))
          for (const path of list('path', 'full,k8'))
            configs.push({ model, resolution, classes, pooling, path, runs, threads, ...(opt('chunk') ? { classChunk: Number(opt('chunk')) } : {}) });
}

const results = [];
for (const config of configs) {
  process.stderr.write(`running ${JSON.stringify(config)} …\n`);
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', fileURLToPath(import.meta.url)], {
    env: { ...process.env, SEDSEG_BENCH_CHILD: JSON.stringify(config), OMP_NUM_THREADS: String(threads) },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    results.push({ ...config, error: (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') });
    process.stderr.write(`  failed: ${results.at(-1).error}\n`);
    continue;
  }
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1));
  results.push(res);
  process.stderr.write(`  ${JSON.stringify(res)}\n`);
}

const rows = results.map((r) =>
  r.error
    ? `| SED-${r.model} | ${r.resolution ?? ''} | ${r.classes ?? ''} | ${r.pooling ?? ''} | ${r.path ?? 'text'} | failed: ${r.error} |`
    : r.onlyText
      ? `| SED-${r.model} | text tower | ${r.text.classes} classes | cold ${r.text.coldMsPerClass} ms/class, warm ${r.text.warmMsPerClass} ms/class | peak RSS ${r.peakRssMB} MB |`
      : `| SED-${r.model} | ${r.resolution} | ${r.classes} | ${r.pooling} | ${r.path} | ${(r.medianMs.total / 1000).toFixed(2)} s (${(r.medianMs.encoder / 1000).toFixed(2)} / ${(r.medianMs.decoder / 1000).toFixed(2)}) | ${r.classesPerLayer.join('/')} | ${r.decoderMsPerLiveClass.join(' / ')} | ${r.peakRssMB} MB |`,
);
process.stderr.write(
  [
    '',
    '| model | R | T | pooling | path | median total (encoder / decoder) | classes per decoder layer | decoder ms per live class per layer | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n'),
);
process.stdout.write(
  `${JSON.stringify({ benchmark: 'sed-speed', backend: 'ort', threads, node: process.version, date: new Date().toISOString(), results }, null, 2)}\n`,
);
