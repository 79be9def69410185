import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the slowest test files first. Vitest orders files by the durations of the previous run
 * and, on a fresh clone (CI), by file size; a minutes-long file started last leaves one worker
 * running alone at the end. These are the files that take minutes here (measured on 2 cores),
 * slowest first; the others follow in Vitest's order.
 */
const SLOWEST = [
  'examples/web/test/browser.test.ts',
  'packages/parity/test/dump-case-03.test.ts',
  'packages/parity/test/decoder.test.ts',
  'packages/parity/test/dump-case-02.test.ts',
  'packages/cli/test/eval-golden.test.ts',
  'packages/parity/test/conformance.test.ts',
  'packages/parity/test/sed-model.test.ts',
];

const rank = (spec: TestSpecification): number => {
  const id = spec.moduleId.replaceAll('\\', '/');
  const i = SLOWEST.findIndex((path) => id.endsWith(path));
  return i < 0 ? SLOWEST.length : i;
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const ordered = sorted
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map(({ spec }) => spec);
    if (process.env.SEDSEG_TEST_ORDER) console.log(ordered.map((s) => s.moduleId).join('\n'));
    return ordered;
  }
}
