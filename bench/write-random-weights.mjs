/**
 * Writes the bench's random SED weights (random-sed-model.mjs, same seed, so the same values the
 * bench builds in-process) to a `.safetensors` file under the official checkpoint keys, plus its
 * architecture config beside it (`<name>.config.json`, where sedseg and `--config` look), so the
 * very same weights can be timed here (`sed-speed.bench.mjs --weights F`) and in the reference
 * implementation. Not a test.
 *
 *   npm run build && node bench/write-random-weights.mjs --out /tmp/sed-b-random.safetensors [--model B|L] [--seed 1] [--overwrite]
 *
 * For PyTorch: `torch.save({"model": safetensors.torch.load_file(F)}, "model.pth")` gives the
 * released checkpoints' container (see /work/shared/reference/README.md).
 */
import { basename } from 'node:path';

const core = await import(new URL('../packages/core/dist/index.js', import.meta.url).href);
const { configCandidates, writeFileAtomic, writeSafetensorsFile } = await import(new URL('../packages/core/dist/node.js', import.meta.url).href);
const { ARCHITECTURES, randomWeights } = await import('./random-sed-model.mjs');

/** Writes random SED-`size` weights to `out` and its config; returns both paths. */
export async function writeRandomWeights(out, { size = 'B', seed = 1, overwrite = false } = {}) {
  const arch = ARCHITECTURES[size];
  if (!arch) throw new Error(`unknown model size ${size} (B or L)`);
  if (!/\.safetensors$/i.test(out)) throw new Error(`--out must name a .safetensors file, got ${out}`);
  const store = randomWeights(arch, seed);
  // the released checkpoints also hold the unused logit_scale (ln 100): a strict load finds it
  const [logitScaleKey] = core.OPTIONAL_WEIGHTS.keys();
  const extra = new Map([[logitScaleKey, { dtype: 'float32', shape: [], data: Float32Array.of(Math.log(100)) }]]);
  const names = [...store.keys(), ...extra.keys()];
  const infos = names.map((name) => {
    const t = extra.get(name) ?? store.info(name);
    return { name, dtype: 'float32', shape: [...t.shape] };
  });
  async function* tensors() {
    for (const name of names) yield [name, extra.get(name) ?? (await store.read(name))];
  }
  const architecture = { ...arch };
  await writeSafetensorsFile(out, tensors(), {
    infos,
    metadata: {
      format: 'pt',
      'sedseg.source': `random SED-${size} (bench/random-sed-model.mjs, seed ${seed})`,
      'sedseg.architecture': JSON.stringify(architecture),
    },
    overwrite,
  });
  const config = configCandidates(out)[0];
  const description = `Random SED-${size} weights at the released sizes (seed ${seed}); speed and memory only, not a trained model.`;
  await writeFileAtomic(config, `${JSON.stringify({ name: basename(out), description, architecture }, null, 2)}\n`, { overwrite });
  return { weights: out, config };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const out = opt('out');
  if (!out) throw new Error('give --out FILE.safetensors');
  const t0 = performance.now();
  const written = await writeRandomWeights(out, { size: opt('model', 'B'), seed: Number(opt('seed', 1)), overwrite: args.includes('--overwrite') });
  process.stderr.write(`wrote ${written.weights} and ${written.config} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}
