/**
 * The cost map (HECG, DESIGN.md §3.5, paper eq. 1): cosine similarity between every pixel of the
 * dense CLIP features and every (class, template) text embedding, without logit scale.
 *
 *     corr[0, p, t, y, x] = <dense[0, :, y, x] / |dense[0, :, y, x]|, text[t, p, :] / |text[t, p, :]|>
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';

/**
 * `x / x.norm(dim=axis, keepdim=True)` (PyTorch): sum of squares, square root, division.
 * A zero vector gives NaN, as in PyTorch without `F.normalize`'s clamp (never happens for CLIP
 * features).
 */
function l2Normalize<T>(ops: Ops<T>, x: T, axis: number): T {
  return ops.tidy(() => ops.div(x, ops.sqrt(ops.sum(ops.mul(x, x), [axis], true))));
}

/**
 * `dense` [1, D, h, w] (not normalised) and `text` [T, P, D] → `corr` [1, P, T, h, w].
 */
export function costMap<T>(ops: Ops<T>, dense: T, text: T): T {
  const ds = ops.shape(dense);
  const ts = ops.shape(text);
  if (ds.length !== 4 || ds[0] !== 1) {
    throw new SedsegError('E_ARGUMENT', `cost map: dense features must be [1, D, h, w], got [${ds.join(', ')}]`);
  }
  if (ts.length !== 3 || ts[2] !== ds[1]) {
    throw new SedsegError(
      'E_ARGUMENT',
      `cost map: text features [${ts.join(', ')}] do not match dense features [${ds.join(', ')}] (expected [T, P, ${ds[1]}])`,
    );
  }
  const [, d, h, w] = ds as [number, number, number, number];
  const [classes, prompts] = ts as [number, number, number];
  return ops.tidy(() => {
    const img = ops.reshape(l2Normalize(ops, dense, 1), [d, h * w]);
    const txt = ops.reshape(l2Normalize(ops, text, 2), [classes * prompts, d]);
    const sim = ops.matmul(txt, img); // [T·P, h·w]
    const tphw = ops.reshape(sim, [classes, prompts, h, w]);
    return ops.reshape(ops.transpose(tphw, [1, 0, 2, 3]), [1, prompts, classes, h, w]);
  });
}
