import type { Ops } from '@sedseg/core';
import { UsageError } from './usage-error.js';

export const BACKEND_NAMES = ['ort', 'tfjs'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/** ONNX Runtime: the fastest on a CPU server (each stage compiled once). */
export const DEFAULT_BACKEND: BackendName = 'ort';

export interface BackendOptions {
  /** Intra-op threads (ort); tfjs chooses its own. */
  threads?: number;
}

/** Checks a `--backend` value (usage error naming the choices). */
export function backendName(value: string | undefined, command: string): BackendName {
  const name = value ?? DEFAULT_BACKEND;
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`unknown backend "${name}" (available: ${BACKEND_NAMES.join(', ')})`, command);
  }
  return name as BackendName;
}

/** Creates a backend by its command-line name. */
export async function createBackend(name: string, command: string, options: BackendOptions = {}): Promise<Ops<unknown>> {
  switch (backendName(name, command)) {
    case 'ort': {
      const { createOrtOps } = await import('@sedseg/backend-ort');
      return createOrtOps(options.threads !== undefined ? { threads: options.threads } : {}) as unknown as Ops<unknown>;
    }
    case 'tfjs': {
      const { createTfjsOps } = await import('@sedseg/backend-tfjs');
      const ops = await createTfjsOps();
      // Production mode: no debug checks, and no "install tfjs-node" banner in the command's output.
      ops.tf.env().set('PROD', true);
      return ops as unknown as Ops<unknown>;
    }
  }
}
