/**
 * Category early rejection (CER, paper §3.3): between decoder layers, only the classes that
 * rank among the top-k at one or more pixels of the previous head's logits go on. This is the
 * host-side selection rule; the decoder run (cer-path.ts) gathers the survivors' tensors between decoder layers.
 */
import { SedsegError } from '../../errors.js';

/**
 * For score maps of `classCount` classes × `pixelCount` pixels (class-major: scores[c·P + p]),
 * marks every class that is among the `k` largest at one or more pixels (k is clamped to the
 * class count). Ties at the k-th value keep every tied class.
 */
export function topKSurvivors(scores: Float32Array, classCount: number, pixelCount: number, k: number): Uint8Array {
  if (!Number.isInteger(k) || k < 1) throw new SedsegError('E_ARGUMENT', `CER top-k must be a positive integer, got ${k}`);
  if (scores.length !== classCount * pixelCount) {
    throw new SedsegError('E_ARGUMENT', `CER scores: expected ${classCount}×${pixelCount} values, got ${scores.length}`);
  }
  const keep = new Uint8Array(classCount);
  const kk = Math.min(k, classCount);
  if (kk === classCount) return keep.fill(1);
  // Per pixel, the k largest values kept in a small sorted buffer (descending).
  const best = new Float64Array(kk);
  for (let p = 0; p < pixelCount; p++) {
    best.fill(-Infinity);
    for (let c = 0; c < classCount; c++) {
      const v = scores[c * pixelCount + p]!;
      if (v > best[kk - 1]!) {
        let i = kk - 1;
        while (i > 0 && best[i - 1]! < v) {
          best[i] = best[i - 1]!;
          i--;
        }
        best[i] = v;
      }
    }
    const threshold = best[kk - 1]!;
    for (let c = 0; c < classCount; c++) if (scores[c * pixelCount + p]! >= threshold) keep[c] = 1;
  }
  return keep;
}

/** Indices of the set entries of a 0/1 mask. */
export function maskToIndices(mask: Uint8Array): Int32Array {
  const out: number[] = [];
  mask.forEach((v, i) => {
    if (v) out.push(i);
  });
  return Int32Array.from(out);
}
