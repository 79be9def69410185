/**
 * `@sedseg/core/conformance`: the conformance kit for backend authors. Browser-safe (no `node:`
 * imports): `runConformance({ create, reference })` checks every operator of a backend against
 * exact host references and, given the reference data set, runs the tiny model on its golden
 * cases. See "Conformance kit" in the package README.
 */
import { runGoldenChecks, type ReferenceFiles } from './golden-checks.js';
import { runOperatorChecks } from './operator-checks.js';
import { report, type BackendFactory, type ConformanceReport, type ConformanceResult } from './report.js';

export { runOperatorChecks, expectValues, OPERATOR_CHECK_NAMES, CHECKED_MEMBERS, type OperatorCheckOptions } from './operator-checks.js';
export {
  runGoldenChecks,
  compareLabels,
  fetchReference,
  LABEL_MARGIN,
  CER_LABEL_TOLERANCE,
  type ReferenceFiles,
  type GoldenCheckOptions,
} from './golden-checks.js';
export { CONFORMANCE_TOLERANCE, withinTolerance, CheckFailure, type ConformanceResult, type ConformanceReport, type BackendFactory } from './report.js';
/** The float64 host reference implementations the operator checks compare against. */
export * as hostReference from './host-reference.js';

export interface ConformanceOptions {
  /** Makes the backend's operator set; called once for the operator checks and once for the golden cases. */
  create: BackendFactory;
  /** The reference data set; without it only the operator checks run. */
  reference?: ReferenceFiles;
  /** Golden cases to run (`case-01`, …; default: all the reference has). */
  cases?: readonly string[];
  /** CER top-k values of the golden cases to check (default: every top-k each case has). */
  topK?: readonly number[];
  /** Called with each result as soon as it is known. */
  onResult?(result: ConformanceResult): void;
  /** Runs only the operator checks whose name passes. */
  filter?(name: string): boolean;
}

/** The operator checks, then (with `reference`) the golden cases, in one report. */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const operators = await runOperatorChecks(options.create, {
    ...(options.onResult ? { onResult: options.onResult } : {}),
    ...(options.filter ? { filter: options.filter } : {}),
  });
  if (!options.reference) return operators;
  const golden = await runGoldenChecks(options.create, {
    reference: options.reference,
    ...(options.cases ? { cases: options.cases } : {}),
    ...(options.topK ? { topK: options.topK } : {}),
    ...(options.onResult ? { onResult: options.onResult } : {}),
  });
  return report([...operators.results, ...golden.results]);
}
