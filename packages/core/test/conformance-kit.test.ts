/**
 * The conformance kit's own pieces (the kit is run on real backends in packages/parity):
 * reading the reference data, the label rule, the tolerance, and a backend that cannot start.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  compareLabels,
  CHECKED_MEMBERS,
  OPERATOR_CHECK_NAMES,
  runConformance,
  runOperatorChecks,
  withinTolerance,
  hostReference as R,
} from '../src/conformance/index.js';
import { DEFAULTED_OPS, REQUIRED_OPS } from '../src/ops/composites.js';
import { referenceDirectory } from '../src/node/reference-directory.js';

const dir = mkdtempSync(join(tmpdir(), 'sedseg-conformance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('conformance kit', () => {
  it('referenceDirectory reads files below its folder, undefined when missing, refuses to leave it', async () => {
    mkdirSync(join(dir, 'tiny'));
    writeFileSync(join(dir, 'tiny', 'config.json'), '{"a":1}');
    const ref = referenceDirectory(dir);
    expect(new TextDecoder().decode(await ref.read('tiny/config.json'))).toBe('{"a":1}');
    expect(await ref.read('tiny/model.pth')).toBeUndefined();
    expect(await ref.read('nothing/here/at/all')).toBeUndefined();
    await expect(ref.read('../etc/passwd')).rejects.toThrow(/leaves the reference folder/);
    await expect(ref.read('/etc/passwd')).rejects.toThrow(/leaves the reference folder/);
  });

  it('compareLabels counts differing pixels and those where the golden margin is ≥ 1e-4', () => {
    const golden = Int32Array.of(0, 1, 2, 3, 4);
    const margins = Float32Array.of(1, 1e-5, 2e-4, 0.5, 0);
    expect(compareLabels(golden, margins, Int32Array.of(0, 0, 0, 3, 0))).toEqual({ differing: 3, differingConfident: 1, total: 5 });
    expect(() => compareLabels(golden, margins, Int32Array.of(0))).toThrow(/1 labels, expected 5/);
  });

  it('tolerance: 1e-4 relative above 1, absolute below; NaN never passes', () => {
    expect(withinTolerance(1000.09, 1000)).toBe(true);
    expect(withinTolerance(1000.11, 1000)).toBe(false);
    expect(withinTolerance(0.00009, 0)).toBe(true);
    expect(withinTolerance(0.00011, 0)).toBe(false);
    expect(withinTolerance(Number.NaN, 0)).toBe(false);
  });

  it('covers every Ops member, with unique check names', () => {
    for (const m of [...REQUIRED_OPS, ...DEFAULTED_OPS]) expect(CHECKED_MEMBERS).toContain(m);
    expect(new Set(OPERATOR_CHECK_NAMES).size).toBe(OPERATOR_CHECK_NAMES.length);
  });

  it('host references: exact GELU and PyTorch bilinear rules', () => {
    expect(R.gelu64(1)).toBeCloseTo(0.8413447460685429, 15);
    const x = { data: Float64Array.of(0, 1, 2, 3), shape: [1, 1, 2, 2] };
    expect([...R.resizeBilinear(x, 3, 3, true).data]).toEqual([0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
    expect([...R.resizeBilinear(x, 4, 4, false).data]).toEqual([0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
    expect([...R.resizeBilinear({ data: Float64Array.from({ length: 35 }, (_, i) => i), shape: [5, 7] }, 1, 1, false).data]).toEqual([17]);
  });

  it('a backend that cannot start, or lacks required members, is one failed result', async () => {
    const seen: string[] = [];
    const threw = await runConformance({ create: () => Promise.reject(new Error('no GPU here')), onResult: (r) => seen.push(r.name) });
    expect(threw).toMatchObject({ passed: 0, failed: 1 });
    expect(threw.results[0]!.message).toBe('no GPU here');
    expect(seen).toHaveLength(1);
    const partial = await runOperatorChecks(() => ({ name: 'half' }) as never);
    expect(partial.failed).toBe(1);
    expect(partial.results[0]!.message).toMatch(/does not implement constant, read, .* resizeBilinear/);
  });
});
