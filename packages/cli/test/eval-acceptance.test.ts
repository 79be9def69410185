/**
 * The full acceptance check of `sedseg eval` (several minutes on two cores, so not part of the
 * default suite: SEDSEG_EVAL_ACCEPTANCE=1 npx vitest run packages/cli/test/eval-acceptance.test.ts):
 * every image of both mini datasets (reference/eval), the full path and the CER top-8 path, with
 * the tiny model at R = 320. Per run: every label equals the reference's prediction except at
 * its near ties, the confusion counts differ from the reference's only there, both mIoU formulas
 * within 0.05 points of expected.json, and (CER) the classes kept per stage exactly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareWithGolden, golden, TINY_EVAL_ARGS } from './eval-golden.js';
import { runCliAsync } from './run-cli.js';

const ENABLED = process.env.SEDSEG_EVAL_ACCEPTANCE === '1';
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sedseg-eval-acceptance-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.skipIf(!ENABLED).each([
  ['ade150', 'full'],
  ['ade150', 'cer'],
  ['pc459', 'full'],
  ['pc459', 'cer'],
] as const)('acceptance: %s, %s path, every image', (dataset, path) => {
  it('matches the golden data up to near ties', async () => {
    const g = golden(`${dataset}-mini`);
    const out = join(work, `${dataset}-${path}.json`);
    const predictions = join(work, `${dataset}-${path}`);
    const r = await runCliAsync(
      [
        'eval',
        '--dataset',
        dataset,
        '--root',
        g.root,
        ...TINY_EVAL_ARGS,
        ...(path === 'cer' ? ['--topk', '8'] : []),
        '--out',
        out,
        '--save-predictions',
        predictions,
        '--cache-dir',
        join(work, 'cache'),
      ],
      { timeout: 600_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8'));
    const expected = path === 'full' ? g.full : g.cer_top8;
    expect(result.images).toHaveLength(g.images.length);
    const c = await compareWithGolden(g, path, result, predictions);
    expect(c.differingOutsideTies).toBe(0);
    expect(c.countsExplainedByTies).toBe(true);
    expect(Math.abs(result.metrics.mIoU - expected.mIoU_gt_classes_only)).toBeLessThan(0.05);
    expect(Math.abs(result.metrics.mIoU_v06 - expected.mIoU)).toBeLessThan(0.05);
    if (path === 'cer')
      expect(result.images.map((im: { kept_per_stage: number[] }) => im.kept_per_stage)).toEqual(g.images.map((im) => im.cer_top8.kept_per_stage));
    console.log(`${dataset} ${path}: ${JSON.stringify(c)}`);
  }, 600_000);
});
