/**
 * Core's training arithmetic: AdamW in torch's order over several steps (bias corrections
 * change with the step; the reference step checks only the first), full-model clipping, the
 * one-hot targets with ignore pixels as all-zero rows.
 */
import { describe, expect, it } from 'vitest';
import { adamwStep, clipCoefficient, globalGradNorm, newAdamWState, semSegTargets } from '../src/index.js';

describe('AdamW (torch order, float32)', () => {
  it('follows the float64 closed form over 5 steps with weight decay', () => {
    const p = Float32Array.of(0.5, -1.25, 3, 0);
    const q = Array.from(p, Number);
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    const state = newAdamWState(4);
    const lr = 1e-3;
    const wd = 0.01;
    for (let t = 1; t <= 5; t++) {
      const g = Float32Array.of(0.1 * t, -0.02, 1e-9, -3 / t);
      adamwStep(p, g, state, lr, wd);
      for (let i = 0; i < 4; i++) {
        q[i] = q[i]! * (1 - lr * wd);
        m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! * g[i]!;
        const mh = m[i]! / (1 - 0.9 ** t);
        const vh = v[i]! / (1 - 0.999 ** t);
        q[i] = q[i]! - (lr * mh) / (Math.sqrt(vh) + 1e-8);
      }
    }
    expect(state.step).toBe(5);
    for (let i = 0; i < 4; i++) expect(Math.abs(p[i]! - q[i]!), `element ${i}`).toBeLessThan(1e-6);
  });

  it('refuses a gradient of another size', () => {
    expect(() => adamwStep(new Float32Array(3), new Float32Array(2), newAdamWState(3), 1e-3, 0)).toThrow(/parameter of 3 values, gradient 2/);
  });
});

describe('full-model gradient clipping', () => {
  it('is the L2 norm of the per-tensor norms and min(1, max / (total + 1e-6))', () => {
    const total = globalGradNorm([9, 16]);
    expect(total).toBe(5);
    expect(clipCoefficient(total, 0.01)).toBeCloseTo(0.01 / (5 + 1e-6), 15);
    expect(clipCoefficient(1e-3, 0.01)).toBe(1);
  });
});

describe('semSegTargets', () => {
  it('one-hot per class plane, ignore pixels all zero, other values refused', () => {
    const t = semSegTargets(Int32Array.of(0, 2, 255, 1), 3, 255);
    expect(Array.from(t)).toEqual([1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    expect(() => semSegTargets(Int32Array.of(0, 3), 3, 255, 'labels.png')).toThrow(
      /labels\.png: label value 3 at pixel 1 is neither a class \(0\.\.2\) nor the ignore label 255/,
    );
  });
});
