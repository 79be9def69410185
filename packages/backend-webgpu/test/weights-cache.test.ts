/**
 * `fetchWeights` with the Cache API (an in-memory CacheStorage stands in for the browser's): a
 * reload reads the cached copy after a HEAD request says the file is unchanged; a file replaced
 * at the same URL (new ETag, or another size) is downloaded again; offline the cached copy is used.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchWeights } from '../src/index.js';

/** The part of the Cache API fetchWeights uses, in memory. */
class MemoryCache {
  readonly entries = new Map<string, Response>();
  async match(url: string): Promise<Response | undefined> {
    return this.entries.get(url)?.clone();
  }
  async put(url: string, response: Response): Promise<void> {
    this.entries.set(url, response);
  }
}
const cache = new MemoryCache();
const storage = { open: async () => cache };

let server: Server;
let url: string;
let file = { bytes: Buffer.from('version one of the weights'), etag: '"v1"' };
const seen: string[] = [];

beforeAll(async () => {
  (globalThis as { caches?: unknown }).caches = storage;
  server = createServer((req, res) => {
    seen.push(req.method ?? '?');
    res.writeHead(200, { 'content-length': String(file.bytes.byteLength), etag: file.etag });
    res.end(req.method === 'HEAD' ? undefined : file.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.safetensors`;
});
afterAll(() => {
  delete (globalThis as { caches?: unknown }).caches;
  server.close();
});

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('fetchWeights and the Cache API', () => {
  it('downloads once, then reads the cached copy after a HEAD says it is unchanged', async () => {
    expect(text(await fetchWeights(url))).toBe('version one of the weights');
    expect(seen).toEqual(['GET']);
    expect(text(await fetchWeights(url))).toBe('version one of the weights');
    expect(seen).toEqual(['GET', 'HEAD']);
    await fetchWeights(url, { revalidate: false });
    expect(seen).toEqual(['GET', 'HEAD']);
  });

  it('downloads again when the file at the URL was replaced (new ETag)', async () => {
    file = { bytes: Buffer.from('version two, same length!!'), etag: '"v2"' };
    seen.length = 0;
    expect(text(await fetchWeights(url))).toBe('version two, same length!!');
    expect(seen).toEqual(['HEAD', 'GET']);
  });

  it('downloads again when only the size changed (no validators)', async () => {
    file = { bytes: Buffer.from('version three is longer than the others'), etag: '"v2"' };
    seen.length = 0;
    expect(text(await fetchWeights(url))).toBe('version three is longer than the others');
    expect(seen).toEqual(['HEAD', 'GET']);
  });

  it('uses the cached copy offline', async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    expect(text(await fetchWeights(url))).toBe('version three is longer than the others');
  });
});
