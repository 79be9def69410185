/**
 * SED's forward pass in training mode (the authors' `SED.forward` training branch with
 * `Aggregator.conv_decoder`), for one image: the four logit maps the losses are taken on and the
 * dense CLIP features. Category early rejection is an inference-only path and is not used.
 *
 * What is detached is what the authors detach (reference/train/README.md, "What is detached"):
 * the trunk features feeding the appearance guidance (res2–res4), and the inputs of the
 * auxiliary heads head0 (corrEmbed), head1 (decoder1 output) and head2 (decoder2 output). So the
 * auxiliary losses train only their own heads, and the image tower learns only through the cost
 * map. A backend that trains must implement `detach`; everything else is the inference code.
 */
import type { Ops } from '../ops/ops.js';
import { DECODER_PREFIX, type SedArchitecture } from '../architecture/sed-architecture.js';
import { encodeImage } from '../model/encoders/image-encoder.js';
import { costMap } from '../model/decoder/cost-map.js';
import { appearanceGuidances, corrByClass, corrEmbed, corrGuidance } from '../model/decoder/decoder-input.js';
import { gradualFusionLayer } from '../model/decoder/gradual-fusion-layer.js';
import { decoderHead, HEAD_AFTER_LAYER } from '../model/decoder/heads.js';
import { scoped, type ModelParams } from '../model/model-params.js';

/** `Ops` plus the one operator training needs: a value that gradients do not flow back through. */
export type TrainingOps<T> = Ops<T> & {
  /** `x.detach()`: the same values, cut from the gradient tape. */
  detach(x: T): T;
};

/** What `trainingForward` returns (backend tensors owned by the caller). */
export interface TrainingOutputs<T> {
  /**
   * Logits before upsampling, in the order of the losses (`loss_sem_seg_0..3`): the final head
   * [1, T, R/4, R/4], then head0 [1, T, R/32, R/32], head1 [1, T, R/16, R/16], head2 [1, T, R/8, R/8].
   */
  outputs: [T, T, T, T];
  /** `clip_vis_dense` [1, D, R/32, R/32]. */
  dense: T;
}

/**
 * One image `input` [1, 3, R, R] (normalised, already at the model's resolution) and the class
 * text features `text` [T, P, D] → the training outputs. `arch.decoder_pooling` is the pooling
 * the class attention trains with (the authors' training config: [2, 2]).
 */
export function trainingForward<T>(ops: TrainingOps<T>, params: ModelParams<T>, arch: SedArchitecture, input: T, text: T): TrainingOutputs<T> {
  return ops.tidy(() => {
    const image = encodeImage(ops, params, arch, input);
    const decoder = scoped(params, DECODER_PREFIX);
    const corrClasses = corrByClass(ops, costMap(ops, image.dense, text));
    const embed = corrEmbed(ops, decoder, corrClasses);
    const head0 = decoderHead(ops, decoder, 'head0', ops.detach(embed));
    // appearance guidance on detached trunk features (res5 feeds only the dense CLIP features)
    const guidance = appearanceGuidances(ops, decoder, {
      res2: ops.detach(image.res2),
      res3: ops.detach(image.res3),
      res4: ops.detach(image.res4),
    });
    let x = embed;
    let cgInput = corrClasses;
    const heads: T[] = [];
    for (let layer = 0; layer < 3; layer++) {
      const cg = corrGuidance(ops, decoder, layer, cgInput);
      x = gradualFusionLayer(ops, decoder, arch, layer, x, guidance[layer]!, cg);
      cgInput = cg;
      // head1/head2 see detached features; the final head trains the whole decoder
      heads.push(decoderHead(ops, decoder, HEAD_AFTER_LAYER[layer]!, layer < 2 ? ops.detach(x) : x));
    }
    const [head1, head2, head] = heads as [T, T, T];
    return { outputs: [head, head0, head1, head2], dense: image.dense };
  });
}
