/**
 * Core's conformance kit on `createWebOps({ device: 'wasm' })`: onnxruntime-web's Node build runs
 * the wasm execution provider, so the same graphs the browser runs are checked here against the
 * host references and the tiny model's golden cases.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runGoldenChecks, runOperatorChecks, type ConformanceReport } from '@sedseg/core/conformance';
import { referenceDirectory } from '@sedseg/core/node';
import { createWebOps } from '../src/index.js';

const REFERENCE_DIR = fileURLToPath(new URL('../../../../shared/reference', import.meta.url));
const failures = (r: ConformanceReport): string[] => r.results.filter((x) => !x.ok).map((x) => `${x.group}/${x.name}: ${x.message}`);
const ms = (r: ConformanceReport): number => Math.round(r.results.reduce((a, x) => a + x.ms, 0));
const create = () => createWebOps({ device: 'wasm', threads: 1 });

describe('conformance kit on ort-web (wasm, Node)', () => {
  it('passes every operator check', async () => {
    const report = await runOperatorChecks(create);
    console.log(`ort-web wasm operators: ${report.passed} passed, ${report.failed} failed, ${ms(report)} ms`);
    expect(failures(report)).toEqual([]);
    expect(report.passed).toBeGreaterThan(50);
  });

  it.each(['case-01', 'case-04'])('golden %s', async (name) => {
    const report = await runGoldenChecks(create, { reference: referenceDirectory(REFERENCE_DIR), cases: [name] });
    console.log(`ort-web wasm golden ${name}: ${report.passed} passed, ${report.failed} failed, ${ms(report)} ms`);
    expect(failures(report)).toEqual([]);
    expect(report.passed).toBeGreaterThanOrEqual(2);
  });
});
