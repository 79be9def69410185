import { describe, expect, it } from 'vitest';
import { REFERENCE_DIR, runCliAsync } from './run-cli.js';

describe('sedseg conformance', () => {
  it('checks the ort backend: every operator and golden case-01, one line each, then the tally', async () => {
    const r = await runCliAsync(['conformance', '--backend', 'ort', '--threads', '1', '--reference', REFERENCE_DIR, '--cases', 'case-01']);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^conformance of backend "ort" on cpu \(1 thread\)$/);
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(r.code).toBe(0);
    const checks = lines.slice(1, -1);
    for (const line of checks) expect(line).toMatch(/^ok {3}(operators|golden)\/.+ \(\d+ ms\)$/);
    expect(checks).toContainEqual(expect.stringMatching(/^ok {3}operators\/conv2d depthwise 3×3 stride 2 padding 1 \(\d+ ms\)$/));
    expect(checks).toContainEqual(expect.stringMatching(/^ok {3}golden\/case-01 labels \(\d+ ms\)$/));
    expect(checks).toContainEqual(expect.stringMatching(/^ok {3}golden\/case-01 CER top-1 labels \(\d+ ms\)$/));
    expect(checks.some((l) => l.includes('case-02'))).toBe(false);
    expect(Number(lines.at(-1)!.split(' ')[0])).toBe(checks.length);
  });

  it('without --reference runs the operators only and says how to run the golden cases; --json', async () => {
    const r = await runCliAsync(['conformance', '--backend', 'ort', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      backend: string;
      device: string;
      golden: string;
      passed: number;
      failed: number;
      results: { group: string; ok: boolean }[];
    };
    expect(report).toMatchObject({ backend: 'ort', device: 'cpu', failed: 0 });
    expect(report.golden).toMatch(/skipped/);
    expect(report.results.every((x) => x.group === 'operators')).toBe(true);
    expect(report.passed).toBe(report.results.length);
  });

  it('refuses bad usage with a one-line message and exit code 2', async () => {
    const missing = await runCliAsync(['conformance']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^sedseg conformance: missing --backend NAME .*\(see "sedseg conformance --help"\)$/);
    const cases = await runCliAsync(['conformance', '--backend', 'ort', '--cases', 'case-01']);
    expect(cases.code).toBe(2);
    expect(cases.stderr).toContain('--cases needs --reference DIR');
    const bad = await runCliAsync(['conformance', '--backend', 'ort', '--reference', REFERENCE_DIR, '--cases', 'first']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--cases: "first" is not a case name');
    const help = await runCliAsync(['conformance', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: sedseg conformance --backend NAME/);
    expect(help.stdout).toContain('Examples:');
  });
});
