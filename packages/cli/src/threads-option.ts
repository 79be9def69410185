/**
 * `--threads N`: compute threads of the backend. More threads than CPUs only make the threads
 * wait for each other (64 threads on 16 CPUs ran 20× slower, 1000 never finished), so a larger
 * value is lowered to the CPU count with a notice; values past any real machine are refused.
 */
import { availableParallelism } from 'node:os';
import { positiveInt } from './positive-int.js';
import { UsageError } from './usage-error.js';

/** Above this, `--threads` is a mistake rather than a machine. */
export const MAX_THREADS = 1024;

export interface ThreadsChoice {
  threads: number;
  /** One line to show when the value given was lowered. */
  notice?: string;
}

export function threadsOption(text: string | undefined, command: string, cpus = availableParallelism()): ThreadsChoice | undefined {
  if (text === undefined) return undefined;
  const n = positiveInt(text, '--threads', command);
  if (n > MAX_THREADS) throw new UsageError(`--threads ${n} is not a thread count (at most ${MAX_THREADS}; this machine has ${cpus} CPUs)`, command);
  if (n > cpus) return { threads: cpus, notice: `--threads ${n} lowered to ${cpus}, the number of CPUs (more threads only wait for each other)` };
  return { threads: n };
}
