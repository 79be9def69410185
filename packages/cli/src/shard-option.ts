/**
 * `--shard i/n`: run the i-th of n shards (1-based, as `vitest --shard`); image k of the pairing
 * order (0-based, after --limit) belongs to shard (k mod n) + 1, so shards get images of every
 * part of the dataset and about the same count. Kubernetes' JOB_COMPLETION_INDEX is 0-based:
 * `--shard $((JOB_COMPLETION_INDEX + 1))/N`.
 */
import { UsageError } from './usage-error.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function shardOption(value: string | undefined, command: string): Shard | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw new UsageError(`--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/8), got "${value}"`, command);
  }
  return { index, count };
}

/** Whether item `k` (0-based) belongs to `shard` (every item without a shard). */
export function inShard(k: number, shard: Shard | undefined): boolean {
  return shard === undefined || k % shard.count === shard.index - 1;
}
