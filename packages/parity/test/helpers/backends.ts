/**
 * The backends every parity test runs on: every backend registered in core's registry once the
 * built-in packages are imported, on the cpu device — plus any plugin named in the environment
 * variable SEDSEG_PARITY_BACKENDS (comma-separated module paths or package names whose default
 * export is a backend definition), so a third-party backend runs the same golden tests.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertBackendDefinition, completeOps, listBackends, registerBackend, type Ops } from '@sedseg/core';
import '@sedseg/backend-tfjs';
import '@sedseg/backend-ort';

export interface ParityBackend {
  /** Name shown in test titles and error tables. */
  name: string;
  /** A fresh operator set (tensors of any type: tests only pass them back to the same ops). */
  create(): Promise<Ops<unknown>>;
}

for (const spec of (process.env.SEDSEG_PARITY_BACKENDS ?? '').split(',').filter(Boolean)) {
  const url = spec.startsWith('.') || isAbsolute(spec) ? pathToFileURL(resolve(spec)).href : spec;
  const mod = (await import(url)) as { default?: unknown };
  assertBackendDefinition(mod.default, spec);
  registerBackend(mod.default);
}

export const BACKENDS: readonly ParityBackend[] = listBackends()
  .filter((d) => d.devices.includes('cpu'))
  .map((d) => ({ name: d.name, create: async () => completeOps(await d.create({ device: 'cpu', threads: 2 })) }));
