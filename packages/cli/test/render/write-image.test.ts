import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { imageFormatForPath, writeRgbImage } from '../../src/render/write-image.js';

const work = mkdtempSync(join(tmpdir(), 'sedseg-render-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function image(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 255;
  return { width, height, data };
}

describe('writeRgbImage', () => {
  it('picks the format by extension', () => {
    expect(imageFormatForPath('a.png')).toBe('png');
    expect(imageFormatForPath('a.JPG')).toBe('jpeg');
    expect(imageFormatForPath('a.jpeg')).toBe('jpeg');
    expect(imageFormatForPath('a.webp')).toBe('webp');
    expect(imageFormatForPath('a')).toBe('png');
    expect(imageFormatForPath('a.tif')).toBe('png');
  });

  it('writes a lossless PNG', async () => {
    const img = image(17, 9);
    const path = join(work, 'out.png');
    await writeRgbImage(path, img);
    const { data, info } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([17, 9, 3]);
    expect(new Uint8Array(data)).toEqual(img.data);
  });

  it('writes JPEG and WebP', async () => {
    const img = image(32, 24);
    for (const [name, format] of [
      ['o.jpg', 'jpeg'],
      ['o.jpeg', 'jpeg'],
      ['o.webp', 'webp'],
    ] as const) {
      await writeRgbImage(join(work, name), img);
      const meta = await sharp(join(work, name)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual([format, 32, 24]);
    }
    await writeRgbImage(join(work, 'forced.png'), img, 'jpeg');
    expect((await sharp(join(work, 'forced.png')).metadata()).format).toBe('jpeg');
  });

  it('accepts a view into a larger buffer', async () => {
    const big = new Uint8Array(100);
    big.set([1, 2, 3, 4, 5, 6], 10);
    await writeRgbImage(join(work, 'view.png'), { width: 2, height: 1, data: big.subarray(10, 16) });
    const { data } = await sharp(join(work, 'view.png')).raw().toBuffer({ resolveWithObject: true });
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('reports a write failure as E_IO', async () => {
    await expect(writeRgbImage(join(work, 'missing-dir', 'x.png'), image(2, 2))).rejects.toMatchObject({ code: 'E_IO' });
    await expect(writeRgbImage(join(work, 'bad.png'), { width: 2, height: 2, data: new Uint8Array(5) })).rejects.toThrow(/bytes/);
  });
});
