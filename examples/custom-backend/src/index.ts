export { ProfilingOps, profile, type Profile, type ProfileEntry } from './profiling-ops.js';
