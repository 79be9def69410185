/**
 * Progress inside the decoder in weighted class steps: every class entering a part (the decoder
 * input, decoder layers 1–3) counts its part's weight. With CER the total shrinks as classes are
 * rejected, so later parts follow the latest known class count.
 */

/**
 * Relative cost of one class in the decoder input and in decoder layers 1–3 (the per-class stage
 * times of `bench/sed-speed` on SED-B at R = 768, rounded): weights for progress reports only.
 */
export const DECODER_STEP_WEIGHTS = [1, 2, 3, 5] as const;

export type DecoderProgressFn = (done: number, total: number, detail: string) => void;

export class DecoderProgress {
  /** Classes entering the decoder input and layers 1–3; later entries follow the latest known count. */
  private readonly entering: number[];
  private done = 0;

  /** Reports 0 of the total at once. */
  constructor(
    classCount: number,
    private readonly report?: DecoderProgressFn,
  ) {
    this.entering = [classCount, classCount, classCount, classCount];
    report?.(0, this.total(), 'cost map');
  }

  private total(): number {
    return this.entering.reduce((sum, n, i) => sum + n * DECODER_STEP_WEIGHTS[i]!, 0);
  }

  /** `classes` went through `share` of part `part` (0 = decoder input, i = decoder layer i). */
  advance(part: number, classes: number, share = 1): void {
    this.done += classes * DECODER_STEP_WEIGHTS[part]! * share;
    this.report?.(Math.round(this.done), this.total(), part === 0 ? 'cost map' : `layer ${part} of 3`);
  }

  /** Decoder layer `layer` (0-based) runs on `classes` classes: so do the layers after it, as far as known. */
  enterLayer(layer: number, classes: number): void {
    for (let i = layer + 1; i < this.entering.length; i++) this.entering[i] = classes;
  }
}
