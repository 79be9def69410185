import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeSafetensors } from '@sedseg/core';
import { REFERENCE_DIR, runCli } from './run-cli.js';

const TINY = resolve(REFERENCE_DIR, 'tiny/model.pth');
const work = mkdtempSync(join(tmpdir(), 'sedseg-segment-'));
const cache = join(work, 'cache');
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A smooth synthetic RGB test picture. */
function picture(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = ((x + y) * 127) / (width + height);
    }
  return data;
}

const images = join(work, 'images');
const base = ['--weights', TINY, '--resolution', '64', '--cache-dir', cache];

beforeAll(async () => {
  mkdirSync(images);
  await sharp(picture(64, 48), { raw: { width: 64, height: 48, channels: 3 } })
    .png()
    .toFile(join(images, 'street.png'));
  // JPEG stored 40 wide × 20 high with EXIF orientation 6 (rotate 90°): shown 20 × 40.
  await sharp(picture(40, 20), { raw: { width: 40, height: 20, channels: 3 } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toFile(join(images, 'rotated.jpg'));
  const rgba = Buffer.alloc(30 * 30 * 4, 200);
  await sharp(rgba, { raw: { width: 30, height: 30, channels: 4 } })
    .png()
    .toFile(join(images, 'alpha.png'));
  const jpeg = await sharp(picture(64, 64), { raw: { width: 64, height: 64, channels: 3 } })
    .jpeg()
    .toBuffer();
  const bad = join(work, 'bad');
  mkdirSync(bad);
  writeFileSync(join(bad, 'truncated.jpg'), jpeg.subarray(0, 300));
  writeFileSync(join(bad, 'notes.png'), 'this is not an image');
  await sharp(picture(32, 32), { raw: { width: 32, height: 32, channels: 3 } })
    .png()
    .toFile(join(bad, 'fine.png'));
});

function lastLine(s: string): string {
  return s.trim().split('\n').at(-1) ?? '';
}

describe('sedseg segment: the main job', () => {
  const out = join(work, 'out');

  it('writes a palette label map, an overlay and a JSON per image', async () => {
    const r = runCli(['segment', join(images, 'street.png'), ...base, '--classes', 'car, road, person|people', '--out', out]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const labels = await sharp(join(out, 'street.labels.png')).metadata();
    expect([labels.width, labels.height]).toEqual([64, 48]);
    expect(labels.isPalette).toBe(true);
    const overlay = await sharp(join(out, 'street.overlay.png')).metadata();
    // the image, plus a legend panel whose size is the overlay's business
    expect([overlay.height, overlay.channels]).toEqual([48, 3]);
    expect(overlay.width).toBeGreaterThanOrEqual(64);
    const json = JSON.parse(readFileSync(join(out, 'street.json'), 'utf8'));
    expect(json.classes.map((c: { name: string }) => c.name)).toEqual(['car', 'road', 'person, people']);
    expect(json.classes.reduce((a: number, c: { share: number }) => a + c.share, 0)).toBeCloseTo(1, 6);
    expect(json.backend).toBe('ort'); // the default backend
    expect(json.cer).toBeNull();
    expect(json.decoder_pooling).toBe(1); // the authors' evaluation setting, whatever config.json says ([2, 2])
    expect(json.model.architecture.image_dims).toEqual([16, 32, 64, 128]);
    expect(json.text_embeddings).toEqual({ cached: 0, encoded: 3 });
    for (const k of ['text', 'image', 'decoder', 'postprocess', 'total']) expect(typeof json.timings_ms[k]).toBe('number');
    expect(r.stderr).toMatch(/class embeddings encoded and cached in/);
  });

  it('a second run takes the class embeddings from the disk cache and says so', () => {
    const r = runCli(['segment', join(images, 'street.png'), ...base, '--classes', 'car, road, person|people', '--out', out, '--overwrite', '--topk', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/class embeddings from the cache/);
    const json = JSON.parse(readFileSync(join(out, 'street.json'), 'utf8'));
    expect(json.text_embeddings).toEqual({ cached: 3, encoded: 0 });
    expect(json.cer.topk).toBe(2);
    expect(json.cer.kept_per_stage).toHaveLength(3);
  });

  it('--pooling 2 runs the training setting (other labels) and says so; other values are refused', async () => {
    const out2 = join(work, 'out-pooling2');
    const r = runCli(['segment', join(images, 'street.png'), ...base, '--classes', 'car, road, person|people', '--out', out2, '--pooling', '2']);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out2, 'street.json'), 'utf8')).decoder_pooling).toBe(2);
    const [a, b] = await Promise.all([join(out, 'street.labels.png'), join(out2, 'street.labels.png')].map((f) => sharp(f).raw().toBuffer()));
    expect(Buffer.compare(a!, b!)).not.toBe(0);
    const bad = runCli(['segment', join(images, 'street.png'), ...base, '--classes', 'car', '--out', out2, '--pooling', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('sedseg segment: --pooling must be 1 or 2, got "3" (see "sedseg segment --help")');
  });

  it('does not overwrite existing outputs without --overwrite', () => {
    const before = statSync(join(out, 'street.json')).mtimeMs;
    const r = runCli(['segment', join(images, 'street.png'), ...base, '--classes', 'car, road', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/street\.(labels\.png|overlay\.png|json) exists \(use --overwrite/);
    expect(statSync(join(out, 'street.json')).mtimeMs).toBe(before);
  });

  it('honours EXIF orientation and ignores alpha', async () => {
    const o = join(work, 'orient');
    const r = runCli(['segment', join(images, 'rotated.jpg'), join(images, 'alpha.png'), ...base, '--classes', 'sky, tree', '--out', o]);
    expect(r.code).toBe(0);
    const rotated = await sharp(join(o, 'rotated.labels.png')).metadata();
    expect([rotated.width, rotated.height]).toEqual([20, 40]);
    expect(JSON.parse(readFileSync(join(o, 'alpha.json'), 'utf8')).width).toBe(30);
  });

  it('--format json writes only the JSON, with the label map run-length encoded', () => {
    const o = join(work, 'jsononly');
    const r = runCli([
      'segment',
      join(images, 'street.png'),
      ...base,
      '--vocabulary',
      'voc20',
      '--topk',
      '8',
      '--format',
      'json',
      '--backend',
      'tfjs',
      '--out',
      o,
    ]);
    expect(r.code).toBe(0);
    expect(readdirSync(o)).toEqual(['street.json']);
    const json = JSON.parse(readFileSync(join(o, 'street.json'), 'utf8'));
    expect(json.backend).toBe('tfjs');
    expect(json.classes).toHaveLength(20);
    const rle: number[] = json.labels.data;
    let n = 0;
    for (let i = 1; i < rle.length; i += 2) n += rle[i]!;
    expect(n).toBe(64 * 48);
  });

  it('continues past bad images, reports them at the end and exits 1; --json gives JSON lines', () => {
    const o = join(work, 'batch');
    const r = runCli(['segment', join(work, 'bad'), ...base, '--classes', 'car, road', '--out', o, '--json']);
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const errors = lines.filter((l) => l.event === 'error').map((l) => l.input);
    expect(errors.sort()).toEqual([join(work, 'bad', 'notes.png'), join(work, 'bad', 'truncated.jpg')]);
    expect(lines.filter((l) => l.event === 'image').map((l) => l.image)).toEqual([join(work, 'bad', 'fine.png')]);
    expect(lines.at(-1)).toMatchObject({ event: 'done', segmented: 1, failed: 2 });
    expect(existsSync(join(o, 'fine.labels.png'))).toBe(true);
  });
});

describe('sedseg segment: errors', () => {
  const openclip = join(work, 'openclip.safetensors');
  const resnet = join(work, 'detectron2-r50.safetensors');
  const notWeights = join(work, 'weights.txt');
  const fileAsDir = join(work, 'a-file');
  beforeAll(() => {
    writeFileSync(openclip, serializeSafetensors({ 'visual.trunk.stem.0.weight': { dtype: 'float32', shape: [2], data: new Float32Array(2) } }));
    writeFileSync(resnet, serializeSafetensors({ 'backbone.res2.0.conv1.weight': { dtype: 'float32', shape: [1], data: new Float32Array(1) } }));
    writeFileSync(notWeights, 'not weights');
    writeFileSync(fileAsDir, 'x');
  });
  const street = () => join(images, 'street.png');
  const cases: [string, () => string[], number, RegExp][] = [
    ['a missing image', () => [join(work, 'missing.jpg'), ...base, '--classes', 'a'], 1, /missing\.jpg: cannot open \(no such file\)/],
    [
      'a missing weights file',
      () => [street(), '--weights', join(work, 'nope.pth'), '--classes', 'a'],
      1,
      /nope\.pth: cannot open \(no such file; weights are a file path, a model name \(sed-b, sed-l\) or an http\(s\) URL\)/,
    ],
    [
      'weights that are not a checkpoint',
      () => [street(), '--weights', notWeights, '--classes', 'a', '--out', join(work, 'e1')],
      1,
      /weights\.txt: not a weights file/,
    ],
    ['a checkpoint of another kind', () => [street(), '--weights', openclip, '--classes', 'a', '--out', join(work, 'e2')], 1, /not a SED checkpoint.*OpenCLIP/],
    [
      'a detectron2 ResNet checkpoint',
      () => [street(), '--weights', resnet, '--classes', 'a', '--out', join(work, 'e4')],
      1,
      /not a SED checkpoint.*detectron2/,
    ],
    [
      'weights that are a folder',
      () => [street(), '--weights', images, '--classes', 'a', '--out', join(work, 'e5')],
      1,
      /images: cannot (open|read).*folder|images: .*directory/i,
    ],
    ['an empty class list', () => [street(), ...base, '--classes', ''], 2, /--classes: class 1 is empty/],
    ['duplicated classes', () => [street(), ...base, '--classes', 'car, road, car'], 2, /class "car" appears twice/],
    ['an unknown vocabulary', () => [street(), ...base, '--vocabulary', 'ade151'], 1, /unknown vocabulary "ade151"/],
    ['--topk 0', () => [street(), ...base, '--classes', 'a', '--topk', '0'], 2, /--topk must be a positive integer, got "0"/],
    [
      'a resolution that is not a multiple of 32',
      () => [street(), '--weights', TINY, '--classes', 'a', '--resolution', '100'],
      2,
      /--resolution must be a multiple of 32, got 100/,
    ],
    ['an output folder that is a file', () => [street(), ...base, '--classes', 'a', '--out', join(fileAsDir, 'sub')], 1, /cannot write outputs there/],
    ['two class sources', () => [street(), ...base, '--classes', 'a', '--vocabulary', 'voc20'], 2, /give only one of/],
    ['no classes', () => [street(), ...base], 2, /no classes/],
    ['an unknown backend', () => [street(), ...base, '--classes', 'a', '--backend', 'cuda'], 2, /unknown backend "cuda"/],
  ];
  it.each(cases)('%s: one line, non-zero exit', (_what, args, code, message) => {
    const r = runCli(['segment', ...args()]);
    expect(r.code).toBe(code);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lastLine(r.stderr)).toMatch(message);
  });

  it('a single bad image is a one-line failure', () => {
    const r = runCli(['segment', join(work, 'bad', 'notes.png'), ...base, '--classes', 'a', '--out', join(work, 'e3')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/notes\.png: not a readable image/);
  });
});
