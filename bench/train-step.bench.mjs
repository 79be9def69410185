/**
 * Seconds per training iteration (forward, the four losses, backward, clipping, AdamW) of SED on
 * tfjs, with the bench's random SED-B (or -L) weights or a checkpoint, on random images and
 * labels at a crop size, batch B, T classes (random text features: the text tower is frozen and
 * runs once per class list, not per step). Prints JSON. Not a test.
 *
 *   npm run build && node bench/train-step.bench.mjs [--model B|L] [--crop 384] [--batch 1] [--classes 171]
 *        [--steps 2] [--device cpu|cuda] [--weights F --config C]
 *
 * The first step is reported apart (it also allocates the optimizer state); the rest are averaged.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const core = await import(new URL('../packages/core/dist/index.js', import.meta.url).href);
const coreNode = await import(new URL('../packages/core/dist/node.js', import.meta.url).href);
const tfjs = await import(new URL('../packages/backend-tfjs/dist/index.js', import.meta.url).href);
const { ARCHITECTURES, randomWeights } = await import('./random-sed-model.mjs');

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'B' },
    crop: { type: 'string', default: '384' },
    batch: { type: 'string', default: '1' },
    classes: { type: 'string', default: '171' },
    steps: { type: 'string', default: '2' },
    device: { type: 'string', default: 'cpu' },
    weights: { type: 'string' },
    config: { type: 'string' },
  },
});
const crop = Number(values.crop);
const B = Number(values.batch);
const T = Number(values.classes);
const steps = Number(values.steps);

let weights;
let arch;
if (values.weights) {
  weights = await coreNode.openWeightsFile(values.weights);
  const config = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : undefined;
  arch = core.architectureFromWeights(weights, config ? { config } : {}).architecture;
} else {
  arch = ARCHITECTURES[values.model];
  weights = randomWeights(arch, 1);
}
const architecture = { ...arch, decoder_pooling: [2, 2] };
const ops = await tfjs.createTrainingOps(values.device);

// a deterministic random batch: images, labels with some ignore pixels, text features
let s = 12345;
const rand = () => {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  return s / 2 ** 32;
};
const P = 80;
const D = architecture.embed_dim;
const text = Float32Array.from({ length: T * P * D }, () => rand() - 0.5);
const images = [];
const labels = [];
for (let b = 0; b < B; b++) {
  images.push({ width: crop, height: crop, data: Uint8Array.from({ length: crop * crop * 3 }, () => Math.floor(rand() * 256)) });
  labels.push({ width: crop, height: crop, data: Int32Array.from({ length: crop * crop }, () => (rand() < 0.1 ? 255 : Math.floor(rand() * T))) });
}

const trainer = await tfjs.SedTrainer.create({ ops, weights, architecture });
let parameters = 0;
for (const p of trainer.parameters.values()) parameters += p.data.length;
const times = [];
let peakRss = process.memoryUsage().rss;
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  const r = await trainer.step({ images, labels, text: { data: text, shape: [T, P, D] }, ignoreLabel: 255 });
  times.push((performance.now() - t0) / 1000);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  process.stderr.write(`step ${i}: ${times.at(-1).toFixed(1)} s, loss ${r.total.toFixed(4)}\n`);
}
trainer.dispose();
const rest = times.slice(1);
console.log(
  JSON.stringify(
    {
      bench: 'train-step',
      model: values.weights ?? `random SED-${values.model}`,
      tfjs_platform: ops.platform,
      crop,
      batch: B,
      classes: T,
      decoder_pooling: 2,
      trainable_parameters: parameters,
      first_step_s: times[0],
      seconds_per_iteration: rest.length > 0 ? rest.reduce((a, v) => a + v, 0) / rest.length : times[0],
      images_per_second: B / (rest.length > 0 ? rest.reduce((a, v) => a + v, 0) / rest.length : times[0]),
      peak_rss_mb: Math.round(peakRss / 2 ** 20),
      steps: times,
    },
    null,
    2,
  ),
);
