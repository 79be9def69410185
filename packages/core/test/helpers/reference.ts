import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/core/test/helpers/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** `../shared/reference` beside the repository (CI clones the repo with shared/ next to it). */
export const REFERENCE_DIR = resolve(REPO_ROOT, '../shared/reference');

export function referencePath(...parts: string[]): string {
  const p = resolve(REFERENCE_DIR, ...parts);
  if (!existsSync(p)) throw new Error(`reference file not found: ${p} (is ../shared beside the repository?)`);
  return p;
}

export function readReferenceJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(referencePath(...parts), 'utf8')) as T;
}
