/**
 * `OnnxSessionOps` against a fake runtime (the real ones are tested in @sedseg/backend-ort):
 * the runtime is used only through the structural `OnnxRuntime` interface, one session is
 * compiled per stage signature whatever the class count, and `release` frees them.
 */
import { describe, expect, it } from 'vitest';
import { runStage, type Stage } from '@sedseg/core';
import { OnnxSessionOps, type LazyTensor, type OnnxRuntime, type OnnxRuntimeSession, type OnnxRuntimeTensor } from '../src/index.js';

class FakeTensor implements OnnxRuntimeTensor {
  constructor(
    readonly type: 'float32',
    readonly data: Float32Array,
    readonly dims: readonly number[],
  ) {}
}

/** Sessions that return their input `x` as every output (enough to follow the plumbing). */
function fakeRuntime() {
  const created: { model: Uint8Array; options: unknown }[] = [];
  let released = 0;
  const runtime: OnnxRuntime<{ tag: string }> = {
    InferenceSession: {
      async create(model, options): Promise<OnnxRuntimeSession> {
        created.push({ model, options });
        return {
          run: async (feeds, fetches) => Object.fromEntries(fetches.map((f) => [f, feeds.x!])),
          release: async () => void released++,
        };
      },
    },
    Tensor: FakeTensor,
  };
  return { runtime, created, released: () => released };
}

describe('OnnxSessionOps', () => {
  const stage: Stage<LazyTensor> = { name: 'relu', inputs: [{ name: 'x', classAxis: 0 }], outputs: ['y'], run: (o, i) => ({ y: o.relu(i.x!) }) };

  it('compiles one session per stage signature, with the given options, and releases them', async () => {
    const fake = fakeRuntime();
    const ops = new OnnxSessionOps({ runtime: fake.runtime, name: 'fake', sessionOptions: { tag: 'opts' } });
    for (const n of [1, 3]) {
      const x = ops.constant(
        Float32Array.from({ length: 2 * n }, (_, i) => i),
        [n, 2],
      );
      const out = await runStage(ops, stage, { x });
      expect(ops.shape(out.y!)).toEqual([n, 2]);
      expect(await ops.read(out.y!)).toEqual(Float32Array.from({ length: 2 * n }, (_, i) => i));
    }
    expect(fake.created.length).toBe(1);
    expect(fake.created[0]!.options).toEqual({ tag: 'opts' });
    expect(fake.created[0]!.model.length).toBeGreaterThan(0);
    expect(ops.sessionCount).toBe(1);
    await ops.release();
    expect(ops.sessionCount).toBe(0);
    expect(fake.released()).toBe(1);
    await expect(ops.read(ops.constant(new Float32Array(1), [1]))).resolves.toEqual(new Float32Array(1));
  });
});
