import { describe, expect, it } from 'vitest';
import { maskToIndices, topKSurvivors } from '../src/model/decoder-run/category-early-rejection.js';
import { readReferenceJson } from './helpers/reference.js';

interface CerResult {
  valid0: number[];
  valid1: number[];
  valid2: number[];
  keep: number[][];
  output: number[][][];
}
interface CerCase {
  num_classes: number;
  scores: Record<'stage0' | 'stage1' | 'stage2' | 'final', number[][][]>;
  results: Record<string, CerResult>;
}

const { cases } = readReferenceJson<{ cases: CerCase[] }>('cer-logic-cases.json');

/** Class-major flat scores of the given classes. */
function flat(maps: number[][][], classes: Int32Array): { data: Float32Array; pixels: number } {
  const pixels = maps[0]!.length * maps[0]![0]!.length;
  const data = new Float32Array(classes.length * pixels);
  classes.forEach((c, i) => {
    data.set(maps[c]!.flat(), i * pixels);
  });
  return { data, pixels };
}

describe('category early rejection selection', () => {
  const params = cases.flatMap((c, i) => Object.keys(c.results).map((k) => [i, k] as const));
  it.each(params)('case %i, %s reproduces the reference masks and output', (i, key) => {
    const c = cases[i]!;
    const expected = c.results[key]!;
    const k = Number(key.replace('top', ''));
    let live = Int32Array.from({ length: c.num_classes }, (_, j) => j);
    const keepRows: number[][] = [];
    (['stage0', 'stage1', 'stage2'] as const).forEach((stage, s) => {
      const { data, pixels } = flat(c.scores[stage], live);
      const valid = topKSurvivors(data, live.length, pixels, k);
      expect(Array.from(valid)).toEqual(expected[`valid${s}` as 'valid0']);
      live = live.filter((_, j) => valid[j] === 1);
      const row = new Array<number>(c.num_classes).fill(0);
      for (const j of live) row[j] = 1;
      keepRows.push(row);
    });
    expect(keepRows).toEqual(expected.keep);
    const kept = new Set(live);
    const output = c.scores.final.map((map, j) => map.map((r) => r.map((v) => (kept.has(j) ? 1 / (1 + Math.exp(-v)) : 0))));
    output.forEach((map, j) => {
      map.forEach((r, y) => {
        r.forEach((v, x) => {
          expect(v).toBeCloseTo(expected.output[j]![y]![x]!, 6);
        });
      });
    });
  });

  it('keeps everything when k ≥ classes and refuses k < 1', () => {
    expect(Array.from(topKSurvivors(new Float32Array([1, 2, 3]), 3, 1, 5))).toEqual([1, 1, 1]);
    expect(() => topKSurvivors(new Float32Array(3), 3, 1, 0)).toThrow(/positive integer/);
    expect(Array.from(maskToIndices(Uint8Array.from([0, 1, 1, 0, 1])))).toEqual([1, 2, 4]);
  });
});
