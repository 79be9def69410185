/**
 * `sedseg train-step` against the authors' training step (reference/train): one iteration of
 * the tiny model on the reference batch, compared with the tolerances of its README — losses
 * and grad norm 1e-5 relative, forward outputs 1e-4 (L2), gradients 1e-3 (L2), parameters after
 * the step within 0.05·lr of their group (+ 2 ulp).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosineLrFactor, memorySource, openSafetensors, parameterGroups, type WeightStore } from '@sedseg/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_DIR, runCliAsync } from './run-cli.js';

const TRAIN = join(REFERENCE_DIR, 'train');
const TINY = join(REFERENCE_DIR, 'tiny');

async function open(path: string): Promise<WeightStore> {
  return openSafetensors(memorySource(new Uint8Array(readFileSync(path)), path));
}

async function values(store: WeightStore, name: string): Promise<Float32Array> {
  return (await store.read(name)).data as Float32Array;
}

function relL2(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    n += b[i]! ** 2;
  }
  return Math.sqrt(d / n);
}

/** float32 spacing at |x|. */
function ulp(x: number): number {
  const e = Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -126)));
  return 2 ** (e - 23);
}

describe('sedseg train-step on the reference training step', () => {
  let dir: string;
  let ours: WeightStore;
  let expected: WeightStore;
  let train: { optimizer: { groups: { key: string; lr: number; weight_decay: number }[] }; trainable: { params_with_grad: string[] } };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sedseg-train-step-'));
    const out = join(dir, 'step.safetensors');
    const r = await runCliAsync(
      [
        'train-step',
        '--weights',
        join(TINY, 'model.pth'),
        '--config',
        join(TINY, 'config.json'),
        '--batch',
        join(TRAIN, 'batch.safetensors'),
        '--out',
        out,
        '--device',
        'cpu',
      ],
      { timeout: 240_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/one training step at iteration 0 on 2 image\(s\) of 256×256, 10 classes, 179 trainable tensors/);
    ours = await open(out);
    expected = await open(join(TRAIN, 'expected.safetensors'));
    train = JSON.parse(readFileSync(join(TRAIN, 'train.json'), 'utf8'));
  }, 300_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('losses and the gradient norm within 1e-5 relative', async () => {
    for (const name of [
      'loss/loss_sem_seg_0',
      'loss/loss_sem_seg_1',
      'loss/loss_sem_seg_2',
      'loss/loss_sem_seg_3',
      'loss/total',
      'grad_norm/total',
      'grad_norm/clip_coef',
    ]) {
      const want = (await values(expected, name))[0]!;
      const got = (await values(ours, name))[0]!;
      expect(Math.abs(got - want) / Math.abs(want), `${name}: ${got} vs ${want}`).toBeLessThan(1e-5);
    }
  });

  it('forward outputs and clip_vis_dense within 1e-4 (L2)', async () => {
    for (const name of ['forward/output_0', 'forward/output_1', 'forward/output_2', 'forward/output_3', 'forward/clip_vis_dense']) {
      expect(ours.info(name)?.shape, name).toEqual(expected.info(name)?.shape);
      expect(relL2(await values(ours, name), await values(expected, name)), name).toBeLessThan(1e-4);
    }
  });

  it('writes grad/ and after_step/ for exactly the trainable keys; recorded gradients within 1e-3 (L2)', async () => {
    const trainable = train.trainable.params_with_grad;
    expect(trainable).toHaveLength(179);
    expect(
      ours
        .keys()
        .filter((k) => k.startsWith('grad/'))
        .map((k) => k.slice(5))
        .sort(),
    ).toEqual([...trainable].sort());
    expect(
      ours
        .keys()
        .filter((k) => k.startsWith('after_step/'))
        .map((k) => k.slice(11))
        .sort(),
    ).toEqual([...trainable].sort());
    const recorded = expected.keys().filter((k) => k.startsWith('grad/'));
    expect(recorded.length).toBe(26);
    for (const name of recorded) expect(relL2(await values(ours, name), await values(expected, name)), name).toBeLessThan(1e-3);
  });

  it('parameters after the step within 0.05·lr of their group', async () => {
    const groups = new Map(train.optimizer.groups.map((g) => [g.key, g]));
    for (const name of expected.keys().filter((k) => k.startsWith('after_step/'))) {
      const key = name.slice('after_step/'.length);
      const lr = groups.get(key)!.lr;
      const got = await values(ours, name);
      const want = await values(expected, name);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - 2 * ulp(want[i]!));
      expect(worst / lr, key).toBeLessThanOrEqual(0.05);
    }
  });
});

describe('the training recipe (reference/train/train.json)', () => {
  const train = JSON.parse(readFileSync(join(TRAIN, 'train.json'), 'utf8')) as {
    optimizer: { groups: { key: string; lr: number; weight_decay: number }[]; weight_decay_zero: string[] };
    trainable: { params_with_grad: string[]; params_frozen: string[] };
    schedule: { lr_at_iteration: Record<string, [number, number]>; base_lrs: [number, number] };
  };

  it('trainable keys, learning rates and weight decays equal the authors’ groups', () => {
    const all = [...train.trainable.params_with_grad, ...train.trainable.params_frozen];
    const ours = parameterGroups(all);
    expect(ours.map((g) => g.key).sort()).toEqual(train.optimizer.groups.map((g) => g.key).sort());
    const wanted = new Map(train.optimizer.groups.map((g) => [g.key, g]));
    for (const g of ours) {
      const want = wanted.get(g.key)!;
      expect(g.lr, g.key).toBeCloseTo(want.lr, 15);
      expect(g.weightDecay, g.key).toBe(want.weight_decay);
    }
  });

  it('the cosine schedule gives the listed learning rates', () => {
    const [decoderLr, imageLr] = train.schedule.base_lrs;
    for (const [it, [want0, want1]] of Object.entries(train.schedule.lr_at_iteration)) {
      const f = cosineLrFactor(Number(it), { maxIter: 80_000 });
      expect(Math.abs(decoderLr * f - want0), `iteration ${it}`).toBeLessThanOrEqual(1e-12 * Math.max(want0, 1e-9) + 1e-20);
      expect(Math.abs(imageLr * f - want1), `iteration ${it}`).toBeLessThanOrEqual(1e-12 * Math.max(want1, 1e-9) + 1e-22);
    }
  });
});
