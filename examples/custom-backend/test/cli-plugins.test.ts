/**
 * The backends of this example, selected with `sedseg segment --backend` as a user would: the
 * built CLI in a child process on the tiny golden model (case-01, R = 256, pooling 2).
 *
 * - `--backend ./examples/custom-backend/plugin.mjs` (the pure-JS backend, a path relative to the
 *   working directory) gives the reference labels wherever the reference is confident, and the same
 *   label map as `--backend ort`; the JSON names the backend `js`.
 * - A plugin written outside the repository, importing only the published packages by name
 *   (`@sedseg/backend-ort`, resolved from its own node_modules as a user's install would be),
 *   whose definition delegates to ort: exactly ort's labels, reported as `delegating-ort`.
 *
 * Needs the build: `npm run build` at the repository root (the CLI and this example's dist).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors } from '@sedseg/core';
import { fileSource } from '@sedseg/core/node';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');
const CLI = resolve(REPO_ROOT, 'packages/cli/bin/sedseg.js');
const TINY = resolve(REPO_ROOT, '../shared/reference/tiny');
const CASE = resolve(TINY, 'case-01');
const PLUGIN = './examples/custom-backend/plugin.mjs';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  record: { backend: string; device: string; width: number; height: number; labels: { encoding: string; data: number[] } };
  labels: Int32Array;
}

const work = mkdtempSync(join(tmpdir(), 'sedseg-custom-backend-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function decodeRle(data: readonly number[], length: number): Int32Array {
  const out = new Int32Array(length);
  let at = 0;
  for (let i = 0; i < data.length; i += 2) {
    out.fill(data[i]!, at, at + data[i + 1]!);
    at += data[i + 1]!;
  }
  expect(at).toBe(length);
  return out;
}

/** `sedseg segment` on case-01 with `--backend SPEC`, from the repository root. */
function segment(backend: string, out: string): Promise<Run> {
  const args = [
    CLI,
    'segment',
    resolve(CASE, 'image.png'),
    '--weights',
    resolve(TINY, 'model.pth'),
    '--classes-file',
    resolve(CASE, 'classes.json'),
    '--resolution',
    '256',
    '--pooling',
    '2', // case-01: R = 256, the config's decoder pooling [2, 2]
    '--format',
    'json',
    '--json',
    '--no-cache',
    '--backend',
    backend,
    '--out',
    join(work, out),
  ];
  const t0 = performance.now();
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`sedseg segment --backend ${backend} exited ${code}:\n${stderr}${stdout}`));
      const record = JSON.parse(readFileSync(join(work, out, 'image.json'), 'utf8')) as Run['record'];
      expect(record.labels.encoding).toBe('rle-row-major');
      done({ code, stdout, stderr, seconds, record, labels: decodeRle(record.labels.data, record.width * record.height) });
    });
  });
}

async function golden(): Promise<{ labels: Int32Array; margin: Float32Array }> {
  const store = await openSafetensors(await fileSource(resolve(CASE, 'tensors.safetensors')));
  try {
    return { labels: (await store.read('labels')).data as Int32Array, margin: (await store.read('labels_margin')).data as Float32Array };
  } finally {
    await store.close();
  }
}

function differing(a: Int32Array, b: Int32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

let ort: Run;

beforeAll(async () => {
  for (const [file, what] of [
    [resolve(REPO_ROOT, 'packages/cli/dist/cli.js'), 'the CLI'],
    [resolve(REPO_ROOT, 'examples/custom-backend/dist/index.js'), "this example's dist (plugin.mjs imports it)"],
  ] as const) {
    if (!existsSync(file)) throw new Error(`${what} is not built (${file} is missing): run "npm run build" at the repository root`);
  }
  ort = await segment('ort', 'ort');
  expect(ort.record.backend).toBe('ort');
}, 90_000);

describe('sedseg segment --backend with this example', () => {
  it('runs the pure-JS backend from ./examples/custom-backend/plugin.mjs: the reference labels, as ort', async () => {
    const js = await segment(PLUGIN, 'js');
    expect(js.record.backend).toBe('js');
    expect(js.record.device).toBe('cpu');
    const ref = await golden();
    let confident = 0;
    for (let i = 0; i < ref.labels.length; i++) if (ref.margin[i]! >= 1e-4 && js.labels[i] !== ref.labels[i]) confident++;
    expect(confident).toBe(0);
    // and the same map as ort, up to pixels whose top two classes are within float noise
    expect(differing(js.labels, ort.labels) / js.labels.length).toBeLessThanOrEqual(0.002);
    console.log(
      `case-01, R = 256, 12 classes: js ${js.seconds.toFixed(1)} s (model ${(js.record as unknown as { timings_ms: { total: number } }).timings_ms.total.toFixed(0)} ms), ort ${ort.seconds.toFixed(1)} s (model ${(ort.record as unknown as { timings_ms: { total: number } }).timings_ms.total.toFixed(0)} ms), wall time per process`,
    );
  });

  it('runs a plugin from outside the repository that imports the published packages by name and delegates to ort', async () => {
    // What a user has after `npm install @sedseg/backend-ort`: the packages (package.json + dist)
    // in the plugin's own node_modules.
    const dir = join(work, 'my-plugin');
    mkdirSync(join(dir, 'node_modules', '@sedseg'), { recursive: true });
    for (const pkg of ['core', 'backend-ort']) symlinkSync(resolve(REPO_ROOT, 'packages', pkg), join(dir, 'node_modules', '@sedseg', pkg), 'dir');
    writeFileSync(
      join(dir, 'plugin.mjs'),
      `// A backend plugin outside any sedseg checkout: ort, with every operator call counted.
import { ortBackend } from '@sedseg/backend-ort';
import { completeOps } from '@sedseg/core';

const calls = {};
let created = 0;
process.on('exit', () => process.stderr.write('delegating-ort calls ' + JSON.stringify({ created, calls }) + '\\n'));

/** ort's operators behind a proxy that counts each method call. */
function counted(ops) {
  return new Proxy(ops, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args) => {
        calls[prop] = (calls[prop] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
}

export default {
  name: 'delegating-ort',
  priority: 0,
  devices: ortBackend.devices,
  description: 'ort, counting operator calls (an external plugin)',
  unavailableReason: (device) => ortBackend.unavailableReason?.(device),
  async create(options) {
    created++;
    // completeOps checks the required members now, so a broken delegate fails at start-up
    return counted(completeOps(await ortBackend.create(options)));
  },
};
`,
    );
    const external = await segment(join(dir, 'plugin.mjs'), 'external');
    expect(external.record.backend).toBe('delegating-ort');
    expect(external.record.device).toBe('cpu');
    expect(differing(external.labels, ort.labels)).toBe(0);
    const line = external.stderr.split('\n').find((l) => l.startsWith('delegating-ort calls '));
    expect(line, external.stderr).toBeDefined();
    const counts = JSON.parse(line!.slice('delegating-ort calls '.length)) as { created: number; calls: Record<string, number> };
    expect(counts.created).toBe(1);
    expect(counts.calls.runStage).toBeGreaterThan(3); // ort runs each stage as one compiled graph
    expect(counts.calls.read).toBeGreaterThan(0);
  });

  it('lists the example as an installed package: sedseg backends --backend @sedseg/example-custom-backend', async () => {
    const out = await new Promise<string>((done, reject) => {
      const child = spawn(process.execPath, [CLI, 'backends', '--backend', '@sedseg/example-custom-backend'], { cwd: REPO_ROOT });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? done(text) : reject(new Error(`exit ${code}: ${text}`))));
    });
    expect(out).toMatch(/^js \(priority 1\)/m);
  });
});
