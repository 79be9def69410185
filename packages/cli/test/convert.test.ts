import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '@sedseg/core';
import { REFERENCE_DIR, runCli, type CliResult } from './run-cli.js';

const TINY = resolve(REFERENCE_DIR, 'tiny/model.pth');
const TINY_CONFIG = resolve(REFERENCE_DIR, 'tiny/config.json');
const P = 'sem_seg_head.predictor.';

const work = mkdtempSync(join(tmpdir(), 'sedseg-convert-'));
/** tiny/model.pth alone in a folder: without --config its text_heads would fall back to 1. */
const lonePth = join(work, 'model.pth');
const fp32Out = join(work, 'tiny.safetensors');
const fp16Out = join(work, 'tiny-fp16.safetensors');

afterAll(() => rmSync(work, { recursive: true, force: true }));

function expectOk(r: CliResult): void {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

function expectOneLineError(r: CliResult, code: number, message: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
}

/** The parts of `sedseg info --json` these tests read. */
interface InfoJson {
  format: string;
  config: string | null;
  tensors: number;
  dtypes: Record<string, number>;
  architecture: Record<string, unknown>;
  origin: Record<string, string>;
  check: { ok: boolean; missing: string[]; unexpected: string[]; misShaped: unknown[] };
  keys: { name: string; shape: number[]; dtype: string }[];
}

function infoJson(args: string[]): InfoJson {
  const r = runCli(['info', '--json', ...args]);
  expectOk(r);
  return JSON.parse(r.stdout);
}

/** The `__metadata__` of a safetensors file. */
function safetensorsMetadata(path: string): Record<string, string> {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  return JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')).__metadata__;
}

/** Every tensor of a weights file, in storage order. */
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

function bytes(t: HostTensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

async function writeSafetensors(path: string, tensors: [string, HostTensor][]): Promise<void> {
  const { serializeSafetensors } = await import('@sedseg/core');
  writeFileSync(path, serializeSafetensors(tensors));
}

beforeAll(() => {
  copyFileSync(TINY, lonePth);
  expectOk(runCli(['convert', lonePth, '--config', TINY_CONFIG, '--out', fp32Out]));
  expectOk(runCli(['convert', lonePth, '--config', TINY_CONFIG, '--out', fp16Out, '--fp16']));
});

describe('sedseg convert', () => {
  it('prints help with examples', () => {
    const r = runCli(['convert', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: sedseg convert /);
    expect(r.stdout).toContain('Examples:');
  });

  it('prints a one-line summary', () => {
    const out = join(work, 'summary.safetensors');
    const r = runCli(['convert', lonePth, '--config', TINY_CONFIG, '--out', out, '--bf16']);
    expectOk(r);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/209 tensors, bfloat16, [\d.]+ MiB in [\d.]+ s \(0 unexpected keys dropped/);
    expect(infoJson([out]).dtypes).toEqual({ bfloat16: 209 });
  });

  it('keeps the architecture, keys and shapes, and writes a config that info finds on its own', () => {
    const fromPth = infoJson([TINY]); // tiny/config.json lies beside it
    const info = infoJson([fp32Out]); // no --config
    const configPath = join(work, 'tiny.config.json');
    expect(info.format).toBe('safetensors');
    expect(info.config).toBe(configPath);
    expect(info.architecture).toEqual(fromPth.architecture);
    expect(info.architecture.text_heads).toBe(2);
    expect(info.origin.text_heads).toBe('config');
    expect(info.keys).toEqual(fromPth.keys);
    expect(info.dtypes).toEqual({ float32: 209 });
    expect(info.check).toEqual({ ok: true, missing: [], unexpected: [], misShaped: [] });

    const { note: _note, ...architecture } = JSON.parse(readFileSync(TINY_CONFIG, 'utf8')).architecture;
    expect(JSON.parse(readFileSync(configPath, 'utf8'))).toEqual({ architecture });
    const meta = safetensorsMetadata(fp32Out);
    expect(meta.format).toBe('pt');
    expect(meta['sedseg.source']).toBe('model.pth');
    expect(JSON.parse(meta['sedseg.architecture']!)).toEqual(architecture);

    const fp16 = infoJson([fp16Out]);
    expect(fp16.architecture).toEqual(fromPth.architecture);
    expect(fp16.dtypes).toEqual({ float16: 209 });
    expect(fp16.keys.map((k) => [k.name, k.shape])).toEqual(fromPth.keys.map((k) => [k.name, k.shape]));
  });

  it('copies float32 tensors bit for bit and rounds --fp16 like castFloat', async () => {
    const { castFloat } = await import('@sedseg/core');
    const pth = await readAll(TINY);
    const fp32 = await readAll(fp32Out);
    const fp16 = await readAll(fp16Out);
    expect(fp32.map(([k]) => k)).toEqual(pth.map(([k]) => k));
    expect(fp16.map(([k]) => k)).toEqual(pth.map(([k]) => k));
    pth.forEach(([name, t], i) => {
      const a = fp32[i]![1];
      const h = fp16[i]![1];
      expect(a.dtype, name).toBe('float32');
      expect(a.shape, name).toEqual(t.shape);
      expect(bytes(a).equals(bytes(t)), name).toBe(true);
      expect(h.dtype, name).toBe('float16');
      expect(h.shape, name).toEqual(t.shape);
      expect(bytes(h).equals(bytes(castFloat(t, 'float16'))), name).toBe(true);
    });
  });

  it('segments like the .pth checkpoint', async () => {
    const { loadSedModel } = await import('@sedseg/core/node');
    const { createTfjsOps } = await import('@sedseg/backend-tfjs');
    const backend = await createTfjsOps({ platform: 'cpu' });
    const size = 64;
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = (y * size + x) * 3;
        data[i] = x < size / 2 ? 200 : 30;
        data[i + 1] = (x * 4 + y) & 255;
        data[i + 2] = y < size / 2 ? 40 : 220;
      }
    }
    const image = { width: size, height: size, data };
    const classes = ['cat', 'grass', 'sky'];
    const labels: Int32Array[] = [];
    for (const [path, options] of [
      [TINY, { backend, configPath: TINY_CONFIG }],
      [fp32Out, { backend }],
    ] as const) {
      const model = await loadSedModel(path, options);
      try {
        labels.push((await model.segment(image, { classes, resolution: 64 })).labels);
      } finally {
        model.dispose();
      }
    }
    expect(labels[1]!.length).toBe(size * size);
    expect(Array.from(labels[1]!)).toEqual(Array.from(labels[0]!));
  });

  it('drops unexpected keys and reports how many', async () => {
    const tensors = await readAll(TINY);
    tensors.splice(5, 0, ['extra.counter', { dtype: 'int64', shape: [1], data: new BigInt64Array([7n]) }]);
    tensors.push([`${P}criterion.empty_weight`, { dtype: 'float32', shape: [2], data: new Float32Array([1, 0.1]) }]);
    const src = join(work, 'extra.safetensors');
    await writeSafetensors(src, tensors);
    const out = join(work, 'extra-converted.safetensors');
    const r = runCli(['convert', src, '--config', TINY_CONFIG, '--out', out]);
    expectOk(r);
    expect(r.stdout).toContain('209 tensors');
    expect(r.stdout).toContain('2 unexpected keys dropped');
    const info = infoJson([out]);
    expect(info.tensors).toBe(209);
    expect(info.check.unexpected).toEqual([]);
    expect(safetensorsMetadata(out)['sedseg.source']).toBe('extra.safetensors');
  });

  it('refuses to overwrite either output without --overwrite, and replaces both with it', () => {
    const out = join(work, 'taken.safetensors');
    const config = join(work, 'taken.config.json');
    writeFileSync(out, 'keep me');
    const r = runCli(['convert', lonePth, '--config', TINY_CONFIG, '--out', out]);
    expectOneLineError(r, 1, /^sedseg: error: .*taken\.safetensors exists \(use --overwrite/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(existsSync(config)).toBe(false);

    rmSync(out);
    writeFileSync(config, '{"keep": "me"}');
    const c = runCli(['convert', lonePth, '--config', TINY_CONFIG, '--out', out]);
    expectOneLineError(c, 1, /^sedseg: error: .*taken\.config\.json exists \(use --overwrite/);
    expect(readFileSync(config, 'utf8')).toBe('{"keep": "me"}');
    expect(existsSync(out)).toBe(false);

    writeFileSync(out, 'keep me');
    expectOk(runCli(['convert', lonePth, '--config', TINY_CONFIG, '--out', out, '--overwrite']));
    expect(infoJson([out]).architecture.text_heads).toBe(2);
    expect(readFileSync(out).equals(readFileSync(fp32Out))).toBe(true); // same input, same bytes
  });

  it.each([
    [
      'a missing input file',
      () => [join(work, 'nope.pth'), '--out', join(work, 'nope.safetensors')],
      /nope\.pth: cannot open \(no such file; weights are a file path, a model name \(sed-b, sed-l\) or an http\(s\) URL\)/,
    ],
    [
      'a plain OpenCLIP checkpoint',
      async () => {
        const src = join(work, 'open_clip.safetensors');
        const f = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
        await writeSafetensors(src, [
          ['positional_embedding', f([77, 8])],
          ['visual.trunk.stem.0.weight', f([4, 3, 4, 4])],
          ['transformer.resblocks.0.attn.in_proj_weight', f([24, 8])],
        ]);
        return [src, '--out', join(work, 'open_clip.out.safetensors')];
      },
      /not a SED checkpoint.*plain OpenCLIP checkpoint/,
    ],
    [
      'a checkpoint with missing and mis-shaped keys',
      async () => {
        const tensors = (await readAll(TINY)).filter(([k]) => k !== `${P}clip_model.ln_final.weight`);
        const i = tensors.findIndex(([k]) => k === `${P}clip_model.text_projection`);
        tensors[i] = [`${P}clip_model.text_projection`, { dtype: 'float32', shape: [64, 32], data: new Float32Array(64 * 32) }];
        const src = join(work, 'broken.safetensors');
        await writeSafetensors(src, tensors);
        return [src, '--config', TINY_CONFIG, '--out', join(work, 'broken.out.safetensors')];
      },
      /broken\.safetensors: missing 1 key\(s\): .*ln_final\.weight; key ".*text_projection" has shape \[64, 32\], expected \[64, 64\]/,
    ],
    ['a missing output directory', () => [lonePth, '--out', join(work, 'no-such-dir', 'x.safetensors')], /no-such-dir: output directory does not exist/],
  ])('fails with one line (exit 1) on %s', async (_what, args, message) => {
    const r = runCli(['convert', ...(await args())]);
    expectOneLineError(r, 1, message);
    expect(r.stderr).toMatch(/^sedseg: error: /);
    expect(existsSync(join(work, 'open_clip.out.safetensors'))).toBe(false);
    expect(existsSync(join(work, 'broken.out.safetensors'))).toBe(false);
    expect(existsSync(join(work, 'broken.out.config.json'))).toBe(false);
  });

  it.each([
    ['--fp16 with --bf16', () => [lonePth, '--out', join(work, 'both.safetensors'), '--fp16', '--bf16'], /--fp16 and --bf16/],
    ['no --out', () => [lonePth], /missing --out/],
    ['no input', () => ['--out', join(work, 'x.safetensors')], /missing WEIGHTS/],
    ['an --out that is neither .safetensors nor .pth', () => [lonePth, '--out', join(work, 'x.bin')], /--out must name a \.safetensors or \.pth file/],
    ['an unknown option', () => [lonePth, '--out', join(work, 'x.safetensors'), '--fp8'], /Unknown option '--fp8'/],
  ])('refuses %s as a usage error (exit 2)', (_what, args, message) => {
    const r = runCli(['convert', ...args()]);
    expectOneLineError(r, 2, message);
    expect(r.stderr).toMatch(/^sedseg convert: /);
    expect(existsSync(join(work, 'both.safetensors'))).toBe(false);
  });
});
