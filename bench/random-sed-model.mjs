/**
 * A SED model with random weights at the released sizes (SED-B: ConvNeXt-B CLIP, SED-L:
 * ConvNeXt-L CLIP), built in-process from the architecture — no checkpoint file needed. Speed
 * and memory only: the values mean nothing (random weights keep most classes through CER).
 */
const core = await import(new URL('../packages/core/dist/index.js', import.meta.url).href);

const COMMON = {
  context_length: 77,
  vocab_size: 49408,
  text_layers: 12,
  text_head_dim: 64,
  decoder_hidden_dim: 128,
  decoder_dims: [64, 32, 16],
  decoder_guidance_proj_dims: [32, 16, 8],
  decoder_heads: 4,
  decoder_kernel_size: [9, 9, 9],
  decoder_pooling: [2, 2],
  prompt_channel: 80,
};

/** Architectures of the released checkpoints (DESIGN.md §3). */
export const ARCHITECTURES = {
  B: {
    ...COMMON,
    image_depths: [3, 3, 27, 3],
    image_dims: [128, 256, 512, 1024],
    embed_dim: 640,
    image_proj: 'linear',
    text_width: 640,
    text_heads: 10,
    decoder_guidance_dims: [512, 256, 128],
  },
  L: {
    ...COMMON,
    image_depths: [3, 3, 27, 3],
    image_dims: [192, 384, 768, 1536],
    embed_dim: 768,
    image_proj: 'mlp',
    text_width: 768,
    text_heads: 12,
    decoder_guidance_dims: [768, 384, 192],
  },
};

/** Deterministic pseudo-random numbers (xorshift32), roughly N(0, 1) by summing uniforms. */
function gaussianFiller(seed) {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  return () => u() + u() + u() - 1.5; // variance 1/4
}

/** How a tensor is filled: constants for norm weights and layer-scale gammas, random values otherwise. */
function fillKind(name, shape) {
  const isNormWeight = /norm|ln_|\.1\.weight$/.test(name) && shape.length === 1 && name.endsWith('weight');
  if (isNormWeight) return 'ones';
  if (/gamma$/.test(name)) return 'half';
  return 'random';
}

/**
 * The generator's state at the start of every tensor when one generator fills all of them in
 * order: any tensor can then be made alone, with the very values of the sequential fill.
 */
function generatorStates(shapes, seed) {
  let s = seed >>> 0 || 1;
  const states = new Map();
  for (const [name, shape] of shapes) {
    states.set(name, s >>> 0);
    if (fillKind(name, shape) !== 'random') continue;
    const draws = 3 * shape.reduce((a, b) => a * b, 1); // three uniforms per value
    for (let i = 0; i < draws; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
    }
  }
  return states;
}

/** One tensor, scaled like a trained network (≈ 1/√fan-in). */
function randomTensor(name, shape, state) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const kind = fillKind(name, shape);
  if (kind === 'ones') data.fill(1);
  else if (kind === 'half') data.fill(0.5);
  else {
    const next = gaussianFiller(state);
    const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 0;
    const scale = fanIn > 0 ? 2 / Math.sqrt(fanIn) : 0.02;
    for (let i = 0; i < n; i++) data[i] = next() * scale;
  }
  return { dtype: 'float32', shape, data };
}

/**
 * A weight store with every tensor of `arch`, each made when it is read (like a file, the store
 * holds no tensor: a model that drops a tensor — the text tower between encodings — really frees
 * it). The values are those of one generator filling every tensor in order from `seed`.
 */
export function randomWeights(arch, seed = 1) {
  const shapes = new Map(core.expectedWeightShapes(arch));
  const states = generatorStates(shapes, seed);
  const source = `random SED-${arch.embed_dim === 640 ? 'B' : 'L'}`;
  return {
    source,
    format: 'memory',
    keys: () => [...shapes.keys()],
    info: (name) => (shapes.has(name) ? { name, dtype: 'float32', shape: shapes.get(name) } : undefined),
    async read(name) {
      const shape = shapes.get(name);
      if (shape === undefined) throw new Error(`${source}: no tensor named "${name}"`);
      return randomTensor(name, shape, states.get(name));
    },
    async close() {},
  };
}

/** Loads a random model of `size` ('B' | 'L') on `backend`. */
export async function randomSedModel(size, backend) {
  const arch = ARCHITECTURES[size];
  if (!arch) throw new Error(`unknown model size ${size} (B or L)`);
  const { loadDefaultTokenizer } = await import(new URL('../packages/core/dist/node.js', import.meta.url).href);
  const weights = randomWeights(arch); // holds no tensor: reopening it is using it again
  return core.SedModel.load(weights, {
    backend,
    // like loadSedModel: the text tower is made again when class names must be encoded
    reopenWeights: async () => weights,
    tokenizer: await loadDefaultTokenizer(),
    config: { architecture: { text_heads: arch.text_heads, decoder_heads: 4, decoder_pooling: [2, 2] } },
  });
}

/** A random RGB image (the 640×853). */
export function randomImage(width = 853, height = 640, seed = 7) {
  const next = gaussianFiller(seed);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, 128 + next() * 200));
  return { width, height, data };
}
