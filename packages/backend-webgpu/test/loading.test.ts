/**
 * Loading over HTTP as a page does, in Node: a local server serves the tiny reference model;
 * `caches` and `indexedDB` are absent in Node, so this is the plain download path.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareLabels } from '@sedseg/core/conformance';
import { openSafetensors, memorySource } from '@sedseg/core';
import { createWebOps, fetchWeights, loadWebModel, type WebLoadProgress } from '../src/index.js';

const REFERENCE_DIR = fileURLToPath(new URL('../../../../shared/reference/', import.meta.url));
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    if (path === 'garbage.bin') {
      res.writeHead(200, { 'content-length': '64' }).end(Buffer.alloc(64, 7));
      return;
    }
    try {
      if (path.includes('..')) throw new Error('no');
      const bytes = await readFile(REFERENCE_DIR + path);
      res.writeHead(200, { 'content-length': String(bytes.byteLength) }).end(bytes);
    } catch {
      res.writeHead(404, 'Not Found').end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('fetchWeights', () => {
  it('downloads with progress (no Cache API in Node)', async () => {
    const events: [number, number | undefined][] = [];
    const bytes = await fetchWeights(`${base}/tiny/model.pth`, { onProgress: (loaded, total) => events.push([loaded, total]) });
    const expected = await readFile(`${REFERENCE_DIR}tiny/model.pth`);
    expect(bytes.byteLength).toBe(expected.byteLength);
    expect(events.at(-1)).toEqual([expected.byteLength, expected.byteLength]);
    expect(events.length).toBeGreaterThan(1);
  });

  it('says which URL failed and the HTTP status', async () => {
    await expect(fetchWeights(`${base}/tiny/missing.pth`)).rejects.toThrow(`could not download ${base}/tiny/missing.pth: HTTP 404 Not Found`);
  });
});

describe('loadWebModel', () => {
  it('loads the tiny model from a URL and segments case-01 like the reference', async () => {
    const progress: WebLoadProgress[] = [];
    const ops = await createWebOps({ device: 'wasm', threads: 1 });
    const config = JSON.parse(await readFile(`${REFERENCE_DIR}tiny/config.json`, 'utf8'));
    const model = await loadWebModel(`${base}/tiny/model.pth`, {
      ops,
      config,
      vocabularyUrl: `${base}/bpe_simple_vocab_16e6.txt.gz`,
      onProgress: (p) => progress.push(p),
    });
    try {
      expect(progress.some((p) => p.phase === 'download' && p.file === 'weights')).toBe(true);
      expect(progress.some((p) => p.phase === 'download' && p.file === 'vocabulary')).toBe(true);
      const dir = `${REFERENCE_DIR}tiny/case-01/`;
      const meta = JSON.parse(await readFile(`${dir}case.json`, 'utf8'));
      const classes = JSON.parse(await readFile(`${dir}classes.json`, 'utf8'));
      const store = await openSafetensors(memorySource(new Uint8Array(await readFile(`${dir}tensors.safetensors`))));
      const img = await store.read('image');
      const [height, width] = img.shape as [number, number, number];
      const seg = await model.segment(
        { width, height, data: img.data as Uint8Array },
        { classes, resolution: meta.resolution, pooling: meta.decoder_pooling?.[0] ?? 2 },
      );
      const cmp = compareLabels((await store.read('labels')).data as Int32Array, (await store.read('labels_margin')).data as Float32Array, seg.labels);
      expect(cmp.differingConfident).toBe(0);
    } finally {
      model.dispose();
    }
  });

  it('loads from bytes and a Blob too (format sniffed, no URL)', async () => {
    const ops = await createWebOps({ device: 'wasm', threads: 1 });
    const config = JSON.parse(await readFile(`${REFERENCE_DIR}tiny/config.json`, 'utf8'));
    const bytes = new Uint8Array(await readFile(`${REFERENCE_DIR}tiny/model.pth`));
    const vocabularyUrl = `${base}/bpe_simple_vocab_16e6.txt.gz`;
    const a = await loadWebModel(new Blob([bytes]), { ops, config, vocabularyUrl, classEmbeddings: false });
    a.dispose();
    const b = await loadWebModel(bytes, { ops, config, vocabularyUrl, classEmbeddings: false });
    b.dispose();
  });

  it('explains bytes that are not a checkpoint, a missing vocabulary and a 404', async () => {
    const ops = await createWebOps({ device: 'wasm', threads: 1 });
    const vocabularyUrl = `${base}/bpe_simple_vocab_16e6.txt.gz`;
    await expect(loadWebModel(`${base}/garbage.bin`, { ops, vocabularyUrl })).rejects.toThrow(`${base}/garbage.bin: not a weights file`);
    await expect(loadWebModel(`${base}/nope.safetensors`, { ops, vocabularyUrl })).rejects.toThrow(
      `could not download ${base}/nope.safetensors: HTTP 404 Not Found`,
    );
    await expect(loadWebModel(`${base}/tiny/model.pth`, { ops })).rejects.toThrow(/give a tokenizer or vocabularyUrl/);
  });
});
