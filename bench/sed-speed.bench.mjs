/**
 * SED speed and memory on the ort backend with random weights at the released sizes (not a test).
 *
 *   npm run build && node bench/sed-speed.bench.mjs [--model B|L] [--resolution 768,384]
 *       [--classes 150,847] [--path full,k8,k1] [--pooling 1,2] [--runs 3] [--threads 2] [--chunk C]
 *       [--text N] [--only-text] [--weights F.safetensors|F.pth [--config F.config.json]] [--no-peak]
 *       [--malloc tuned|default]
 *
 * Every configuration runs in its own process (clean peak RSS): model built in-process (random
 * weights, or `--weights`: a checkpoint file loaded like `sedseg segment` does, e.g. the random
 * weights written by write-random-weights.mjs, so the same file can be timed in the reference
 * implementation), one warm-up run, then `runs` timed runs of image encoder + decoder on a random
 * 640×853 image with precomputed (random) class embeddings. Reports the median total/encoder/
 * decoder ms, median ms per stage, classes entering each decoder layer, decoder ms per live class
 * per layer and the peak RSS. `--pooling` is the decoder pooling (default 1, the authors'
 * evaluation setting and sedseg's default; 2 is their training setting, 4× less class-attention
 * work). `--text N` also times the text tower on N class names, cold then warm (cache).
 *
 * FLOPs: every stage run is counted from its recorded graph at the exact input shapes
 * (`countStageFlops`, packages/onnx/src/graph/count-flops.ts: every operator, 2 FLOPs per
 * multiply-add), so each stage gets FLOPs per run, achieved GFLOP/s and an efficiency against the
 * machine's measured fp32 peak: a 2048³ MatMul and a 3×3 256→256 conv on 128² run as stages on
 * the same backend and threads, in their own process first (`--no-peak` skips it).
 * `--malloc tuned` (default) runs each configuration's process with glibc's mmap threshold fixed,
 * as the `sedseg` command runs itself (packages/cli/bin/malloc-tuning.js); `default` leaves glibc
 * as it is (a library user's own process): the peak RSS differs by what glibc keeps of freed buffers.
 * Prints one JSON document (stdout) and tables (stderr).
 */
import { spawnSync } from 'node:child_process';
import { basename, resolve } from 'node:path';
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

/** The backend with every stage run timed and its FLOPs counted (once per stage and input shapes). */
async function instrumentedOps(threads) {
  const { createOrtOps } = await import(new URL('../packages/backend-ort/dist/index.js', import.meta.url).href);
  const ops = createOrtOps({ threads, ...(process.env.SEDSEG_BENCH_NO_ARENA ? { memArena: false } : {}) });
  const stageMs = new Map();
  const stageCpuMs = new Map();
  const stageFlops = new Map();
  const flopsOf = new Map();
  // where the memory peak comes from: resident memory after each stage run, the largest kept
  const rss = { maxMB: 0, afterStage: '' };
  const run = ops.runStage.bind(ops);
  ops.runStage = async (stage, inputs) => {
    const shapes = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, ops.shape(t)]));
    const key = `${stage.name}|${JSON.stringify(shapes)}`;
    if (!flopsOf.has(key)) flopsOf.set(key, ops.countStageFlops(stage, shapes).flops);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    try {
      return await run(stage, inputs);
    } finally {
      stageMs.set(stage.name, (stageMs.get(stage.name) ?? 0) + performance.now() - t0);
      stageCpuMs.set(stage.name, (stageCpuMs.get(stage.name) ?? 0) + cpuMs(process.cpuUsage(cpu0)));
      stageFlops.set(stage.name, (stageFlops.get(stage.name) ?? 0) + flopsOf.get(key));
      const mb = process.memoryUsage.rss() / 2 ** 20;
      if (mb > rss.maxMB) Object.assign(rss, { maxMB: Math.round(mb), afterStage: stage.name });
      // SEDSEG_BENCH_RSS_LOG=1: resident and JS-held memory after every stage run (stderr)
      if (process.env.SEDSEG_BENCH_RSS_LOG) {
        const m = process.memoryUsage();
        const MB = (x) => Math.round(x / 2 ** 20);
        process.stderr.write(
          `rss ${stage.name} rss=${MB(m.rss)} arrayBuffers=${MB(m.arrayBuffers)} heap=${MB(m.heapUsed)} maxRss=${MB(process.resourceUsage().maxRSS * 1024)}\n`,
        );
      }
    }
  };
  return { ops, stageMs, stageCpuMs, stageFlops, rss };
}

/** The machine's fp32 peak on this backend: the best of 5 runs of a large MatMul and a large conv. */
async function measurePeak(config) {
  const { ops, stageMs, stageCpuMs, stageFlops } = await instrumentedOps(config.threads);
  const fill = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  const n = 2048;
  const convW = ops.weight(fill(256 * 256 * 9, 3), [256, 256, 3, 3], 'peak.conv.weight');
  const cases = [
    {
      stage: { name: 'peakMatmul', inputs: [{ name: 'a' }, { name: 'b' }], outputs: ['y'], run: (o, i) => ({ y: o.matmul(i.a, i.b) }) },
      inputs: { a: ops.constant(fill(n * n, 1), [n, n]), b: ops.constant(fill(n * n, 2), [n, n]) },
    },
    {
      stage: { name: 'peakConv', inputs: [{ name: 'x' }], outputs: ['y'], run: (o, i) => ({ y: o.conv2d(i.x, convW, undefined, { padding: 1 }) }) },
      inputs: { x: ops.constant(fill(256 * 128 * 128, 4), [1, 256, 128, 128]) },
    },
  ];
  const peak = {};
  for (const { stage, inputs } of cases) {
    let best = Infinity;
    let bestCpu = Infinity;
    for (let r = 0; r < 6; r++) {
      stageMs.clear();
      stageCpuMs.clear();
      stageFlops.clear();
      const out = await ops.runStage(stage, inputs);
      ops.dispose(Object.values(out));
      if (r > 0) best = Math.min(best, stageMs.get(stage.name));
      if (r > 0) bestCpu = Math.min(bestCpu, stageCpuMs.get(stage.name));
    }
    peak[stage.name] = {
      bestCpuMs: +bestCpu.toFixed(1),
      gflopPerCpuSecond: +(stageFlops.get(stage.name) / bestCpu / 1e6).toFixed(1),
      gflop: +(stageFlops.get(stage.name) / 1e9).toFixed(2),
      bestMs: +best.toFixed(1),
      gflops: +(stageFlops.get(stage.name) / best / 1e6).toFixed(1),
    };
  }
  return {
    peak: true,
    threads: config.threads,
    ...peak,
    peakGflops: Math.max(peak.peakMatmul.gflops, peak.peakConv.gflops),
    peakGflopPerCpuSecond: Math.max(peak.peakMatmul.gflopPerCpuSecond, peak.peakConv.gflopPerCpuSecond),
  };
}

const cpuMs = (usage) => (usage.user + usage.system) / 1000;

async function child(config) {
  if (config.peak) return measurePeak(config);
  const { randomSedModel, randomImage } = await import('./random-sed-model.mjs');
  const { ops, stageMs, stageCpuMs, stageFlops, rss } = await instrumentedOps(config.threads);
  const tLoad = performance.now();
  const model = config.weights
    ? await (await import(new URL('../packages/core/dist/node.js', import.meta.url).href)).loadSedModel(config.weights, {
        backend: ops,
        ...(config.config ? { configPath: config.config } : {}),
      })
    : await randomSedModel(config.model, ops);
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
    stageCpuMs.clear();
    stageFlops.clear();
    const cpu0 = process.cpuUsage();
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
    if (r > 0)
      runs.push({
        cpuMs: cpuMs(process.cpuUsage(cpu0)),
        total: t2 - t0,
        encoder: t1 - t0,
        decoder: t2 - t1,
        stages: Object.fromEntries(stageMs),
        stagesCpu: Object.fromEntries(stageCpuMs),
        flops: Object.fromEntries(stageFlops),
        live,
      });
  }
  const stageNames = Object.keys(runs[0].stages);
  const live = runs[0].live;
  const stages = Object.fromEntries(stageNames.map((n) => [n, Math.round(median(runs.map((x) => x.stages[n])))]));
  result.medianMs = {
    total: Math.round(median(runs.map((x) => x.total))),
    encoder: Math.round(median(runs.map((x) => x.encoder))),
    decoder: Math.round(median(runs.map((x) => x.decoder))),
  };
  // CPU time of the process (every ONNX Runtime thread): steadier than wall time on a shared machine
  result.medianCpuMs = Math.round(median(runs.map((x) => x.cpuMs)));
  result.stageMs = stages;
  // FLOPs do not change between runs (same shapes, same survivors with the same inputs)
  const flops = runs[0].flops;
  result.stageGflop = Object.fromEntries(stageNames.map((n) => [n, +(flops[n] / 1e9).toFixed(3)]));
  const stagesCpu = Object.fromEntries(stageNames.map((n) => [n, median(runs.map((x) => x.stagesCpu[n]))]));
  result.stageCpuMs = Object.fromEntries(stageNames.map((n) => [n, Math.round(stagesCpu[n])]));
  result.stageGflopPerCpuSecond = Object.fromEntries(stageNames.map((n) => [n, +(flops[n] / 1e6 / Math.max(stagesCpu[n], 1)).toFixed(1)]));
  result.stageGflops = Object.fromEntries(stageNames.map((n) => [n, +(flops[n] / 1e6 / Math.max(stages[n], 1)).toFixed(1)]));
  const sum = (pick) => stageNames.filter(pick).reduce((a, n) => a + flops[n], 0);
  result.gflop = {
    total: +(sum(() => true) / 1e9).toFixed(2),
    encoder: +(sum((n) => n === 'imageEncoder') / 1e9).toFixed(2),
    decoder: +(sum((n) => n !== 'imageEncoder') / 1e9).toFixed(2),
  };
  result.classesPerLayer = live;
  const layerMs = (i) =>
    Object.entries(stages)
      .filter(([n]) => n.startsWith(`decoderLayer${i}`))
      .reduce((a, [, ms]) => a + ms, 0);
  result.decoderMsPerLiveClass = [0, 1, 2].map((i) => +(layerMs(i) / live[i]).toFixed(2));
  result.runsMs = runs.map((x) => Math.round(x.total));
  result.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  result.largestRssAfterStage = rss;
  return result;
}

if (process.env.SEDSEG_BENCH_CHILD) {
  const config = JSON.parse(process.env.SEDSEG_BENCH_CHILD);
  const r = await child(config);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

const threads = Number(opt('threads', 2));
const malloc = opt('malloc', 'tuned');
if (malloc !== 'tuned' && malloc !== 'default') throw new Error(`--malloc must be tuned or default, got ${malloc}`);
// the environment of the sedseg command (bin/malloc-tuning.js), unless asked for glibc's default
const { TUNED_MALLOC_ENV, wantsMallocTuning } = await import('../packages/cli/bin/malloc-tuning.js');
const mallocEnv = malloc === 'tuned' && wantsMallocTuning() ? TUNED_MALLOC_ENV : {};
const runs = Number(opt('runs', 3));
const weights = opt('weights');
// with --weights the model is that file (its name in the tables), --model is ignored
const source = weights ? { model: basename(weights), weights: resolve(weights), ...(opt('config') ? { config: resolve(opt('config')) } : {}) } : undefined;
const models = source ? [source.model] : list('model', 'B');
const configs = [];
const textClasses = Number(opt('text', 0));
if (textClasses) for (const model of models) configs.push({ model, ...source, threads, text: textClasses, onlyText: true });
if (!args.includes('--only-text')) {
  if (!args.includes('--no-peak')) configs.push({ peak: true, threads });
  for (const model of models)
    for (const resolution of list('resolution', '768').map(Number))
      for (const classes of list('classes', '150').map(Number))
        for (const pooling of list('pooling', '1').map(Number))
          for (const path of list('path', 'full,k8'))
            configs.push({
              model,
              ...source,
              resolution,
              classes,
              pooling,
              path,
              runs,
              threads,
              ...(opt('chunk') ? { classChunk: Number(opt('chunk')) } : {}),
            });
}

const results = [];
for (const config of configs) {
  process.stderr.write(`running ${JSON.stringify(config)} …\n`);
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', fileURLToPath(import.meta.url)], {
    env: { ...process.env, ...mallocEnv, SEDSEG_BENCH_CHILD: JSON.stringify(config), OMP_NUM_THREADS: String(threads) },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    results.push({ ...config, error: (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ') });
    process.stderr.write(`  failed: ${results.at(-1).error}\n`);
    continue;
  }
  const res = {
    ...JSON.parse(r.stdout.trim().split('\n').at(-1)),
    mallocMmapThreshold: mallocEnv.MALLOC_MMAP_THRESHOLD_ ?? process.env.MALLOC_MMAP_THRESHOLD_ ?? 'glibc default',
  };
  results.push(res);
  process.stderr.write(`  ${JSON.stringify(res)}\n`);
}

const peak = results.find((r) => r.peak && !r.error);
const runsDone = results.filter((r) => !r.peak);
// efficiency of each stage: achieved GFLOP/s over the measured peak (the better of MatMul and conv)
if (peak) {
  for (const r of runsDone) {
    if (!r.stageGflops) continue;
    r.stageEfficiency = Object.fromEntries(Object.entries(r.stageGflops).map(([n, g]) => [n, +(g / peak.peakGflops).toFixed(3)]));
    // the same per CPU second: what the stage makes of the cores it got, whatever else runs
    r.stageCpuEfficiency = Object.fromEntries(Object.entries(r.stageGflopPerCpuSecond).map(([n, g]) => [n, +(g / peak.peakGflopPerCpuSecond).toFixed(3)]));
  }
}
const pct = (x) => `${(x * 100).toFixed(1)} %`;
const name = (r) => (r.weights ? r.model : `SED-${r.model}`);
const rows = runsDone.map((r) =>
  r.error
    ? `| ${name(r)} | ${r.resolution ?? ''} | ${r.classes ?? ''} | ${r.pooling ?? ''} | ${r.path ?? 'text'} | failed: ${r.error} |`
    : r.onlyText
      ? `| ${name(r)} | text tower | ${r.text.classes} classes | cold ${r.text.coldMsPerClass} ms/class, warm ${r.text.warmMsPerClass} ms/class | peak RSS ${r.peakRssMB} MB |`
      : `| ${name(r)} | ${r.resolution} | ${r.classes} | ${r.pooling} | ${r.path} | ${(r.medianMs.total / 1000).toFixed(2)} s (${(r.medianMs.encoder / 1000).toFixed(2)} / ${(r.medianMs.decoder / 1000).toFixed(2)}) | ${r.gflop.total} (${r.gflop.encoder} / ${r.gflop.decoder}) | ${r.classesPerLayer.join('/')} | ${r.decoderMsPerLiveClass.join(' / ')} | ${r.peakRssMB} MB |`,
);
const stageRows = runsDone
  .filter((r) => r.stageMs)
  .flatMap((r) =>
    Object.keys(r.stageMs).map(
      (n) =>
        `| ${name(r)} R${r.resolution} T${r.classes} p${r.pooling} ${r.path} | ${n} | ${r.stageMs[n]} (${r.stageCpuMs[n]}) | ${r.stageGflop[n]} | ${r.stageGflops[n]} (${r.stageGflopPerCpuSecond[n]}) | ${r.stageEfficiency ? `${pct(r.stageEfficiency[n])} (${pct(r.stageCpuEfficiency[n])})` : ''} |`,
    ),
  );
process.stderr.write(
  [
    '',
    peak
      ? `measured fp32 peak (${threads} threads): MatMul ${peak.peakMatmul.gflops} GFLOP/s (${peak.peakMatmul.gflopPerCpuSecond} per CPU s), conv ${peak.peakConv.gflops} GFLOP/s (${peak.peakConv.gflopPerCpuSecond} per CPU s)`
      : 'no peak measured (--no-peak)',
    '',
    '| model | R | T | pooling | path | median total (encoder / decoder) | GFLOP (encoder / decoder) | classes per decoder layer | decoder ms per live class per layer | peak RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '| run | stage | median ms (CPU ms) | GFLOP per run | GFLOP/s (per CPU s) | efficiency vs peak (per CPU s) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...stageRows,
    '',
  ].join('\n'),
);
process.stdout.write(
  `${JSON.stringify({ benchmark: 'sed-speed', backend: 'ort', threads, node: process.version, date: new Date().toISOString(), peak: peak ?? null, results: runsDone }, null, 2)}\n`,
);
