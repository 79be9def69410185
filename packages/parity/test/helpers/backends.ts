/**
 * The backends every parity test runs on. A later backend package adds one entry here (and a
 * dependency in package.json); the tests themselves are written against `Ops` only.
 */
import type { Ops } from '@sedseg/core';
import { createTfjsOps } from '@sedseg/backend-tfjs';
import { createOrtOps } from '@sedseg/backend-ort';

export interface ParityBackend {
  /** Name shown in test titles and error tables. */
  name: string;
  /** A fresh `Ops` instance (tensors of any type: tests only pass them back to the same ops). */
  create(): Promise<Ops<unknown>>;
}

export const BACKENDS: readonly ParityBackend[] = [
  { name: 'tfjs', create: async () => (await createTfjsOps({ platform: 'cpu' })) as unknown as Ops<unknown> },
  { name: 'ort', create: async () => createOrtOps({ threads: 2 }) as unknown as Ops<unknown> },
];
