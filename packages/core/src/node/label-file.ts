/**
 * Ground-truth label maps read exactly as the evaluation reads them (`np.array(Image.open(f),
 * dtype=int)`): one integer per pixel, nothing converted. Supported:
 *
 * - PNG: 8- and 16-bit grayscale (values as stored), 1-bit grayscale (0/1), palette images of
 *   any depth (the palette index: PIL's `P` mode), non-interlaced;
 * - TIFF: one 8- or 16-bit unsigned sample per pixel (PIL `L`, `I;16`, `I;16B`), in strips,
 *   uncompressed, PackBits, LZW or Deflate, with or without horizontal predictor.
 *
 * Anything else (colour, alpha, interlaced PNG, tiled TIFF, …) is refused naming the file and
 * what it holds: a decoder that converted it would hand back values that are not labels.
 */
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { SedsegError } from '../errors.js';

export interface LabelMap {
  width: number;
  height: number;
  /** Row-major values. */
  data: Uint8Array | Uint16Array;
  /** e.g. "8-bit grayscale PNG", "16-bit grayscale TIFF (uncompressed)". */
  encoding: string;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function fail(path: string, why: string, code: 'E_FORMAT' | 'E_UNSUPPORTED' | 'E_CORRUPT' = 'E_FORMAT'): never {
  throw new SedsegError(code, `${path}: ${why}`);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes a single-channel (or palette) PNG to its stored sample values. */
export function decodePngLabels(bytes: Uint8Array, path = 'PNG'): LabelMap {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) fail(path, 'not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let interlace = 0;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!, bytes[pos + 6]!, bytes[pos + 7]!);
    const start = pos + 8;
    if (start + length + 4 > bytes.length) fail(path, `truncated PNG (chunk ${type} runs past the end)`, 'E_CORRUPT');
    if (type === 'IHDR') {
      width = view.getUint32(start);
      height = view.getUint32(start + 4);
      depth = bytes[start + 8]!;
      colorType = bytes[start + 9]!;
      interlace = bytes[start + 12]!;
    } else if (type === 'IDAT') {
      idat.push(bytes.subarray(start, start + length));
    } else if (type === 'IEND') {
      break;
    }
    pos = start + length + 4;
  }
  if (colorType < 0 || width < 1 || height < 1) fail(path, 'PNG without a valid IHDR', 'E_CORRUPT');
  const what: Record<number, string> = { 2: 'RGB', 4: 'grayscale with alpha', 6: 'RGBA' };
  if (colorType !== 0 && colorType !== 3) {
    fail(
      path,
      `${depth}-bit ${what[colorType] ?? `colour type ${colorType}`} PNG is not a label map (one value per pixel: grayscale or palette)`,
      'E_UNSUPPORTED',
    );
  }
  if (colorType === 0 && depth !== 1 && depth !== 8 && depth !== 16)
    fail(path, `${depth}-bit grayscale PNG labels are not supported (1, 8 or 16 bits)`, 'E_UNSUPPORTED');
  if (interlace !== 0) fail(path, 'interlaced PNG labels are not supported (save them non-interlaced)', 'E_UNSUPPORTED');
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  } catch (e) {
    fail(path, `corrupt PNG data (${(e as Error).message})`, 'E_CORRUPT');
  }
  const bitsPerPixel = depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3);
  if (raw.length < height * (stride + 1)) fail(path, `truncated PNG data (${raw.length} bytes for ${width}×${height})`, 'E_CORRUPT');
  const rows = new Uint8Array(height * stride);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = rows.subarray(y * stride, (y + 1) * stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[i - bpp]! : 0;
      const b = prev[i]!;
      const c = i >= bpp ? prev[i - bpp]! : 0;
      const x = line[i]!;
      switch (filter) {
        case 0:
          out[i] = x;
          break;
        case 1:
          out[i] = (x + a) & 255;
          break;
        case 2:
          out[i] = (x + b) & 255;
          break;
        case 3:
          out[i] = (x + ((a + b) >> 1)) & 255;
          break;
        case 4:
          out[i] = (x + paeth(a, b, c)) & 255;
          break;
        default:
          fail(path, `corrupt PNG data (filter type ${filter} in row ${y})`, 'E_CORRUPT');
      }
    }
    prev = out;
  }
  const kind = colorType === 3 ? 'palette' : 'grayscale';
  if (depth === 16) {
    const data = new Uint16Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = (rows[y * stride + 2 * x]! << 8) | rows[y * stride + 2 * x + 1]!;
    return { width, height, data, encoding: `16-bit ${kind} PNG` };
  }
  if (depth === 8) return { width, height, data: rows.length === width * height ? rows : rows.slice(0, width * height), encoding: `8-bit ${kind} PNG` };
  const data = new Uint8Array(width * height);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = rows[y * stride + Math.floor(x / perByte)]!;
      data[y * width + x] = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
    }
  }
  return { width, height, data, encoding: `${depth}-bit ${kind} PNG` };
}

// ---- TIFF ----------------------------------------------------------------------------------

const TIFF_TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8 };

function packBits(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let o = 0;
  let i = 0;
  while (i < src.length && o < expected) {
    const n = (src[i]! << 24) >> 24;
    i++;
    if (n >= 0) {
      for (let k = 0; k <= n && o < expected; k++) out[o++] = src[i++]!;
    } else if (n !== -128) {
      const v = src[i++]!;
      for (let k = 0; k < 1 - n && o < expected; k++) out[o++] = v;
    }
  }
  return out.subarray(0, o);
}

/** TIFF LZW (MSB-first codes, early change), as libtiff writes it. */
function lzw(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let o = 0;
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const lengths = new Int32Array(4096);
  for (let k = 0; k < 256; k++) {
    suffix[k] = k;
    first[k] = k;
    lengths[k] = 1;
    prefix[k] = -1;
  }
  let next = 258;
  let width = 9;
  let old = -1;
  let bitPos = 0;
  const totalBits = src.length * 8;
  const emit = (code: number): void => {
    const len = lengths[code]!;
    let c = code;
    for (let k = len - 1; k >= 0; k--) {
      if (o + k < expected) out[o + k] = suffix[c]!;
      c = prefix[c]!;
    }
    o += len;
  };
  while (bitPos + width <= totalBits && o < expected) {
    let code = 0;
    for (let b = 0; b < width; b++, bitPos++) code = (code << 1) | ((src[bitPos >> 3]! >> (7 - (bitPos & 7))) & 1);
    if (code === 257) break;
    if (code === 256) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) throw new Error(`bad LZW code ${code}`);
      emit(code);
      old = code;
      continue;
    }
    if (code < next) {
      emit(code);
      if (next < 4096) {
        prefix[next] = old;
        suffix[next] = first[code]!;
        first[next] = first[old]!;
        lengths[next] = lengths[old]! + 1;
        next++;
      }
    } else if (code === next) {
      if (next < 4096) {
        prefix[next] = old;
        suffix[next] = first[old]!;
        first[next] = first[old]!;
        lengths[next] = lengths[old]! + 1;
        next++;
      }
      emit(code);
    } else {
      throw new Error(`bad LZW code ${code}`);
    }
    old = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return out.subarray(0, Math.min(o, expected));
}

/** Decodes a single-channel 8/16-bit TIFF (strips) to its sample values. */
export function decodeTiffLabels(bytes: Uint8Array, path = 'TIFF'): LabelMap {
  if (bytes.length < 8) fail(path, 'not a TIFF file');
  const order = String.fromCharCode(bytes[0]!, bytes[1]!);
  if (order !== 'II' && order !== 'MM') fail(path, 'not a TIFF file');
  const le = order === 'II';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (p: number): number => view.getUint16(p, le);
  const u32 = (p: number): number => view.getUint32(p, le);
  if (u16(2) !== 42) fail(path, u16(2) === 43 ? 'BigTIFF labels are not supported' : 'not a TIFF file', u16(2) === 43 ? 'E_UNSUPPORTED' : 'E_FORMAT');
  const ifd = u32(4);
  if (ifd + 2 > bytes.length) fail(path, 'truncated TIFF (first directory past the end)', 'E_CORRUPT');
  const count = u16(ifd);
  const tags = new Map<number, number[]>();
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > bytes.length) fail(path, 'truncated TIFF directory', 'E_CORRUPT');
    const tag = u16(e);
    const type = u16(e + 2);
    const n = u32(e + 4);
    const size = TIFF_TYPE_SIZE[type] ?? 0;
    if (size === 0 || (type !== 3 && type !== 4 && type !== 1 && type !== 16)) continue;
    const total = size * n;
    const at = total <= 4 ? e + 8 : u32(e + 8);
    if (at + total > bytes.length) fail(path, `truncated TIFF (tag ${tag} values past the end)`, 'E_CORRUPT');
    const values: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = at + i * size;
      values.push(type === 3 ? u16(p) : type === 4 ? u32(p) : type === 1 ? bytes[p]! : Number(view.getBigUint64(p, le)));
    }
    tags.set(tag, values);
  }
  const one = (tag: number, fallback?: number): number => {
    const v = tags.get(tag)?.[0] ?? fallback;
    if (v === undefined) fail(path, `TIFF without tag ${tag}`, 'E_CORRUPT');
    return v;
  };
  const width = one(256);
  const height = one(257);
  const bits = tags.get(258) ?? [1];
  const samples = one(277, 1);
  const compression = one(259, 1);
  const photometric = one(262, 1);
  const sampleFormat = one(339, 1);
  const predictor = one(317, 1);
  const depth = bits[0]!;
  if (samples !== 1) fail(path, `TIFF with ${samples} samples per pixel is not a label map (one value per pixel)`, 'E_UNSUPPORTED');
  if (depth !== 8 && depth !== 16) fail(path, `${depth}-bit TIFF labels are not supported (8 or 16 bits)`, 'E_UNSUPPORTED');
  if (sampleFormat !== 1) fail(path, `TIFF sample format ${sampleFormat} is not supported (unsigned integers only)`, 'E_UNSUPPORTED');
  if (photometric !== 1 && photometric !== 3)
    fail(path, `TIFF photometric interpretation ${photometric} is not supported (BlackIsZero grayscale or palette)`, 'E_UNSUPPORTED');
  if (tags.has(322)) fail(path, 'tiled TIFF labels are not supported (strips only)', 'E_UNSUPPORTED');
  const names: Record<number, string> = { 1: 'uncompressed', 5: 'LZW', 8: 'Deflate', 32946: 'Deflate', 32773: 'PackBits' };
  if (!(compression in names)) fail(path, `TIFF compression ${compression} is not supported (uncompressed, LZW, Deflate or PackBits)`, 'E_UNSUPPORTED');
  if (predictor !== 1 && predictor !== 2) fail(path, `TIFF predictor ${predictor} is not supported`, 'E_UNSUPPORTED');
  const offsets = tags.get(273);
  const byteCounts = tags.get(279);
  if (!offsets || !byteCounts || offsets.length !== byteCounts.length) fail(path, 'TIFF without valid strip offsets and byte counts', 'E_CORRUPT');
  const rowsPerStrip = Math.min(one(278, height), height);
  const bytesPerSample = depth / 8;
  const rowBytes = width * bytesPerSample;
  const pixels = new Uint8Array(height * rowBytes);
  let row = 0;
  for (let s = 0; s < offsets.length && row < height; s++) {
    const off = offsets[s]!;
    const len = byteCounts[s]!;
    if (off + len > bytes.length) fail(path, `truncated TIFF (strip ${s} past the end)`, 'E_CORRUPT');
    const rows = Math.min(rowsPerStrip, height - row);
    const expected = rows * rowBytes;
    const src = bytes.subarray(off, off + len);
    let strip: Uint8Array;
    try {
      strip =
        compression === 1 ? src : compression === 32773 ? packBits(src, expected) : compression === 5 ? lzw(src, expected) : new Uint8Array(inflateSync(src));
    } catch (e) {
      fail(path, `corrupt ${names[compression]} data in strip ${s} (${(e as Error).message})`, 'E_CORRUPT');
    }
    if (strip.length < expected) fail(path, `truncated TIFF strip ${s} (${strip.length} of ${expected} bytes)`, 'E_CORRUPT');
    pixels.set(strip.subarray(0, expected), row * rowBytes);
    row += rows;
  }
  if (row < height) fail(path, `truncated TIFF (${row} of ${height} rows)`, 'E_CORRUPT');
  const data = depth === 8 ? pixels : new Uint16Array(width * height);
  if (depth === 16) {
    const pv = new DataView(pixels.buffer, pixels.byteOffset, pixels.byteLength);
    for (let i = 0; i < width * height; i++) (data as Uint16Array)[i] = pv.getUint16(2 * i, le);
  }
  if (predictor === 2) {
    const mod = depth === 8 ? 0xff : 0xffff;
    for (let y = 0; y < height; y++) for (let x = 1; x < width; x++) data[y * width + x] = (data[y * width + x]! + data[y * width + x - 1]!) & mod;
  }
  return { width, height, data, encoding: `${depth}-bit ${photometric === 3 ? 'palette' : 'grayscale'} TIFF (${names[compression]})` };
}

/** Reads a label file (PNG or TIFF, told apart by their signature). */
export async function readLabelFile(path: string): Promise<LabelMap> {
  let bytes: Uint8Array;
  try {
    const b = await readFile(path);
    bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SedsegError(
      'E_IO',
      `${path}: cannot read (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : (code ?? (e as Error).message)})`,
      { cause: e },
    );
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return decodePngLabels(bytes, path);
  if ((bytes[0] === 0x49 && bytes[1] === 0x49) || (bytes[0] === 0x4d && bytes[1] === 0x4d)) return decodeTiffLabels(bytes, path);
  return fail(path, 'not a PNG or TIFF label file');
}
