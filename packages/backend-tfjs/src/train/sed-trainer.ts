/**
 * Training SED on TensorFlow.js with the authors' recipe (reference/train/README.md): the
 * image tower and the decoder are tfjs variables, the text features are given (frozen text
 * tower), and one `step` is
 *
 *     forward in training mode (core's `trainingForward`, detaches as the authors) per image
 *     → the four BCE losses, mean over the batch → gradients (tfjs autodiff)
 *     → full-model clipping of the summed gradient → AdamW with each tensor's lr/wd at lr(i).
 *
 * Images run one at a time and their gradients are summed on the host: nothing in SED mixes
 * the images of a batch (GroupNorm and the class attention are per image), and the losses are
 * means over equally sized images, so this is the batch computation with batch-size memory.
 * Parameters, gradients and AdamW moments live on the host as float32 arrays (the optimizer is
 * core's exact torch-order AdamW); the variables get the new values after each step.
 */
import {
  adamwStep,
  clipCoefficient,
  cosineLrFactor,
  globalGradNorm,
  newAdamWState,
  parameterGroups,
  normalizeImage,
  SED_OPTIMIZER_SETTINGS,
  SedsegError,
  semSegTargets,
  shapeSize,
  toFloat32,
  trainingForward,
  type AdamWState,
  type HostTensor,
  type LrSchedule,
  type ModelParams,
  type OptimizerSettings,
  type ParameterGroup,
  type RgbImage,
  type SedArchitecture,
  type WeightStore,
} from '@sedseg/core';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs-core';
import type { TfjsOps } from '../tfjs-ops.js';
import { ensureTfjsGradients } from './tfjs-gradients.js';
import { semSegLoss } from './sem-seg-loss.js';

/** A label map: one class index (or the ignore label) per pixel, row-major. */
export interface TrainerLabels {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
}

/** One batch: images and labels of one size (a multiple of 32), and the classes' text features. */
export interface TrainerBatch {
  images: readonly RgbImage[];
  labels: readonly TrainerLabels[];
  /** Class text features [T, P, D] (core's class embeddings), float32 row-major. */
  text: { data: Float32Array; shape: readonly [number, number, number] };
  /** The label value that marks unlabelled pixels (255 in the authors' datasets). */
  ignoreLabel: number;
}

export interface SedTrainerOptions {
  ops: TfjsOps;
  /** The weights to start from (official key names); frozen ones are never read. */
  weights: WeightStore;
  /** The model's architecture; `decoder_pooling` is the pooling it trains with (authors: [2, 2]). */
  architecture: SedArchitecture;
  /** Learning rates and weight decay (default: the authors'). */
  optimizer?: OptimizerSettings;
  /** SOLVER.CLIP_GRADIENTS.CLIP_VALUE: max L2 norm of all gradients together (default 0.01). */
  clipValue?: number;
  /** The cosine schedule (default: 80 000 iterations, no warm-up). */
  schedule?: LrSchedule;
  /** Host values of parameters that replace the checkpoint's (resuming a run). */
  parameters?: ReadonlyMap<string, Float32Array>;
  /** AdamW moments to continue from (resuming a run). */
  moments?: ReadonlyMap<string, AdamWState>;
  /** The iteration the next `step` runs (resuming a run; default 0). */
  iteration?: number;
}

export interface StepOptions {
  /** Return the four outputs and the dense CLIP features (B stacked), for checks. */
  keepOutputs?: boolean;
  /** Return every trainable tensor's gradient (before clipping). */
  keepGradients?: boolean;
}

export interface StepResult {
  /** The iteration this step ran (0-based). */
  iteration: number;
  /** The schedule's learning-rate multiplier used by this step. */
  lrFactor: number;
  /** `loss_sem_seg_0..3` (batch means). */
  losses: [number, number, number, number];
  /** Their sum, the loss that is differentiated. */
  total: number;
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** The clipping factor applied. */
  clipCoef: number;
  /** `output_0..3` [B, T, h, w] and `clip_vis_dense` [B, D, h, w] (with `keepOutputs`). */
  outputs?: HostTensor<'float32'>[];
  dense?: HostTensor<'float32'>;
  /** Gradients before clipping (with `keepGradients`). */
  gradients?: Map<string, Float32Array>;
}

/** The authors' iteration count (SOLVER.MAX_ITER). */
export const SED_MAX_ITER = 80_000;

export class SedTrainer {
  readonly groups: readonly ParameterGroup[];
  /** Trainable tensors' current values (host, float32), by key. */
  readonly parameters: ReadonlyMap<string, HostTensor<'float32'>>;
  /** AdamW moments by key. */
  readonly moments: ReadonlyMap<string, AdamWState>;
  private iterationValue: number;
  private disposed = false;

  private constructor(
    private readonly ops: TfjsOps,
    private readonly arch: SedArchitecture,
    private readonly variables: Map<string, Variable>,
    parameters: Map<string, HostTensor<'float32'>>,
    moments: Map<string, AdamWState>,
    groups: ParameterGroup[],
    private readonly clipValue: number,
    private readonly schedule: LrSchedule,
    iteration: number,
  ) {
    this.parameters = parameters;
    this.moments = moments;
    this.groups = groups;
    this.iterationValue = iteration;
  }

  /** Loads the trainable weights as variables. */
  static async create(options: SedTrainerOptions): Promise<SedTrainer> {
    const { ops, weights } = options;
    await ensureTfjsGradients(ops.tf);
    const groups = parameterGroups(weights.keys(), options.optimizer ?? SED_OPTIMIZER_SETTINGS);
    if (groups.length === 0) throw new SedsegError('E_KEY', `${weights.source}: no trainable SED weights (image tower or decoder keys)`);
    const variables = new Map<string, Variable>();
    const parameters = new Map<string, HostTensor<'float32'>>();
    const moments = new Map<string, AdamWState>();
    try {
      for (const { key } of groups) {
        const stored = toFloat32(await weights.read(key));
        const given = options.parameters?.get(key);
        if (given !== undefined && given.length !== stored.data.length) {
          throw new SedsegError('E_ARGUMENT', `resumed parameter "${key}" has ${given.length} values, the checkpoint's has ${stored.data.length}`);
        }
        const data = new Float32Array(given ?? stored.data);
        parameters.set(key, { dtype: 'float32', shape: stored.shape, data });
        variables.set(key, ops.tf.variable(ops.tf.tensor(data, [...stored.shape], 'float32'), true));
        const m = options.moments?.get(key);
        if (m !== undefined && (m.m.length !== data.length || m.v.length !== data.length)) {
          throw new SedsegError('E_ARGUMENT', `resumed optimizer state of "${key}" does not fit its ${data.length} values`);
        }
        moments.set(key, m ?? newAdamWState(data.length));
      }
    } catch (e) {
      for (const v of variables.values()) v.dispose();
      throw e;
    }
    return new SedTrainer(
      ops,
      options.architecture,
      variables,
      parameters,
      moments,
      groups,
      options.clipValue ?? 0.01,
      options.schedule ?? { maxIter: SED_MAX_ITER },
      options.iteration ?? 0,
    );
  }

  /** The iteration the next `step` runs. */
  get iteration(): number {
    return this.iterationValue;
  }

  /** The learning rate of every group at iteration `i`. */
  learningRates(i: number): Map<string, number> {
    const factor = cosineLrFactor(i, this.schedule);
    return new Map(this.groups.map((g) => [g.key, g.lr * factor]));
  }

  private params(): ModelParams<Tensor> {
    return {
      get: (name) => {
        const v = this.variables.get(name);
        if (v === undefined) throw new SedsegError('E_KEY', `training: weight "${name}" is not a trainable weight of this model`);
        return v;
      },
      has: (name) => this.variables.has(name),
    };
  }

  private checkBatch(batch: TrainerBatch): { T: number; H: number; W: number } {
    const { images, labels, text } = batch;
    if (images.length === 0) throw new SedsegError('E_ARGUMENT', 'training batch: no images');
    if (labels.length !== images.length) throw new SedsegError('E_ARGUMENT', `training batch: ${images.length} images but ${labels.length} label maps`);
    const { width: W, height: H } = images[0]!;
    // the authors resize to clip_resolution = the crop size: the identity, so none is done here
    if (W % 32 !== 0 || H % 32 !== 0) throw new SedsegError('E_ARGUMENT', `training batch: image sides must be multiples of 32, got ${W}×${H}`);
    for (const [b, im] of images.entries()) {
      if (im.width !== W || im.height !== H)
        throw new SedsegError('E_ARGUMENT', `training batch: image ${b} is ${im.width}×${im.height}, image 0 is ${W}×${H}`);
      const l = labels[b]!;
      if (l.width !== W || l.height !== H || l.data.length !== W * H) {
        throw new SedsegError('E_ARGUMENT', `training batch: label map ${b} is ${l.width}×${l.height}, its image is ${W}×${H}`);
      }
    }
    const [T, P, D] = text.shape;
    if (text.data.length !== T * P * D || T < 1)
      throw new SedsegError('E_ARGUMENT', `training batch: text features of shape [${text.shape.join(', ')}] hold ${text.data.length} values`);
    return { T, H, W };
  }

  /** Runs one training iteration on `batch` and updates the weights. */
  async step(batch: TrainerBatch, options: StepOptions = {}): Promise<StepResult> {
    if (this.disposed) throw new SedsegError('E_ARGUMENT', 'training: the trainer was disposed');
    const { T, H, W } = this.checkBatch(batch);
    const { ops } = this;
    const tf = ops.tf;
    const B = batch.images.length;
    const params = this.params();
    const varList = [...this.variables.values()];
    const keyOf = new Map([...this.variables].map(([k, v]) => [v.name, k]));
    const grads = new Map<string, Float32Array>();
    for (const [k, p] of this.parameters) grads.set(k, new Float32Array(p.data.length));
    const losses: [number, number, number, number] = [0, 0, 0, 0];
    const outputs: Float32Array[][] = [[], [], [], [], []];
    const outShapes: number[][] = [];
    const text = ops.constant(batch.text.data, [...batch.text.shape], 'text features');
    try {
      for (let b = 0; b < B; b++) {
        const input = ops.constant(normalizeImage(batch.images[b]!), [1, 3, H, W], 'image');
        const targets = ops.constant(semSegTargets(batch.labels[b]!.data, T, batch.ignoreLabel, `label map ${b}`), [1, T, H, W], 'targets');
        let kept: Tensor[] = [];
        try {
          const { value, grads: g } = tf.variableGrads(() => {
            const out = trainingForward(ops, params, this.arch, input, text);
            const perOutput = out.outputs.map((o) => semSegLoss(ops, o, targets));
            kept = [...perOutput, ...(options.keepOutputs ? [...out.outputs, out.dense] : [])].map((t) => tf.keep(t));
            return tf.div(tf.addN(perOutput), tf.scalar(B)) as Scalar;
          }, varList);
          value.dispose();
          for (const [name, t] of Object.entries(g)) {
            const key = keyOf.get(name);
            const acc = key === undefined ? undefined : grads.get(key);
            if (acc !== undefined) {
              const data = t.dataSync() as Float32Array;
              if (b === 0) acc.set(data);
              else for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + data[i]!;
            }
            t.dispose();
          }
          for (let i = 0; i < 4; i++) losses[i]! += (await ops.read(kept[i]!))[0]! / B;
          if (options.keepOutputs) {
            for (let i = 0; i < 5; i++) {
              const t = kept[4 + i]!;
              outputs[i]!.push(await ops.read(t));
              if (b === 0) outShapes.push([B, ...t.shape.slice(1)]);
            }
          }
        } finally {
          tf.dispose([input, targets, ...kept]);
        }
      }
    } finally {
      text.dispose();
    }

    const keys = [...grads.keys()];
    const gradNorm = Math.fround(
      globalGradNorm(
        keys.map((k) => {
          const g = grads.get(k)!;
          let s = 0;
          for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
          return s;
        }),
      ),
    );
    const clipCoef = Math.fround(clipCoefficient(gradNorm, this.clipValue));
    const iteration = this.iterationValue;
    const lrFactor = cosineLrFactor(iteration, this.schedule);
    for (const group of this.groups) {
      const g = grads.get(group.key)!;
      const clipped = new Float32Array(g.length);
      for (let i = 0; i < g.length; i++) clipped[i] = Math.fround(g[i]! * clipCoef);
      const p = this.parameters.get(group.key)!;
      adamwStep(p.data, clipped, this.moments.get(group.key)!, group.lr * lrFactor, group.weightDecay);
      this.variables.get(group.key)!.assign(tf.tensor(p.data, [...p.shape], 'float32'));
    }
    this.iterationValue += 1;

    const result: StepResult = { iteration, lrFactor, losses, total: Math.fround(losses.reduce((a, v) => a + v, 0)), gradNorm, clipCoef };
    if (options.keepOutputs) {
      const stack = (i: number): HostTensor<'float32'> => {
        const shape = outShapes[i]!;
        const data = new Float32Array(shapeSize(shape));
        let o = 0;
        for (const part of outputs[i]!) {
          data.set(part, o);
          o += part.length;
        }
        return { dtype: 'float32', shape, data };
      };
      result.outputs = [0, 1, 2, 3].map(stack);
      result.dense = stack(4);
    }
    if (options.keepGradients) result.gradients = grads;
    return result;
  }

  /** Frees the variables. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables.values()) v.dispose();
  }
}
