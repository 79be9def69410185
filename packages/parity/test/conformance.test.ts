/**
 * The conformance kit (`@sedseg/core/conformance`) on every backend under test: all operator
 * checks and the golden cases case-01 and case-04 pass. And the kit is not a rubber stamp: a
 * backend with a wrong GELU, a conv2d that ignores padding, or a class count baked into a
 * compiled stage fails exactly the checks that cover them.
 */
import { describe, expect, it } from 'vitest';
import { completeOps, DEFAULTED_OPS, REQUIRED_OPS, type BackendOps, type Conv2dOptions } from '@sedseg/core';
import { runConformance, runOperatorChecks, type ConformanceReport, type ConformanceResult } from '@sedseg/core/conformance';
import { referenceDirectory } from '@sedseg/core/node';
import { createTfjsOps } from '@sedseg/backend-tfjs';
import { createOrtOps } from '@sedseg/backend-ort';
import { BACKENDS } from './helpers/backends.js';
import { REFERENCE_DIR } from './helpers/golden.js';

const failures = (r: ConformanceReport): string[] => r.results.filter((x) => !x.ok).map((x) => `${x.group}/${x.name}: ${x.message}`);
const total = (r: ConformanceReport, group: ConformanceResult['group']): number => r.results.filter((x) => x.group === group).reduce((a, x) => a + x.ms, 0);

describe.each(BACKENDS.map((b) => [b.name, b] as const))('conformance kit on %s', (name, backend) => {
  it('passes every operator check and golden cases 01 and 04 (CER top-1; the dump tests cover every top-k)', async () => {
    const report = await runConformance({
      create: () => backend.create(),
      reference: referenceDirectory(REFERENCE_DIR),
      cases: ['case-01', 'case-04'],
      topK: [1],
    });
    console.log(
      `conformance ${name}: ${report.passed} passed, ${report.failed} failed; operators ${total(report, 'operators')} ms, golden ${total(report, 'golden')} ms`,
    );
    expect(failures(report)).toEqual([]);
    expect(report.failed).toBe(0);
    const golden = report.results.filter((r) => r.group === 'golden').map((r) => r.name);
    // model load + per case: labels, and kept classes + labels for top-1 only (topK: [1])
    expect(golden).toHaveLength(7);
    expect(golden).toContain('case-04 CER top-1 labels');
    expect(golden.some((g) => g.includes('top-8'))).toBe(false);
    expect(report.results.filter((r) => r.group === 'operators').length).toBeGreaterThan(50);
  });
});

/** Wraps a backend, replacing some members (the others bound to the original's complete operator set). */
function patched<T>(base: BackendOps<T>, name: string, members: Partial<BackendOps<T>>): BackendOps<T> {
  const ops = completeOps(base) as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { name };
  for (const k of [...REQUIRED_OPS, ...DEFAULTED_OPS, 'weight', 'runStage', 'preferredClassChunk']) {
    const v = ops[k];
    if (v !== undefined) out[k] = typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ops) : v;
  }
  return { ...(out as unknown as BackendOps<T>), ...members };
}

const failedNames = (r: ConformanceReport): string[] => r.results.filter((x) => !x.ok).map((x) => x.name);

describe('the kit fails broken backends', () => {
  it('tfjs with the tanh approximation of GELU', async () => {
    const create = async () => {
      const base = await createTfjsOps({ platform: 'cpu' });
      return patched(base, 'tfjs-tanh-gelu', {
        gelu: (x) =>
          base.tidy(() => {
            const tf = base.tf;
            const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
            return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
          }),
      });
    };
    const report = await runOperatorChecks(create, { filter: (n) => /^(gelu|relu|elu|add)/.test(n) });
    expect(failedNames(report)).toEqual(['gelu (exact erf form, not the tanh approximation)']);
    expect(report.results.find((r) => !r.ok)!.message).toMatch(/values off, worst at/);
    expect(report.passed).toBe(4); // start, add, relu, elu
  });

  it('ort with a conv2d that ignores padding', async () => {
    const create = () => {
      const base = createOrtOps({ threads: 1 });
      return patched(base, 'ort-no-padding', { conv2d: (x, w, b, o?: Conv2dOptions) => base.conv2d(x, w, b, { ...o, padding: 0 }) });
    };
    const report = await runOperatorChecks(create, { filter: (n) => n.startsWith('conv2d') || n.startsWith('avgPool2d') });
    const failed = failedNames(report);
    expect(failed).toContain('conv2d 3×3 padding 1 with bias');
    expect(failed).toContain('conv2d depthwise 7×7 padding 3');
    expect(failed).not.toContain('conv2d 1×1 with bias');
    expect(failed).not.toContain('conv2d 4×4 stride 4 (patchify)');
    expect(failed.filter((n) => n.startsWith('avgPool2d'))).toEqual([]); // its core default uses conv2d without padding
    expect(report.results.find((r) => r.name === 'conv2d 3×3 padding 1 with bias')!.message).toMatch(/shape \[2, 5, 5, 7\], expected \[2, 5, 7, 9\]/);
  });

  it('a backend whose sizeAsTensor keeps the first class count (what a graph compiled once would do)', async () => {
    const create = async () => {
      const base = await createTfjsOps({ platform: 'cpu' });
      const seen = new Map<number, number>();
      return patched(base, 'tfjs-baked-size', {
        sizeAsTensor: (x, axis) => {
          const a = axis < 0 ? axis + base.shape(x).length : axis;
          if (!seen.has(a)) seen.set(a, base.shape(x)[a]!);
          return base.constant(Float32Array.of(seen.get(a)!), [1]);
        },
      });
    };
    const report = await runOperatorChecks(create, { filter: (n) => n.startsWith('runStage') || n.startsWith('sizeAsTensor') });
    // the stage check catches it (5 classes averaged as 3); core's default variant is right
    expect(failedNames(report)).toEqual(['runStage with a class axis: 3 classes, then 5 (dynamic class counts)']);
    expect(report.results.find((r) => !r.ok)!.message).toMatch(/^[35] classes: mean over the classes/);
  });

  it('a backend missing a required member fails at the start, naming it', async () => {
    const report = await runOperatorChecks(async () => {
      const { softmax: _s, ...rest } = patched(createOrtOps({ threads: 1 }), 'no-softmax', {});
      return rest as BackendOps<unknown>;
    });
    expect(report.results).toHaveLength(1);
    expect(report.failed).toBe(1);
    expect(report.results[0]!.message).toMatch(/does not implement softmax/);
  });
});
