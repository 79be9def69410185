/**
 * One HTTP(S) GET with Node's own client. Not global fetch: the downloader needs each redirect
 * and each Set-Cookie as it comes (confirm pages, Range on every hop), the raw bytes (no
 * content decoding, so byte offsets mean file offsets), and errno codes to tell "offline"
 * from "connection dropped".
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

export interface HttpGetOptions {
  headers: Record<string, string>;
  /** The request fails with ETIMEDOUT after this long without any socket activity. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

/** Resolves with the response head; the body is left to the caller, who must consume or destroy it. */
export function httpGet(url: URL, options: HttpGetOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { headers: options.headers, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
      // The idle timeout keeps running for the body: a stalled transfer fails instead of hanging.
      resolve(res);
    });
    req.setTimeout(options.idleTimeoutMs, () => {
      req.destroy(Object.assign(new Error(`no data for ${Math.round(options.idleTimeoutMs / 1000)} s`), { code: 'ETIMEDOUT' }));
    });
    req.on('error', reject);
  });
}

const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'timed out',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  ENETDOWN: 'network down',
  UND_ERR_SOCKET: 'connection closed',
};

/** Errors that usually mean no network at all. */
const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'ENETDOWN']);

/** Network errors worth retrying: a connection was made and lost. Not DNS failures or refusals: offline, retrying only delays the message. */
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']);

/** A short human reason for a network error, with its code: `connection refused (ECONNREFUSED)`, `host not found (ENOTFOUND; offline?)`. */
export function describeNetworkError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const code = err?.code;
  if (code && NETWORK_REASONS[code]) return `${NETWORK_REASONS[code]} (${code}${OFFLINE_CODES.has(code) ? '; offline?' : ''})`;
  const message = err instanceof Error ? err.message : String(e);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

export function isTransientNetworkError(e: unknown): boolean {
  const err = e as NodeJS.ErrnoException;
  if (err?.code && TRANSIENT_CODES.has(err.code)) return true;
  return err instanceof Error && /aborted|socket hang up|premature close/i.test(err.message);
}
