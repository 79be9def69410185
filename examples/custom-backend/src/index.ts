export { ProfilingOps, profile, type Profile, type ProfileEntry } from './profiling-ops.js';
export { JsOps, createJsOps } from './js-ops.js';
export { jsBackend } from './js-backend.js';
export { erf } from './erf.js';
export type { JsTensor } from './js-tensor.js';
