import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REFERENCE_DIR, runCli } from './run-cli.js';

const TINY = resolve(REFERENCE_DIR, 'tiny/model.pth');
const TINY_CONFIG = resolve(REFERENCE_DIR, 'tiny/config.json');
const work = mkdtempSync(join(tmpdir(), 'sedseg-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sedseg', () => {
  it('prints its version and help', () => {
    const v = runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
    const h = runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('info');
    expect(h.stdout).toContain('tokenize');
    for (const cmd of ['info', 'tokenize']) {
      const r = runCli([cmd, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: sedseg /);
      expect(r.stdout).toContain('Examples:');
    }
  });

  it('refuses an unknown command or option with a one-line message', () => {
    const r = runCli(['segmentify']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('unknown command "segmentify"');
    const o = runCli(['info', '--bogus', TINY]);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/sedseg info: Unknown option '--bogus'/);
  });
});

describe('sedseg info', () => {
  it('--json gives the architecture of tiny/config.json, parameters and every key', () => {
    const r = runCli(['info', TINY, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    const config = JSON.parse(readFileSync(TINY_CONFIG, 'utf8'));
    const { note: _note, ...architecture } = config.architecture;
    expect(info.config).toBe(TINY_CONFIG); // found beside the weights
    expect(info.architecture).toEqual(architecture);
    expect(info.format).toBe('pth');
    expect(info.architecture.decoder_pooling).toEqual([2, 2]); // the training config's
    expect(info.inference.decoder_pooling).toBe(1); // what segment/dump/export run by default
    expect(runCli(['info', TINY]).stdout).toMatch(/inference: decoder pooling 1 by default/);
    expect(info.dtypes).toEqual({ float32: 209 });
    expect(info.check).toEqual({ ok: true, missing: [], unexpected: [], misShaped: [] });
    const keys: Record<string, { shape: number[]; dtype: string }> = JSON.parse(readFileSync(resolve(REFERENCE_DIR, 'tiny/keys.json'), 'utf8'));
    expect(info.keys).toEqual(Object.entries(keys).map(([name, v]) => ({ name, shape: v.shape, dtype: v.dtype })));
    expect(info.parameters.total).toBe(Object.values(keys).reduce((n, v) => n + v.shape.reduce((a, b) => a * b, 1), 0));
  });

  it('without a config beside the weights, falls back to the head-width convention', () => {
    const lone = join(work, 'lone.pth');
    copyFileSync(TINY, lone);
    const r = runCli(['info', lone, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.config).toBeNull();
    expect(info.architecture.text_heads).toBe(1);
    expect(info.origin.text_heads).toBe('default');
    const withConfig = JSON.parse(runCli(['info', lone, '--json', '--config', TINY_CONFIG]).stdout);
    expect(withConfig.architecture.text_heads).toBe(2);
  });

  it('reads .safetensors weights the same way', async () => {
    const { openPth, serializeSafetensors } = await import('@sedseg/core');
    const { fileSource } = await import('@sedseg/core/node');
    const store = await openPth(await fileSource(TINY));
    const tensors: [string, Awaited<ReturnType<typeof store.read>>][] = [];
    for (const k of store.keys()) tensors.push([k, await store.read(k)]);
    await store.close();
    const file = join(work, 'tiny.safetensors');
    writeFileSync(file, serializeSafetensors(tensors));
    const r = runCli(['info', file, '--json', '--config', TINY_CONFIG]);
    expect(r.stderr).toBe('');
    const info = JSON.parse(r.stdout);
    const fromPth = JSON.parse(runCli(['info', TINY, '--json']).stdout);
    expect(info.format).toBe('safetensors');
    expect(info.architecture).toEqual(fromPth.architecture);
    expect(info.keys).toEqual(fromPth.keys);
  });

  it('prints a human summary', () => {
    const r = runCli(['info', TINY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SED checkpoint (pth');
    expect(r.stdout).toMatch(/image_dims\s+\[16,32,64,128\]\s+\(weights\)/);
    expect(r.stdout).toMatch(/text_heads\s+2\s+\(config\)/);
    expect(r.stdout).toContain('keys: all present with the expected shapes');
  });

  it.each([
    [
      'a missing file',
      () => [join(work, 'nope.pth')],
      /nope\.pth: cannot open \(no such file; weights are a file path, a model name \(sed-b, sed-l\) or an http\(s\) URL\)/,
    ],
    ['a directory', () => [work], /is a directory/],
    [
      'a file that is not weights',
      () => {
        const p = join(work, 'notes.txt');
        writeFileSync(p, 'hello, this is not a checkpoint at all');
        return [p];
      },
      /notes\.txt: not a weights file/,
    ],
    [
      'a truncated checkpoint',
      () => {
        const p = join(work, 'cut.pth');
        writeFileSync(p, readFileSync(TINY).subarray(0, 100_000));
        return [p];
      },
      /cut\.pth/,
    ],
    [
      'a bad config',
      () => {
        const p = join(work, 'bad.json');
        writeFileSync(p, '{"architecture": {"text_heads": 3}}');
        return [TINY, '--config', p];
      },
      /bad\.json: text_heads 3 does not divide text_width 64/,
    ],
    [
      'a config that is not JSON',
      () => {
        const p = join(work, 'broken.json');
        writeFileSync(p, '{"architecture": ');
        return [TINY, '--config', p];
      },
      /broken\.json: config is not valid JSON/,
    ],
  ])('fails with one line on %s', (_what, args, message) => {
    const r = runCli(['info', ...args()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sedseg: error: /);
    expect(lines[0]).toMatch(message);
  });

  it('needs exactly one file', () => {
    const r = runCli(['info']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing WEIGHTS file');
  });
});

describe('sedseg tokenize', () => {
  const cases = JSON.parse(readFileSync(resolve(REFERENCE_DIR, 'tokenizer-cases.json'), 'utf8')).cases as {
    text: string;
    tokens: number[];
  }[];

  it('--json reproduces the reference token rows', () => {
    const some = cases.filter((c) => c.text.trim() !== '').slice(0, 12);
    const r = runCli(['tokenize', '--json', ...some.map((c) => c.text)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(some.map((c) => ({ text: c.text, tokens: c.tokens })));
  });

  it('prints one row of 77 ids per text', () => {
    const r = runCli(['tokenize', 'a photo of a cat.', 'dog']);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.split(' ')).toHaveLength(77);
    expect(rows[0]!.startsWith('49406 ')).toBe(true);
  });

  it('needs a text', () => {
    const r = runCli(['tokenize', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing TEXT');
  });
});
