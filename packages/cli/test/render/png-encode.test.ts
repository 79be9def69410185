import sharp from 'sharp';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { classPalette } from '../../src/render/palette.js';
import { crc32, encodeGray16Png, encodeIndexedPng, labelMapPng } from '../../src/render/png-encode.js';

/** The chunks of a PNG file: type and body. */
function chunks(png: Uint8Array): { type: string; body: Uint8Array }[] {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: { type: string; body: Uint8Array }[] = [];
  for (let o = 8; o < png.length; ) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    const body = png.subarray(o + 8, o + 8 + len);
    expect(view.getUint32(o + 8 + len)).toBe(crc32(png.subarray(o + 4, o + 8 + len)));
    out.push({ type, body });
    o += 12 + len;
  }
  return out;
}

function labelsFor(width: number, height: number, classCount: number): Int32Array {
  const labels = new Int32Array(width * height);
  for (let i = 0; i < labels.length; i++) labels[i] = (i * 7 + Math.floor(i / width) * 3) % classCount;
  return labels;
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('encodeIndexedPng', () => {
  it('writes a palette PNG that decodes to palette[index]', async () => {
    const width = 13;
    const height = 7;
    const palette = classPalette(10);
    const indices = new Uint8Array(width * height);
    for (let i = 0; i < indices.length; i++) indices[i] = i % 6; // max index 5
    const png = encodeIndexedPng(width, height, indices, palette);
    const types = chunks(png).map((c) => c.type);
    expect(types).toEqual(['IHDR', 'PLTE', 'IDAT', 'IEND']);
    expect(chunks(png)[1]!.body.length).toBe(6 * 3); // entries 0…5 only

    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(width);
    expect(meta.height).toBe(height);
    expect(meta.isPalette).toBe(true);
    expect(meta.bitsPerSample).toBe(8);
    const { data, info } = await sharp(png).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    for (let i = 0; i < indices.length; i++) {
      const c = indices[i]!;
      expect([data[i * 3], data[i * 3 + 1], data[i * 3 + 2]]).toEqual([palette[c * 3], palette[c * 3 + 1], palette[c * 3 + 2]]);
    }
  });

  it('rejects an index without a palette entry and bad sizes', () => {
    const palette = classPalette(3);
    expect(() => encodeIndexedPng(2, 2, Uint8Array.of(0, 1, 2, 3), palette)).toThrow(/pixel \(1, 1\) has index 3/);
    expect(() => encodeIndexedPng(2, 2, Uint8Array.of(0, 1, 2), palette)).toThrow(/3 values for 2×2/);
    expect(() => encodeIndexedPng(0, 2, new Uint8Array(0), palette)).toThrow(/invalid width/);
    expect(() => encodeIndexedPng(1, 1, Uint8Array.of(0), new Uint8Array(4))).toThrow(/palette/);
    expect(() => encodeIndexedPng(1, 1, Uint8Array.of(0), classPalette(257))).toThrow(/palette/);
  });
});

describe('encodeGray16Png', () => {
  it('stores 16-bit big-endian samples', async () => {
    const values = Uint16Array.of(0, 1, 255, 256, 4660, 65535);
    const png = encodeGray16Png(3, 2, values);
    const meta = await sharp(png).metadata();
    expect(meta.width).toBe(3);
    expect(meta.height).toBe(2);
    expect(meta.channels).toBe(1);
    expect(meta.depth).toBe('ushort');
    expect(meta.isPalette).toBe(false);
    // The raw IDAT stream: filter byte 0 then big-endian samples, per row.
    const idat = chunks(png).find((c) => c.type === 'IDAT')!;
    expect([...inflateSync(idat.body)]).toEqual([0, 0, 0, 0, 1, 0, 255, 0, 0x01, 0x00, 0x12, 0x34, 0xff, 0xff]);
  });
});

describe('labelMapPng', () => {
  it('uses an indexed PNG for ≤ 256 classes (pixel value = class index)', async () => {
    const width = 40;
    const height = 30;
    const classCount = 150;
    const palette = classPalette(classCount);
    const labels = labelsFor(width, height, classCount);
    const { bytes, kind } = labelMapPng(labels, width, height, palette, classCount);
    expect(kind).toBe('palette');
    const meta = await sharp(bytes).metadata();
    expect([meta.width, meta.height, meta.isPalette]).toEqual([width, height, true]);
    // Index values: inflate IDAT and skip the per-row filter byte (always 0 here).
    const raw = inflateSync(chunks(bytes).find((c) => c.type === 'IDAT')!.body);
    for (let y = 0; y < height; y++) {
      expect(raw[y * (width + 1)]).toBe(0);
      for (let x = 0; x < width; x++) expect(raw[y * (width + 1) + 1 + x]).toBe(labels[y * width + x]);
    }
    // Colours as decoded by sharp (libspng/libpng).
    const { data } = await sharp(bytes).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    for (let i = 0; i < labels.length; i++) {
      const c = labels[i]!;
      expect(data[i * 3]).toBe(palette[c * 3]);
      expect(data[i * 3 + 1]).toBe(palette[c * 3 + 1]);
      expect(data[i * 3 + 2]).toBe(palette[c * 3 + 2]);
    }
    // Exactly 256 classes still fits a palette.
    expect(labelMapPng(Int32Array.of(255, 0), 2, 1, classPalette(256), 256).kind).toBe('palette');
  });

  it('uses 16-bit greyscale above 256 classes (value = class index)', async () => {
    const width = 31;
    const height = 17;
    const classCount = 300;
    const labels = labelsFor(width, height, classCount);
    labels[0] = 299;
    labels[1] = 256;
    const { bytes, kind } = labelMapPng(labels, width, height, classPalette(classCount), classCount);
    expect(kind).toBe('gray16');
    const meta = await sharp(bytes).metadata();
    expect([meta.width, meta.height, meta.channels, meta.depth]).toEqual([width, height, 1, 'ushort']);
    const { data, info } = await sharp(bytes).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(1);
    const values = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2); // native order
    expect(values.length).toBe(width * height);
    expect([...values]).toEqual([...labels]);
  });

  it('names the pixel of a label out of range', () => {
    const labels = Int32Array.of(0, 1, 2, 3, 4, 5);
    expect(() => labelMapPng(labels, 3, 2, classPalette(5), 5)).toThrow(/pixel \(2, 1\) has label 5, outside \[0, 5\)/);
    labels[4] = -1;
    expect(() => labelMapPng(labels, 3, 2, classPalette(10), 10)).toThrow(/pixel \(1, 1\) has label -1/);
    expect(() => labelMapPng(labels.subarray(0, 5), 3, 2, classPalette(10), 10)).toThrow(/5 values for 3×2/);
    expect(() => labelMapPng(Int32Array.of(0), 1, 1, classPalette(1), 0)).toThrow(/class count/);
    expect(() => labelMapPng(Int32Array.of(3), 1, 1, classPalette(2), 10)).toThrow(/palette has 2 colours/);
  });
});
