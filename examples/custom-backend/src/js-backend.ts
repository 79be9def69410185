/**
 * The pure-JS backend's registry entry. Importing this module registers it as `js`, so a host
 * (the CLI, an application) can ask for it by name: `sedseg segment --backend js` after the
 * module is imported, or `--backend ./plugin.mjs` (the module's default export is this definition).
 *
 * Priority 1: far below the built-ins (ort 100, tfjs 50), so it never wins an automatic choice
 * when a real backend can start; it runs only when asked for, or when nothing else is installed.
 */
import { registerBackend, type BackendDefinition } from '@sedseg/core';
import { JsOps } from './js-ops.js';
import type { JsTensor } from './js-tensor.js';

export const jsBackend: BackendDefinition<JsTensor> = {
  name: 'js',
  priority: 1,
  devices: ['cpu'],
  description: 'pure JavaScript, single thread (examples/custom-backend): a backend written from scratch',
  // threads and extras: nothing to map (one thread, no settings)
  create: async () => new JsOps(),
};

registerBackend(jsBackend);
