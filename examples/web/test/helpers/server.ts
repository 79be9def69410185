/**
 * A static HTTP server on 127.0.0.1 for the browser tests: the built page (examples/web/dist) at
 * `/`, and the reference data set (../shared/reference) under `/reference/`.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = resolve(fileURLToPath(import.meta.url), '../../..');
export const DIST_DIR = join(WEB_DIR, 'dist');
export const REFERENCE_DIR = resolve(WEB_DIR, '../../../shared/reference');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  url: string;
  /** Paths requested so far (e.g. to see which onnxruntime-web files the page loaded). */
  requests: string[];
  close(): Promise<void>;
}

function fileFor(urlPath: string, mounts: Readonly<Record<string, string>>): string | undefined {
  const path = decodeURIComponent(urlPath);
  const mounted = Object.entries({ ...mounts, '/reference/': REFERENCE_DIR }).find(([prefix]) => path.startsWith(prefix));
  const [root, rest] = mounted ? [mounted[1], path.slice(mounted[0].length)] : [DIST_DIR, path.slice(1) || 'index.html'];
  const file = normalize(join(root, rest));
  if (file !== root && !file.startsWith(root + sep)) return undefined;
  return existsSync(file) && statSync(file).isFile() ? file : undefined;
}

/** `mounts`: more folders served, by URL prefix (e.g. `{ '/export/': dir }`). */
export async function startServer(mounts: Readonly<Record<string, string>> = {}): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(path);
    const file = fileFor(path, mounts);
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': statSync(file).size,
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
