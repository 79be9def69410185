/**
 * What a training run's weights depend on (`settings` in its state.json): a run resumes only
 * under equal settings, so that an interrupted and resumed run ends with the weights an
 * uninterrupted one would have. Where the files are, the backend and the checkpoint and
 * evaluation periods are recorded beside them (not compared): they do not change the numbers.
 */
import { ADAMW_DEFAULTS, SED_OPTIMIZER_SETTINGS, type TrainAugmentationOptions } from '@sedseg/core';

/** Version of the run-folder layout (state.json, checkpoint files). */
export const TRAIN_FORMAT = 'sedseg-train/1';

/** The authors' recipe (configs/config.yaml, convnextB_768.yaml) as the command's defaults. */
export const TRAIN_DEFAULTS = Object.freeze({
  iters: 80_000,
  batch: 4,
  crop: 768,
  /** Decoder pooling while training (MODEL.SEM_SEG_HEAD.POOLING_SIZES [2, 2]). */
  pooling: 2,
  lr: SED_OPTIMIZER_SETTINGS.baseLr,
  seed: 0,
  /** SOLVER.CLIP_GRADIENTS.CLIP_VALUE (full-model L2 norm). */
  clipValue: 0.01,
  checkpointPeriod: 1000,
  ignoreLabel: 255,
});

export interface TrainDatasetSettings {
  /** "custom" (--images/--labels) or a training split's name. */
  name: string;
  samples: number;
  /** SHA-256 of the paired file names in order (the sampler indexes this order). */
  pairs_sha256: string;
  image_ext: string;
  label_ext: string;
  ignore_label: number;
}

export interface TrainSettings {
  format: string;
  /** The checkpoint training starts from (by content: the path may change). */
  weights: { file: string; bytes: number; sha256: string; config_sha256: string | null };
  /** Class k = label value k; the prompts whose text features train the model. */
  classes: string[];
  dataset: TrainDatasetSettings;
  iters: number;
  batch: number;
  crop: number;
  decoder_pooling: number;
  seed: number;
  optimizer: {
    base_lr: number;
    clip_multiplier: number;
    weight_decay: number;
    weight_decay_norm: number;
    clip_value: number;
    betas: [number, number];
    eps: number;
  };
  /** detectron2 WarmupCosineLR: max_iter = iters, no warm-up, lr → 0. */
  schedule: { name: 'cosine'; max_iter: number; warmup_iters: number };
  augmentation: TrainAugmentationOptions;
  /** Prompt templates of the text features. */
  templates: number;
}

/** The optimizer part of the settings for a base learning rate (everything else the authors'). */
export function optimizerSettings(lr: number, clipValue: number): TrainSettings['optimizer'] {
  return {
    base_lr: lr,
    clip_multiplier: SED_OPTIMIZER_SETTINGS.clipMultiplier,
    weight_decay: SED_OPTIMIZER_SETTINGS.weightDecay,
    weight_decay_norm: SED_OPTIMIZER_SETTINGS.weightDecayNorm,
    clip_value: clipValue,
    betas: [ADAMW_DEFAULTS.beta1, ADAMW_DEFAULTS.beta2],
    eps: ADAMW_DEFAULTS.eps,
  };
}
