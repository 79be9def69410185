/**
 * The evaluation's confusion matrix (detectron2 `SemSegEvaluator`): `(T+1)×(T+1)` counts
 * `conf[pred][gt]`, ground-truth pixels equal to the ignore label counted in column T.
 * Counts are float64 (exact integers up to 2^53: a dataset of millions of megapixel images
 * stays far below), so no 32-bit typed array can overflow; entries are added one pixel at a time.
 */
import { SedsegError } from '../errors.js';

/** A non-zero entry `[pred, gt, count]` (gt = T is the ignore column). */
export type ConfusionEntry = [pred: number, gt: number, count: number];

/** A label map: integer class values, row-major. */
export type LabelArray = Int32Array | Uint8Array | Uint16Array | Uint32Array | Int16Array;

export interface AddLabelsOptions {
  /** Ground-truth value that means "not labelled" (255, 65535, 459, …). */
  ignoreLabel: number;
  /** Names the ground truth in errors (a file name). */
  source?: string;
  /** Row length of the maps: errors then give a pixel's (x, y). */
  width?: number;
}

export class ConfusionMatrix {
  /** Row-major `(T+1)×(T+1)`: index `pred·(T+1) + gt`. */
  readonly counts: Float64Array;

  constructor(readonly numClasses: number) {
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new SedsegError('E_ARGUMENT', `number of classes must be a positive integer, got ${numClasses}`);
    this.counts = new Float64Array((numClasses + 1) * (numClasses + 1));
  }

  get size(): number {
    return this.numClasses + 1;
  }

  /**
   * Adds one image: `pred` (values in 0…T−1) against `gt` (values in 0…T−1 or the ignore label).
   * A ground-truth value that is neither a class nor the ignore label is an error naming the
   * source and the value (detectron2 would count it in a wrong cell or fail).
   */
  addLabels(pred: LabelArray, gt: LabelArray, options: AddLabelsOptions): void {
    const T = this.numClasses;
    const n = T + 1;
    const where = options.source ?? 'ground truth';
    if (pred.length !== gt.length) throw new SedsegError('E_ARGUMENT', `${where}: ${gt.length} label pixels but ${pred.length} predicted pixels`);
    // per-image counts in a local array first: a bad value leaves the matrix untouched
    const local = new Float64Array(n * n);
    for (let i = 0; i < gt.length; i++) {
      let g = gt[i]!;
      if (g === options.ignoreLabel) g = T;
      else if (g >= T || g < 0) {
        const at = options.width ? `(x ${i % options.width}, y ${Math.floor(i / options.width)})` : `index ${i}`;
        throw new SedsegError(
          'E_FORMAT',
          `${where}: label value ${g} at pixel ${at} is neither a class (0…${T - 1}) nor the ignore label ${options.ignoreLabel}`,
        );
      }
      const p = pred[i]!;
      if (p < 0 || p >= T) throw new SedsegError('E_ARGUMENT', `${where}: predicted class ${p} is outside 0…${T - 1}`);
      local[p * n + g]! += 1;
    }
    for (let i = 0; i < local.length; i++) this.counts[i]! += local[i]!;
  }

  /** Adds non-zero entries (a saved image's or run's counts). */
  addEntries(entries: readonly ConfusionEntry[], source = 'confusion entries'): void {
    const n = this.size;
    for (const e of entries) {
      const [p, g, c] = e;
      if (!Array.isArray(e) || e.length !== 3 || ![p, g, c].every((v) => Number.isSafeInteger(v)) || p < 0 || g < 0 || p >= n || g >= n || c < 0) {
        throw new SedsegError('E_FORMAT', `${source}: bad confusion entry ${JSON.stringify(e)} for a ${n}×${n} matrix`);
      }
      const sum = this.counts[p * n + g]! + c;
      if (!Number.isSafeInteger(sum)) throw new SedsegError('E_ARGUMENT', `${source}: count ${sum} at [${p}, ${g}] exceeds 2^53`);
      this.counts[p * n + g] = sum;
    }
  }

  /** Adds another matrix of the same size. */
  merge(other: ConfusionMatrix): void {
    if (other.numClasses !== this.numClasses) {
      throw new SedsegError('E_ARGUMENT', `cannot merge a confusion matrix of ${other.numClasses} classes into one of ${this.numClasses}`);
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
  }

  get(pred: number, gt: number): number {
    return this.counts[pred * this.size + gt]!;
  }

  /** Every non-zero entry as `[pred, gt, count]`, sorted by pred then gt. */
  nonzero(): ConfusionEntry[] {
    const n = this.size;
    const out: ConfusionEntry[] = [];
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c !== 0) out.push([Math.floor(i / n), i % n, c]);
    }
    return out;
  }

  static fromEntries(numClasses: number, entries: readonly ConfusionEntry[], source?: string): ConfusionMatrix {
    const m = new ConfusionMatrix(numClasses);
    m.addEntries(entries, source);
    return m;
  }
}

/** The VOC-20b rule of the authors' `VOCbEvaluator`: predictions ≥ `backgroundFrom` become `backgroundFrom`. */
export function clampBackground(labels: Int32Array, backgroundFrom: number): Int32Array {
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = Math.min(labels[i]!, backgroundFrom);
  return out;
}
