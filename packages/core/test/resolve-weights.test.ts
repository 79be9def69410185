import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSedsegError, type SedsegErrorCode } from '../src/errors.js';
import type { DownloadEvent } from '../src/node/download-file.js';
import { normalizeDriveUrl } from '../src/node/google-drive-links.js';
import { findDownloadConfirmation, htmlTitle } from '../src/node/html-download-confirm.js';
import { findKnownModel, KNOWN_MODELS, knownModelUrl } from '../src/node/known-models.js';
import { modelCacheFile, resolveWeights, type ResolveWeightsOptions } from '../src/node/resolve-weights.js';
import { closedPort, driveWarningPage, serveBytes, startTestServer, type TestServer } from './helpers/http-test-server.js';
import { noiseBytes, tinyPth, tinySafetensors } from './helpers/tiny-checkpoints.js';

const PTH = tinyPth(); // ~256 KiB
const ST = tinySafetensors();
const B = findKnownModel('sed-b')!;

/** sha256 and length: comparing 256 KiB with toEqual takes vitest about a second. */
const digest = (b: Uint8Array) => `${b.length}:${createHash('sha256').update(b).digest('hex')}`;

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

let server: TestServer;
let cacheDir: string;
beforeEach(async () => {
  server = await startTestServer();
  cacheDir = mkdtempSync(join(tmpdir(), 'sedseg-weights-'));
  roots.push(cacheDir);
});
afterEach(async () => {
  await server.close();
});

const route = (path: string, handler: Parameters<TestServer['routes']['set']>[1]) => server.routes.set(path, handler);
const bFile = () => modelCacheFile(cacheDir, B);
/** resolveWeights('sed-b') against the test server's `path`, failing fast (no retries, no env). */
const getB = (path: string, extra: ResolveWeightsOptions = {}) =>
  resolveWeights('sed-b', { cacheDir, urls: { 'sed-b': `${server.origin}${path}` }, env: {}, retries: 0, ...extra });

async function expectError(p: Promise<unknown>, code: SedsegErrorCode, ...fragments: string[]): Promise<string> {
  const caught = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSedsegError(caught)) throw new Error(`expected a SedsegError ${code}, got ${String(caught)}`);
  expect(caught.code, caught.message).toBe(code);
  for (const f of fragments) expect(caught.message).toContain(f);
  expect(caught.message).not.toContain('\n');
  return caught.message;
}

/** Files left in sed-b's cache folder. */
const leftovers = () => (existsSync(join(cacheDir, 'models', 'sed-b')) ? readdirSync(join(cacheDir, 'models', 'sed-b')).sort() : []);

describe('known models', () => {
  it('records the release links of the authors README (Google Drive file ids)', () => {
    expect(KNOWN_MODELS.map((m) => m.name)).toEqual(['sed-b', 'sed-l']);
    expect(B.driveFileId).toBe('1qx6zGZgSPkF6TObregRz4uzQqSRHrgUw');
    expect(B.url).toBe('https://drive.google.com/uc?export=download&id=1qx6zGZgSPkF6TObregRz4uzQqSRHrgUw');
    expect(findKnownModel(' SED-L ')!.driveFileId).toBe('1zAXE0QXy47n0cVn7j_2cSR85eqxdDGg8');
    expect(B.urlEnv).toBe('SEDSEG_MODEL_URL_SED_B');
    expect(findKnownModel('sed-l')!.urlEnv).toBe('SEDSEG_MODEL_URL_SED_L');
  });

  it('URL override: option beats environment beats release link; bad overrides are refused', () => {
    expect(knownModelUrl(B, { env: {} })).toBe(B.url);
    expect(knownModelUrl(B, { env: { SEDSEG_MODEL_URL_SED_B: 'http://e/x.pth' } })).toBe('http://e/x.pth');
    expect(knownModelUrl(B, { env: { SEDSEG_MODEL_URL_SED_B: 'http://e/x.pth' }, urls: { 'SED-B': 'http://o/y.pth' } })).toBe('http://o/y.pth');
    expect(() => knownModelUrl(B, { env: { SEDSEG_MODEL_URL_SED_B: 'ftp://e/x' } })).toThrow(/SEDSEG_MODEL_URL_SED_B must be an http/);
  });

  it('turns a Drive viewer link into its download URL', () => {
    expect(normalizeDriveUrl('https://drive.google.com/file/d/1qx6zGZgSPkF6TObregRz4uzQqSRHrgUw/view?usp=drive_link')).toBe(B.url);
    expect(normalizeDriveUrl('https://drive.google.com/open?id=1qx6zGZgSPkF6TObregRz4uzQqSRHrgUw')).toBe(B.url);
    expect(normalizeDriveUrl('https://example.com/file/d/1qx6zGZgSPkF6TObregRz4uzQqSRHrgUw/view')).toBe(
      'https://example.com/file/d/1qx6zGZgSPkF6TObregRz4uzQqSRHrgUw/view',
    );
  });

  it('finds the confirmation of a Drive warning page, an old confirm link and a script URL', () => {
    const page = new URL('https://drive.usercontent.google.com/download?id=ID&export=download');
    const form = findDownloadConfirmation(
      driveWarningPage('https://drive.usercontent.google.com/download', { id: 'ID', export: 'download', confirm: 't', uuid: 'u-1' }),
      page,
    );
    expect(form?.href).toBe('https://drive.usercontent.google.com/download?id=ID&export=download&confirm=t&uuid=u-1');
    const link = findDownloadConfirmation(
      '<html><a id="uc-download-link" href="/uc?export=download&amp;confirm=Xy_1&amp;id=ID">Download anyway</a></html>',
      new URL('https://drive.google.com/uc?export=download&id=ID'),
    );
    expect(link?.href).toBe('https://drive.google.com/uc?export=download&confirm=Xy_1&id=ID');
    const script = findDownloadConfirmation('<script>var c = {"downloadUrl":"https://host/dl?id\\u003dID\\u0026confirm\\u003dt"};</script>', page);
    expect(script?.href).toBe('https://host/dl?id=ID&confirm=t');
    expect(findDownloadConfirmation('<html><a href="/open?id=ID">x</a></html>', page)).toBeUndefined();
    expect(htmlTitle('<title>\n A &amp; B </title>')).toBe('A & B');
  });
});

describe('resolveWeights: local paths and bad specs', () => {
  it('returns an existing local path as given, without a cache folder or any request', async () => {
    const file = join(cacheDir, 'mine.pth');
    writeFileSync(file, PTH);
    expect(await resolveWeights(file)).toEqual({ path: file, source: 'local' });
    expect(digest(readFileSync(file))).toBe(digest(PTH)); // never written
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a missing file, a folder, an unknown name and a non-http scheme', async () => {
    await expectError(resolveWeights(join(cacheDir, 'nope.pth')), 'E_IO', 'nope.pth: cannot open (no such file; weights are a file path');
    await expectError(resolveWeights(cacheDir), 'E_IO', 'is a directory');
    await expectError(resolveWeights('sed-xl', { cacheDir }), 'E_ARGUMENT', 'unknown model name "sed-xl" (known: sed-b, sed-l)');
    await expectError(resolveWeights('ftp://host/model.pth', { cacheDir }), 'E_ARGUMENT', 'unsupported URL scheme ftp:');
    await expectError(resolveWeights('file:///tmp/model.pth', { cacheDir }), 'E_ARGUMENT', 'unsupported URL scheme file:');
    await expectError(resolveWeights('sed-b', { env: {} }), 'E_ARGUMENT', 'cacheDir');
  });
});

describe('resolveWeights: downloads', () => {
  it('downloads a name into <cacheDir>/models/ with progress, then uses the cache without any request', async () => {
    route('/b.pth', (req, res) => serveBytes(req, res, PTH, { chunkSize: 64 * 1024, chunkDelayMs: 5 }));
    const events: DownloadEvent[] = [];
    const url = `${server.origin}/b.pth`;
    const got = await resolveWeights('SED-B', { cacheDir, urls: { 'sed-b': url }, env: {}, progressIntervalMs: 0, onProgress: (e) => events.push(e) });
    expect(got).toEqual({ path: join(cacheDir, 'models', 'sed-b', 'model_final.pth'), source: 'download', name: 'sed-b', url });
    expect(digest(readFileSync(got.path))).toBe(digest(PTH));
    expect(leftovers()).toEqual(['model_final.pth']); // no .part, sidecar or lock left
    expect(events.length).toBeGreaterThan(2);
    expect(events[0]).toEqual({ phase: 'download', done: 0, total: PTH.length, url });
    expect(events.at(-1)).toEqual({ phase: 'download', done: PTH.length, total: PTH.length, url });
    const dones = events.map((e) => (e.phase === 'download' ? e.done : -1));
    expect(dones).toEqual([...dones].sort((a, b) => a - b));

    const n = server.requests.length;
    const again = await resolveWeights('sed-b', { cacheDir, urls: { 'sed-b': url }, env: {} });
    expect(again).toEqual({ ...got, source: 'cache' });
    const offline = await resolveWeights('sed-b', { cacheDir, urls: { 'sed-b': 'http://127.0.0.1:1/never' }, env: {}, offline: true });
    expect(offline.source).toBe('cache');
    expect(server.requests.length).toBe(n);
  });

  it('takes the URL of a name from SEDSEG_MODEL_URL_SED_B, and fails offline when nothing is cached', async () => {
    route('/env.pth', (req, res) => serveBytes(req, res, PTH));
    await expectError(resolveWeights('sed-b', { cacheDir, env: {}, offline: true }), 'E_IO', 'sed-b is not downloaded yet', 'downloads are off');
    const got = await resolveWeights('sed-b', { cacheDir, env: { SEDSEG_MODEL_URL_SED_B: `${server.origin}/env.pth` } });
    expect(got.source).toBe('download');
    expect(server.requests.map((r) => r.path)).toEqual(['/env.pth']);
  });

  it('downloads a URL (safetensors) into its own cache entry', async () => {
    route('/dir/weights.safetensors', (req, res) => serveBytes(req, res, ST));
    const url = `${server.origin}/dir/weights.safetensors`;
    const got = await resolveWeights(url, { cacheDir });
    expect(got.source).toBe('download');
    expect(got.url).toBe(url);
    expect(got.name).toBeUndefined();
    expect(got.path.startsWith(join(cacheDir, 'models', 'url-'))).toBe(true);
    expect(got.path.endsWith('weights.safetensors')).toBe(true);
    expect(digest(readFileSync(got.path))).toBe(digest(ST));
    expect((await resolveWeights(url, { cacheDir })).source).toBe('cache');
    expect(server.requests).toHaveLength(1);
  });

  it('follows redirects (relative and absolute, 301/302/303/307/308)', async () => {
    route('/r1', (_q, res) => void res.writeHead(301, { location: '/r2' }).end());
    route('/r2', (_q, res) => void res.writeHead(302, { location: `${server.origin}/r3` }).end());
    route('/r3', (_q, res) => void res.writeHead(303, { location: 'r4' }).end());
    route('/r4', (_q, res) => void res.writeHead(307, { location: '/r5?x=1' }).end());
    route('/r5', (_q, res) => void res.writeHead(308, { location: '/file' }).end());
    route('/file', (req, res) => serveBytes(req, res, PTH));
    const got = await getB('/r1');
    expect(digest(readFileSync(got.path))).toBe(digest(PTH));
    expect(server.requests.map((r) => r.url)).toEqual(['/r1', '/r2', '/r3', '/r4', '/r5?x=1', '/file']);
  });

  it('stops a redirect loop after maxRedirects with a clear error and no file', async () => {
    route('/a', (_q, res) => void res.writeHead(302, { location: '/b' }).end());
    route('/b', (_q, res) => void res.writeHead(302, { location: '/a' }).end());
    await expectError(getB('/a', { maxRedirects: 5 }), 'E_IO', `cannot download sed-b from ${server.origin}/a: too many redirects (more than 5)`);
    expect(server.requests).toHaveLength(6);
    expect(leftovers()).toEqual([]);
  });

  it('submits a Google-Drive-style "can\'t scan for viruses" form, then gets the file', async () => {
    const fields = { id: 'FILEID', export: 'download', confirm: 't', uuid: 'a1b2-c3' };
    const warning = driveWarningPage(`${server.origin}/download`, fields);
    route('/uc', (_q, res) => void res.writeHead(303, { location: '/download?id=FILEID&export=download' }).end());
    route('/download', (req, res, url) => {
      if (url.searchParams.get('confirm') === 't' && url.searchParams.get('uuid') === 'a1b2-c3') return serveBytes(req, res, PTH);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(warning);
    });
    const got = await getB('/uc?export=download&id=FILEID');
    expect(digest(readFileSync(got.path))).toBe(digest(PTH));
    expect(server.requests.map((r) => r.url)).toEqual([
      '/uc?export=download&id=FILEID',
      '/download?id=FILEID&export=download',
      '/download?id=FILEID&export=download&confirm=t&uuid=a1b2-c3',
    ]);
  });

  it('older Drive: a confirm=XXXX link, and a download_warning cookie sent back with confirm=<token>', async () => {
    route('/link', (req, res, url) => {
      if (url.searchParams.get('confirm') === 'Tok3n') return serveBytes(req, res, PTH);
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<html><body><a href="/link?export=download&amp;confirm=Tok3n&amp;id=X">Download anyway</a></body></html>');
    });
    expect(digest(readFileSync((await getB('/link?id=X')).path))).toBe(digest(PTH));

    rmSync(join(cacheDir, 'models'), { recursive: true });
    route('/cookie', (req, res, url) => {
      if (url.searchParams.get('confirm') === 'C00k' && /download_warning_13=C00k/.test(req.headers.cookie ?? '')) return serveBytes(req, res, PTH);
      res
        .writeHead(200, { 'content-type': 'text/html', 'set-cookie': 'download_warning_13=C00k; Path=/; HttpOnly' })
        .end('<html><title>Warning</title></html>');
    });
    expect(digest(readFileSync((await getB('/cookie?id=X')).path))).toBe(digest(PTH));
    expect(server.requests.filter((r) => r.path === '/cookie').map((r) => r.url)).toEqual(['/cookie?id=X', '/cookie?id=X&confirm=C00k']);
  });

  it('a dropped connection leaves the .part; the next call resumes with Range + If-Range and the file is byte-identical', async () => {
    let drop = true;
    route('/big', (req, res) => serveBytes(req, res, PTH, { etag: '"v1"', ...(drop ? { dropAfter: 100_000 } : {}) }));
    await expectError(
      getB('/big'),
      'E_IO',
      `cannot download sed-b from ${server.origin}/big:`,
      'connection',
      `download model_final.pth by hand from ${B.page} and pass --weights FILE`,
    );
    const part = `${bFile()}.part`;
    const have = statSync(part).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThanOrEqual(100_000);
    expect(JSON.parse(readFileSync(`${bFile()}.part.json`, 'utf8'))).toEqual({ url: `${server.origin}/big`, etag: '"v1"', total: PTH.length });
    expect(existsSync(bFile())).toBe(false);
    expect(existsSync(`${bFile()}.lock`)).toBe(false);

    drop = false;
    const events: DownloadEvent[] = [];
    const got = await getB('/big', { progressIntervalMs: 0, onProgress: (e) => events.push(e) });
    expect(server.requests.at(-1)!.headers.range).toBe(`bytes=${have}-`);
    expect(server.requests.at(-1)!.headers['if-range']).toBe('"v1"');
    expect(events[0]).toMatchObject({ done: have, total: PTH.length });
    expect(digest(readFileSync(got.path))).toBe(digest(PTH));
    expect(leftovers()).toEqual(['model_final.pth']);
  });

  it('retries a dropped connection within one call (resuming), with backoff', async () => {
    let calls = 0;
    route('/flaky', (req, res) =>
      serveBytes(req, res, PTH, { lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT', ...(calls++ === 0 ? { dropAfter: 50_000 } : {}) }),
    );
    const got = await getB('/flaky', { retries: 2, retryDelayMs: 10 });
    expect(digest(readFileSync(got.path))).toBe(digest(PTH));
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.headers.range).toMatch(/^bytes=\d+-$/);
    expect(server.requests[1]!.headers['if-range']).toBe('Wed, 21 Oct 2015 07:28:00 GMT');
  });

  it('restarts from zero when the server ignores Range (200)', async () => {
    let drop = true;
    route('/norange', (req, res) => serveBytes(req, res, PTH, { range: false, ...(drop ? { dropAfter: 80_000 } : {}) }));
    await expectError(getB('/norange'), 'E_IO', 'connection');
    expect(statSync(`${bFile()}.part`).size).toBeGreaterThan(0);
    drop = false;
    const got = await getB('/norange');
    expect(server.requests.at(-1)!.headers.range).toMatch(/^bytes=\d+-$/);
    expect(digest(readFileSync(got.path))).toBe(digest(PTH));
  });

  it('restarts from zero when the file changed (If-Range validator differs)', async () => {
    let etag = '"old"';
    const other = tinyPth(64 * 1024, 99);
    route('/changed', (req, res) => serveBytes(req, res, etag === '"old"' ? PTH : other, { etag, ...(etag === '"old"' ? { dropAfter: 60_000 } : {}) }));
    await expectError(getB('/changed'), 'E_IO', 'connection');
    etag = '"new"';
    const got = await getB('/changed');
    expect(server.requests.at(-1)!.headers['if-range']).toBe('"old"');
    expect(digest(readFileSync(got.path))).toBe(digest(other));
  });

  it('a web page that is not a confirmation: clear error with its title, nothing at the final path', async () => {
    route(
      '/quota',
      (_q, res) =>
        void res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!DOCTYPE html><html><head><title>Google Drive - Quota exceeded</title></head><body>Too many users</body></html>'),
    );
    await expectError(getB('/quota'), 'E_FORMAT', 'the server returned a web page, not a checkpoint ("Google Drive - Quota exceeded")');
    expect(leftovers()).toEqual([]);
  });

  it('a binary that is not a checkpoint: refused at once, nothing at the final path', async () => {
    route('/junk', (req, res) => serveBytes(req, res, noiseBytes(100_000)));
    await expectError(getB('/junk'), 'E_FORMAT', 'the server sent data starting with ', '(application/octet-stream), not a checkpoint');
    expect(leftovers()).toEqual([]);
  });

  it('a zip that is not a torch checkpoint (passes the first-bytes check): verified, deleted, never renamed', async () => {
    const zipNoPickle = tinyPth().slice(); // corrupt the central directory: the archive cannot be opened
    zipNoPickle.fill(0, zipNoPickle.length - 200);
    route('/badzip', (req, res) => serveBytes(req, res, zipNoPickle));
    await expectError(getB('/badzip'), 'E_FORMAT', 'the downloaded file is not a checkpoint (');
    expect(leftovers()).toEqual([]);
  });

  it('a complete .part left before its rename is verified and used; a 416 for a complete part too', async () => {
    route('/done', (req, res) => serveBytes(req, res, PTH));
    const url = `${server.origin}/done`;
    mkdirSync(join(cacheDir, 'models', 'sed-b'), { recursive: true });
    writeFileSync(`${bFile()}.part`, PTH);
    writeFileSync(`${bFile()}.part.json`, JSON.stringify({ url, total: PTH.length }));
    expect(digest(readFileSync((await getB('/done')).path))).toBe(digest(PTH));
    expect(server.requests).toHaveLength(0);
    expect(leftovers()).toEqual(['model_final.pth']);

    rmSync(bFile());
    writeFileSync(`${bFile()}.part`, PTH);
    writeFileSync(`${bFile()}.part.json`, JSON.stringify({ url })); // total unknown: ask
    expect(digest(readFileSync((await getB('/done')).path))).toBe(digest(PTH));
    expect(server.requests.map((r) => r.headers.range)).toEqual([`bytes=${PTH.length}-`]);
  });

  it('a text answer that is not a checkpoint is quoted in the error', async () => {
    route('/text', (_q, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('Access denied for this file, sorry.'));
    await expectError(getB('/text'), 'E_FORMAT', 'the server sent data starting with "Access denied for this file, sorry." (text/plain), not a checkpoint');
    expect(leftovers()).toEqual([]);
  });

  it('HTTP errors are named (404 at once; 503 retried, then reported)', async () => {
    await expectError(getB('/missing'), 'E_IO', 'HTTP 404 Not Found');
    route('/busy', (_q, res) => void res.writeHead(503).end());
    await expectError(getB('/busy', { retries: 2, retryDelayMs: 5 }), 'E_IO', 'HTTP 503 Service Unavailable');
    expect(server.requests.filter((r) => r.path === '/busy')).toHaveLength(3);
    expect(leftovers()).toEqual([]);
  });

  it('an unreachable host: one-line offline error with the manual route', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/model_final.pth`;
    const t0 = performance.now();
    await expectError(
      resolveWeights('sed-b', { cacheDir, urls: { 'sed-b': url }, env: {}, retryDelayMs: 5000 }),
      'E_IO',
      `cannot download sed-b from ${url}: connection refused (ECONNREFUSED); download model_final.pth by hand from https://drive.google.com/file/d/${B.driveFileId}/view and pass --weights FILE`,
    );
    expect(performance.now() - t0).toBeLessThan(4000); // a refusal is not retried (a retry would wait 5 s first)
    expect(leftovers()).toEqual([]);
  });

  it('two concurrent downloads of one model: one transfer, the other waits and shares it', async () => {
    route('/slow', (req, res) => serveBytes(req, res, PTH, { chunkSize: 32 * 1024, chunkDelayMs: 15 }));
    const events: DownloadEvent[][] = [[], []];
    const [a, b] = await Promise.all([0, 1].map((i) => getB('/slow', { onProgress: (e) => events[i]!.push(e) })));
    expect(a!.path).toBe(b!.path);
    expect(digest(readFileSync(a!.path))).toBe(digest(PTH));
    expect(server.requests).toHaveLength(1);
    expect(events.flat().filter((e) => e.phase === 'wait')).toHaveLength(1);
    expect(leftovers()).toEqual(['model_final.pth']);
  });

  it('two processes download one model: the same bytes, and one transfer', async () => {
    route('/slow', (req, res) => serveBytes(req, res, PTH, { chunkSize: 32 * 1024, chunkDelayMs: 15 }));
    // The child runs the source bundled by esbuild (a dependency of the toolchain): no build needed.
    const bundle = join(cacheDir, 'resolve-weights.mjs');
    const { build } = await import('esbuild');
    await build({
      entryPoints: [fileURLToPath(new URL('../src/node/resolve-weights.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
    });
    const script = `
      const { resolveWeights } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
      const r = await resolveWeights('sed-b', { cacheDir: process.argv[1], retries: 0 });
      console.log(JSON.stringify(r));`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, cacheDir], {
          env: { ...process.env, SEDSEG_MODEL_URL_SED_B: `${server.origin}/slow` },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
      });
    const outs = await Promise.all([run(), run()]);
    for (const o of outs) expect(JSON.parse(o).path).toBe(bFile());
    expect(digest(readFileSync(bFile()))).toBe(digest(PTH));
    expect(server.requests).toHaveLength(1);
  });

  it('takes over a lock left by a process that died', { timeout: 5000 }, async () => {
    route('/f', (req, res) => serveBytes(req, res, PTH));
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '']);
      child.on('exit', () => resolve(child.pid!));
    });
    mkdirSync(join(cacheDir, 'models', 'sed-b'), { recursive: true });
    writeFileSync(`${bFile()}.lock`, JSON.stringify({ pid: dead, host: (await import('node:os')).hostname(), since: new Date().toISOString() }));
    const got = await getB('/f');
    expect(digest(readFileSync(got.path))).toBe(digest(PTH));
    expect(leftovers()).toEqual(['model_final.pth']);
  });
});
