import { describe, expect, it } from 'vitest';
import { estimateSegmentMemory, maxResolution, parameterCounts, MAX_TENSOR_BYTES, type SegmentMemoryRequest } from '../src/index.js';
import type { SedArchitecture } from '../src/architecture/sed-architecture.js';

/** The released architectures (DESIGN.md §3; as bench/random-sed-model.mjs builds them). */
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
const SED_B: SedArchitecture = {
  ...COMMON,
  image_depths: [3, 3, 27, 3],
  image_dims: [128, 256, 512, 1024],
  embed_dim: 640,
  image_proj: 'linear',
  text_width: 640,
  text_heads: 10,
  decoder_guidance_dims: [512, 256, 128],
};
const SED_L: SedArchitecture = {
  ...COMMON,
  image_depths: [3, 3, 27, 3],
  image_dims: [192, 384, 768, 1536],
  embed_dim: 768,
  image_proj: 'mlp',
  text_width: 768,
  text_heads: 12,
  decoder_guidance_dims: [768, 384, 192],
};
const MODELS = { B: SED_B, L: SED_L };

const MiB = 2 ** 20;
const estimate = (over: Partial<SegmentMemoryRequest> = {}) =>
  estimateSegmentMemory({ architecture: SED_B, resolution: 768, classes: 150, pooling: 1, classChunk: 2, ...over });

describe('estimateSegmentMemory', () => {
  it('counts the parameters of the released models exactly', () => {
    expect(parameterCounts(SED_B)).toEqual({ imageEncoder: 88_221_824, textEncoder: 91_163_520, decoder: 1_376_396, total: 180_761_740 });
    expect(parameterCounts(SED_L)).toEqual({ imageEncoder: 199_770_816, textEncoder: 123_650_304, decoder: 1_473_164, total: 324_894_284 });
    expect(estimate().parts.weightsHost).toBe((180_761_740 - 91_163_520) * 4);
    expect(estimate().parts.textHost).toBe(91_163_520 * 4);
  });

  /**
   * Peak RSS (MiB) measured with `node bench/sed-speed.bench.mjs --path full --runs 1` (ort CPU,
   * 2 threads, random weights at the released sizes, a 853×640 image, class chunk 2, class
   * embeddings given: no text tower), on a shared 2-core machine, 2025; `text`: the same run
   * after encoding the 150 class names (`model.encodeClasses`, a probe script). The estimate is
   * for `SedModel.segment`, which also keeps the embedding cache's copy of the class embeddings
   * (+T·80·D·4 bytes over the bench): it may exceed the bench by a little more than otherwise.
   * Until the text tower was loaded lazily the bench's model held its host weights throughout
   * (`textWeightsAlwaysLoaded`); `lazy` points were measured after that change.
   */
  const MEASURED: {
    model: 'B' | 'L';
    R: number;
    T: number;
    p: number;
    mib: number;
    text?: boolean;
    topK?: number;
    chunk?: number;
    lazy?: boolean;
    source: string;
  }[] = [
    { model: 'B', R: 384, T: 150, p: 1, mib: 2096, source: 'bench, this change' },
    { model: 'B', R: 384, T: 150, p: 2, mib: 2079, source: 'bench, this change' },
    { model: 'B', R: 768, T: 150, p: 1, mib: 3008, source: 'bench, this change' },
    { model: 'B', R: 768, T: 150, p: 2, mib: 2549, source: 'bench, this change (earlier run: 2.59 GB)' },
    { model: 'B', R: 384, T: 847, p: 1, mib: 2983, source: 'bench, this change' },
    { model: 'B', R: 384, T: 847, p: 2, mib: 2453, source: 'bench, this change (earlier run: 2.42 GB)' },
    { model: 'L', R: 768, T: 150, p: 2, mib: 4170, source: 'bench, earlier run (4.17 GB)' },
    { model: 'L', R: 384, T: 150, p: 1, mib: 3707, source: 'bench, this change' },
    { model: 'B', R: 384, T: 150, p: 2, mib: 2781, text: true, source: 'with the text tower: a probe running encodeClasses(150 names) then the bench run' },
    // checked after the formula was fitted on the points above
    { model: 'B', R: 512, T: 300, p: 1, mib: 2519, source: 'bench, this change' },
    { model: 'B', R: 1024, T: 150, p: 2, mib: 3249, source: 'bench, this change' },
    { model: 'B', R: 384, T: 150, p: 1, mib: 2155, topK: 8, source: 'bench --path k8, this change' },
    { model: 'B', R: 768, T: 150, p: 2, mib: 3758, chunk: 16, source: 'bench --chunk 16, this change' },
    // T = 847 at R = 768 streams the class attention of every layer (the points measured before that
    // change, 6968 MiB at pooling 1 and 4530 at pooling 2, no longer apply); mem-13 branch, 2026-12-05:
    { model: 'B', R: 768, T: 847, p: 1, mib: 3145, source: 'bench, layer 2 input recomputed (full path)' },
    { model: 'B', R: 768, T: 847, p: 1, mib: 3283, topK: 8, source: 'bench --path k8 (527/525/525 classes kept)' },
    // the text tower loaded only when needed (the bench's model never runs it), glibc's default malloc
    // settings (bench --malloc default), 2026-12-05:
    { model: 'B', R: 768, T: 847, p: 1, mib: 2827, lazy: true, source: 'bench, text tower on demand' },
    { model: 'B', R: 768, T: 847, p: 1, mib: 2920, topK: 8, lazy: true, source: 'bench --path k8 (527/525/525 kept), text tower on demand' },
    { model: 'B', R: 768, T: 150, p: 1, mib: 2705, lazy: true, source: 'bench, text tower on demand, merge on the pooled features' },
    { model: 'B', R: 768, T: 150, p: 2, mib: 2235, lazy: true, source: 'bench, text tower on demand' },
  ];

  it.each(MEASURED)(
    'is within −10 %…+25 % of the measured peak: SED-$model R=$R T=$T pooling $p: $mib MiB ($source)',
    ({ model, R, T, p, mib, text, topK, chunk, lazy }) => {
      const e = estimateSegmentMemory({
        architecture: MODELS[model],
        resolution: R,
        classes: T,
        pooling: p,
        classChunk: chunk ?? 2,
        ...(topK !== undefined ? { topK } : {}),
        textEncoder: text ?? false,
        textWeightsAlwaysLoaded: lazy !== true,
        image: { width: 853, height: 640 },
      });
      const ratio = e.bytes / MiB / mib;
      expect(ratio).toBeGreaterThan(0.9);
      expect(ratio).toBeLessThan(1.25);
    },
  );

  /**
   * Where a layer's class attention switches from every class at once to streaming over the
   * chunks (its pooled features over 48 Mi values), the memory drops (measured, R = 768, T = 150,
   * pooling 1: 3019 MB at once, 2386 MB streamed — bench/README.md): the estimate grows with R and
   * T between the switches.
   */
  it('grows with the resolution and the class count between the streaming switches, and with smaller pooling', () => {
    let previous = 0;
    // T = 150, pooling 1: layer 2 streams from R = 832, layers 1–2 from 1184, every layer from 1664
    for (const [from, to] of [
      [32, 800],
      [832, 1152],
      [1184, 1632],
      [1664, 2048],
    ] as const) {
      previous = 0;
      for (let R = from; R <= to; R += 32) {
        const b = estimate({ resolution: R }).bytes;
        expect(b, `R = ${R}`).toBeGreaterThan(previous);
        previous = b;
      }
    }
    // R = 768, pooling 1: layer 2 streams from T = 171, layers 1–2 from 342, every layer from 683
    for (const Ts of [
      [1, 2, 3, 10, 100, 150, 170],
      [171, 200, 341],
      [342, 459, 682],
      [683, 847, 2000],
    ]) {
      previous = 0;
      for (const T of Ts) {
        const b = estimate({ classes: T }).bytes;
        expect(b, `T = ${T}`).toBeGreaterThan(previous);
        previous = b;
      }
    }
    expect(estimate({ classes: 171 }).bytes).toBeLessThan(estimate({ classes: 170 }).bytes);
    expect(estimate({ pooling: 1 }).bytes).toBeGreaterThan(estimate({ pooling: 2 }).bytes);
    expect(estimate({ classChunk: 32 }).bytes).toBeGreaterThan(estimate({ classChunk: 2 }).bytes);
    expect(estimate({ textEncoder: true }).bytes).toBeGreaterThan(estimate({ textEncoder: false }).bytes);
    // the text tower released after use (the CLI): the decoder runs without its host and session copies
    const kept = estimate({ classes: 847, textEncoder: true });
    const released = estimate({ classes: 847, textEncoder: true, textEncoderKept: false });
    expect(kept.phase).toBe('decoder');
    expect(kept.bytes - released.bytes).toBe(released.parts.textHost + released.parts.textEncoder);
    expect(released.parts.textHost).toBe(91_163_520 * 4);
    expect(estimate({ classes: 847, textEncoder: false }).bytes).toBe(released.bytes);
    expect(estimate({ classes: 847, textEncoder: false, textWeightsAlwaysLoaded: true }).bytes - released.bytes).toBe(91_163_520 * 4);
    expect(estimateSegmentMemory({ architecture: SED_L, resolution: 768, classes: 150, pooling: 1, classChunk: 2 }).bytes).toBeGreaterThan(estimate().bytes);
  });

  it('grows with T by the per-class tensors held for every class (the documented slope)', () => {
    const h2 = (768 / 32) ** 2;
    const slope = estimate({ classes: 848, textEncoder: false }).bytes - estimate({ classes: 847, textEncoder: false }).bytes;
    // every layer streamed, layer 2's input recomputed: the cost map 80·h² + layer 1's input 256·h²
    // floats, + two copies of the class embedding (80 × 640)
    expect(slope).toBe((80 + 256) * h2 * 4 + 2 * 80 * 640 * 4);
    // with CER nothing is recomputed: the cost map + layer 2's input 512·h²
    const slopeCer = estimate({ classes: 848, topK: 8 }).bytes - estimate({ classes: 847, topK: 8 }).bytes;
    expect(slopeCer).toBe((80 + 512) * h2 * 4 + 2 * 80 * 640 * 4);
    // pooling 2: layer 2 streamed, layer 1 at once (its input, pooled and attended copies: 512·h²)
    const slope2 = estimate({ classes: 848, pooling: 2 }).bytes - estimate({ classes: 847, pooling: 2 }).bytes;
    expect(slope2).toBe((80 + 512) * h2 * 4 + 2 * 80 * 640 * 4);
    // T = 150, pooling 1: every class at once in layer 2 (input 512·h², pooled and attended 2048·h²)
    const slope150 = estimate({ classes: 150 }).bytes - estimate({ classes: 149 }).bytes;
    expect(slope150).toBe((80 + 512 + 2048) * h2 * 4 + 2 * 80 * 640 * 4);
    expect(estimate({ classes: 847 }).phase).toBe('decoder');
    expect(estimate({ resolution: 384, classes: 20 }).phase).toBe('image encoder');
  });

  it('counts probabilities at image size and the CER worst case', () => {
    const image = { width: 4000, height: 3000 };
    const labels = estimate({ image });
    const probs = estimate({ image, probabilities: true });
    expect(probs.parts.postprocess - labels.parts.postprocess).toBe(150 * 4000 * 3000 * 4);
    expect(probs.phase).toBe('post-processing');
    expect(probs.bytes).toBeGreaterThan(labels.bytes);
    expect(probs.bytes).toBeGreaterThan(probs.parts.weightsHost + 150 * 4000 * 3000 * 4);
    expect(estimate({ topK: 8 }).bytes).toBeGreaterThanOrEqual(estimate().bytes);
    expect(estimate({ topK: 8 }).parts.logits).toBeGreaterThan(estimate().parts.logits);
  });

  it('knows the largest meaningful resolution (no tensor of 2^31 bytes)', () => {
    expect(MAX_TENSOR_BYTES).toBe(2 ** 31);
    expect(maxResolution(SED_B)).toBe(4064); // stage-0 MLP: 4·128·(R/4)²·4 = 128·R² bytes < 2^31
    expect(maxResolution(SED_L)).toBe(3328); // 192·R² < 2^31
    expect(maxResolution(SED_B, 150)).toBe(4064);
    expect(maxResolution(SED_B, 847)).toBe(3168); // logits 847·(R/4)²·4 < 2^31
    expect(estimate({ resolution: 4064 }).largestTensor.bytes).toBeLessThan(2 ** 31);
    expect(estimate({ resolution: 4064 }).largestTensor.name).toMatch(/stage-0 MLP hidden layer \[1, 512, 1016, 1016\]/);
    expect(() => estimateSegmentMemory({ architecture: SED_L, resolution: 3328, classes: 150, pooling: 1, classChunk: 2 })).not.toThrow();
  });

  it('refuses impossible requests with a one-line SedsegError naming the value', () => {
    const refused = (over: Partial<SegmentMemoryRequest>): string => {
      try {
        estimate(over);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('E_ARGUMENT');
        expect((e as Error).message).not.toContain('\n');
        return (e as Error).message;
      }
      throw new Error(`not refused: ${JSON.stringify(over)}`);
    };
    expect(refused({ resolution: 4096 })).toBe(
      'resolution 4096 is too large: the image encoder stage-0 MLP hidden layer [1, 512, 1024, 1024] would take 2.0 GiB, over the 2 GiB a tensor may hold; the largest usable resolution for 150 classes with this model is 4064',
    );
    expect(refused({ resolution: 99968 })).toMatch(
      /^resolution 99968 is too large: the image encoder stage-0 MLP hidden layer \[1, 512, 24992, 24992\] would take 1\.2 TiB, .* is 4064$/,
    );
    expect(refused({ resolution: 3200, classes: 847 })).toMatch(
      /^resolution 3200 is too large: the logits \[1, 847, 800, 800\] would take 2\.0 GiB, .* for 847 classes .* is 3168$/,
    );
    expect(refused({ resolution: 100 })).toMatch(/resolution must be a positive multiple of 32, got 100/);
    expect(refused({ resolution: 0 })).toMatch(/got 0/);
    expect(refused({ classes: 0 })).toMatch(/class count must be a positive integer, got 0/);
    expect(refused({ pooling: 5 })).toMatch(/decoder pooling 5 does not divide the first decoder map \(48×48 at resolution 768\)/);
    expect(refused({ classChunk: 1.5 })).toMatch(/class chunk must be a positive integer, got 1\.5/);
    expect(refused({ topK: 0 })).toMatch(/CER top-k/);
    expect(refused({ image: { width: 0, height: 10 } })).toMatch(/image width/);
    expect(refused({ classes: 847, probabilities: true, image: { width: 4000, height: 3000 } })).toMatch(/probabilities for 847 classes at 4000×3000/);
  });
});
