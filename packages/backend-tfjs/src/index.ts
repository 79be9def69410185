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
export {
  SedTrainer,
  SED_MAX_ITER,
  type SedTrainerOptions,
  type TrainerBatch,
  type TrainerLabels,
  type StepOptions,
  type StepResult,
} from './train/sed-trainer.js';
export { ensureTfjsGradients } from './train/tfjs-gradients.js';
export { semSegLoss } from './train/sem-seg-loss.js';
export { createTrainingOps, type TrainingDevice } from './train/training-ops.js';
