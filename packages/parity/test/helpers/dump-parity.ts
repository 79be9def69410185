/**
 * End to end through the real CLI: `sedseg dump` on a golden case, then every stored golden
 * tensor compared (issue tolerance 1e-4 × max(1, max |golden|); masks exact; labels where the
 * reference margin ≥ 1e-4; CER labels ≤ 0.2% differing pixels).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors, type SafetensorsStore } from '@sedseg/core';
import { fileSource } from '@sedseg/core/node';
import { compareLabels, compareWithGolden, openCase, TINY_MODEL, type CaseName, type GoldenCase } from './golden.js';

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../../cli/dist/cli.js');
/**
 * Asynchronous on purpose: a dump takes minutes on the pure-JS backend, and a worker blocked that
 * long cannot answer Vitest's RPC (its 60 s timeout fails the run).
 */
const execFileAsync = promisify(execFile);

/** Registers the end-to-end parity tests of `sedseg dump --backend <backend>` on one case. */
export function describeDumpParity(caseName: CaseName, backend: string): void {
  describe(`sedseg dump --backend ${backend} on ${caseName}`, () => {
    const work = mkdtempSync(join(tmpdir(), 'sedseg-dump-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));
    let gcase: GoldenCase;
    let dumped: SafetensorsStore;
    let cliTime = 0;

    beforeAll(async () => {
      gcase = await openCase(caseName);
      const out = join(work, `${caseName}-${backend}.safetensors`);
      const t0 = performance.now();
      const r = await execFileAsync(
        process.execPath,
        [
          CLI,
          'dump',
          '--weights',
          TINY_MODEL,
          '--image',
          join(gcase.dir, 'image.png'),
          '--classes-file',
          join(gcase.dir, 'classes.json'),
          '--resolution',
          String(gcase.meta.resolution),
          ...gcase.meta.topk.flatMap((k) => ['--topk', String(k)]),
          // cases without `decoder_pooling` were made with the training config's [2, 2]; a case
          // at [1, 1] runs without the option: that is the CLI's default
          ...(gcase.meta.decoder_pooling?.[0] === 1 ? [] : ['--pooling', String(gcase.meta.decoder_pooling?.[0] ?? 2)]),
          '--backend',
          backend,
          '--out',
          out,
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      ).catch((e: { code?: number; stderr?: string }) => {
        throw new Error(`sedseg dump failed (${e.code}): ${e.stderr}`);
      });
      cliTime = performance.now() - t0;
      void r;
      dumped = (await openSafetensors(await fileSource(out))) as SafetensorsStore;
    });
    afterAll(async () => {
      await dumped?.close();
      await gcase?.close();
    });

    it('writes every golden tensor name, for all classes', () => {
      const missing = gcase.storedNames().filter((n) => dumped.info(n) === undefined);
      expect(missing).toEqual([]);
      expect(cliTime).toBeGreaterThan(0);
    });

    it('reproduces every float tensor within tolerance', async () => {
      const worst: string[] = [];
      for (const name of gcase.storedNames()) {
        const meta = gcase.meta.tensors[name]!;
        if (meta.dtype !== 'F32' || name === 'labels_margin') continue;
        const t = await dumped.read(name);
        const c = await compareWithGolden(gcase, name, { shape: t.shape, data: t.data as Float32Array });
        if (!c.ok) worst.push(`${name}: max |diff| ${c.maxAbs} > ${c.tolerance}`);
      }
      expect(worst).toEqual([]);
    });

    it('reproduces the CER masks exactly and the label maps', async () => {
      for (const name of gcase.storedNames()) {
        const meta = gcase.meta.tensors[name]!;
        if (meta.dtype !== 'U8') continue;
        const golden = await gcase.tensor(name);
        const mine = await dumped.read(name);
        expect([name, Array.from(mine.data as Uint8Array)]).toEqual([name, Array.from(golden.data as Uint8Array)]);
      }
      const labels = await compareLabels(gcase, 'labels', (await dumped.read('labels')).data as Int32Array);
      expect(labels.differingConfident).toBe(0);
      for (const k of gcase.meta.topk) {
        const cer = await compareLabels(gcase, `cer_top${k}_labels`, (await dumped.read(`cer_top${k}_labels`)).data as Int32Array);
        expect(cer.differing / cer.total).toBeLessThanOrEqual(0.002);
      }
    });
  });
}
