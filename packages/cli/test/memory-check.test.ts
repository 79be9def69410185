/** `segment` refuses a run whose estimated peak memory is above the limit, before it starts. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REFERENCE_DIR, runCli } from './run-cli.js';
import { maxMemoryOption } from '../src/memory-check.js';

const TINY = resolve(REFERENCE_DIR, 'tiny/model.pth');
const IMAGE = resolve(REFERENCE_DIR, 'tiny/case-01/image.png');
const work = mkdtempSync(join(tmpdir(), 'sedseg-memory-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sedseg segment: memory limit', () => {
  it('a run estimated above --max-memory is refused in one line naming the estimate and what lowers it; nothing is created', () => {
    const out = join(work, 'out');
    const r = runCli(['segment', IMAGE, '--weights', TINY, '--classes', 'car, road', '--resolution', '2048', '--max-memory', '1', '--no-cache', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^sedseg: error: this run \(R=2048, 2 classes, pooling 1\) needs about \d+\.\d GiB \(estimated peak, in the decoder\), more than the --max-memory of 1\.0 GiB; try --pooling 2, a lower --resolution, fewer classes$/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('the same run within the limit goes ahead and records the estimate', () => {
    const out = join(work, 'ok');
    const r = runCli([
      'segment',
      IMAGE,
      '--weights',
      TINY,
      '--classes',
      'car, road',
      '--resolution',
      '64',
      '--max-memory',
      '8',
      '--no-cache',
      '--out',
      out,
      '--format',
      'json',
    ]);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'image.json'), 'utf8'));
    expect(json.memory_estimate_bytes).toBeGreaterThan(300 * 2 ** 20);
  });

  it('--max-memory must be a positive number of GiB', () => {
    expect(maxMemoryOption('2.5', 'segment')).toEqual({ bytes: 2.5 * 2 ** 30, given: true });
    expect(maxMemoryOption(undefined, 'segment').given).toBe(false);
    for (const bad of ['0', '-1', 'lots', '1e3']) expect(() => maxMemoryOption(bad, 'segment')).toThrow(/--max-memory must be a positive number of GiB/);
  });
});
