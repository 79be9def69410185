/**
 * The text encoder as a stage (DESIGN.md §2 `textEncoder`), for compiling backends and export:
 * padded batches instead of text-encoder.ts's prefix trie, whose shapes depend on the texts, so
 * that one graph — batch N and length L dynamic — serves every batch.
 *
 * Inputs, made on the host by `textEncoderStageInputs`:
 * - `embeddings` [N, L, W]: `token_embedding` rows of the tokens, L = the batch's last EOT + 1;
 * - `positional` [L, W]: the first L rows of `positional_embedding`;
 * - `mask` [L, L]: the causal mask (0 on and below the diagonal, −∞ above);
 * - `eot` [N, L, 1]: 1 at each row's EOT position, else 0.
 * Output `features` [N, D]: `ln_final` of the EOT rows `@ text_projection` (not normalised).
 *
 * Exact like the trie version: the mask is causal, so positions after a row's EOT (padding) never
 * reach its EOT row, and selecting it by a one-hot sum adds only exact zeros.
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { Stage } from '../../ops/stage.js';
import { CLIP_PREFIX, type SedArchitecture } from '../../architecture/sed-architecture.js';
import { linearWeights, normWeights } from '../blocks/convnext-block.js';
import { scoped, type ModelParams } from '../model-params.js';
import { argmaxRow, attend, causalMask, checkTokens, mlpResidual, TEXT_LN_EPS } from '../encoders/text-encoder.js';

/** One pre-LN residual block on padded rows `x` [N, L, W] (`nn.MultiheadAttention` semantics). */
function paddedResidualBlock<T>(ops: Ops<T>, block: ModelParams<T>, x: T, heads: number, mask: T): T {
  const [n, l, width] = ops.shape(x) as [number, number, number];
  if (width % heads !== 0) throw new SedsegError('E_ARGUMENT', `text attention: width ${width} is not divisible by ${heads} heads`);
  const d = width / heads;
  return ops.tidy(() => {
    const ln1 = normWeights(block, 'ln_1.');
    const qkv = ops.linear(ops.layerNorm(x, ln1.weight, ln1.bias, TEXT_LN_EPS), block.get('attn.in_proj_weight'), block.get('attn.in_proj_bias')); // [N, L, 3W]
    const byHead = ops.transpose(ops.reshape(qkv, [n, l, 3, heads, d]), [2, 0, 3, 1, 4]); // [3, N, H, L, d]
    const part = (i: number): T => ops.reshape(ops.gather(byHead, Int32Array.of(i), 0), [n, heads, l, d]);
    const context = attend(ops, ops.mulScalar(part(0), 1 / Math.sqrt(d)), part(1), part(2), mask); // [N, H, L, d]
    const merged = ops.reshape(ops.transpose(context, [0, 2, 1, 3]), [n, l, width]);
    const outProj = linearWeights(block, 'attn.out_proj.');
    return mlpResidual(ops, block, ops.add(x, ops.linear(merged, outProj.weight, outProj.bias)));
  });
}

/** `textEncoder`: padded token embeddings → text features [N, D] (see the file comment). */
export function textEncoderStageOf<T>(params: ModelParams<T>, arch: SedArchitecture): Stage<T> {
  const clip = scoped(params, CLIP_PREFIX);
  return {
    name: 'textEncoder',
    inputs: [
      { name: 'embeddings', batchAxis: 0, lengthAxes: [1] },
      { name: 'positional', lengthAxes: [0] },
      { name: 'mask', lengthAxes: [0, 1] },
      { name: 'eot', batchAxis: 0, lengthAxes: [1] },
    ],
    outputs: ['features'],
    run: (ops: Ops<T>, i) => {
      let x = ops.add(i.embeddings!, i.positional!);
      for (let layer = 0; layer < arch.text_layers; layer++) {
        x = paddedResidualBlock(ops, scoped(clip, `transformer.resblocks.${layer}.`), x, arch.text_heads, i.mask!);
      }
      const eotRows = ops.sum(ops.mul(x, i.eot!), [1], false); // [N, W]
      const lnFinal = normWeights(clip, 'ln_final.');
      return { features: ops.matmul(ops.layerNorm(eotRows, lnFinal.weight, lnFinal.bias, TEXT_LN_EPS), clip.get('text_projection')) };
    },
  };
}

/**
 * The inputs of `textEncoderStageOf` for `count` token rows (`tokens` count × rowLength,
 * row-major): new backend tensors owned by the caller.
 */
export function textEncoderStageInputs<T>(ops: Ops<T>, params: ModelParams<T>, arch: SedArchitecture, tokens: Int32Array, count: number): Record<string, T> {
  const rowLength = checkTokens(tokens, count, arch);
  if (count === 0) throw new SedsegError('E_ARGUMENT', 'text encoder: no texts to encode');
  const eot = Array.from({ length: count }, (_, r) => argmaxRow(tokens, r * rowLength, rowLength));
  const l = Math.max(...eot) + 1;
  const ids = new Int32Array(count * l);
  const oneHot = new Float32Array(count * l);
  for (let r = 0; r < count; r++) {
    ids.set(tokens.subarray(r * rowLength, r * rowLength + l), r * l);
    oneHot[r * l + eot[r]!] = 1;
  }
  const clip = scoped(params, CLIP_PREFIX);
  const width = arch.text_width;
  return ops.tidy(() => ({
    embeddings: ops.reshape(ops.gather(clip.get('token_embedding.weight'), ids, 0), [count, l, width]),
    positional: ops.gather(
      clip.get('positional_embedding'),
      Int32Array.from({ length: l }, (_, i) => i),
      0,
    ),
    mask: ops.constant(causalMask(l), [l, l], 'causal_mask'),
    eot: ops.constant(oneHot, [count, l, 1], 'eot'),
  }));
}
