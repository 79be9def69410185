/**
 * Timings of a few SED-sized ops. Off by default (slow on the cpu backend); run with
 *   SEDSEG_TFJS_SPEED=cpu,wasm npx vitest run test/speed.test.ts
 * (add `cpu-stock` to time the stock tfjs cpu kernels too).
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { createTfjsOps, type TfjsOps } from '../src/index.js';
import { hostReference as R } from '@sedseg/core/conformance';

const wanted = (process.env.SEDSEG_TFJS_SPEED ?? '').split(',').filter(Boolean);

const CONFIGS = [
  { label: 'cpu', platform: 'cpu' as const, cpuKernels: true },
  { label: 'cpu-stock', platform: 'cpu' as const, cpuKernels: false },
  { label: 'wasm', platform: 'wasm' as const, cpuKernels: true },
].filter((c) => wanted.includes(c.label));

describe.skipIf(CONFIGS.length > 0)('speed', () => {
  it.skip('set SEDSEG_TFJS_SPEED=cpu,cpu-stock,wasm to time ops', () => undefined);
});

describe.each(CONFIGS)('speed on $label', (config) => {
  it('times SED-sized ops', { timeout: 1_800_000 }, async () => {
    const ops: TfjsOps = await createTfjsOps({ platform: config.platform, cpuKernels: config.cpuKernels });
    const r = R.rng(1);
    const c = (shape: number[]): Tensor => ops.constant(R.f32(R.rand(r, shape)), shape);
    const time = async (name: string, fn: () => Tensor, reps = 2): Promise<void> => {
      const ms: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        const y = fn();
        await ops.read(y);
        ms.push(performance.now() - t0);
        ops.dispose(y);
      }
      console.log(`[${config.label}] ${name}: ${ms.map((m) => m.toFixed(0)).join(' / ')} ms`);
    };
    const big = config.platform === 'cpu' ? 1 : 3;
    {
      const x = c([1, 128, 192, 192]);
      const w = c([128, 1, 9, 9]);
      const b = c([128]);
      await time('depthwise 9x9 pad 4 on [1,128,192,192] (+bias)', () => ops.conv2d(x, w, b, { padding: 4, groups: 128 }), big + 1);
      await time('transpose NCHW->NHWC [1,128,192,192]', () => ops.transpose(x, [0, 2, 3, 1]));
      await time('gelu [1,128,192,192]', () => ops.gelu(x));
      await time('add [1,128,192,192] + [1,128,1,1]', () => ops.add(x, ops.reshape(b, [1, 128, 1, 1])));
      const xt = ops.transpose(x, [0, 2, 3, 1]);
      await time('layerNorm last axis [1,192,192,128]', () => ops.layerNorm(xt, b, b, 1e-6));
      await time('linear [1,192,192,128] x [512,128]^T', () => ops.linear(xt, c([512, 128]), c([512])), big);
      await time('softmax last axis [1,192,192,128]', () => ops.softmax(xt, -1));
      await time('sum axis 1 of [1,128,192,192]', () => ops.sum(x, [1], true));
      await time('resizeBilinear [1,128,192,192] -> 384x384', () => ops.resizeBilinear(x, [384, 384], false));
      ops.dispose([x, xt, w, b]);
    }
    {
      const x = c([60, 160, 24, 24]);
      const w = c([64, 160, 3, 3]);
      await time('conv 3x3 pad 1 160->64 on [60,160,24,24]', () => ops.conv2d(x, w, undefined, { padding: 1 }), big + 1);
      const ct = c([160, 64, 2, 2]);
      await time('convTranspose 2x2 s2 160->64 on [60,160,24,24]', () => ops.convTranspose2d(x, ct, c([64]), 2));
      await time('groupNorm 10 groups on [60,160,24,24]', () => ops.groupNorm(x, 10, c([160]), c([160]), 1e-5));
      await time('gather 30 of 60 classes [60,160,24,24]', () =>
        ops.gather(
          x,
          Int32Array.from({ length: 30 }, (_, i) => 2 * i),
          0,
        ),
      );
      await time('avgPool 2 on [60,160,24,24]', () => ops.avgPool2d(x, 2));
      ops.dispose([x, w, ct]);
    }
    ops.clearCache();
  });
});
