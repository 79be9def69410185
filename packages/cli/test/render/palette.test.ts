import { describe, expect, it } from 'vitest';
import { classPalette } from '../../src/render/palette.js';

function minPairwiseDistance(p: Uint8Array): number {
  let min = Infinity;
  const n = p.length / 3;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const d = Math.hypot(p[i * 3]! - p[j * 3]!, p[i * 3 + 1]! - p[j * 3 + 1]!, p[i * 3 + 2]! - p[j * 3 + 2]!);
      if (d < min) min = d;
    }
  }
  return min;
}

describe('classPalette', () => {
  it('is deterministic and prefix-stable', () => {
    const a = classPalette(150);
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(450);
    expect(classPalette(150)).toEqual(a);
    const big = classPalette(847);
    expect(big.length).toBe(847 * 3);
    expect(big.subarray(0, 450)).toEqual(a);
    expect(classPalette(5)).toEqual(a.subarray(0, 15));
    expect(classPalette(0).length).toBe(0);
  });

  it('starts with the fixed hand-picked colours', () => {
    expect([...classPalette(4)]).toEqual([230, 25, 75, 60, 180, 75, 255, 225, 25, 0, 130, 200]);
  });

  it('keeps colours well separated', () => {
    expect(minPairwiseDistance(classPalette(20))).toBeGreaterThan(35);
    expect(minPairwiseDistance(classPalette(150))).toBeGreaterThan(25);
    expect(minPairwiseDistance(classPalette(300))).toBeGreaterThan(18);
    expect(minPairwiseDistance(classPalette(847))).toBeGreaterThan(12);
  });

  it('never gives black or near-black', () => {
    const p = classPalette(847);
    for (let i = 0; i < p.length; i += 3) expect(p[i]! + p[i + 1]! + p[i + 2]!).toBeGreaterThanOrEqual(128);
  });

  it('rejects an invalid count', () => {
    expect(() => classPalette(-1)).toThrow(/invalid count/);
    expect(() => classPalette(2.5)).toThrow(/invalid count/);
  });
});
