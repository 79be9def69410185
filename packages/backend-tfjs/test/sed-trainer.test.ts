/**
 * SedTrainer on the tiny model: rectangular crops, a trainer rebuilt from saved state continues
 * exactly, and batch errors that name what is wrong.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticSample, type AdamWState, type SedArchitecture, type WeightStore } from '@sedseg/core';
import { openWeightsFile } from '@sedseg/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainingOps, SedTrainer, type TfjsOps, type TrainerBatch } from '../src/index.js';

const TINY = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/reference/tiny');
const T = 5;

let ops: TfjsOps;
let weights: WeightStore;
let architecture: SedArchitecture;
const text = Float32Array.from({ length: T * 80 * 64 }, (_, i) => Math.sin(i * 0.37));

function batch(width: number, height: number, index = 0): TrainerBatch {
  const s = syntheticSample(3, index, { width, height });
  return { images: [s.image], labels: [s.labels], text: { data: text, shape: [T, 80, 64] }, ignoreLabel: 255 };
}

beforeAll(async () => {
  ops = await createTrainingOps('cpu');
  weights = await openWeightsFile(resolve(TINY, 'model.pth'));
  const config = JSON.parse(readFileSync(resolve(TINY, 'config.json'), 'utf8'));
  architecture = { ...config.architecture, decoder_pooling: [2, 2] };
});
afterAll(async () => weights.close());

describe('SedTrainer', () => {
  it('trains on rectangular crops (sides multiples of 32)', async () => {
    const trainer = await SedTrainer.create({ ops, weights, architecture });
    const r = await trainer.step(batch(96, 64), { keepOutputs: true });
    expect(r.outputs!.map((o) => o.shape)).toEqual([
      [1, T, 16, 24],
      [1, T, 2, 3],
      [1, T, 4, 6],
      [1, T, 8, 12],
    ]);
    expect(Number.isFinite(r.total) && r.total > 0).toBe(true);
    expect(trainer.iteration).toBe(1);
    trainer.dispose();
  }, 60_000);

  it('rebuilt from its parameters, moments and iteration, continues bit for bit', async () => {
    const schedule = { maxIter: 10 };
    const a = await SedTrainer.create({ ops, weights, architecture, schedule });
    await a.step(batch(64, 64, 0));
    const parameters = new Map([...a.parameters].map(([k, p]) => [k, new Float32Array(p.data)]));
    const moments = new Map<string, AdamWState>([...a.moments].map(([k, m]) => [k, { m: new Float32Array(m.m), v: new Float32Array(m.v), step: m.step }]));
    await a.step(batch(64, 64, 1));
    const b = await SedTrainer.create({ ops, weights, architecture, schedule, parameters, moments, iteration: 1 });
    const rb = await b.step(batch(64, 64, 1));
    expect(rb.iteration).toBe(1);
    for (const [k, p] of a.parameters) expect(Buffer.from(b.parameters.get(k)!.data.buffer).equals(Buffer.from(p.data.buffer)), k).toBe(true);
    a.dispose();
    b.dispose();
  }, 60_000);

  it('refuses batches that do not fit, naming the problem', async () => {
    const trainer = await SedTrainer.create({ ops, weights, architecture });
    const good = batch(64, 64);
    await expect(trainer.step({ ...good, images: [] })).rejects.toThrow(/no images/);
    await expect(trainer.step(batch(64, 80))).rejects.toThrow(/image sides must be multiples of 32, got 64×80/);
    await expect(trainer.step({ ...good, labels: [{ width: 32, height: 32, data: new Uint8Array(1024) }] })).rejects.toThrow(
      /label map 0 is 32×32, its image is 64×64/,
    );
    const bad = new Uint8Array(64 * 64);
    bad[70] = 7;
    await expect(trainer.step({ ...good, labels: [{ width: 64, height: 64, data: bad }] })).rejects.toThrow(
      /label map 0: label value 7 at pixel 70 is neither a class \(0\.\.4\) nor the ignore label 255/,
    );
    expect(trainer.iteration).toBe(0);
    trainer.dispose();
    await expect(trainer.step(good)).rejects.toThrow(/disposed/);
  }, 60_000);
});
