/**
 * Which weights train and with which learning rate and weight decay — the authors' rules
 * (`SED.__init__` with CLIP_FINETUNE 'full', `train_net.Trainer.build_optimizer`), decided from
 * the official key names:
 *
 * - trainable: every `clip_model` parameter whose name contains `visual` (the image tower:
 *   trunk and projection head) and every decoder (`transformer.`) parameter; frozen: the rest
 *   of `clip_model` (text tower, embeddings, `ln_final`, `text_projection`, `logit_scale`);
 * - learning rate: base × `clipMultiplier` (0.01) for `clip_model` parameters;
 * - weight decay: 0 for parameters of torch.nn norm modules (timm's LayerNorm/LayerNorm2d in
 *   the trunk, the decoder's attention LayerNorms and DoubleConv GroupNorms), else the base
 *   decay. The decoder's ConvNeXt-block norm (`decoder{k}.cnext.norm`) is a custom module in
 *   the authors' code, not a torch.nn norm, so it keeps the decay; so do biases and gammas.
 */
import { CLIP_PREFIX, DECODER_PREFIX } from '../architecture/sed-architecture.js';

export interface OptimizerSettings {
  /** SOLVER.BASE_LR (0.0002). */
  baseLr: number;
  /** SOLVER.WEIGHT_DECAY (0.0001). */
  weightDecay: number;
  /** SOLVER.WEIGHT_DECAY_NORM (0). */
  weightDecayNorm: number;
  /** SOLVER.CLIP_MULTIPLIER (0.01): learning-rate factor of the image tower. */
  clipMultiplier: number;
}

/** The authors' solver settings (configs/config.yaml, convnextB_768.yaml). */
export const SED_OPTIMIZER_SETTINGS: Readonly<OptimizerSettings> = Object.freeze({
  baseLr: 2e-4,
  weightDecay: 1e-4,
  weightDecayNorm: 0,
  clipMultiplier: 0.01,
});

/** One trainable tensor's optimizer group (the authors use one group per tensor). */
export interface ParameterGroup {
  key: string;
  /** Learning rate at iteration 0 (before the schedule). */
  lr: number;
  weightDecay: number;
}

/** Whether the weight `key` (official name) is trained. */
export function isTrainableKey(key: string): boolean {
  if (key.startsWith(DECODER_PREFIX)) return true;
  return key.startsWith(CLIP_PREFIX) && key.includes('visual');
}

/** Module paths (after the prefix, without the parameter name) that are torch.nn norm layers. */
const NORM_MODULES: readonly RegExp[] = [
  // timm ConvNeXt trunk: stem LayerNorm2d, downsample LayerNorm2d, block norms, head norm
  /^visual\.trunk\.stem\.1$/,
  /^visual\.trunk\.stages\.\d+\.downsample\.0$/,
  /^visual\.trunk\.stages\.\d+\.blocks\.\d+\.norm$/,
  /^visual\.trunk\.head\.norm$/,
  // decoder: ClassTransformerLayer LayerNorms and DoubleConv GroupNorms (not cnext.norm)
  /^decoder\d+\.attention\.norm[12]$/,
  /^decoder\d+\.conv\.double_conv\.[14]$/,
];

/** Whether `key` belongs to a torch.nn normalisation module (weight decay 0). */
export function isNormParameter(key: string): boolean {
  const rest = key.startsWith(DECODER_PREFIX) ? key.slice(DECODER_PREFIX.length) : key.startsWith(CLIP_PREFIX) ? key.slice(CLIP_PREFIX.length) : undefined;
  if (rest === undefined) return false;
  const module = rest.slice(0, rest.lastIndexOf('.'));
  return NORM_MODULES.some((re) => re.test(module));
}

/** The optimizer groups of the trainable keys among `keys`, in the order given. */
export function parameterGroups(keys: readonly string[], settings: OptimizerSettings = SED_OPTIMIZER_SETTINGS): ParameterGroup[] {
  return keys.filter(isTrainableKey).map((key) => ({
    key,
    lr: key.startsWith(CLIP_PREFIX) ? settings.baseLr * settings.clipMultiplier : settings.baseLr,
    weightDecay: isNormParameter(key) ? settings.weightDecayNorm : settings.weightDecay,
  }));
}
