/**
 * The page in real Chromium (headless, WebGPU on SwiftShader, and wasm): golden labels of the tiny
 * model, the overlay, core's conformance kit in the browser, and bad inputs. Needs `npm run build`
 * (examples/web/dist) and /usr/bin/chromium (tools/ensure-test-tools.mjs).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CER_LABEL_TOLERANCE, compareLabels } from '@sedseg/core/conformance';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SedsegState } from '../src/main.js';
import { readGoldenCase } from './helpers/golden.js';
import { DIST_DIR, REFERENCE_DIR, type StaticServer, startServer, WEB_DIR } from './helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];
const DEVICES = ['webgpu', 'wasm'] as const;
/**
 * WebGPU runs on SwiftShader here: every kernel on the CPU, each model pass 20–50 s. The page's
 * golden cases run on both devices (on WebGPU with the smallest top-k of each case); the
 * conformance kit runs its golden case on wasm and only its operator checks on WebGPU, whose
 * model-level checks are the page's cases (the same comparisons: labels where the golden margin
 * is ≥ 1e-4, CER labels within 0.2 %). To keep the suite in its budget, WebGPU runs case-01
 * (R 256, pooling 2) and wasm runs both cases; SEDSEG_TEST_WEBGPU_ALL_CASES=1 adds case-04
 * (R 320, pooling 1) on WebGPU (about 3.5 minutes more) and SEDSEG_TEST_WEBGPU_KIT_CASES=1 the
 * kit's golden case on WebGPU (about 2.5 minutes more).
 */
const WEBGPU_KIT_CASES = process.env.SEDSEG_TEST_WEBGPU_KIT_CASES === '1';
const WEBGPU_ALL_CASES = process.env.SEDSEG_TEST_WEBGPU_ALL_CASES === '1';
const CASES = ['case-01', 'case-04'] as const;
const casesOn = (device: (typeof DEVICES)[number]): readonly (typeof CASES)[number][] => (device === 'webgpu' && !WEBGPU_ALL_CASES ? ['case-01'] : CASES);

let browser: Browser;
let server: StaticServer;
/** Wall times per device and case (printed at the end; README.md quotes them). */
const times: Record<string, Record<string, number>> = {};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing: ${CHROMIUM} does not exist. Install it (node tools/ensure-test-tools.mjs, or apt-get install chromium); the browser tests cannot run without it.`,
    );
  }
  if (!existsSync(join(DIST_DIR, 'index.html'))) throw new Error(`${DIST_DIR} has no index.html: run \`npm run build\` first`);
  // The tiny model as `sedseg export` writes it (R=320), served under /export/.
  const exportDir = mkdtempSync(join(tmpdir(), 'sedseg-export-'));
  // asynchronous: a worker blocked for long cannot answer Vitest's RPC
  await promisify(execFile)(
    process.execPath,
    [
      join(WEB_DIR, '../../packages/cli/bin/sedseg.js'),
      'export',
      '--weights',
      join(REFERENCE_DIR, 'tiny/model.pth'),
      '--resolution',
      '320',
      '--out',
      exportDir,
      '--overwrite',
    ],
    { encoding: 'utf8' },
  ).catch((e: { stderr?: string }) => {
    throw new Error(`sedseg export failed: ${e.stderr}`);
  });
  server = await startServer({ '/export/': exportDir });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (Object.keys(times).length > 0) console.log(`browser wall times (ms):\n${JSON.stringify(times, null, 1)}`);
});

async function openPage(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  if (process.env.SEDSEG_DEBUG) page.on('console', (m) => console.error(`[page] ${m.text()}`));
  if (process.env.SEDSEG_DEBUG) console.error(`goto ${server.url}?${query}`);
  await page.goto(`${server.url}?${query}`);
  return { page, errors };
}

/** Waits for the run in progress to end and returns `window.__sedseg`. */
async function finished(page: Page, timeout = 150_000): Promise<SedsegState> {
  await page.waitForFunction(() => window.__sedseg !== undefined && window.__sedseg.status !== 'running', null, { timeout, polling: 200 });
  return (await page.evaluate(() => window.__sedseg)) as SedsegState;
}

function done(state: SedsegState): Extract<SedsegState, { labels: number[] }> {
  if (state.status === 'error') throw new Error(`the page failed: ${state.message}`);
  if (state.status !== 'done' || !('labels' in state)) throw new Error(`unexpected state ${JSON.stringify(state).slice(0, 200)}`);
  return state;
}

/** Starts another run with the form as it is (after changing fields). */
async function rerun(page: Page, timeout?: number): Promise<SedsegState> {
  await page.evaluate(() => {
    window.__sedseg = undefined;
  });
  await page.click('#run');
  return finished(page, timeout);
}

/** Distinct colours of the overlay canvas. */
const overlayColours = (page: Page): Promise<number> =>
  page.evaluate(() => {
    const c = document.getElementById('overlay-canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!);
    return seen.size;
  });

/** Per-test limit: WebGPU on SwiftShader compiles every stage's shaders on the CPU (minutes on 2 cores). */
const LIMIT = { webgpu: 600_000, wasm: 180_000 } as const;

describe.each(DEVICES)('the page on %s', (device) => {
  /** One page per device: the second case reuses the loaded model and its compiled sessions. */
  let shared: { page: Page; errors: string[] } | undefined;
  afterAll(async () => {
    await shared?.page.close();
  });

  it.each(casesOn(device))(
    'segments tiny/%s like the reference (full path and CER)',
    async (name) => {
      const golden = await readGoldenCase(name);
      const setup = {
        image: `reference/tiny/${name}/image.png`,
        resolution: String(golden.resolution),
        pooling: String(golden.pooling),
      };
      let state: SedsegState;
      if (!shared) {
        const query = new URLSearchParams({
          weights: 'reference/tiny/model.pth',
          config: 'reference/tiny/config.json',
          classesUrl: `reference/tiny/${name}/classes.json`,
          ...setup,
          backend: device,
          autorun: '1',
        });
        shared = await openPage(query.toString());
        state = await finished(shared.page, LIMIT[device]);
      } else {
        // the same page, another image, class list, resolution and pooling
        const { page } = shared;
        await page.fill('#image-url', setup.image);
        await page.fill('#classes', golden.classes.map((c) => c.split(', ').join('|')).join(', '));
        await page.fill('#resolution', setup.resolution);
        await page.selectOption('#pooling', setup.pooling);
        await page.fill('#topk', '0');
        state = await rerun(page, LIMIT[device]);
      }
      const { page, errors } = shared;
      const full = done(state);
      expect(full.device).toBe(device);
      expect(full.backend).toBe('ort-web');
      expect([full.width, full.height]).toEqual([golden.width, golden.height]);
      expect(full.classes).toEqual(golden.classes);
      const cmp = compareLabels(golden.tensors.labels!, golden.tensors.labels_margin!, full.labels);
      expect(cmp.differingConfident, `${cmp.differing} labels differ, ${cmp.differingConfident} where the golden margin is ≥ 1e-4`).toBe(0);
      times[`${device} ${name}`] = { ...full.timings };

      // the overlay is drawn: several colours, and the legend lists the classes present
      expect(await overlayColours(page)).toBeGreaterThan(1);
      expect(await page.locator('#legend li').count()).toBeGreaterThan(1);
      expect(await page.locator('#backend-info').textContent()).toContain(device);
      if (device === 'wasm' && name === 'case-01') {
        await page.hover('#overlay-canvas', { position: { x: 40, y: 40 } });
        expect(await page.locator('#hover').textContent()).toMatch(/score 0\.\d{3}/);
        const shot = await page.screenshot({ fullPage: true });
        expect(shot.length).toBeGreaterThan(20_000);
        const file =
          process.env.SEDSEG_UPDATE_SCREENSHOT === '1' ? join(WEB_DIR, 'screenshot.png') : join(mkdtempSync(join(tmpdir(), 'sedseg-web-')), 'screenshot.png');
        writeFileSync(file, shot);
      }

      // CER: every top-k of the case on wasm; on WebGPU the smallest (each new top-k compiles new sessions)
      const topks = device === 'webgpu' ? [Math.min(...golden.topk)] : golden.topk;
      for (const k of topks) {
        await page.fill('#topk', String(k));
        const cer = done(await rerun(page, LIMIT[device]));
        expect(cer.topK).toBe(k);
        const diff = compareLabels(golden.tensors[`cer_top${k}_labels`]!, golden.tensors.labels_margin!, cer.labels);
        expect(diff.differing / diff.total, `CER top-${k}: ${diff.differing} of ${diff.total} labels differ`).toBeLessThanOrEqual(CER_LABEL_TOLERANCE);
        times[`${device} ${name} top-${k}`] = { ...cer.timings };
      }
      expect(errors).toEqual([]);
    },
    LIMIT[device],
  );

  const kitCases = device === 'wasm' || WEBGPU_KIT_CASES ? 'case-01' : '';
  it(`passes core’s conformance kit in the browser (operators${kitCases ? ' and tiny/case-01' : ''})`, { timeout: LIMIT[device] }, async () => {
    const { page } = await openPage(`conformance=1&backend=${device}&cases=${kitCases}`);
    try {
      const state = await finished(page, LIMIT[device] - 10_000);
      if (state.status === 'error') throw new Error(`conformance did not run: ${state.message}`);
      if (!('conformance' in state)) throw new Error('no conformance report');
      const failures = (state.conformance.results as { ok: boolean; name: string; message?: string }[]).filter((r) => !r.ok);
      expect(state.device).toBe(device);
      expect(failures.map((f) => `${f.name}: ${f.message}`)).toEqual([]);
      expect(state.conformance.failed).toBe(0);
      expect(state.conformance.passed).toBeGreaterThan(10);
      if (kitCases) expect(state.conformance.results.some((r) => (r as { group: string }).group === 'golden')).toBe(true);
    } finally {
      await page.close();
    }
  });
});

describe('a sedseg export folder', () => {
  it('segments tiny/case-04 from the exported graphs alone (wasm)', async () => {
    const golden = await readGoldenCase('case-04');
    const firstRequest = server.requests.length;
    const { page, errors } = await openPage(
      new URLSearchParams({
        weights: 'export/',
        classesUrl: 'reference/tiny/case-04/classes.json',
        image: 'reference/tiny/case-04/image.png',
        resolution: '320',
        pooling: '1',
        backend: 'wasm',
        autorun: '1',
      }).toString(),
    );
    try {
      const state = done(await finished(page));
      const cmp = compareLabels(golden.tensors.labels!, golden.tensors.labels_margin!, state.labels);
      expect(cmp.differingConfident, `${cmp.differing} labels differ, ${cmp.differingConfident} where the golden margin is ≥ 1e-4`).toBe(0);
      const requests = server.requests.slice(firstRequest);
      expect(requests).toContain('/export/r320/decoderLayer2.onnx');
      expect(requests.some((r) => r.endsWith('model.pth'))).toBe(false);
      // another resolution than the folder holds: said in plain words
      await page.fill('#resolution', '384');
      const other = await rerun(page);
      if (other.status !== 'error') throw new Error(`expected an error, got ${other.status}`);
      expect(other.message).toMatch(/resolutions 320, not 384/);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('bad inputs', () => {
  it('gives readable messages and the page keeps working', async () => {
    const { page, errors } = await openPage(
      new URLSearchParams({
        weights: 'reference/tiny/no-such-model.pth',
        config: 'reference/tiny/config.json',
        image: 'reference/tiny/case-01/image.png',
        classes: 'sky, grass, person|people',
        resolution: '64',
        backend: 'wasm',
        autorun: '1',
      }).toString(),
    );
    const expectError = async (state: SedsegState, pattern: RegExp): Promise<void> => {
      if (state.status !== 'error') throw new Error(`expected an error, got ${state.status}`);
      expect(state.message).toMatch(pattern);
      expect(await page.locator('#error').isVisible()).toBe(true);
      expect(await page.locator('#error').textContent()).toBe(state.message);
    };
    try {
      await expectError(await finished(page), /model.*404|404.*model/is);

      // a local file that is not a model
      await page.setInputFiles('#weights-file', {
        name: 'model.pth',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('this is not a checkpoint\n'.repeat(20)),
      });
      await expectError(await rerun(page), /model\.pth/);

      // an image that is not an image
      await page.fill('#weights-url', 'reference/tiny/model.pth');
      await page.setInputFiles('#image-file', { name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('not a PNG at all') });
      await expectError(await rerun(page), /photo\.png.*not an image/);

      // an empty class list
      await page.fill('#image-url', 'reference/tiny/case-01/image.png');
      await page.fill('#classes', ' ');
      await expectError(await rerun(page), /class list is empty/);

      // and a good run afterwards, in the same page
      await page.fill('#classes', 'sky, grass, person|people');
      const state = done(await rerun(page));
      expect(state.classes).toEqual(['sky', 'grass', 'person, people']);
      expect(state.labels.length).toBe(state.width * state.height);
      expect(await page.locator('#error').isVisible()).toBe(false);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
