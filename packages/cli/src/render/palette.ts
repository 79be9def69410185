/**
 * Class colours for label maps and overlays.
 *
 * `classPalette(count)` returns `count` RGB triples (a `Uint8Array` of length `count × 3`,
 * class `i` at `[3i, 3i + 1, 3i + 2]`). The palette is:
 *
 * - deterministic and prefix-stable: `classPalette(n)` is the first `n` colours of
 *   `classPalette(m)` for every `m ≥ n`, so a class keeps its colour whatever the vocabulary size;
 * - well separated: the first 20 colours are a fixed hand-picked list (Sasha Trubetskoy's
 *   "20 simple distinct colours", black and white left out); after that, candidates walk the hue
 *   circle in golden-ratio steps (1/φ of a turn) while saturation and lightness follow a plastic-
 *   number low-discrepancy sequence (S in [0.45, 0.95], L in [0.28, 0.75]). A candidate closer than a
 *   target distance to any colour already chosen is skipped (up to 16 candidates per slot, then the
 *   farthest candidate seen wins). The target distance shrinks as the palette grows (∝ 1/∛n, the
 *   spacing of n points in the RGB cube). Distances are Euclidean in 8-bit RGB; the minimum
 *   pairwise distance is ≈ 40 for 20 colours, > 30 for 150, > 20 for 300, > 14 for 847;
 * - never pure black (nor near black: lightness ≥ 0.28), and no index is reserved: class 0 is the
 *   first colour, so a palette PNG whose pixel value is the class index shows every class.
 */

import { SedsegError } from '@sedseg/core';

/** The first 20 colours (Trubetskoy's list minus black and white), in order of distinctness. */
const FIXED: readonly (readonly [number, number, number])[] = [
  [230, 25, 75], // red
  [60, 180, 75], // green
  [255, 225, 25], // yellow
  [0, 130, 200], // blue
  [245, 130, 48], // orange
  [145, 30, 180], // purple
  [70, 240, 240], // cyan
  [240, 50, 230], // magenta
  [210, 245, 60], // lime
  [250, 190, 212], // pink
  [0, 128, 128], // teal
  [220, 190, 255], // lavender
  [170, 110, 40], // brown
  [255, 250, 200], // beige
  [128, 0, 0], // maroon
  [170, 255, 195], // mint
  [128, 128, 0], // olive
  [255, 215, 180], // apricot
  [0, 0, 128], // navy
  [128, 128, 128], // grey
];

const INV_PHI = 0.6180339887498949; // 1/φ, golden ratio conjugate
const PLASTIC = 1.324717957244746; // plastic number ρ (ρ³ = ρ + 1)
const TRIES_PER_SLOT = 16;
const TARGET_DISTANCE = 60; // target spacing at 20 colours, scaled by ∛(20/n) beyond

/** Colours generated so far (grows on demand; every call returns a prefix of it). */
const cache: number[] = FIXED.flatMap((c) => [...c]);
/** Next candidate index in the quasi-random stream. */
let stream = 0;

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h * 12) % 12;
    return Math.round((l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))) * 255);
  };
  return [f(0), f(8), f(4)];
}

function candidate(k: number): [number, number, number] {
  const h = (0.05 + k * INV_PHI) % 1;
  const s = 0.45 + 0.5 * ((0.5 + k / PLASTIC) % 1);
  const l = 0.28 + 0.47 * ((0.5 + k / (PLASTIC * PLASTIC)) % 1);
  return hslToRgb(h, s, l);
}

function distanceToPalette(c: readonly number[], stopBelow: number): number {
  let min = Infinity;
  const [r, g, b] = c as [number, number, number];
  for (let i = 0; i < cache.length; i += 3) {
    const dr = r - cache[i]!;
    const dg = g - cache[i + 1]!;
    const db = b - cache[i + 2]!;
    const d = Math.sqrt(dr * dr + dg * dg + db * db);
    if (d < min) {
      min = d;
      if (min < stopBelow) break; // already worse than the best candidate of this slot
    }
  }
  return min;
}

function grow(count: number): void {
  while (cache.length < count * 3) {
    const n = cache.length / 3;
    const target = TARGET_DISTANCE * Math.cbrt(20 / n);
    let best: [number, number, number] = candidate(stream);
    let bestDistance = -1;
    for (let t = 0; t < TRIES_PER_SLOT; t++) {
      const c = candidate(stream++);
      const d = distanceToPalette(c, bestDistance);
      if (d > bestDistance) {
        bestDistance = d;
        best = c;
      }
      if (d >= target) break;
    }
    cache.push(best[0], best[1], best[2]);
  }
}

/**
 * `count` distinct class colours as a `count × 3` RGB array (see the module comment for how they
 * are chosen). Deterministic; `classPalette(n)` is a prefix of `classPalette(m)` for `m ≥ n`.
 */
export function classPalette(count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 0) throw new SedsegError('E_ARGUMENT', `classPalette: invalid count ${count}`);
  grow(count);
  return Uint8Array.from(cache.slice(0, count * 3));
}
