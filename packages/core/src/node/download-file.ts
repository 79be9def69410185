/**
 * Downloads a checkpoint to a fixed path, resumably and atomically.
 *
 * Files beside `dest` while it is being fetched:
 *  - `<dest>.lock`      exclusive lock (file-lock.ts): one download per destination, across processes;
 *  - `<dest>.part`      the bytes received so far;
 *  - `<dest>.part.json` sidecar: the URL asked for and the validators of the response the
 *                       bytes came from (ETag, Last-Modified, total length).
 * A later call (or a retry within this one) sends `Range: bytes=<part size>-`, with `If-Range`
 * when a strong ETag or a Last-Modified is known, and appends on a 206 whose Content-Range
 * starts at that size; a 200 (Range ignored, or the file changed) restarts from zero. The
 * finished `.part` must open as a checkpoint (verify-checkpoint-file.ts) before it is renamed
 * onto `dest` (atomic within a folder); a non-checkpoint is deleted, never renamed.
 *
 * Each request of the chain (redirects, confirmation pages, see html-download-confirm.ts)
 * carries the Range header, so resuming works behind a redirect or a confirm page too.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SedsegError, type SedsegErrorCode } from '../errors.js';
import type { WeightsFormat } from '../weights/open-weights.js';
import { CookieJar } from './cookie-jar.js';
import { acquireFileLock } from './file-lock.js';
import { findDownloadConfirmation, htmlTitle, looksLikeHtml } from './html-download-confirm.js';
import { describeNetworkError, httpGet, isTransientNetworkError } from './http-get.js';
import { verifyCheckpointFile } from './verify-checkpoint-file.js';
import { abortableSleep } from './abortable-sleep.js';

/** Bytes received so far; `total` when the server said. Emitted at most every `progressIntervalMs`, and at the start and end. */
export interface DownloadProgress {
  phase: 'download';
  done: number;
  total: number | undefined;
  /** The URL asked for (before redirects). */
  url: string;
}

/** Another process (or call) is downloading the same file; we wait for it, then use its result. */
export interface DownloadWait {
  phase: 'wait';
  url: string;
  lockPath: string;
}

export type DownloadEvent = DownloadProgress | DownloadWait;

export interface DownloadFileOptions {
  /** What is downloaded, for messages: `cannot download <label> from <url>: …` (default: just the URL). */
  label?: string;
  /** Appended to failure messages after `; ` (e.g. how to get the file by hand). */
  hint?: string;
  onProgress?: (event: DownloadEvent) => void;
  signal?: AbortSignal;
  /** Retries within this call after a dropped connection, timeout, HTTP 408/429/5xx (default 3). */
  retries?: number;
  /** Delay before the first retry, doubled for each next one (default 1000 ms). */
  retryDelayMs?: number;
  /** A request fails after this long without data (default 60 s). */
  idleTimeoutMs?: number;
  /** Redirects followed per request chain (default 10). */
  maxRedirects?: number;
  /** Minimum time between two progress events (default 100 ms). */
  progressIntervalMs?: number;
  /** A lock untouched this long is taken over (default 60 s). */
  lockStaleMs?: number;
}

export interface DownloadResult {
  path: string;
  format: WeightsFormat;
  /** False when another process finished the file while this call waited for the lock. */
  downloaded: boolean;
  /** Bytes already on disk (`.part`) when this call started; 0 for a fresh download. */
  resumedFrom: number;
}

/** A failure before the message is given its context; `transient` ones are retried. */
class Failure extends Error {
  constructor(
    readonly code: SedsegErrorCode,
    readonly reason: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

interface PartMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_CONFIRMATIONS = 3;
const MAX_RESTARTS = 2;
const HTML_LIMIT = 2 * 1024 * 1024;
const HEAD_BYTES = 64;
const USER_AGENT = `sedseg (Node.js ${process.version})`;

/** First bytes of a checkpoint: a zip local header, or a safetensors header length then `{`. */
function startsLikeCheckpoint(head: Uint8Array): boolean {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return true;
  if (head.length < 9 || head[8] !== 0x7b) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= 100_000_000n;
}

/** The first bytes for a message: quoted when they are text (an error message), else hex. */
function preview(head: Uint8Array): string {
  const first = head.subarray(0, 40);
  if (first.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d)) {
    return `"${new TextDecoder().decode(first).replace(/\s+/g, ' ').trim()}${head.length > 40 ? '...' : ''}"`;
  }
  return [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** `bytes 100-199/1000` → {start: 100, total: 1000}; `*` total → undefined. */
function parseContentRange(value: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/** `bytes *\/1000` (a 416's Content-Range) → 1000. */
function parseUnsatisfiedRange(value: string | undefined): number | undefined {
  const m = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(value ?? '');
  return m ? Number(m[1]) : undefined;
}

const header = (res: IncomingMessage, name: string): string | undefined => {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

async function readMeta(path: string): Promise<PartMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(path, 'utf8')) as PartMeta;
    return typeof meta?.url === 'string' ? meta : undefined;
  } catch {
    return undefined;
  }
}

function diskFailure(path: string, e: unknown): Failure {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOSPC' ? 'no space left on device' : err.code === 'EACCES' ? 'permission denied' : err.message;
  return new Failure('E_IO', `cannot write ${path} (${why})`, false, { cause: e });
}

interface Attempt {
  url: string;
  part: string;
  meta: string;
  options: DownloadFileOptions;
  emit: (done: number, total: number | undefined, force: boolean) => void;
}

/** Pulls chunks until `min` bytes (or the end) are in hand. */
async function readHead(body: AsyncIterator<Buffer>, min: number): Promise<{ chunks: Buffer[]; ended: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  while (n < min) {
    const r = await body.next();
    if (r.done) return { chunks, ended: true };
    chunks.push(r.value);
    n += r.value.length;
  }
  return { chunks, ended: false };
}

/** One pass over the request chain; leaves the complete body in `part` or throws a Failure. */
async function attempt(a: Attempt): Promise<void> {
  const { url, part, options } = a;
  const maxRedirects = options.maxRedirects ?? 10;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;

  let have = await fileSize(part);
  const meta = await readMeta(a.meta);
  if (have > 0 && (meta?.url !== url || (meta.total !== undefined && have > meta.total))) {
    await rm(part, { force: true }); // another URL's bytes, or nonsense: start over
    have = 0;
  }
  if (have > 0 && meta?.total === have) return; // complete, but not yet verified and renamed
  // If-Range takes a strong validator only (RFC 9110 13.1.5).
  const validator = meta?.etag && !meta.etag.startsWith('W/') ? meta.etag : meta?.lastModified;

  const jar = new CookieJar();
  let current = new URL(url);
  const visited = new Set<string>([current.href]);
  let redirects = 0;
  let confirmations = 0;
  let restarts = 0;
  const at = () => (current.href === url ? '' : ` at ${current.href}`);

  for (;;) {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: '*/*', 'accept-encoding': 'identity' };
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      if (validator) headers['if-range'] = validator;
    }
    const cookie = jar.header(current);
    if (cookie) headers.cookie = cookie;

    let res: IncomingMessage;
    try {
      res = await httpGet(current, { headers, idleTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (e) {
      if (options.signal?.aborted) throw e;
      // No answer within the idle timeout is not retried: offline behind a silent network, each
      // retry would cost another full timeout before the message.
      const transient = isTransientNetworkError(e) && (e as NodeJS.ErrnoException).code !== 'ETIMEDOUT';
      throw new Failure('E_IO', describeNetworkError(e) + at(), transient, { cause: e });
    }
    jar.store(current, res.headers['set-cookie']);
    const status = res.statusCode ?? 0;

    if (REDIRECTS.has(status) && res.headers.location) {
      res.resume();
      if (++redirects > maxRedirects) throw new Failure('E_IO', `too many redirects (more than ${maxRedirects})${at()}`, false);
      let next: URL;
      try {
        next = new URL(res.headers.location, current);
      } catch {
        throw new Failure('E_IO', `bad redirect to ${res.headers.location}${at()}`, false);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new Failure('E_IO', `redirected to ${next.href}, not an http(s) URL`, false);
      current = next;
      continue;
    }

    if (status === 416 && have > 0) {
      res.resume();
      // Range past the end: the part is the whole file if the server says so, else start over.
      if (parseUnsatisfiedRange(header(res, 'content-range')) === have) return;
      if (++restarts > MAX_RESTARTS) throw new Failure('E_IO', `HTTP 416 Range Not Satisfiable${at()}`, false);
      await rm(part, { force: true });
      have = 0;
      continue;
    }

    if (status < 200 || status >= 300) {
      res.destroy();
      const transient = status === 408 || status === 429 || status >= 500;
      throw new Failure('E_IO', `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() + at(), transient);
    }

    const body = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let head: { chunks: Buffer[]; ended: boolean };
    try {
      head = await readHead(body, HEAD_BYTES);
    } catch (e) {
      if (options.signal?.aborted) throw e;
      throw new Failure('E_IO', describeNetworkError(e) + at(), true, { cause: e });
    }
    const headBytes = Buffer.concat(head.chunks);
    const contentType = header(res, 'content-type');
    const partial = status === 206;

    // A web page instead of the file: follow it if it is a confirmation page, else fail.
    const isPage = !(partial ? false : startsLikeCheckpoint(headBytes)) && looksLikeHtml(partial ? new Uint8Array() : headBytes, contentType);
    if (isPage) {
      const chunks = [...head.chunks];
      let size = headBytes.length;
      try {
        while (!head.ended && size < HTML_LIMIT) {
          const r = await body.next();
          if (r.done) break;
          chunks.push(r.value);
          size += r.value.length;
        }
      } catch {
        // a truncated page is still worth scanning
      }
      res.destroy();
      const html = Buffer.concat(chunks).toString('utf8');
      let next = findDownloadConfirmation(html, current);
      const token = next ? undefined : jar.find(current, 'download_warning');
      if (token !== undefined) {
        next = new URL(current);
        next.searchParams.set('confirm', token);
      }
      if (next && !visited.has(next.href) && ++confirmations <= MAX_CONFIRMATIONS) {
        visited.add(next.href);
        current = next;
        continue;
      }
      const title = htmlTitle(html);
      throw new Failure('E_FORMAT', `the server returned a web page, not a checkpoint${title ? ` ("${title}")` : ''}${at()}`, false);
    }

    let append = false;
    let total: number | undefined;
    if (partial) {
      const range = parseContentRange(header(res, 'content-range'));
      const changed = range?.total !== undefined && meta?.total !== undefined && range.total !== meta.total;
      if (!range || range.start !== have || changed) {
        res.destroy();
        if (++restarts > MAX_RESTARTS) throw new Failure('E_IO', `the server sent a byte range other than the one asked for${at()}`, false);
        await rm(part, { force: true });
        have = 0;
        continue;
      }
      append = true;
      const length = header(res, 'content-length');
      total = range.total ?? (length !== undefined && /^\d+$/.test(length) ? have + Number(length) : undefined);
    } else {
      if (!startsLikeCheckpoint(headBytes)) {
        res.destroy();
        const what = headBytes.length === 0 ? 'an empty response' : `data starting with ${preview(headBytes)}`;
        throw new Failure('E_FORMAT', `the server sent ${what}${contentType ? ` (${contentType})` : ''}, not a checkpoint${at()}`, false);
      }
      const length = header(res, 'content-length');
      total = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
      have = 0;
      const record: PartMeta = { url };
      const etag = header(res, 'etag');
      const lastModified = header(res, 'last-modified');
      if (etag) record.etag = etag;
      if (lastModified) record.lastModified = lastModified;
      if (total !== undefined) record.total = total;
      try {
        await writeFile(a.meta, JSON.stringify(record));
      } catch (e) {
        res.destroy();
        throw diskFailure(a.meta, e);
      }
    }

    let handle: FileHandle;
    try {
      handle = await open(part, append ? 'a' : 'w');
    } catch (e) {
      res.destroy();
      throw diskFailure(part, e);
    }
    let done = have;
    try {
      a.emit(done, total, true);
      const write = async (chunk: Buffer) => {
        try {
          await handle.write(chunk);
        } catch (e) {
          res.destroy();
          throw diskFailure(part, e);
        }
        done += chunk.length;
        a.emit(done, total, false);
      };
      for (const chunk of head.chunks) await write(chunk);
      if (!head.ended) {
        for (;;) {
          let r: IteratorResult<Buffer>;
          try {
            r = await body.next();
          } catch (e) {
            if (options.signal?.aborted) throw e;
            const where = total !== undefined ? ` after ${done} of ${total} bytes` : ` after ${done} bytes`;
            throw new Failure('E_IO', `${describeNetworkError(e)}${where}${at()}`, true, { cause: e });
          }
          if (r.done) break;
          await write(r.value);
        }
      }
    } finally {
      await handle.close();
    }
    if (total !== undefined && done !== total) {
      throw new Failure('E_IO', `connection closed after ${done} of ${total} bytes${at()}`, done < total);
    }
    a.emit(done, total, true);
    return;
  }
}

const sleep = abortableSleep;

/**
 * Downloads `url` to `dest` (see the file comment). Returns at once, without any request, if
 * `dest` already exists. Failures are one-line SedsegErrors: E_IO for network, HTTP and disk
 * problems, E_FORMAT for a web page or another non-checkpoint; an abort through `signal` is
 * rethrown as is. The `.part` is kept after network failures (the next call resumes) and
 * deleted when what arrived is not a checkpoint.
 */
export async function downloadFile(url: string, dest: string, options: DownloadFileOptions = {}): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const meta = `${dest}.part.json`;
  const lockPath = `${dest}.lock`;
  const fail = (f: Failure): SedsegError =>
    new SedsegError(
      f.code,
      `${options.label ? `cannot download ${options.label} from ${url}` : `cannot download ${url}`}: ${f.reason}${options.hint ? `; ${options.hint}` : ''}`,
      { cause: f.cause ?? f },
    );

  try {
    await mkdir(dirname(dest), { recursive: true });
  } catch (e) {
    throw fail(diskFailure(dirname(dest), e));
  }
  const lock = await acquireFileLock(lockPath, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.lockStaleMs !== undefined ? { staleMs: options.lockStaleMs } : {}),
    onWait: () => options.onProgress?.({ phase: 'wait', url, lockPath }),
  });
  try {
    if ((await fileSize(dest)) > 0) {
      return { path: dest, format: await verifyCheckpointFile(dest), downloaded: false, resumedFrom: 0 };
    }
    const resumedFrom = (await readMeta(meta))?.url === url ? await fileSize(part) : 0;
    const interval = options.progressIntervalMs ?? 100;
    let last = -Infinity;
    const emit = (done: number, total: number | undefined, force: boolean) => {
      if (!options.onProgress) return;
      const now = performance.now();
      if (!force && now - last < interval) return;
      last = now;
      options.onProgress({ phase: 'download', done, total, url });
    };

    const retries = options.retries ?? 3;
    for (let n = 0; ; n++) {
      try {
        await attempt({ url, part, meta, options, emit });
        break;
      } catch (e) {
        if (options.signal?.aborted || !(e instanceof Failure)) throw e;
        if (!e.transient || n >= retries) throw fail(e);
        await sleep((options.retryDelayMs ?? 1000) * 2 ** n, options.signal);
      }
    }

    let format: WeightsFormat;
    try {
      format = await verifyCheckpointFile(part);
    } catch (e) {
      await rm(part, { force: true });
      await rm(meta, { force: true });
      const why = e instanceof Error ? e.message.replace(`${part}: `, '') : String(e);
      throw fail(new Failure('E_FORMAT', `the downloaded file is not a checkpoint (${why})`, false, { cause: e }));
    }
    try {
      await rename(part, dest);
    } catch (e) {
      throw fail(diskFailure(dest, e));
    }
    await rm(meta, { force: true });
    return { path: dest, format, downloaded: true, resumedFrom };
  } finally {
    await lock.release();
  }
}
