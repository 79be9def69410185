import type { Ops } from '@sedseg/core';
import { UsageError } from './usage-error.js';

export const BACKEND_NAMES = ['tfjs'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Creates a backend by its command-line name. */
export async function createBackend(name: string, command: string): Promise<Ops<unknown>> {
  switch (name) {
    case 'tfjs': {
      const { createTfjsOps } = await import('@sedseg/backend-tfjs');
      const ops = await createTfjsOps();
      // Production mode: no debug checks, and no "install tfjs-node" banner in the command's output.
      ops.tf.env().set('PROD', true);
      return ops as unknown as Ops<unknown>;
    }
    default:
      throw new UsageError(`unknown backend "${name}" (available: ${BACKEND_NAMES.join(', ')})`, command);
  }
}
