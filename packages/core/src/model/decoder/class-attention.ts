/**
 * FAM class part (DESIGN.md §3.7): SED's `ClassTransformerLayer` with linear attention and no
 * text guidance, keys `transformer.decoder{k}.attention.{attention.{q,k,v}, MLP.{0,2}, norm1, norm2}`.
 *
 *     x_pool = AvgPool(x)                                   # [T, c, h', w']
 *     seq    = x_pool as (h'·w') sequences over the T classes   # [h'w', T, c]
 *     seq    = seq + LinearAttention(q, k, v of norm1(seq))
 *     seq    = seq + MLP(norm2(seq))                        # Linear c→4c, ReLU, Linear 4c→c
 *     x      = x + bilinear(seq back to [T, c, h', w'], (H, W), align_corners = true)
 *
 * The attention runs over the classes present in `x`, so with category early rejection it mixes
 * only the surviving classes (as the reference does).
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import type { ModelParams } from '../model-params.js';

export interface ClassAttentionOptions {
  /** Attention heads (`arch.decoder_heads`). */
  heads: number;
  /** Square average-pooling window (`arch.decoder_pooling`, [2, 2] in the released models). */
  pooling: number;
  /** LayerNorm eps of norm1/norm2 (PyTorch nn.LayerNorm default 1e-5). */
  normEps?: number;
  /** Linear attention eps (1e-6). */
  attentionEps?: number;
}

/** Heads and their width of `x` [N, L, C] (C = heads · d). */
function headSplit<T>(ops: Ops<T>, x: T, heads: number): { n: number; l: number; c: number; d: number } {
  const [n, l, c] = ops.shape(x) as [number, number, number];
  if (c % heads !== 0) throw new SedsegError('E_ARGUMENT', `linear attention: ${c} channels do not split into ${heads} heads`);
  return { n, l, c, d: c / heads };
}

/** [C, C] with ones where row and column channels belong to the same head (C = heads · d). */
function sameHeadMask(channels: number, heads: number): Float32Array {
  const d = channels / heads;
  const mask = new Float32Array(channels * channels);
  for (let i = 0; i < channels; i++) for (let j = 0; j < channels; j++) if (Math.floor(i / d) === Math.floor(j / d)) mask[i * channels + j] = 1;
  return mask;
}

/**
 * Multi-head linear attention ("Transformers are RNNs", feature map elu(x) + 1) as the reference
 * `LinearAttention.forward` orders it: values divided by the sequence length first, the result
 * multiplied by it last. `q`, `k`, `v`: [N, L, C] with C = heads · d → [N, L, C].
 *
 * Computed without splitting the heads into their own axis (four transposes of the whole
 * sequence, the costliest part of this attention on CPU): Σ_s K ⊗ V is taken over all channel
 * pairs [N, C, C] and the pairs across heads are zeroed, so Q · (Σ K ⊗ V) mixes each channel with
 * its own head only; Q · ΣK per head is a sum over the last axis of [N, L, H, d], a free reshape.
 */
function linearAttention<T>(ops: Ops<T>, q: T, k: T, v: T, heads: number, eps = 1e-6): T {
  const { n, l, c, d } = headSplit(ops, q, heads);
  return ops.tidy(() => {
    const qf = ops.addScalar(ops.elu(q), 1);
    const kf = ops.addScalar(ops.elu(k), 1);
    const length = ops.sizeAsTensor(v, 1); // L as a tensor: compiled graphs keep the class count dynamic
    const vs = ops.div(v, length); // values / v_length
    const kv = ops.mul(ops.matmul(kf, vs, { transposeA: true }), ops.constant(sameHeadMask(c, heads), [c, c])); // [N, C, C]: Σ_s K ⊗ V within heads
    const kSum = ops.sum(kf, [1], true); // [N, 1, C]
    const denom = ops.sum(ops.reshape(ops.mul(qf, kSum), [n, l, heads, d]), [3], true); // [N, L, H, 1]: Q · ΣK per head
    const one = ops.constant(new Float32Array([1]), [1]);
    const z = ops.div(one, ops.addScalar(denom, eps));
    const out = ops.mul(ops.mul(ops.reshape(ops.matmul(qf, kv), [n, l, heads, d]), z), length); // [N, L, H, d]
    return ops.reshape(out, [n, l, c]);
  });
}

/** Pooled [T, c, h', w'] as (B H W) T C sequences [h'w', T, c] (B = 1) and their norm1. */
function pooledSequences<T>(ops: Ops<T>, params: ModelParams<T>, pooled: T, normEps: number): { seq: T; n1: T } {
  const [t, c, ph, pw] = ops.shape(pooled) as [number, number, number, number];
  const seq = ops.reshape(ops.transpose(pooled, [2, 3, 0, 1]), [ph * pw, t, c]);
  return { seq, n1: ops.layerNorm(seq, params.get('norm1.weight'), params.get('norm1.bias'), normEps) };
}

/** The rest of the layer after the attention: + MLP(norm2), back to [T, c, h', w']. */
function attentionLayerTail<T>(ops: Ops<T>, params: ModelParams<T>, attended: T, pooledShape: readonly number[], normEps: number): T {
  const [t, c, ph, pw] = pooledShape as [number, number, number, number];
  const n2 = ops.layerNorm(attended, params.get('norm2.weight'), params.get('norm2.bias'), normEps);
  const mlp = ops.linear(ops.relu(ops.linear(n2, params.get('MLP.0.weight'), params.get('MLP.0.bias'))), params.get('MLP.2.weight'), params.get('MLP.2.bias'));
  const out = ops.add(attended, mlp); // [h'w', T, c]
  return ops.transpose(ops.reshape(out, [ph, pw, t, c]), [2, 3, 0, 1]); // [T, c, h', w']
}

/**
 * The attention part of `ClassTransformerLayer` on pooled class-batched features
 * `pooled` [T, c, h', w'] → [T, c, h', w'] (the layer's output at pooled resolution). This is the
 * only computation of the decoder that mixes classes.
 */
export function classAttentionPooled<T>(ops: Ops<T>, params: ModelParams<T>, pooled: T, options: ClassAttentionOptions): T {
  const normEps = options.normEps ?? 1e-5;
  return ops.tidy(() => {
    const { seq, n1 } = pooledSequences(ops, params, pooled, normEps);
    const q = ops.linear(n1, params.get('attention.q.weight'), params.get('attention.q.bias'));
    const kk = ops.linear(n1, params.get('attention.k.weight'), params.get('attention.k.bias'));
    const v = ops.linear(n1, params.get('attention.v.weight'), params.get('attention.v.bias'));
    const attended = ops.add(seq, linearAttention(ops, q, kk, v, options.heads, options.attentionEps ?? 1e-6));
    return attentionLayerTail(ops, params, attended, ops.shape(pooled), normEps);
  });
}

// ---- the same attention streamed over class chunks ---------------------------------------------
// Linear attention needs of the other classes only two sums per pooled pixel and head,
// Σ_t K_t ⊗ V_t [d, d] and Σ_t K_t [d] (K = elu(k) + 1): a first pass adds them up chunk by chunk,
// a second pass finishes each chunk from them. No tensor ever holds every class, so memory does
// not grow with the class count. The reference divides V by the class count L and multiplies the
// output by L: both cancel, so the sums are kept undivided (equal up to float rounding).
// Per pooled pixel and head the products are tiny (a chunk of 2 classes, d = 8…32): as batched
// MatMuls they are one small GEMM call each (36 864 per chunk at R = 768, the last layer), which
// cost far more than their arithmetic; broadcast multiplies and sums do the same FLOPs in a few
// large element-wise kernels. They broadcast over [N, L, H, d] views of the [N, L, C] sequences
// (free reshapes), so the heads are never transposed to an axis of their own.

/** Σ over `axis` of a ⊙ b (broadcast), the axis kept: a batched contraction without per-batch GEMM calls. */
function contract<T>(ops: Ops<T>, a: T, b: T, axis: number): T {
  return ops.sum(ops.mul(a, b), [axis], true);
}

/**
 * The linear-attention sums of a layer over the classes seen so far: `sumKV` [h'w', H, d, d]
 * holds Σ_t V_t ⊗ K_t (value channel, then key channel), `sumK` [h'w', H, 1, d] Σ_t K_t.
 */
export interface ClassAttentionSums<T> {
  sumKV: T;
  sumK: T;
}

/** `previous` plus the sums of the classes of `pooled` [t, c, h', w']. */
export function classAttentionAddSums<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  pooled: T,
  previous: ClassAttentionSums<T>,
  options: ClassAttentionOptions,
): ClassAttentionSums<T> {
  return ops.tidy(() => {
    const { n1 } = pooledSequences(ops, params, pooled, options.normEps ?? 1e-5);
    const kf = ops.addScalar(ops.elu(ops.linear(n1, params.get('attention.k.weight'), params.get('attention.k.bias'))), 1); // [N, L, C]
    const v = ops.linear(n1, params.get('attention.v.weight'), params.get('attention.v.bias'));
    const h = options.heads;
    const { n, l, d } = headSplit(ops, kf, h);
    // Σ_t V_t ⊗ K_t per head: [N, L, H, d, 1] ⊙ [N, L, H, 1, d] summed over L. Value-major, so
    // that the finish pass contracts Q with the last (contiguous) axis: ONNX Runtime reduces a
    // middle axis about twice as slowly
    const kv = ops.reshape(contract(ops, ops.reshape(v, [n, l, h, d, 1]), ops.reshape(kf, [n, l, h, 1, d]), 1), [n, h, d, d]);
    return {
      sumKV: ops.add(previous.sumKV, kv), // [N, H, d, d]
      sumK: ops.add(previous.sumK, ops.reshape(ops.sum(kf, [1], true), [n, h, 1, d])), // [N, H, 1, d]
    };
  });
}

/** The attention output of the classes of `pooled` [t, c, h', w'] given the sums over every class. */
export function classAttentionFromSums<T>(ops: Ops<T>, params: ModelParams<T>, pooled: T, sums: ClassAttentionSums<T>, options: ClassAttentionOptions): T {
  const normEps = options.normEps ?? 1e-5;
  return ops.tidy(() => {
    const { seq, n1 } = pooledSequences(ops, params, pooled, normEps);
    const qf = ops.addScalar(ops.elu(ops.linear(n1, params.get('attention.q.weight'), params.get('attention.q.bias'))), 1); // [N, L, C]
    const h = options.heads;
    const { n, l, c, d } = headSplit(ops, qf, h);
    const denom = contract(ops, ops.reshape(qf, [n, l, h, d]), ops.reshape(sums.sumK, [n, 1, h, d]), 3); // Q · ΣK: [N, L, H, 1]
    const z = ops.div(ops.constant(new Float32Array([1]), [1]), ops.addScalar(denom, options.attentionEps ?? 1e-6));
    // Q · ΣK⊗V: [N, L, H, 1, d] ⊙ [N, 1, H, d (value), d (key)] summed over the key channel → [N, L, H, d, 1]
    const qkv = ops.reshape(contract(ops, ops.reshape(qf, [n, l, h, 1, d]), ops.reshape(sums.sumKV, [n, 1, h, d, d]), 4), [n, l, h, d]);
    const out = ops.mul(qkv, z); // [N, L, H, d]
    const attended = ops.add(seq, ops.reshape(out, [n, l, c]));
    return attentionLayerTail(ops, params, attended, ops.shape(pooled), normEps);
  });
}

/** Empty sums for `heads` heads of `pooled`'s channels at its pooled pixels (host zeros). */
export function emptyClassAttentionSums<T>(ops: Ops<T>, pooledShape: readonly number[], heads: number): ClassAttentionSums<T> {
  const [, c, ph, pw] = pooledShape as [number, number, number, number];
  const d = c / heads;
  const n = ph * pw;
  return { sumKV: ops.constant(new Float32Array(n * heads * d * d), [n, heads, d, d]), sumK: ops.constant(new Float32Array(n * heads * d), [n, heads, 1, d]) };
}

/** The pooling in front of the class attention: [T, c, H, W] → [T, c, H/k, W/k] (k = 1: `x` itself). */
export function classAttentionPool<T>(ops: Ops<T>, x: T, pooling: number): T {
  return pooling === 1 ? x : ops.avgPool2d(x, pooling);
}

/** The end of `ClassTransformerLayer`: `x` + the pooled-resolution output upsampled (align_corners). */
export function classAttentionMerge<T>(ops: Ops<T>, x: T, attended: T): T {
  const [, , h, w] = ops.shape(x) as [number, number, number, number];
  const [, , ph, pw] = ops.shape(attended) as [number, number, number, number];
  return ops.tidy(() => ops.add(x, ph === h && pw === w ? attended : ops.resizeBilinear(attended, [h, w], true)));
}
