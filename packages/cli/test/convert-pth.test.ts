import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '@sedseg/core';
import { REFERENCE_DIR, runCli, type CliResult } from './run-cli.js';

const TINY = resolve(REFERENCE_DIR, 'tiny/model.pth');
const TINY_CONFIG = resolve(REFERENCE_DIR, 'tiny/config.json');

const work = mkdtempSync(join(tmpdir(), 'sedseg-convert-pth-'));
const safetensorsIn = join(work, 'tiny.safetensors');
const pthOut = join(work, 'model_final.pth');

afterAll(() => rmSync(work, { recursive: true, force: true }));

function expectOk(r: CliResult): void {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

async function readAll(path: string): Promise<[string, HostTensor][]> {
  const { openWeightsFile } = await import('@sedseg/core/node');
  const store = await openWeightsFile(path);
  try {
    const out: [string, HostTensor][] = [];
    for (const k of store.keys()) out.push([k, await store.read(k)]);
    return out;
  } finally {
    await store.close();
  }
}

const digest = ([name, t]: [string, HostTensor]) => [
  name,
  t.dtype,
  t.shape,
  createHash('sha256')
    .update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))
    .digest('hex'),
];

beforeAll(() => {
  expectOk(runCli(['convert', TINY, '--config', TINY_CONFIG, '--out', safetensorsIn]));
  const r = runCli(['convert', safetensorsIn, '--out', pthOut]);
  expectOk(r);
  expect(r.stdout).toMatch(/model_final\.pth: 209 tensors, float32, [\d.]+ MiB in [\d.]+ s \(0 unexpected keys dropped; config .*model_final\.config\.json\)/);
});

describe('sedseg convert --out F.pth', () => {
  it('round-trips safetensors → .pth: same keys, order, shapes and bytes as the original checkpoint', async () => {
    expect((await readAll(pthOut)).map(digest)).toEqual((await readAll(TINY)).map(digest));
  });

  it('writes the config beside the .pth, where info finds it on its own', () => {
    const r = runCli(['info', '--json', pthOut]);
    expectOk(r);
    const info = JSON.parse(r.stdout);
    expect(info.format).toBe('pth');
    expect(info.config).toBe(join(work, 'model_final.config.json'));
    expect(info.architecture.text_heads).toBe(2);
    expect(info.check.ok).toBe(true);
  });

  it('names the archive folder after the file and writes torch.save records', () => {
    const text = readFileSync(pthOut).toString('latin1');
    for (const record of ['model_final/data.pkl', 'model_final/byteorder', 'model_final/data/208', 'model_final/version']) {
      expect(text).toContain(record);
    }
    const py = spawnSync(
      'python3',
      ['-c', 'import sys,zipfile;z=zipfile.ZipFile(sys.argv[1]);print(z.testzip(), len(z.namelist()), z.read("model_final/version").decode().strip())', pthOut],
      { encoding: 'utf8' },
    );
    if (py.status === 0) expect(py.stdout.trim()).toBe('None 215 3');
  });

  it('converts .pth → .pth with --bf16', async () => {
    const out = join(work, 'bf16.pth');
    expectOk(runCli(['convert', pthOut, '--out', out, '--bf16']));
    const back = await readAll(out);
    expect(back).toHaveLength(209);
    expect(back.every(([, t]) => t.dtype === 'bfloat16')).toBe(true);
  });

  it('refuses to overwrite an existing .pth without --overwrite and replaces it with it', () => {
    const out = join(work, 'taken.pth');
    writeFileSync(out, 'keep me');
    const r = runCli(['convert', safetensorsIn, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^sedseg: error: .*taken\.pth exists \(use --overwrite to replace it\)$/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(existsSync(join(work, 'taken.config.json'))).toBe(false);
    expectOk(runCli(['convert', safetensorsIn, '--out', out, '--overwrite']));
    expect(readFileSync(out).subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
    expect(readdirSync(work).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses other extensions as a usage error naming the accepted ones', () => {
    const r = runCli(['convert', safetensorsIn, '--out', join(work, 'x.pt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sedseg convert: .*--out must name a \.safetensors or \.pth file/);
    expect(existsSync(join(work, 'x.pt'))).toBe(false);
  });
});
