/**
 * Test helper: writes ZIP archives the way torch does (stored entries, data aligned to 64
 * bytes through padding in the local extra field), optionally deflated entries and ZIP64.
 */
import { deflateSync } from 'fflate';
import { crc32 } from '../../src/io/zip-reader.js';

export interface ZipWriteEntry {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflate. */
  method?: 0 | 8;
}

export interface ZipWriteOptions {
  /** Write ZIP64 records: saturated 32-bit fields, ZIP64 extra fields, EOCD64 + locator. */
  zip64?: boolean;
  /** Data alignment, default 64 like torch. */
  align?: number;
  comment?: string;
}

export function writeZip(entries: readonly ZipWriteEntry[], options: ZipWriteOptions = {}): Uint8Array {
  const align = options.align ?? 64;
  const zip64 = options.zip64 ?? false;
  const enc = new TextEncoder();
  const out: number[] = [];
  const u16 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff);
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const u64 = (n: number) => {
    u32(n >>> 0);
    u32(Math.floor(n / 2 ** 32));
  };
  const bytes = (b: Uint8Array | number[]) => {
    for (const x of b) out.push(x);
  };

  const central: { name: Uint8Array; method: number; crc: number; csize: number; usize: number; offset: number }[] = [];
  for (const e of entries) {
    const name = enc.encode(e.name);
    const method = e.method ?? 0;
    const stored = method === 8 ? deflateSync(e.data) : e.data;
    const crc = crc32(e.data);
    const offset = out.length;
    const zip64Extra = zip64 ? 4 + 16 : 0;
    // Pad with an extra field (id 'FB', as torch/miniz) so the data starts aligned.
    const before = offset + 30 + name.length + zip64Extra + 4;
    const pad = (align - (before % align)) % align;
    u32(0x04034b50);
    u16(zip64 ? 45 : 20);
    u16(0); // flags
    u16(method);
    u16(0);
    u16(0x21); // time, date
    u32(crc);
    u32(zip64 ? 0xffffffff : stored.length);
    u32(zip64 ? 0xffffffff : e.data.length);
    u16(name.length);
    u16(zip64Extra + 4 + pad);
    bytes(name);
    if (zip64) {
      u16(1);
      u16(16);
      u64(e.data.length);
      u64(stored.length);
    }
    u16(0x4246);
    u16(pad);
    bytes(new Array<number>(pad).fill(0));
    bytes(stored);
    central.push({ name, method, crc, csize: stored.length, usize: e.data.length, offset });
  }

  const cdOffset = out.length;
  for (const c of central) {
    u32(0x02014b50);
    u16(zip64 ? 45 : 20);
    u16(zip64 ? 45 : 20);
    u16(0);
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
  const cdSize = out.length - cdOffset;

  if (zip64) {
    const recordOffset = out.length;
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
  return Uint8Array.from(out);
}
