/**
 * The key class embeddings are cached under (memory and disk): everything that changes a class
 * embedding other than the class name and the prompt templates (those are keyed separately):
 *
 * - the text-encoder weights (their sampled fingerprint, `WeightsFingerprint`) and their stored
 *   dtypes (fp16/bf16 copies of a checkpoint give other values);
 * - the text-tower architecture, including the sizes shapes do not show (`text_heads`: the same
 *   weights read with another head count give other embeddings);
 * - the tokenizer (an explicit `fingerprint` when it has one, and in any case the ids it gives
 *   for a fixed set of probe texts, so a changed vocabulary or cleaning rule misses);
 * - the computation itself (`EMBEDDING_VERSION`, bumped whenever the encoding rule changes;
 *   float32 throughout).
 */
import type { SedArchitecture } from '../../architecture/sed-architecture.js';
import { fnv1a64Hex } from '../../hash/fnv1a64.js';
import type { TextTokenizer } from './text-tokenizer.js';

/** Bump when the way class embeddings are computed changes: old cache entries then miss. */
export const EMBEDDING_VERSION = 1;

/** Texts whose token ids identify a tokenizer's behaviour (templates, cleaning, BPE merges). */
const TOKENIZER_PROBES = [
  'a photo of a person, individual, someone.',
  'a bad photo of the café table.',
  "it's a Streetlight &amp; STREET LAMP",
  'ﬁeld 2024 №7 — ½',
  'Hängebrücke straße naïve',
  'пешеход 人 사람 😀',
  'pneumonoultramicroscopicsilicovolcanoconiosis',
];

const TEXT_TOWER_FIELDS = ['embed_dim', 'text_width', 'text_heads', 'text_head_dim', 'text_layers', 'context_length', 'vocab_size'] as const;

/** What identifies a tokenizer for the cache (see the file comment). */
export function tokenizerFingerprint(tokenizer: TextTokenizer, contextLength: number): string {
  const ids = tokenizer.tokenize(TOKENIZER_PROBES, contextLength);
  return `${tokenizer.fingerprint ?? ''}:${fnv1a64Hex(Array.from(ids).join(','))}`;
}

export interface ClassEmbeddingKeyParts {
  /** Fingerprint of the text-encoder weights (`WeightsFingerprint.digest()`). */
  weightsDigest: string;
  /** Stored dtypes of the text-encoder tensors. */
  weightDtypes: readonly string[];
  architecture: Pick<SedArchitecture, (typeof TEXT_TOWER_FIELDS)[number]>;
  tokenizer: TextTokenizer;
}

/** The cache key of a model's class embeddings: `te<version>-<FNV-1a 64 of the parts>`. */
export function classEmbeddingKey(parts: ClassEmbeddingKeyParts): string {
  const arch = Object.fromEntries(TEXT_TOWER_FIELDS.map((f) => [f, parts.architecture[f]]));
  const identity = {
    version: EMBEDDING_VERSION,
    compute: 'float32',
    weights: parts.weightsDigest,
    dtypes: [...new Set(parts.weightDtypes)].sort(),
    arch,
    tokenizer: tokenizerFingerprint(parts.tokenizer, parts.architecture.context_length),
  };
  return `te${EMBEDDING_VERSION}-${fnv1a64Hex(JSON.stringify(identity))}`;
}
