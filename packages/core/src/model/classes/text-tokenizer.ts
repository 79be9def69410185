/** The tokenizer interface the class embeddings and their cache key use. */
/** What the class embeddings need of a tokenizer (`ClipTokenizer` fits). */
export interface TextTokenizer {
  /** One row of `contextLength` token ids per text, row-major. */
  tokenize(texts: readonly string[], contextLength?: number): Int32Array;
  /**
   * Optional identity of the vocabulary and rules (part of the class-embedding cache key, next to
   * the ids the tokenizer gives for a few probe texts).
   */
  readonly fingerprint?: string;
}
