// @ts-check
/**
 * Runs the command in a child process whose glibc malloc returns freed memory to the system.
 *
 * glibc serves an allocation of 128 KiB or more with its own mmap, given back when it is freed,
 * but every such buffer freed raises that threshold to its size (up to 32 MiB). After a few
 * stage outputs of some megabytes are freed, buffers of that size come from the heap instead, and
 * their pages are kept when they are freed: at 847 classes up to 1.3 GB of resident memory is
 * such freed space (bench/README.md). A fixed threshold (`MALLOC_MMAP_THRESHOLD_`) stops the
 * rise: 350 MB less at the peak, measured. glibc reads it once, when the process starts, so the
 * command starts itself again with it set. The user's own setting wins, and
 * `SEDSEG_MALLOC_TUNING=0` turns this off. On other systems (and other C libraries, which ignore
 * the variable) nothing is done.
 */
import { spawn } from 'node:child_process';

/** What the command's environment gets: glibc's initial threshold, kept fixed. */
export const TUNED_MALLOC_ENV = Object.freeze({ MALLOC_MMAP_THRESHOLD_: '131072' });

/** True when this process should start the command again with the tuned environment. */
export function wantsMallocTuning(env = process.env, platform = process.platform) {
  return platform === 'linux' && env.MALLOC_MMAP_THRESHOLD_ === undefined && env.SEDSEG_MALLOC_TUNING !== '0';
}

/**
 * Runs this same command (same Node.js flags and arguments, same stdio) with the threshold set,
 * forwards termination signals to it, and ends this process the way the child ended.
 */
export function runWithMallocTuning() {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...TUNED_MALLOC_ENV },
  });
  /** @type {NodeJS.Signals[]} */
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
  /** @param {NodeJS.Signals} signal */
  const forward = (signal) => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  for (const s of signals) process.on(s, forward);
  child.on('error', (e) => {
    process.stderr.write(`sedseg: could not start the command (${e.message})\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward);
    if (signal !== null) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
