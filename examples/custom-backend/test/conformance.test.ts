/**
 * The pure-JS backend through core's conformance kit (`@sedseg/core/conformance`): every operator
 * against the kit's float64 host references, the optional members as core's defaults.
 */
import { describe, expect, it } from 'vitest';
import { runOperatorChecks } from '@sedseg/core/conformance';
import { jsBackend } from '../src/js-backend.js';

describe('js backend: conformance kit', () => {
  it('passes every operator check', async () => {
    const report = await runOperatorChecks(() => jsBackend.create({ device: 'cpu' }));
    const failed = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
    expect(failed).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThan(20);
    console.log(`conformance: ${report.passed} operator checks passed in ${report.results.reduce((t, r) => t + r.ms, 0).toFixed(0)} ms`);
  });
});
