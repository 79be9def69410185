/**
 * An exclusive lock between processes (and between calls in one process) on one cache entry:
 * a file created with O_EXCL holding the owner's pid and host. The owner touches it every few
 * seconds; a lock whose owner is gone (same host, pid not running) or that has not been
 * touched for `staleMs` (owner on another host, or hung) is taken over.
 *
 * Taking over a stale lock is not atomic: two waiters that judge it stale at the same instant
 * may both proceed. Downloads guard against that last case anyway: the finished file is
 * verified as a checkpoint before it is renamed into place.
 */
import { hostname } from 'node:os';
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { abortableSleep } from './abortable-sleep.js';

export interface FileLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  /** A lock untouched for this long is stale (default 60 s; the owner touches it every 5 s). */
  staleMs?: number;
  /** Poll interval while waiting (default 250 ms). */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called once, when the lock is held by someone else and we start waiting. */
  onWait?: () => void;
}

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  let info: LockInfo | undefined;
  let mtimeMs: number;
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    mtimeMs = st.mtimeMs;
    try {
      info = JSON.parse(text) as LockInfo;
    } catch {
      info = undefined; // being written right now, or garbage: judge by age
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; // just released: retry
    throw e;
  }
  if (info && info.host === hostname() && Number.isSafeInteger(info.pid) && !processAlive(info.pid)) return true;
  return Date.now() - mtimeMs > staleMs;
}

const sleep = abortableSleep;

/** Waits until `path` can be created exclusively, then holds it until `release()`. */
export async function acquireFileLock(path: string, options: AcquireLockOptions = {}): Promise<FileLock> {
  const staleMs = options.staleMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  let waited = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(path, 'wx');
      try {
        const info: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
        await handle.writeFile(JSON.stringify(info));
      } finally {
        await handle.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await isStale(path, staleMs)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (!waited) {
      waited = true;
      options.onWait?.();
    }
    await sleep(pollMs, options.signal);
  }
  const heartbeat = setInterval(
    () => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
    },
    Math.max(1000, Math.min(5000, staleMs / 4)),
  );
  heartbeat.unref();
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      await unlink(path).catch(() => undefined);
    },
  };
}
