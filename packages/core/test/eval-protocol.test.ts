/**
 * The evaluation protocol's pieces: ResizeShortestEdge sizes, Pillow's bilinear arithmetic, the
 * exact label reader (PNG and TIFF variants, refusals), load_sem_seg pairing and the six dataset
 * layouts. (The resize is checked bit for bit against the reference's SHA-256 in the CLI tests,
 * which decode the JPEGs.)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { EVAL_DATASETS, evalDataset, pilBilinearTaps, pilResizeBilinear, resizeShortestEdgeSize } from '../src/index.js';
import { decodePngLabels, decodeTiffLabels, listEvalPairs } from '../src/node.js';
import { referencePath } from './helpers/reference.js';

describe('ResizeShortestEdge(640, 2560) sizes', () => {
  it('match the reference for every mini-dataset image', () => {
    for (const name of ['ade150-mini', 'pc459-mini']) {
      const expected = JSON.parse(readFileSync(referencePath('eval', name, 'expected.json'), 'utf8')) as {
        images: { height: number; width: number; resized_height: number; resized_width: number }[];
      };
      for (const im of expected.images) expect(resizeShortestEdgeSize(im.height, im.width)).toEqual({ height: im.resized_height, width: im.resized_width });
    }
  });

  it('short side to 640, long side capped at 2560, rounded half up', () => {
    expect(resizeShortestEdgeSize(375, 500)).toEqual({ height: 640, width: 853 });
    expect(resizeShortestEdgeSize(500, 375)).toEqual({ height: 853, width: 640 });
    expect(resizeShortestEdgeSize(640, 640)).toEqual({ height: 640, width: 640 });
    expect(resizeShortestEdgeSize(100, 1000)).toEqual({ height: 256, width: 2560 });
    expect(() => resizeShortestEdgeSize(0, 10)).toThrow(/positive integers/);
  });
});

describe('Pillow bilinear (uint8)', () => {
  it('rounds half up in 22-bit fixed point: [10, 21] → 16 when halved', () => {
    const out = pilResizeBilinear({ width: 2, height: 1, data: Uint8Array.of(10, 10, 10, 21, 21, 21) }, 1, 1);
    expect(Array.from(out.data)).toEqual([16, 16, 16]);
  });

  it('widens the triangle when shrinking (antialiasing) and keeps weights summing to 2^22', () => {
    const shrink = pilBilinearTaps(10, 3);
    expect(shrink.ksize).toBe(2 * Math.ceil(10 / 3) + 1);
    for (let i = 0; i < 3; i++) {
      let sum = 0;
      for (let k = 0; k < shrink.count[i]!; k++) sum += shrink.weights[i * shrink.ksize + k]!;
      expect(Math.abs(sum - 2 ** 22)).toBeLessThanOrEqual(shrink.count[i]!);
      expect(shrink.count[i]).toBeGreaterThan(2);
    }
    const grow = pilBilinearTaps(3, 10);
    expect(Math.max(...grow.count)).toBeLessThanOrEqual(3);
  });

  it('an unchanged size is a copy; one axis changed resamples only that axis', () => {
    const img = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 13) };
    expect(Array.from(pilResizeBilinear(img, 3, 2).data)).toEqual(Array.from(img.data));
    const taller = pilResizeBilinear(img, 3, 4);
    expect(taller.data.length).toBe(36);
    expect(Array.from(taller.data.subarray(0, 9))).toEqual(Array.from(img.data.subarray(0, 9))); // top row: weight 1 on row 0
  });
});

// ---- label files -------------------------------------------------------------------------------

function crcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}
const TABLE = crcTable();
function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'latin1');
  let c = 0xffffffff;
  for (const b of [...Buffer.from(type, 'latin1'), ...body]) c = TABLE[(c ^ b) & 255]! ^ (c >>> 8);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((c ^ 0xffffffff) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}
/** A PNG from already-filtered rows (filter byte first on each row). */
function png(width: number, height: number, depth: number, colorType: number, raw: Uint8Array, interlace = 0, extra: Buffer[] = []): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  ihdr[12] = interlace;
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      ...extra,
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}

describe('label reader', () => {
  it('16-bit grayscale PNG with Sub, Up, Average and Paeth rows', () => {
    // 2×4 values, each row with another filter; bytes filtered by hand
    const values = [
      [300, 1],
      [65535, 459],
      [2, 7],
      [1000, 1001],
    ];
    const bytes = values.map((r) => r.flatMap((v) => [v >> 8, v & 255]));
    const raw: number[] = [];
    const filters = [1, 2, 3, 4];
    for (let y = 0; y < 4; y++) {
      raw.push(filters[y]!);
      for (let i = 0; i < 4; i++) {
        const x = bytes[y]![i]!;
        const a = i >= 2 ? bytes[y]![i - 2]! : 0;
        const b = y > 0 ? bytes[y - 1]![i]! : 0;
        const c = y > 0 && i >= 2 ? bytes[y - 1]![i - 2]! : 0;
        const p = a + b - c;
        const pred = [
          0,
          a,
          b,
          (a + b) >> 1,
          Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c,
        ][filters[y]!]!;
        raw.push((x - pred) & 255);
      }
    }
    const map = decodePngLabels(png(2, 4, 16, 0, Uint8Array.from(raw)), 'x.png');
    expect(map.encoding).toBe('16-bit grayscale PNG');
    expect(Array.from(map.data)).toEqual(values.flat());
  });

  it('palette PNG gives the indices (PIL mode P), 1-bit grayscale gives 0/1', () => {
    const pal = chunk('PLTE', new Uint8Array(3 * 4));
    const p = decodePngLabels(png(4, 1, 2, 3, Uint8Array.of(0, 0b00011011), 0, [pal]), 'p.png');
    expect(Array.from(p.data)).toEqual([0, 1, 2, 3]);
    const one = decodePngLabels(png(3, 1, 1, 0, Uint8Array.of(0, 0b10100000)), 'b.png');
    expect(Array.from(one.data)).toEqual([1, 0, 1]);
  });

  it('refuses colour, alpha and interlaced PNGs, naming the file', () => {
    expect(() => decodePngLabels(png(1, 1, 8, 2, Uint8Array.of(0, 1, 2, 3)), 'rgb.png')).toThrow('rgb.png: 8-bit RGB PNG is not a label map');
    expect(() => decodePngLabels(png(1, 1, 8, 4, Uint8Array.of(0, 1, 2)), 'la.png')).toThrow(/la\.png: 8-bit grayscale with alpha PNG/);
    expect(() => decodePngLabels(png(1, 1, 8, 0, Uint8Array.of(0, 1), 1), 'i.png')).toThrow(/i\.png: interlaced PNG labels are not supported/);
    expect(() => decodePngLabels(Uint8Array.of(1, 2, 3), 'n.png')).toThrow(/n\.png: not a PNG file/);
  });

  /** A one-strip TIFF of 16-bit values. */
  function tiff(
    width: number,
    height: number,
    strip: Uint8Array,
    options: { le?: boolean; compression?: number; predictor?: number; bits?: number; samples?: number } = {},
  ): Uint8Array {
    const le = options.le ?? true;
    const entries: [number, number, number][] = [
      [256, 3, width],
      [257, 3, height],
      [258, 3, options.bits ?? 16],
      [259, 3, options.compression ?? 1],
      [262, 3, 1],
      [273, 4, 0], // patched below
      [277, 3, options.samples ?? 1],
      [278, 3, height],
      [279, 4, strip.length],
      ...(options.predictor ? ([[317, 3, options.predictor]] as [number, number, number][]) : []),
    ];
    const ifdSize = 2 + entries.length * 12 + 4;
    const buf = Buffer.alloc(8 + ifdSize + strip.length);
    const w16 = (v: number, at: number) => (le ? buf.writeUInt16LE(v, at) : buf.writeUInt16BE(v, at));
    const w32 = (v: number, at: number) => (le ? buf.writeUInt32LE(v, at) : buf.writeUInt32BE(v, at));
    buf.write(le ? 'II' : 'MM', 0, 'latin1');
    w16(42, 2);
    w32(8, 4);
    w16(entries.length, 8);
    entries.forEach(([tag, type, value], k) => {
      const e = 10 + k * 12;
      w16(tag, e);
      w16(type, e + 2);
      w32(1, e + 4);
      const v = tag === 273 ? 8 + ifdSize : value;
      if (type === 3) w16(v, e + 8);
      else w32(v, e + 8);
    });
    Buffer.from(strip).copy(buf, 8 + ifdSize);
    return new Uint8Array(buf);
  }
  const u16 = (values: number[], le: boolean): Uint8Array => {
    const b = Buffer.alloc(values.length * 2);
    for (const [i, v] of values.entries()) {
      if (le) b.writeUInt16LE(v, i * 2);
      else b.writeUInt16BE(v, i * 2);
    }
    return new Uint8Array(b);
  };

  it('TIFF: 16-bit little- and big-endian, PackBits, Deflate, horizontal predictor', () => {
    const values = [459, 0, 65535, 12, 12, 12];
    for (const le of [true, false]) expect(Array.from(decodeTiffLabels(tiff(3, 2, u16(values, le), { le }), 't.tif').data)).toEqual(values);
    const bytes = u16(values, true);
    // PackBits: a literal run of 12 bytes
    const packed = Uint8Array.from([11, ...bytes]);
    expect(Array.from(decodeTiffLabels(tiff(3, 2, packed, { compression: 32773 }), 'p.tif').data)).toEqual(values);
    expect(Array.from(decodeTiffLabels(tiff(3, 2, new Uint8Array(deflateSync(bytes)), { compression: 8 }), 'd.tif').data)).toEqual(values);
    const diffs = [459, (0 - 459) & 0xffff, (65535 - 0) & 0xffff, 12, 0, 0];
    expect(Array.from(decodeTiffLabels(tiff(3, 2, u16(diffs, true), { predictor: 2 }), 'h.tif').data)).toEqual(values);
  });

  it('TIFF refusals name the file and what it holds', () => {
    expect(() => decodeTiffLabels(tiff(1, 1, new Uint8Array(6), { samples: 3 }), 'rgb.tif')).toThrow(
      'rgb.tif: TIFF with 3 samples per pixel is not a label map',
    );
    expect(() => decodeTiffLabels(tiff(1, 1, new Uint8Array(4), { bits: 32 }), 'f.tif')).toThrow('f.tif: 32-bit TIFF labels are not supported');
    expect(() => decodeTiffLabels(tiff(1, 1, new Uint8Array(2), { compression: 7 }), 'j.tif')).toThrow(/j\.tif: TIFF compression 7 is not supported/);
    expect(() => decodeTiffLabels(tiff(2, 2, new Uint8Array(2)), 's.tif')).toThrow(/s\.tif: truncated TIFF strip 0/);
  });
});

describe('load_sem_seg pairing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sedseg-pairs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const make = (name: string, files: string[]): string => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    for (const f of files) writeFileSync(join(d, f), '');
    return d;
  };

  it('sorts by name without extension, in code-point order, and pairs in order', async () => {
    const images = make('i1', ['b.jpg', 'B.jpg', 'a_1.jpg', 'a.jpg', 'x.JPG', 'note.txt']);
    const labels = make('l1', ['b.png', 'B.png', 'a_1.png', 'a.png', 'a.tif']);
    const { pairs } = await listEvalPairs(images, labels, 'jpg', 'png');
    expect(pairs.map((p) => p.stem)).toEqual(['B', 'a', 'a_1', 'b']);
    expect(pairs.map((p) => [p.image, p.label])).toEqual(['B', 'a', 'a_1', 'b'].map((s) => [join(images, `${s}.jpg`), join(labels, `${s}.png`)]));
  });

  it('uses the names in both folders when the counts differ; refuses equal counts that do not match', async () => {
    const r = await listEvalPairs(make('i2', ['1.jpg', '2.jpg', '3.jpg']), make('l2', ['2.png', '3.png']), 'jpg', 'png');
    expect(r.pairs.map((p) => p.stem)).toEqual(['2', '3']);
    expect([r.unpairedImages, r.unpairedLabels]).toEqual([1, 0]);
    await expect(listEvalPairs(make('i3', ['1.jpg', '2.jpg']), make('l3', ['1.png', '3.png']), 'jpg', 'png')).rejects.toThrow(
      /in name order, image 2\.jpg meets label 3\.png/,
    );
    await expect(listEvalPairs(join(dir, 'missing'), make('l4', ['1.png']), 'jpg', 'png')).rejects.toThrow(
      /image folder .*missing: cannot list \(no such folder\)/,
    );
    await expect(listEvalPairs(make('i5', ['1.jpg']), make('l5', []), 'jpg', 'png')).rejects.toThrow(/label folder .*l5: no \*\.png file/);
  });
});

describe('the six dataset layouts', () => {
  it('folders, extensions, ignore labels, classes and vocabularies as the authors register them', () => {
    const rows = Object.values(EVAL_DATASETS).map((d) => [
      d.name,
      d.imageDir,
      d.labelDir,
      d.labelExt,
      d.ignoreLabel,
      d.numClasses,
      d.vocabulary,
      d.backgroundFrom ?? null,
    ]);
    expect(rows).toEqual([
      ['ade150', 'ADEChallengeData2016/images/validation', 'ADEChallengeData2016/annotations_detectron2/validation', 'png', 255, 150, 'ade150', null],
      ['ade847', 'ADE20K_2021_17_01/images_detectron2/validation', 'ADE20K_2021_17_01/annotations_detectron2/validation', 'tif', 65535, 847, 'ade847', null],
      ['pc59', 'VOCdevkit/VOC2010/JPEGImages', 'VOCdevkit/VOC2010/annotations_detectron2/pc59_val', 'png', 255, 59, 'pc59', null],
      ['pc459', 'VOCdevkit/VOC2010/JPEGImages', 'VOCdevkit/VOC2010/annotations_detectron2/pc459_val', 'tif', 459, 459, 'pc459', null],
      ['voc20', 'VOCdevkit/VOC2012/JPEGImages', 'VOCdevkit/VOC2012/annotations_detectron2/val', 'png', 255, 20, 'voc20', null],
      ['voc20b', 'VOCdevkit/VOC2012/JPEGImages', 'VOCdevkit/VOC2012/annotations_detectron2_bg/val', 'png', 255, 21, 'voc20b', 20],
    ]);
    expect(EVAL_DATASETS.voc20b.classNames.at(-1)).toBe('background');
    expect(evalDataset('PC-459').name).toBe('pc459');
    expect(() => evalDataset('coco')).toThrow(/unknown dataset "coco"/);
  });
});
