/**
 * Downloads a file (weights, the tokenizer vocabulary) with progress, kept in the Cache API so
 * a reload reads it from there. Without `caches` (Node, insecure origins) it just downloads.
 *
 * A cached copy is checked against the server before use (a HEAD request: ETag, Last-Modified,
 * Content-Length), so a file replaced at the same URL is downloaded again; when the server
 * cannot be reached (offline) the cached copy is used as it is.
 */
import { SedsegError } from '@sedseg/core';

export interface FetchWeightsOptions {
  /** Bytes received so far, and the total when the server says it. */
  onProgress?(loaded: number, total?: number): void;
  /** Cache API cache to read from and store in (default `sedseg-weights`); false = no cache. */
  cacheName?: string | false;
  signal?: AbortSignal;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /**
   * Check a cached copy against the server (HEAD) before using it (default true); false uses it
   * without asking. Offline, the cached copy is used either way.
   */
  revalidate?: boolean;
}

/** Response headers that identify a file's version, kept with the cached copy. */
const VALIDATORS = ['etag', 'last-modified'] as const;
const STORED = (name: string): string => `x-sedseg-${name}`;

/**
 * Whether the server now has another file than the cached copy: its ETag or Last-Modified
 * changed, or its size. Unknown (no answer, no headers to compare) counts as unchanged.
 */
async function changedOnServer(url: string, cached: Response, doFetch: typeof fetch, signal?: AbortSignal): Promise<boolean> {
  let head: Response;
  try {
    head = await doFetch(url, { method: 'HEAD', cache: 'no-store', ...(signal ? { signal } : {}) });
  } catch (e) {
    if ((e as { name?: string }).name === 'AbortError' && signal?.aborted) throw e;
    return false; // offline: the cached copy is all there is
  }
  if (!head.ok) return false;
  for (const name of VALIDATORS) {
    const was = cached.headers.get(STORED(name));
    const now = head.headers.get(name);
    if (was !== null && now !== null && was !== now) return true;
  }
  const size = head.headers.get('content-encoding') ? null : head.headers.get('content-length');
  const cachedSize = cached.headers.get('content-length');
  return size !== null && cachedSize !== null && Number(size) > 0 && size !== cachedSize;
}

export const DEFAULT_WEIGHTS_CACHE = 'sedseg-weights';

async function openCache(name: string | false): Promise<Cache | undefined> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (name === false || storage === undefined) return undefined;
  try {
    return await storage.open(name);
  } catch {
    return undefined; // e.g. storage disabled: download without caching
  }
}

function totalOf(response: Response): number | undefined {
  // A compressed transfer's Content-Length counts compressed bytes: no total then.
  if (response.headers.get('content-encoding')) return undefined;
  const n = Number(response.headers.get('content-length'));
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Reads a response body, reporting progress. */
async function readBody(response: Response, url: string, onProgress: FetchWeightsOptions['onProgress']): Promise<Uint8Array> {
  const total = totalOf(response);
  if (response.body === null) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.(bytes.byteLength, total ?? bytes.byteLength);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  onProgress?.(0, total);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onProgress?.(loaded, total);
    }
  } catch (e) {
    if ((e as { name?: string }).name === 'AbortError') throw e;
    throw new SedsegError('E_IO', `could not download ${url}: ${e instanceof Error ? e.message : String(e)} after ${loaded} bytes`);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}

/**
 * The bytes at `url`: from the Cache API when a previous download stored them, else downloaded
 * (with `onProgress`) and stored. Fails with `could not download <url>: HTTP 404 Not Found` (or
 * the network error) otherwise.
 */
export async function fetchWeights(url: string, options: FetchWeightsOptions = {}): Promise<Uint8Array> {
  const cache = await openCache(options.cacheName ?? DEFAULT_WEIGHTS_CACHE);
  const doFetch = options.fetch ?? globalThis.fetch;
  if (cache !== undefined) {
    const hit = await cache.match(url).catch(() => undefined);
    if (hit?.ok && !(options.revalidate !== false && (await changedOnServer(url, hit, doFetch, options.signal)))) {
      return readBody(hit, url, options.onProgress);
    }
  }
  let response: Response;
  try {
    response = await doFetch(url, options.signal ? { signal: options.signal } : {});
  } catch (e) {
    if ((e as { name?: string }).name === 'AbortError') throw e;
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new SedsegError('E_IO', `could not download ${url}: ${e instanceof Error ? e.message : String(e)}${cause ? ` (${cause})` : ''}`);
  }
  if (!response.ok) throw new SedsegError('E_IO', `could not download ${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  const bytes = await readBody(response, url, options.onProgress);
  if (cache !== undefined) {
    const headers: Record<string, string> = { 'content-length': String(bytes.byteLength) };
    const type = response.headers.get('content-type');
    if (type) headers['content-type'] = type;
    for (const name of VALIDATORS) {
      const value = response.headers.get(name);
      if (value !== null) headers[STORED(name)] = value;
    }
    // Storing may fail (quota): the download is still good.
    await cache.put(url, new Response(bytes as BodyInit, { headers })).catch(() => undefined);
  }
  return bytes;
}
