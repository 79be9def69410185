/**
 * `--weights` as a model name or URL, and `segment` without `--weights` (the default model), as a
 * user runs them: the released checkpoints cannot be downloaded here, so the known model's URL is
 * pointed at a local HTTP server (SEDSEG_MODEL_URL_SED_B) that serves the tiny reference model,
 * and the cache at a temporary folder (SEDSEG_CACHE_DIR).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_DIR, runCliAsync } from './run-cli.js';

const TINY_BYTES = readFileSync(resolve(REFERENCE_DIR, 'tiny/model.pth'));
const work = mkdtempSync(join(tmpdir(), 'sedseg-weights-'));
const image = join(work, 'street.png');
let server: Server;
let base = '';
const requests: string[] = [];

beforeAll(async () => {
  const data = Buffer.alloc(40 * 30 * 3, 90);
  await sharp(data, { raw: { width: 40, height: 30, channels: 3 } })
    .png()
    .toFile(image);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/tiny.pth') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TINY_BYTES.length });
      res.end(TINY_BYTES);
    } else if (req.url === '/error-page') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head><title>Quota exceeded</title></head><body>Too many users</body></html>');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

function env(cache: string, url = `${base}/tiny.pth`): NodeJS.ProcessEnv {
  return { ...process.env, SEDSEG_CACHE_DIR: cache, SEDSEG_MODEL_URL_SED_B: url };
}

const common = ['--resolution', '64', '--classes', 'car, road', '--no-cache'];

describe('sedseg segment: weights by name, by URL, or none', () => {
  it('without --weights uses sed-b, says so in one line, downloads it once into the cache, then reuses it', async () => {
    const cache = join(work, 'cache-default');
    const out = join(work, 'out-default');
    requests.length = 0;
    const first = await runCliAsync(['segment', image, ...common, '--out', out], { env: env(cache) });
    expect(first.stderr).toMatch(/^sedseg segment: no --weights given: using sed-b, the authors' SED \(B\) checkpoint \(ConvNeXt-B\)$/m);
    expect(first.stderr).toMatch(/sedseg segment: downloading sed-b \(\d+ MB\) from http:\/\/127\.0\.0\.1:\d+\/tiny\.pth into the cache/);
    expect(first.code).toBe(0);
    const cached = join(cache, 'models', 'sed-b', 'model_final.pth');
    expect(readFileSync(cached).equals(TINY_BYTES)).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'street.json'), 'utf8'));
    expect(json.model).toMatchObject({ weights: 'sed-b', name: 'sed-b', file: cached });
    expect(requests).toEqual(['/tiny.pth']);

    const second = await runCliAsync(['segment', image, ...common, '--out', out, '--overwrite', '--weights', 'SED-B'], { env: env(cache) });
    expect(second.code).toBe(0);
    expect(second.stderr).not.toMatch(/downloading|no --weights/);
    expect(requests).toEqual(['/tiny.pth']); // no second request
  });

  it('--weights URL downloads that file; --json reports the download as JSON lines', async () => {
    const cache = join(work, 'cache-url');
    const r = await runCliAsync(['segment', image, ...common, '--out', join(work, 'out-url'), '--weights', `${base}/tiny.pth`, '--json'], { env: env(cache) });
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(events.map((e) => e.event)).toEqual(['download', 'downloaded', 'image', 'done']);
  });

  it('a web page instead of a checkpoint: one line, exit 1, no output folder, nothing in the cache', async () => {
    const cache = join(work, 'cache-page');
    const out = join(work, 'out-page');
    const r = await runCliAsync(['segment', image, ...common, '--out', out], { env: env(cache, `${base}/error-page`) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^sedseg: error: .*the server returned a web page, not a checkpoint \("Quota exceeded"\)/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(cache, 'models', 'sed-b', 'model_final.pth'))).toBe(false);
  });

  it('offline (nothing listening): one line naming what to do, exit 1', async () => {
    const cache = join(work, 'cache-offline');
    mkdirSync(cache);
    const r = await runCliAsync(['segment', image, ...common, '--out', join(work, 'out-offline')], { env: env(cache, 'http://127.0.0.1:9/model_final.pth') });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(
      /^sedseg: error: cannot download sed-b from http:\/\/127\.0\.0\.1:9\/model_final\.pth: connection refused.*pass --weights FILE$/,
    );
  });

  it('an unknown model name is refused with the known ones', async () => {
    const r = await runCliAsync(['segment', image, ...common, '--weights', 'sed-xl'], { env: env(join(work, 'cache-unknown')) });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('sedseg: error: unknown model name "sed-xl" (known: sed-b, sed-l); for a file, give its path');
  });
});
