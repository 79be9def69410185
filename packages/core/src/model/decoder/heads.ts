/**
 * The decoder's output heads (Conv 3×3 pad 1 → 1 channel): `head0` on corrEmbed, `head1` after
 * decoder1, `head2` after decoder2 (the auxiliary logits CER scores with) and `head` after
 * decoder3 (the final logits).
 */
import type { Ops } from '../../ops/ops.js';
import type { ModelParams } from '../model-params.js';

export type HeadName = 'head0' | 'head1' | 'head2' | 'head';

/** The head applied after decoder layer `layer` (0-based): head1, head2, head. */
export const HEAD_AFTER_LAYER: readonly HeadName[] = ['head1', 'head2', 'head'];

/**
 * `transformer.{name}` on class-batched features [T, C, H, W] → logits [1, T, H, W].
 * `decoder` is scoped to the decoder prefix.
 */
export function decoderHead<T>(ops: Ops<T>, decoder: ModelParams<T>, name: HeadName, x: T): T {
  const [t, , h, w] = ops.shape(x) as [number, number, number, number];
  return ops.tidy(() => ops.reshape(ops.conv2d(x, decoder.get(`${name}.weight`), decoder.get(`${name}.bias`), { padding: 1 }), [1, t, h, w]));
}
