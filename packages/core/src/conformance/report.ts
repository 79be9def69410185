/**
 * Results of the conformance checks, and the tolerance they use.
 */
import type { BackendOps } from '../ops/ops.js';

/** One check's outcome. */
export interface ConformanceResult {
  /** `operators`: one operator against the host reference; `golden`: the tiny model on a golden case. */
  group: 'operators' | 'golden';
  /** What was checked, e.g. `conv2d depthwise 7×7 padding 3` or `case-01 labels`. */
  name: string;
  ok: boolean;
  /** Why it failed (one line); absent when it passed. */
  message?: string;
  /** Wall time of the check in milliseconds. */
  ms: number;
}

export interface ConformanceReport {
  passed: number;
  failed: number;
  /** In the order the checks ran. */
  results: ConformanceResult[];
}

/** Makes a fresh operator set of the backend under test (e.g. `() => definition.create({ device: 'cpu' })`). */
export type BackendFactory = () => Promise<BackendOps<unknown>> | BackendOps<unknown>;

/** Relative tolerance of the operator checks: |actual − expected| ≤ 1e-4 · max(1, |expected|). */
export const CONFORMANCE_TOLERANCE = 1e-4;

/** True when `actual` is within the conformance tolerance of `expected` (NaN never is). */
export function withinTolerance(actual: number, expected: number, tolerance = CONFORMANCE_TOLERANCE): boolean {
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
}

/** A check's own failure (the message becomes the result's `message`). */
export class CheckFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailure';
  }
}

export function report(results: ConformanceResult[]): ConformanceReport {
  const failed = results.filter((r) => !r.ok).length;
  return { passed: results.length - failed, failed, results };
}

/** One line from any thrown value. */
export function messageOf(e: unknown): string {
  const text = e instanceof Error ? (e instanceof CheckFailure ? e.message : `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`) : String(e);
  return text.split('\n')[0]!.trim() || 'failed';
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Runs one check, timing it and turning a throw into a failed result. */
export async function timed(group: ConformanceResult['group'], name: string, fn: () => Promise<void> | void): Promise<ConformanceResult> {
  const start = now();
  try {
    await fn();
    return { group, name, ok: true, ms: Math.round(now() - start) };
  } catch (e) {
    return { group, name, ok: false, message: messageOf(e), ms: Math.round(now() - start) };
  }
}
