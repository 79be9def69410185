/**
 * Test helper: writes ZIP archives the way torch does (stored entries, data aligned to 64
 * bytes through padding in the local extra field), optionally deflated entries, ZIP64 and
 * data descriptors; `zipLayout` finds each entry's records again so tests can damage them.
 */
import { deflateSync } from 'fflate';
import { checkRange, type ByteSource } from '../../src/io/byte-source.js';
import { crc32 } from '../../src/io/zip-reader.js';

export interface ZipWriteEntry {
  name: string;
  /** The entry's content (may be omitted when `deflated`, `size` and `crc` are given). */
  data?: Uint8Array;
  /** 0 stored (default), 8 deflate. */
  method?: 0 | 8;
  /** Already deflated bytes (method 8), e.g. from `deflateRun`; `data` is then not compressed again. */
  deflated?: Uint8Array;
  /** Uncompressed size to declare (default: `data.length`); may lie. */
  size?: number;
  /** CRC-32 to declare (default: of `data`; 0 when there is no data). */
  crc?: number;
}

export interface ZipWriteOptions {
  /** Write ZIP64 records: saturated 32-bit fields, ZIP64 extra fields, EOCD64 + locator. */
  zip64?: boolean;
  /** Data alignment, default 64 like torch. */
  align?: number;
  comment?: string;
  /**
   * Like torch (miniz): local headers with flag bit 3 and zero CRC/sizes, a data descriptor
   * (signature, CRC, sizes) after each entry's data.
   */
  dataDescriptor?: boolean;
}

export function writeZip(entries: readonly ZipWriteEntry[], options: ZipWriteOptions = {}): Uint8Array {
  const parts = writeZipParts(entries, options);
  const result = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.length;
  }
  return result;
}

/**
 * `writeZip` as a list of byte arrays to be read one after the other; the entries' data are
 * referenced, not copied (see `partsSource`), so rewriting a large archive is cheap.
 */
export function writeZipParts(entries: readonly ZipWriteEntry[], options: ZipWriteOptions = {}): Uint8Array[] {
  const align = options.align ?? 64;
  const zip64 = options.zip64 ?? false;
  const enc = new TextEncoder();
  // Small fields collect in `out`; large byte arrays are kept as chunks (no per-byte copy).
  const parts: Uint8Array[] = [];
  let out: number[] = [];
  let flushed = 0;
  const position = () => flushed + out.length;
  const u16 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff);
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const u64 = (n: number) => {
    u32(n >>> 0);
    u32(Math.floor(n / 2 ** 32));
  };
  const bytes = (b: Uint8Array | number[]) => {
    if (b.length < 256) {
      for (const x of b) out.push(x);
      return;
    }
    parts.push(Uint8Array.from(out), b instanceof Uint8Array ? b : Uint8Array.from(b));
    flushed += out.length + b.length;
    out = [];
  };

  const central: { name: Uint8Array; method: number; crc: number; csize: number; usize: number; offset: number; flags: number }[] = [];
  const dd = options.dataDescriptor ?? false;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const method = e.method ?? (e.deflated ? 8 : 0);
    const data = e.data ?? new Uint8Array(0);
    const stored = e.deflated ?? (method === 8 ? deflateSync(data) : data);
    const crc = e.crc ?? crc32(data);
    const size = e.size ?? data.length;
    const offset = position();
    const zip64Extra = zip64 ? 4 + 16 : 0;
    // Pad with an extra field (id 'FB', as torch/miniz) so the data starts aligned.
    const before = offset + 30 + name.length + zip64Extra + 4;
    const pad = (align - (before % align)) % align;
    u32(0x04034b50);
    u16(zip64 ? 45 : 20);
    u16(dd ? 0x0808 : 0); // flags (torch: data descriptor + UTF-8 names)
    u16(method);
    u16(0);
    u16(0x21); // time, date
    u32(dd ? 0 : crc);
    u32(dd ? 0 : zip64 ? 0xffffffff : stored.length);
    u32(dd ? 0 : zip64 ? 0xffffffff : size);
    u16(name.length);
    u16(zip64Extra + 4 + pad);
    bytes(name);
    if (zip64) {
      u16(1);
      u16(16);
      u64(dd ? 0 : size);
      u64(dd ? 0 : stored.length);
    }
    u16(0x4246);
    u16(pad);
    bytes(new Array<number>(pad).fill(0));
    bytes(stored);
    if (dd) {
      u32(0x08074b50);
      u32(crc);
      if (zip64) {
        u64(stored.length);
        u64(size);
      } else {
        u32(stored.length);
        u32(size);
      }
    }
    central.push({ name, method, crc, csize: stored.length, usize: size, offset, flags: dd ? 0x0808 : 0 });
  }

  const cdOffset = position();
  for (const c of central) {
    u32(0x02014b50);
    u16(zip64 ? 45 : 20);
    u16(zip64 ? 45 : 20);
    u16(c.flags);
    u16(c.method);
    u16(0);
    u16(0x21);
    u32(c.crc);
    u32(zip64 ? 0xffffffff : c.csize);
    u32(zip64 ? 0xffffffff : c.usize);
    u16(c.name.length);
    u16(zip64 ? 4 + 24 : 0);
    u16(0); // comment
    u16(0); // disk
    u16(0);
    u32(0); // attributes
    u32(zip64 ? 0xffffffff : c.offset);
    bytes(c.name);
    if (zip64) {
      u16(1);
      u16(24);
      u64(c.usize);
      u64(c.csize);
      u64(c.offset);
    }
  }
  const cdSize = position() - cdOffset;

  if (zip64) {
    const recordOffset = position();
    u32(0x06064b50);
    u64(44);
    u16(45);
    u16(45);
    u32(0);
    u32(0);
    u64(central.length);
    u64(central.length);
    u64(cdSize);
    u64(cdOffset);
    u32(0x07064b50);
    u32(0);
    u64(recordOffset);
    u32(1);
  }
  const comment = enc.encode(options.comment ?? '');
  u32(0x06054b50);
  u16(0);
  u16(0);
  u16(zip64 ? 0xffff : central.length);
  u16(zip64 ? 0xffff : central.length);
  u32(zip64 ? 0xffffffff : cdSize);
  u32(zip64 ? 0xffffffff : cdOffset);
  u16(comment.length);
  bytes(comment);
  parts.push(Uint8Array.from(out));
  return parts;
}

/**
 * A ByteSource over byte arrays laid end to end (from `writeZipParts`, or a large file with a
 * few bytes spliced in): reads inside one array are views, reads across arrays are copies.
 */
export function partsSource(parts: readonly Uint8Array[], name = '<parts>'): ByteSource {
  const starts: number[] = [];
  let size = 0;
  for (const part of parts) {
    starts.push(size);
    size += part.length;
  }
  const source: ByteSource = {
    name,
    size,
    async read(offset, length) {
      checkRange(source, offset, length);
      // Last part starting at or before `offset`.
      let lo = 0;
      let hi = parts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= offset) lo = mid;
        else hi = mid - 1;
      }
      const first = parts[lo]!;
      const at = offset - starts[lo]!;
      if (at + length <= first.length) return first.subarray(at, at + length);
      const out = new Uint8Array(length);
      let done = 0;
      for (let i = lo; done < length; i++) {
        const part = parts[i]!;
        const from = i === lo ? at : 0;
        const n = Math.min(part.length - from, length - done);
        out.set(part.subarray(from, from + n), done);
        done += n;
      }
      return out;
    },
    async close() {},
  };
  return source;
}

/** Where an entry's records lie in an archive written by `writeZip` (or any simple zip). */
export interface ZipEntryLayout {
  name: string;
  /** Offset of the central directory record. */
  central: number;
  /** Offset of the local file header. */
  local: number;
  /** Offset of the entry's data. */
  data: number;
  compressedSize: number;
}

/** Parses the central directory (no ZIP64) and each local header; for damaging archives in tests. */
export function zipLayout(bytes: Uint8Array): ZipEntryLayout[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = bytes.length - 22;
  while (eocd >= 0 && dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('zipLayout: no end-of-central-directory record');
  const count = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  const out: ZipEntryLayout[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = dv.getUint16(p + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    const local = dv.getUint32(p + 42, true);
    const data = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
    out.push({ name, central: p, local, data, compressedSize: dv.getUint32(p + 20, true) });
    p += 46 + nameLength + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  return out;
}

/**
 * A raw deflate stream that inflates to `count` copies of `byte`, written directly (one fixed
 * Huffman block: a literal, then copies of 258 bytes at distance 1): about 13 bits per 258
 * output bytes, so a 256 MiB bomb is 1.7 MB and costs nothing to build.
 */
export function deflateRun(byte: number, count: number): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  const bits = (value: number, n: number): void => {
    for (let i = 0; i < n; i++) {
      acc |= ((value >>> i) & 1) << nbits;
      if (++nbits === 8) {
        out.push(acc);
        acc = 0;
        nbits = 0;
      }
    }
  };
  // Huffman codes go most significant bit first.
  const code = (value: number, n: number): void => {
    for (let i = n - 1; i >= 0; i--) bits((value >>> i) & 1, 1);
  };
  const literal = (b: number): void => (b < 144 ? code(0x30 + b, 8) : code(0x190 + b - 144, 9));
  bits(1, 1); // BFINAL
  bits(1, 2); // BTYPE = fixed Huffman
  let left = count;
  if (left > 0) {
    literal(byte);
    left--;
  }
  for (; left >= 258; left -= 258) {
    code(0xc5, 8); // length code 285 (258 bytes)
    code(0, 5); // distance code 0 (distance 1)
  }
  for (; left > 0; left--) literal(byte);
  code(0, 7); // end of block (256)
  if (nbits > 0) out.push(acc);
  return Uint8Array.from(out);
}
