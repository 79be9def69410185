/**
 * The first convolution of SED's SFM (`Up.conv.double_conv.0`) with the appearance guidance's
 * share computed once per image instead of once per class.
 *
 * The reference convolves, per class, cat[up(x), guidance, corrGuidance] where `guidance` is the
 * same for every class (broadcast). A convolution is linear in its input channels, so
 *
 *     Conv(cat[u, guidance, cg]; W) = Conv(cat[u, cg]; W[:, u and cg channels]) + Conv(guidance; W[:, guidance channels])
 *
 * and the last term (`mergeGuidance`, [1, o, 2H, 2W]) is made once per image and layer and added
 * to every class. The same values up to float rounding; a fifth of the convolution's inputs per
 * class fewer (SED-B, R = 768: 6 % of the decoder's FLOPs), and the guidance is no longer
 * broadcast and concatenated for every class.
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { ModelParams } from '../model-params.js';

/** `conv.double_conv.0.weight` [o, m + g + g', k, k] and its sizes: `up`'s m inputs come first, then the guidance's g, then the corr guidance's g'. */
function firstConvOf<T>(ops: Ops<T>, params: ModelParams<T>): { w: T; out: number; m: number; total: number; padding: number } {
  const w = params.get('conv.double_conv.0.weight');
  const [out, total, k] = ops.shape(w) as [number, number, number, number];
  return { w, out, m: ops.shape(params.get('up.weight'))[1]!, total, padding: (k - 1) / 2 };
}

/** The input channels [from, to) of each range of the weight `w` [o, in, k, k], in order. */
function inputChannels<T>(ops: Ops<T>, w: T, ranges: readonly (readonly [number, number])[]): T {
  return ops.gather(w, Int32Array.from(ranges.flatMap(([from, to]) => Array.from({ length: to - from }, (_, i) => from + i))), 1);
}

/**
 * The appearance `guidance` [1, g, 2H, 2W] → its share of `conv.double_conv.0`, `mergeGuidance`
 * [1, o, 2H, 2W] (once per image and layer). `params` is scoped to `…decoder{k}.`.
 */
export function mergeGuidanceForward<T>(ops: Ops<T>, params: ModelParams<T>, guidance: T): T {
  const g = ops.shape(guidance)[1]!;
  const { w, m, total, padding } = firstConvOf(ops, params);
  if (m + g >= total) {
    throw new SedsegError(
      'E_KEY',
      `decoder merge: conv.double_conv.0.weight [${ops.shape(w).join(', ')}] has ${total} inputs, too few for up's ${m} and ${g} guidance channels`,
    );
  }
  return ops.tidy(() => ops.conv2d(guidance, inputChannels(ops, w, [[m, m + g]]), undefined, { padding }));
}

/**
 * `conv.double_conv.0` on cat[`up`, guidance, `corrGuidance`] (before its GroupNorm), given the
 * guidance's share `mergeGuidance` [1, o, 2H, 2W]: `up` [T, m, 2H, 2W], `corrGuidance`
 * [T, g', 2H, 2W] → [T, o, 2H, 2W]. `params` is scoped to `…decoder{k}.`.
 */
export function firstMergeConv<T>(ops: Ops<T>, params: ModelParams<T>, up: T, mergeGuidance: T, corrGuidance: T): T {
  const gc = ops.shape(corrGuidance)[1]!;
  const { w, out, m, total, padding } = firstConvOf(ops, params);
  const g = total - m - gc;
  const shared = ops.shape(mergeGuidance);
  const [, , uh, uw] = ops.shape(up) as [number, number, number, number];
  if (g < 1 || shared.length !== 4 || shared[0] !== 1 || shared[1] !== out || shared[2] !== uh || shared[3] !== uw) {
    throw new SedsegError(
      'E_ARGUMENT',
      `decoder merge: merge guidance [${shared.join(', ')}] and corr guidance of ${gc} channels do not fit conv.double_conv.0.weight (${total} inputs, ${out} outputs) at ${uh}×${uw}`,
    );
  }
  return ops.tidy(() => {
    const perClass = ops.conv2d(
      ops.concat([up, corrGuidance], 1),
      inputChannels(ops, w, [
        [0, m],
        [m + g, total],
      ]),
      undefined,
      { padding },
    );
    return ops.add(perClass, mergeGuidance);
  });
}
