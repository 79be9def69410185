import { expect } from 'vitest';
import { isSedsegError, type SedsegErrorCode } from '../../src/index.js';

/** Asserts that `run` fails with a one-line SedsegError of `code` whose message contains every fragment; returns the message. */
export async function expectSedsegError(run: () => unknown, code: SedsegErrorCode, ...fragments: string[]): Promise<string> {
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  if (!isSedsegError(error)) throw new Error(`expected a SedsegError ${code}, got ${String(error)}`);
  expect(error.code, error.message).toBe(code);
  for (const f of fragments) expect(error.message).toContain(f);
  expect(error.message).not.toContain('\n');
  return error.message;
}
