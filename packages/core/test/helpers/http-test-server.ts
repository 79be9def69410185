/**
 * Test helper: an HTTP server on 127.0.0.1 (port chosen by the OS) with per-path handlers,
 * which records every request, plus `serveBytes` for a file with optional Range support and
 * a connection dropped after some bytes.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface RecordedRequest {
  path: string;
  /** Path with query string. */
  url: string;
  headers: IncomingHttpHeaders;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  /** Handlers by pathname; a missing one answers 404. */
  readonly routes: Map<string, Handler>;
  close(): Promise<void>;
}

export async function startTestServer(routes: Record<string, Handler> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({ path: url.pathname, url: `${url.pathname}${url.search}`, headers: req.headers });
    const handler = table.get(url.pathname);
    if (!handler) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    Promise.resolve(handler(req, res, url)).catch((e: unknown) => {
      res.destroy(e as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    routes: table,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServeOptions {
  /** Answer `Range: bytes=N-` with 206 (default true); false answers 200 with everything. */
  range?: boolean;
  etag?: string;
  lastModified?: string;
  contentType?: string;
  /** Destroy the connection after sending this many body bytes. */
  dropAfter?: number;
  /** Send the body in chunks of this size with `chunkDelayMs` between them. */
  chunkSize?: number;
  chunkDelayMs?: number;
}

/** Serves `bytes` like a static file server would. */
export async function serveBytes(req: IncomingMessage, res: ServerResponse, bytes: Uint8Array, options: ServeOptions = {}): Promise<void> {
  const headers: Record<string, string | number> = { 'content-type': options.contentType ?? 'application/octet-stream', 'accept-ranges': 'bytes' };
  if (options.etag) headers.etag = options.etag;
  if (options.lastModified) headers['last-modified'] = options.lastModified;
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const validatorOk = ifRange === undefined || ifRange === options.etag || ifRange === options.lastModified;
  if ((options.range ?? true) && range && validatorOk) {
    start = Number(range[1]);
    if (start >= bytes.length) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    headers['content-range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
    headers['content-length'] = bytes.length - start;
    res.writeHead(206, headers);
  } else {
    headers['content-length'] = bytes.length;
    res.writeHead(200, headers);
  }
  let body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(start);
  if (options.dropAfter !== undefined) {
    const sent = body.subarray(0, options.dropAfter);
    await new Promise<void>((resolve) => res.write(sent, () => resolve()));
    // Let the bytes reach the client before the connection goes.
    await new Promise((r) => setTimeout(r, 20));
    res.socket?.destroy();
    return;
  }
  const chunk = options.chunkSize ?? body.length;
  while (body.length > chunk) {
    await new Promise<void>((resolve) => res.write(body.subarray(0, chunk), () => resolve()));
    body = body.subarray(chunk);
    if (options.chunkDelayMs) await new Promise((r) => setTimeout(r, options.chunkDelayMs));
  }
  res.end(body);
}

/** A page shaped like Google Drive's "can't scan this file for viruses" warning (2024). */
export function driveWarningPage(action: string, fields: Record<string, string>, fileName = 'model_final.pth'): string {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`)
    .join('');
  return `<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title><meta http-equiv="content-type" content="text/html; charset=utf-8"/></head>
<body><div class="uc-main"><div id="uc-text"><p class="uc-warning-caption">Google Drive can't scan this file for viruses.</p>
<p class="uc-warning-subcaption"><span class="uc-name-size"><a href="/open?id=${fields.id ?? ''}">${fileName}</a> (1.1G)</span> is too large for Google to scan for viruses. Would you still like to download this file?</p>
<form id="download-form" action="${action}" method="get"><input type="submit" id="uc-download-link" class="goog-inline-block jfk-button jfk-button-action" value="Download anyway"/>${inputs}</form></div></div></body></html>`;
}
