/**
 * A minimal PNG encoder (no dependencies beyond `node:zlib`) for label maps:
 *
 * - {@link encodeIndexedPng}: colour type 3 (palette), bit depth 8;
 * - {@link encodeGray16Png}: colour type 0 (greyscale), bit depth 16, big-endian samples;
 * - {@link labelMapPng}: picks one of the two for a class-index map.
 *
 * Every row uses filter type 0 (None): label maps are piecewise constant, which deflate handles
 * well on its own. Chunks written: IHDR, PLTE (palette only), one IDAT, IEND.
 */

import { deflateSync } from 'node:zlib';
import { SedsegError } from '@sedseg/core';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const MAX_DIMENSION = 0x7fffffff; // PNG limit (2³¹ − 1)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309 / ITU-T V.42, as PNG uses) of `bytes`, continuing from `crc` if given. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function ihdr(width: number, height: number, bitDepth: number, colourType: number): Uint8Array {
  const body = new Uint8Array(13);
  const view = new DataView(body.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  body[8] = bitDepth;
  body[9] = colourType;
  // compression 0 (deflate), filter method 0, interlace 0 (none)
  return chunk('IHDR', body);
}

function assemble(chunks: Uint8Array[]): Uint8Array {
  const total = SIGNATURE.length + chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  out.set(SIGNATURE, 0);
  let o = SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function idat(raw: Uint8Array): Uint8Array {
  const z = deflateSync(raw, { level: 6 });
  return chunk('IDAT', new Uint8Array(z.buffer, z.byteOffset, z.byteLength));
}

function checkSize(what: string, width: number, height: number, length: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_DIMENSION) throw new SedsegError('E_ARGUMENT', `${what}: invalid ${name} ${v}`);
  }
  if (length !== width * height) {
    throw new SedsegError('E_ARGUMENT', `${what}: ${length} values for ${width}×${height} (expected ${width * height})`);
  }
}

/**
 * An 8-bit palette PNG (colour type 3). `indices` holds one palette index per pixel, row-major;
 * `palette` is n × 3 RGB (1 ≤ n ≤ 256). The PLTE chunk holds palette entries 0…max(indices), i.e.
 * exactly the entries up to the largest index used; an index without a palette entry throws.
 */
export function encodeIndexedPng(width: number, height: number, indices: Uint8Array, palette: Uint8Array): Uint8Array {
  checkSize('encodeIndexedPng', width, height, indices.length);
  if (palette.length === 0 || palette.length % 3 !== 0 || palette.length > 256 * 3) {
    throw new SedsegError('E_ARGUMENT', `encodeIndexedPng: palette must hold 1–256 RGB entries (got ${palette.length} bytes)`);
  }
  const entries = palette.length / 3;
  let max = 0;
  for (let i = 0; i < indices.length; i++) if (indices[i]! > max) max = indices[i]!;
  if (max >= entries) {
    const at = indices.findIndex((v) => v >= entries);
    throw new SedsegError(
      'E_ARGUMENT',
      `encodeIndexedPng: pixel (${at % width}, ${Math.floor(at / width)}) has index ${indices[at]} but the palette has ${entries} entries`,
    );
  }
  const stride = width + 1;
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) raw.set(indices.subarray(y * width, (y + 1) * width), y * stride + 1); // filter byte 0
  return assemble([ihdr(width, height, 8, 3), chunk('PLTE', palette.slice(0, (max + 1) * 3)), idat(raw), chunk('IEND', new Uint8Array(0))]);
}

/** A 16-bit greyscale PNG (colour type 0), one sample per pixel, row-major, stored big-endian. */
export function encodeGray16Png(width: number, height: number, values: Uint16Array): Uint8Array {
  checkSize('encodeGray16Png', width, height, values.length);
  const stride = width * 2 + 1;
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    let o = y * stride + 1; // filter byte 0
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const v = values[i]!;
      raw[o++] = v >>> 8;
      raw[o++] = v & 0xff;
    }
  }
  return assemble([ihdr(width, height, 16, 0), idat(raw), chunk('IEND', new Uint8Array(0))]);
}

/** The most classes a label map PNG can hold (16-bit samples). */
export const MAX_LABEL_MAP_CLASSES = 65536;

/**
 * A label map as PNG bytes; the pixel value is the class index in both kinds.
 *
 * - `classCount` ≤ 256 → `'palette'`: 8-bit indexed PNG whose palette is `palette` (class i drawn in
 *   colour i), so the file is both an exact label map and viewable; `palette` needs an entry for
 *   every class index that occurs (normally `classCount` entries, e.g. `classPalette(classCount)`).
 * - `classCount` > 256 → `'gray16'`: 16-bit greyscale with the class index as value (`palette` is
 *   not used); up to 65 536 classes.
 *
 * Throws a `SedsegError` (`E_ARGUMENT`) naming the pixel if a label is outside [0, classCount).
 */
export function labelMapPng(
  labels: Int32Array,
  width: number,
  height: number,
  palette: Uint8Array,
  classCount: number,
): { bytes: Uint8Array; kind: 'palette' | 'gray16' } {
  checkSize('labelMapPng', width, height, labels.length);
  if (!Number.isInteger(classCount) || classCount < 1 || classCount > MAX_LABEL_MAP_CLASSES) {
    throw new SedsegError('E_ARGUMENT', `labelMapPng: class count must be 1–${MAX_LABEL_MAP_CLASSES}, got ${classCount}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v < 0 || v >= classCount) {
      throw new SedsegError('E_ARGUMENT', `labelMapPng: pixel (${i % width}, ${Math.floor(i / width)}) has label ${v}, outside [0, ${classCount})`);
    }
  }
  if (classCount <= 256) {
    const entries = Math.min(256, Math.floor(palette.length / 3));
    if (entries < classCount) {
      // Only the indices actually used need a colour.
      let max = 0;
      for (let i = 0; i < labels.length; i++) if (labels[i]! > max) max = labels[i]!;
      if (max >= entries) {
        throw new SedsegError('E_ARGUMENT', `labelMapPng: palette has ${entries} colours, label ${max} needs ${max + 1}`);
      }
    }
    const indices = new Uint8Array(labels); // values checked to be < classCount ≤ 256
    return { bytes: encodeIndexedPng(width, height, indices, palette.subarray(0, entries * 3)), kind: 'palette' };
  }
  return { bytes: encodeGray16Png(width, height, new Uint16Array(labels)), kind: 'gray16' };
}
