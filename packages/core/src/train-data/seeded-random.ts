/**
 * A small deterministic PRNG for the training data pipeline: xoshiro128** (32-bit words, 2^128 − 1
 * period) whose 128-bit state is derived by hashing a key path — `(seed, stream, iteration,
 * slot)` — so that every random decision of a training run is a pure function of where it is
 * made. A resumed run re-derives the same streams and reproduces an uninterrupted run exactly;
 * nothing here reads or writes global state (no `Math.random`).
 */
import { SedsegError } from '../errors.js';

/** Domain tags that keep the pipeline's streams apart (the first key after the seed). */
export const RANDOM_STREAM = Object.freeze({ sampler: 1, augmentation: 2, synthetic: 3 });

/** A 32-bit avalanche mixer ("lowbias32", Wellons): every input bit flips ~half the output bits. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One 32-bit state word from the key path; `lane` makes the four words independent. */
function hashKeys(keys: readonly number[], lane: number): number {
  let h = mix32(0x9e3779b9 ^ Math.imul(lane + 1, 0x85ebca6b));
  const absorb = (word: number): void => {
    h = mix32((h ^ word) + 0x632be5ab + lane);
  };
  for (const k of keys) {
    absorb(k >>> 0);
    absorb(Math.floor(k / 0x100000000)); // high word: keys up to 2^53
  }
  absorb(keys.length); // (1) and (1, 0) are different paths
  return h;
}

function checkKey(k: number, i: number): void {
  if (!Number.isSafeInteger(k) || k < 0) throw new SedsegError('E_ARGUMENT', `random key ${i} must be a non-negative safe integer, got ${k}`);
}

const TWO_32 = 0x100000000;

export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** The generator of the key path (`seed`, then any number of non-negative integers). */
  constructor(...keys: number[]) {
    if (keys.length === 0) throw new SedsegError('E_ARGUMENT', 'SeededRandom needs at least a seed');
    keys.forEach(checkKey);
    this.s0 = hashKeys(keys, 0);
    this.s1 = hashKeys(keys, 1);
    this.s2 = hashKeys(keys, 2);
    this.s3 = hashKeys(keys, 3);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the one forbidden state
  }

  /** The next 32 random bits as an unsigned integer (xoshiro128**). */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.uint32() >>> 5;
    const lo = this.uint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform in [lo, hi) (Python `random.uniform` / `np.random.uniform`). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** A uniform integer in [lo, hi) (unbiased: rejection sampling); hi − lo must be 1 … 2^32. */
  int(lo: number, hi: number): number {
    const range = hi - lo;
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || range < 1 || range > TWO_32) {
      throw new SedsegError('E_ARGUMENT', `random int range [${lo}, ${hi}) must hold 1 to 2^32 integers`);
    }
    const limit = TWO_32 - (TWO_32 % range);
    let x = this.uint32();
    while (x >= limit) x = this.uint32();
    return lo + (x % range);
  }

  /** A uniformly chosen element (`np.random.choice` of a list). */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new SedsegError('E_ARGUMENT', 'random choice from an empty list');
    return items[this.int(0, items.length)]!;
  }

  /** A uniformly random permutation of 0 … n−1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The stream of a key path, e.g. `randomStream(seed, RANDOM_STREAM.augmentation, iteration, slot)`. */
export function randomStream(seed: number, ...keys: number[]): SeededRandom {
  return new SeededRandom(seed, ...keys);
}
