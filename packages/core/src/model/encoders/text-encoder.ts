/**
 * SED's text encoder (DESIGN.md §3.3): the frozen CLIP text transformer of OpenCLIP,
 *
 *     x = token_embedding(text) + positional_embedding
 *     for block in transformer.resblocks:            # pre-LN residual blocks
 *         x = x + attn(ln_1(x), causal mask)         # nn.MultiheadAttention
 *         x = x + mlp.c_proj(GELU(mlp.c_fc(ln_2(x))))
 *     x = ln_final(x)
 *     features = x[arange(N), text.argmax(-1)] @ text_projection
 *
 * (LayerNorm eps 1e-5, exact GELU). Keys live under `sem_seg_head.predictor.clip_model.`.
 *
 * Exact shortcuts, all consequences of the causal mask (the hidden state at position i depends
 * only on the tokens 0…i) and of every other operation being per position:
 * - context truncation: only the columns up to the last EOT of the batch are computed;
 * - shared prefixes: sequences that start with the same tokens have the same hidden states
 *   there, so the per-position work (LayerNorms, in/out projections, MLPs) is done once per
 *   distinct prefix — a node of the batch's prefix trie — and only the attention runs per
 *   sequence, on the trie nodes along its path. Prompt ensembles share most of their tokens
 *   ("<start> a bad photo of a …"): the 80 ImageNet templates over a vocabulary need about 40%
 *   of the positions;
 * - last block: only the EOT rows are read, so its queries, out_proj and MLP run on them alone.
 */
import { SedsegError } from '../../errors.js';
import type { Ops } from '../../ops/ops.js';
import { CLIP_PREFIX, type SedArchitecture } from '../../architecture/sed-architecture.js';
import { scoped, type ModelParams } from '../model-params.js';
import { linearWeights, normWeights } from '../blocks/convnext-block.js';

/** LayerNorm epsilon of the CLIP text tower (PyTorch default). */
export const TEXT_LN_EPS = 1e-5;
/** Default number of sequences per chunk in `encodeTexts`. */
const DEFAULT_TEXT_CHUNK_SIZE = 512;

/** Position of the EOT token in one row: the first position of its largest id (`argmax`). */
export function argmaxRow(tokens: Int32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (tokens[offset + i]! > tokens[offset + best]!) best = i;
  return best;
}

/** Causal additive mask [L, L]: 0 on and below the diagonal, −∞ above (open_clip `build_attention_mask`). */
export function causalMask(length: number): Float32Array {
  const mask = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) mask[i * length + j] = -Infinity;
  return mask;
}

/**
 * The prefix trie of a batch of token rows, cut at each row's EOT: node u stands for one distinct
 * prefix (its last token `tokens[u]` at position `positions[u]`).
 */
export interface PrefixTrie {
  /** Sequences N. */
  rows: number;
  /** Columns L computed: the largest EOT position + 1. */
  length: number;
  /** Token id and position of every node. */
  tokens: Int32Array;
  positions: Int32Array;
  /** [N·L]: node at (row n, position i); positions after a row's EOT repeat its EOT node (masked). */
  paths: Int32Array;
  /** [U]: one flat index n·L + i where node u occurs. */
  occurrences: Int32Array;
  /** [N]: EOT position and EOT node of each row. */
  eot: Int32Array;
  eotNodes: Int32Array;
}

/** Builds the prefix trie of `count` token rows (`tokens` is count × rowLength, row-major). */
function buildPrefixTrie(tokens: Int32Array, count: number): PrefixTrie {
  const rowLength = tokens.length / count;
  const eot = new Int32Array(count);
  for (let n = 0; n < count; n++) eot[n] = argmaxRow(tokens, n * rowLength, rowLength);
  const length = eot.reduce((m, e) => Math.max(m, e), 0) + 1;
  const paths = new Int32Array(count * length);
  const eotNodes = new Int32Array(count);
  const ids = new Map<number, number>();
  const nodeTokens: number[] = [];
  const nodePositions: number[] = [];
  const occurrences: number[] = [];
  // Child key of (parent, token) as one number, exact while (nodes + 1) · span < 2^53.
  let span = 1;
  for (const t of tokens) if (t >= span) span = t + 1;
  if (tokens.some((t) => t < 0)) throw new SedsegError('E_ARGUMENT', 'text encoder: negative token id');
  for (let n = 0; n < count; n++) {
    let parent = -1;
    for (let i = 0; i <= eot[n]!; i++) {
      const token = tokens[n * rowLength + i]!;
      const key = (parent + 1) * span + token;
      let node = ids.get(key);
      if (node === undefined) {
        node = nodeTokens.length;
        ids.set(key, node);
        nodeTokens.push(token);
        nodePositions.push(i);
        occurrences.push(n * length + i);
      }
      paths[n * length + i] = node;
      parent = node;
    }
    eotNodes[n] = parent;
    for (let i = eot[n]! + 1; i < length; i++) paths[n * length + i] = parent;
  }
  return {
    rows: count,
    length,
    tokens: Int32Array.from(nodeTokens),
    positions: Int32Array.from(nodePositions),
    paths,
    occurrences: Int32Array.from(occurrences),
    eot,
    eotNodes,
  };
}

/**
 * Attention of pre-scaled queries over keys and values whose heads are a leading batch axis:
 * `softmax(q · kᵀ + mask) · v`, `q` [..., Lq, d], `k`, `v` [..., L, d], `mask` broadcastable to
 * the scores [..., Lq, L] → [..., Lq, d].
 */
export function attend<T>(ops: Ops<T>, q: T, k: T, v: T, mask: T): T {
  return ops.tidy(() => ops.matmul(ops.softmax(ops.add(ops.matmul(q, k, { transposeB: true }), mask), -1), v));
}

/** The `x + mlp(ln_2(x))` half of a residual block. */
export function mlpResidual<T>(ops: Ops<T>, block: ModelParams<T>, x: T): T {
  const ln2 = normWeights(block, 'ln_2.');
  const fc = linearWeights(block, 'mlp.c_fc.');
  const proj = linearWeights(block, 'mlp.c_proj.');
  const hidden = ops.gelu(ops.linear(ops.layerNorm(x, ln2.weight, ln2.bias, TEXT_LN_EPS), fc.weight, fc.bias));
  return ops.add(x, ops.linear(hidden, proj.weight, proj.bias));
}

/**
 * One pre-LN residual block `transformer.resblocks.{i}` on the trie-node states `x` [U, W], with
 * `nn.MultiheadAttention` semantics: `[q; k; v] = ln_1(x) · in_proj_weightᵀ + in_proj_bias`, per
 * head `softmax(q/√d · kᵀ + causal mask) · v` (PyTorch scales q), heads concatenated, `out_proj`.
 * Heads are kept as the leading axis ([H, N, L, d]) so that they need no per-sequence transposes.
 * With `eotMask` (the last block) only the EOT rows are carried on: returns [N, W].
 */
function textResidualBlock<T>(ops: Ops<T>, block: ModelParams<T>, trie: PrefixTrie, x: T, heads: number, causal: T, eotMask?: T): T {
  const { rows: n, length: l } = trie;
  const [u, width] = ops.shape(x) as [number, number];
  if (width % heads !== 0) throw new SedsegError('E_ARGUMENT', `text attention: width ${width} is not divisible by ${heads} heads`);
  const d = width / heads;
  return ops.tidy(() => {
    const ln1 = normWeights(block, 'ln_1.');
    const qkv = ops.linear(ops.layerNorm(x, ln1.weight, ln1.bias, TEXT_LN_EPS), block.get('attn.in_proj_weight'), block.get('attn.in_proj_bias')); // [U, 3W]
    const byHead = ops.reshape(ops.transpose(ops.reshape(qkv, [u, 3, heads, d]), [1, 2, 0, 3]), [3, heads, u, d]);
    const part = (i: number): T => ops.reshape(ops.gather(byHead, Int32Array.of(i), 0), [heads, u, d]); // [H, U, d]
    const alongPaths = (t: T): T => ops.reshape(ops.gather(t, trie.paths, 1), [heads, n, l, d]); // [H, N, L, d]
    const q = ops.mulScalar(part(0), 1 / Math.sqrt(d));
    const k = alongPaths(part(1));
    const v = alongPaths(part(2));
    const outProj = linearWeights(block, 'attn.out_proj.');
    if (eotMask === undefined) {
      const context = attend(ops, alongPaths(q), k, v, causal); // [H, N, L, d]
      const perNode = ops.gather(ops.reshape(context, [heads, n * l, d]), trie.occurrences, 1); // [H, U, d]
      const merged = ops.reshape(ops.transpose(perNode, [1, 0, 2]), [u, width]);
      return mlpResidual(ops, block, ops.add(x, ops.linear(merged, outProj.weight, outProj.bias)));
    }
    const qEot = ops.reshape(ops.gather(q, trie.eotNodes, 1), [heads, n, 1, d]);
    const context = ops.reshape(attend(ops, qEot, k, v, eotMask), [heads, n, d]);
    const merged = ops.reshape(ops.transpose(context, [1, 0, 2]), [n, width]);
    const residual = ops.gather(x, trie.eotNodes, 0); // [N, W]
    return mlpResidual(ops, block, ops.add(residual, ops.linear(merged, outProj.weight, outProj.bias)));
  });
}

export function checkTokens(tokens: Int32Array, count: number, arch: SedArchitecture): number {
  if (!(tokens instanceof Int32Array)) throw new SedsegError('E_ARGUMENT', 'text encoder: tokens must be an Int32Array');
  if (!Number.isInteger(count) || count < 0 || (count === 0 ? tokens.length !== 0 : tokens.length % count !== 0)) {
    throw new SedsegError('E_ARGUMENT', `text encoder: ${tokens.length} token ids do not form ${count} rows`);
  }
  const length = count === 0 ? 0 : tokens.length / count;
  if (length > arch.context_length) {
    throw new SedsegError('E_ARGUMENT', `text encoder: rows of ${length} tokens exceed the context length ${arch.context_length}`);
  }
  for (const id of tokens) {
    if (!(id >= 0 && id < arch.vocab_size))
      throw new SedsegError('E_ARGUMENT', `text encoder: token id ${id} is outside the vocabulary (0…${arch.vocab_size - 1})`);
  }
  return length;
}

/**
 * Text features of `count` token rows (`tokens` is count × L, row-major, e.g. from
 * `tokenizer.tokenize(texts, 77)`), as one backend tensor [count, D] — un-normalised, after
 * `text_projection`. One graph for the whole batch: `encodeTexts` chunks large batches.
 */
function encodeTextTokens<T>(ops: Ops<T>, params: ModelParams<T>, arch: SedArchitecture, tokens: Int32Array, count: number): T {
  checkTokens(tokens, count, arch);
  if (count === 0) throw new SedsegError('E_ARGUMENT', 'text encoder: no texts to encode');
  const trie = buildPrefixTrie(tokens, count);
  const { rows: n, length: l } = trie;
  const clip = scoped(params, CLIP_PREFIX);
  return ops.tidy(() => {
    // Embeddings of the trie nodes: token_embedding + positional_embedding.
    let x = ops.add(ops.gather(clip.get('token_embedding.weight'), trie.tokens, 0), ops.gather(clip.get('positional_embedding'), trie.positions, 0)); // [U, W]
    const causal = ops.constant(causalMask(l), [l, l]);
    // The last block's queries are the EOT rows only: row n sees positions 0…eot[n].
    const eotMaskData = new Float32Array(n * l);
    for (let r = 0; r < n; r++) for (let j = trie.eot[r]! + 1; j < l; j++) eotMaskData[r * l + j] = -Infinity;
    const eotMask = ops.constant(eotMaskData, [1, n, 1, l]);
    if (arch.text_layers === 0) x = ops.gather(x, trie.eotNodes, 0);
    for (let i = 0; i < arch.text_layers; i++) {
      const last = i === arch.text_layers - 1;
      const block = scoped(clip, `transformer.resblocks.${i}.`);
      const next = last
        ? textResidualBlock(ops, block, trie, x, arch.text_heads, causal, eotMask)
        : textResidualBlock(ops, block, trie, x, arch.text_heads, causal);
      ops.dispose(x);
      x = next;
    }
    // x: [N, W], the EOT row of every sequence; ln_final is per row.
    const lnFinal = normWeights(clip, 'ln_final.');
    return ops.matmul(ops.layerNorm(x, lnFinal.weight, lnFinal.bias, TEXT_LN_EPS), clip.get('text_projection'));
  });
}

export interface EncodeTextsOptions {
  /** Sequences per backend call (default 512). */
  chunkSize?: number;
  /** Called after every chunk with the number of texts encoded so far. */
  onProgress?: (done: number, total: number) => void;
}

function compareRows(tokens: Int32Array, rowLength: number, a: number, b: number): number {
  for (let i = 0; i < rowLength; i++) {
    const d = tokens[a * rowLength + i]! - tokens[b * rowLength + i]!;
    if (d !== 0) return d;
  }
  return a - b;
}

/**
 * Text features of `count` token rows, un-normalised, after `text_projection`: a host
 * Float32Array [count × D] (row r = text r). The rows are sorted (so that sequences with common
 * prefixes share a chunk) and encoded in chunks of at most `chunkSize` sequences, each in its own
 * `ops.tidy` and read back to the host before the next one starts — backend memory stays bounded
 * by one chunk whatever the batch.
 */
export async function encodeTexts<T>(
  ops: Ops<T>,
  params: ModelParams<T>,
  arch: SedArchitecture,
  tokens: Int32Array,
  count: number,
  options: EncodeTextsOptions = {},
): Promise<Float32Array> {
  const rowLength = checkTokens(tokens, count, arch);
  const chunkSize = options.chunkSize ?? DEFAULT_TEXT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new SedsegError('E_ARGUMENT', `text encoder: chunkSize must be a positive integer, got ${chunkSize}`);
  const dim = arch.embed_dim;
  const out = new Float32Array(count * dim);
  const order = Array.from({ length: count }, (_, r) => r).sort((a, b) => compareRows(tokens, rowLength, a, b));
  for (let start = 0; start < count; start += chunkSize) {
    const rows = order.slice(start, start + chunkSize);
    const chunk = new Int32Array(rows.length * rowLength);
    rows.forEach((r, i) => {
      chunk.set(tokens.subarray(r * rowLength, (r + 1) * rowLength), i * rowLength);
    });
    // The prefix trie (about 40 % of the positions of padded rows) is faster than the padded
    // `textEncoder` stage even on compiling backends, which compile one graph per chunk for it;
    // the stage is what `sedseg export` writes.
    const features = encodeTextTokens(ops, params, arch, chunk, rows.length);
    let host: Float32Array;
    try {
      host = await ops.read(features);
    } finally {
      ops.dispose(features);
    }
    if (host.length !== rows.length * dim) {
      throw new SedsegError('E_ARGUMENT', `text encoder: expected ${rows.length}×${dim} features, the backend returned ${host.length} values`);
    }
    rows.forEach((r, i) => {
      out.set(host.subarray(i * dim, (i + 1) * dim), r * dim);
    });
    options.onProgress?.(Math.min(start + chunkSize, count), count);
  }
  return out;
}
