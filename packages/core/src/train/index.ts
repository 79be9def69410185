// Training: SED's forward in training mode, its optimizer groups, schedule, clipping and AdamW.
export { trainingForward, type TrainingOps, type TrainingOutputs } from './training-forward.js';
export {
  parameterGroups,
  isTrainableKey,
  isNormParameter,
  SED_OPTIMIZER_SETTINGS,
  type OptimizerSettings,
  type ParameterGroup,
} from './parameter-groups.js';
export { cosineLrFactor, type LrSchedule } from './lr-schedule.js';
export { globalGradNorm, clipCoefficient } from './gradient-clipping.js';
export { adamwStep, newAdamWState, ADAMW_DEFAULTS, type AdamWSettings, type AdamWState } from './adamw.js';
export { semSegTargets } from './sem-seg-targets.js';
