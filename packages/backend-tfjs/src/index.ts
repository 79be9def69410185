export { createTfjsOps, TfjsOps, type TfjsOpsOptions } from './tfjs-ops.js';
export {
  loadTfjs,
  TFJS_PLATFORM_PACKAGES,
  type TfjsPlatform,
  type ResolvedTfjsPlatform,
  type TfjsNamespace,
  type LoadTfjsOptions,
  type LoadedTfjs,
} from './platform.js';
export { tfjsBackend } from './tfjs-backend.js';
