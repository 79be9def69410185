import { inflateSync } from 'fflate';
import { SedsegError } from '../errors.js';
import type { ByteSource } from './byte-source.js';

/**
 * A minimal, read-only ZIP reader over a random-access ByteSource.
 *
 * Only what checkpoint containers need: the central directory (ZIP64 included, torch writes it
 * for large files), stored entries read by byte range without copying the archive, and small
 * deflated entries. Encrypted, multi-disk and other compression methods are refused.
 */

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Offset of the entry's local file header in the source. */
  readonly localHeaderOffset: number;
}

/** Where a stored entry's bytes lie in the source. */
export interface ZipRange {
  readonly offset: number;
  readonly length: number;
}

export interface ZipArchive {
  readonly source: ByteSource;
  /** Entries in central-directory order. */
  readonly entries: readonly ZipEntry[];
  get(name: string): ZipEntry | undefined;
  /** Offset and length of a stored (method 0) entry's data within the source. */
  entryRange(entry: ZipEntry): Promise<ZipRange>;
  /**
   * Reads an entry (inflating a deflated one), checking its CRC-32. With `part`, reads only
   * `length` bytes at `offset` within the entry's uncompressed data; for stored entries that is
   * a single positioned read, and no CRC is checked.
   */
  readEntry(entry: ZipEntry, part?: ZipRange): Promise<Uint8Array>;
}

export interface OpenZipOptions {
  /** Largest deflated entry `readEntry` will inflate (bytes); default 256 MiB. */
  maxInflatedSize?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_MIN_SIZE = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

/** True when `head` (the first bytes of a file) looks like a ZIP archive. */
export function looksLikeZip(head: Uint8Array): boolean {
  // Local file header (any archive with entries) or an EOCD record (empty archive).
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

export async function openZip(source: ByteSource, options: OpenZipOptions = {}): Promise<ZipArchive> {
  const maxInflated = options.maxInflatedSize ?? 256 * 1024 * 1024;
  const name = source.name;
  const fail = (code: 'E_FORMAT' | 'E_CORRUPT', msg: string): never => {
    throw new SedsegError(code, `${name}: ${msg}`);
  };
  if (source.size < EOCD_SIZE) {
    const head = source.size >= 4 ? await source.read(0, 4) : new Uint8Array(0);
    fail(looksLikeZip(head) ? 'E_CORRUPT' : 'E_FORMAT', source.size === 0 ? 'empty file, not a zip archive' : `truncated zip archive (${source.size} bytes)`);
  }

  // --- End of central directory: the last record whose comment ends at the end of file. ---
  const tailLength = Math.min(source.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = source.size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  const tailView = view(tail);
  let eocdAt = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (tailView.getUint32(i, true) !== SIG_EOCD) continue;
    const commentLength = tailView.getUint16(i + 20, true);
    if (i + EOCD_SIZE + commentLength === tail.length) {
      eocdAt = i;
      break;
    }
    // A signature whose comment does not reach the end: keep looking (it may be data), but
    // remember the first (last in file) plausible one as a fallback for trailing garbage.
    if (eocdAt < 0 && i + EOCD_SIZE + commentLength <= tail.length) eocdAt = i;
  }
  if (eocdAt < 0) {
    const head = await source.read(0, 4);
    fail(
      looksLikeZip(head) ? 'E_CORRUPT' : 'E_FORMAT',
      looksLikeZip(head)
        ? 'truncated zip archive (no end-of-central-directory record)'
        : 'not a zip archive (no end-of-central-directory record)',
    );
  }
  const eocdOffset = tailStart + eocdAt;
  const diskNumber = tailView.getUint16(eocdAt + 4, true);
  const cdDisk = tailView.getUint16(eocdAt + 6, true);
  let entryCount: number = tailView.getUint16(eocdAt + 10, true);
  let cdSize: number = tailView.getUint32(eocdAt + 12, true);
  let cdOffset: number = tailView.getUint32(eocdAt + 16, true);

  // --- ZIP64: a locator right before the EOCD points at the ZIP64 EOCD record. ---
  if (eocdOffset >= ZIP64_LOCATOR_SIZE) {
    const loc = view(await source.read(eocdOffset - ZIP64_LOCATOR_SIZE, ZIP64_LOCATOR_SIZE));
    if (loc.getUint32(0, true) === SIG_ZIP64_LOCATOR) {
      const recordOffset = u64(loc, 8, name, 'ZIP64 end-of-central-directory offset');
      if (recordOffset + ZIP64_EOCD_MIN_SIZE > eocdOffset - ZIP64_LOCATOR_SIZE) {
        fail('E_CORRUPT', `ZIP64 end-of-central-directory record at ${recordOffset} lies outside the file`);
      }
      const rec = view(await source.read(recordOffset, ZIP64_EOCD_MIN_SIZE));
      if (rec.getUint32(0, true) !== SIG_ZIP64_EOCD) fail('E_CORRUPT', `bad ZIP64 end-of-central-directory signature at ${recordOffset}`);
      if (rec.getUint32(16, true) !== 0 || rec.getUint32(20, true) !== 0) fail('E_FORMAT', 'multi-disk zip archives are not supported');
      entryCount = u64(rec, 32, name, 'ZIP64 entry count');
      cdSize = u64(rec, 40, name, 'ZIP64 central directory size');
      cdOffset = u64(rec, 48, name, 'ZIP64 central directory offset');
    } else if (entryCount === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      fail('E_CORRUPT', 'zip archive needs ZIP64 records but has no ZIP64 locator');
    }
  }
  if (diskNumber !== 0 || cdDisk !== 0) fail('E_FORMAT', 'multi-disk zip archives are not supported');
  if (cdOffset + cdSize > eocdOffset) {
    fail('E_CORRUPT', `truncated zip archive (central directory ${cdOffset}+${cdSize} runs past its end record at ${eocdOffset})`);
  }

  // --- Central directory. ---
  const cd = await source.read(cdOffset, cdSize);
  const cdView = view(cd);
  const decoder = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < entryCount; i++) {
    if (p + CENTRAL_SIZE > cd.length || cdView.getUint32(p, true) !== SIG_CENTRAL) {
      fail('E_CORRUPT', `bad central directory entry #${i} at offset ${cdOffset + p}`);
    }
    const flags = cdView.getUint16(p + 8, true);
    const method = cdView.getUint16(p + 10, true);
    const crc = cdView.getUint32(p + 16, true);
    let compressedSize: number = cdView.getUint32(p + 20, true);
    let uncompressedSize: number = cdView.getUint32(p + 24, true);
    const nameLength = cdView.getUint16(p + 28, true);
    const extraLength = cdView.getUint16(p + 30, true);
    const commentLength = cdView.getUint16(p + 32, true);
    const diskStart = cdView.getUint16(p + 34, true);
    let localHeaderOffset: number = cdView.getUint32(p + 42, true);
    const end = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
    if (end > cd.length) fail('E_CORRUPT', `central directory entry #${i} runs past the central directory`);
    const entryName = decoder.decode(cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength));

    // ZIP64 extra field (id 1): 8-byte values for exactly the fields saturated above, in order.
    const needUncompressed = uncompressedSize === U32_MAX;
    const needCompressed = compressedSize === U32_MAX;
    const needOffset = localHeaderOffset === U32_MAX;
    if (needUncompressed || needCompressed || needOffset) {
      const extra = findExtra(cd, p + CENTRAL_SIZE + nameLength, extraLength, 0x0001);
      const want = (needUncompressed ? 8 : 0) + (needCompressed ? 8 : 0) + (needOffset ? 8 : 0);
      if (!extra || extra.length < want) fail('E_CORRUPT', `zip entry ${entryName}: missing ZIP64 extra field`);
      const ev = view(extra!);
      let q = 0;
      if (needUncompressed) {
        uncompressedSize = u64(ev, q, name, `size of ${entryName}`);
        q += 8;
      }
      if (needCompressed) {
        compressedSize = u64(ev, q, name, `compressed size of ${entryName}`);
        q += 8;
      }
      if (needOffset) localHeaderOffset = u64(ev, q, name, `offset of ${entryName}`);
    }
    if (flags & 0x0001) throw new SedsegError('E_UNSUPPORTED', `${name}: zip entry ${entryName} is encrypted`);
    if (diskStart !== 0 && diskStart !== U16_MAX) fail('E_FORMAT', 'multi-disk zip archives are not supported');
    if (localHeaderOffset + LOCAL_SIZE + compressedSize > cdOffset) {
      fail('E_CORRUPT', `zip entry ${entryName} (offset ${localHeaderOffset}, ${compressedSize} bytes) runs past the file data`);
    }
    const entry: ZipEntry = { name: entryName, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset };
    entries.push(entry);
    if (!byName.has(entryName)) byName.set(entryName, entry);
    p = end;
  }

  const dataOffsets = new Map<ZipEntry, number>();
  // The local header repeats name and extra field with their own lengths (torch pads the extra
  // field to align data to 64 bytes), so the data offset is only known after reading it.
  const dataOffset = async (entry: ZipEntry): Promise<number> => {
    const known = dataOffsets.get(entry);
    if (known !== undefined) return known;
    const local = view(await source.read(entry.localHeaderOffset, LOCAL_SIZE));
    if (local.getUint32(0, true) !== SIG_LOCAL) fail('E_CORRUPT', `bad local header signature for zip entry ${entry.name} at ${entry.localHeaderOffset}`);
    const offset = entry.localHeaderOffset + LOCAL_SIZE + local.getUint16(26, true) + local.getUint16(28, true);
    if (offset + entry.compressedSize > source.size) {
      fail('E_CORRUPT', `truncated zip archive (entry ${entry.name} needs bytes ${offset}..${offset + entry.compressedSize}, file has ${source.size})`);
    }
    dataOffsets.set(entry, offset);
    return offset;
  };

  const archive: ZipArchive = {
    source,
    entries,
    get: (entryName) => byName.get(entryName),
    async entryRange(entry) {
      if (entry.method !== 0) {
        throw new SedsegError('E_UNSUPPORTED', `${name}: zip entry ${entry.name} is compressed (method ${entry.method}); no direct byte range`);
      }
      if (entry.compressedSize !== entry.uncompressedSize) fail('E_CORRUPT', `stored zip entry ${entry.name} has different compressed and uncompressed sizes`);
      return { offset: await dataOffset(entry), length: entry.uncompressedSize };
    },
    async readEntry(entry, part) {
      if (part) {
        const ok = Number.isSafeInteger(part.offset) && Number.isSafeInteger(part.length) && part.offset >= 0 && part.length >= 0;
        if (!ok || part.offset + part.length > entry.uncompressedSize) {
          throw new SedsegError('E_CORRUPT', `${name}: bytes ${part.offset}..${part.offset + part.length} lie outside zip entry ${entry.name} (${entry.uncompressedSize} bytes)`);
        }
      }
      let data: Uint8Array;
      if (entry.method === 0) {
        const range = await archive.entryRange(entry);
        if (part) return source.read(range.offset + part.offset, part.length);
        data = await source.read(range.offset, range.length);
      } else if (entry.method === 8) {
        if (entry.uncompressedSize > maxInflated) {
          throw new SedsegError('E_UNSUPPORTED', `${name}: deflated zip entry ${entry.name} is too large to inflate (${entry.uncompressedSize} bytes)`);
        }
        const raw = await source.read(await dataOffset(entry), entry.compressedSize);
        // One spare byte detects data that inflates to more than the declared size.
        const out = new Uint8Array(entry.uncompressedSize + 1);
        let inflated: Uint8Array;
        try {
          inflated = inflateSync(raw, { out });
        } catch (e) {
          throw new SedsegError('E_CORRUPT', `${name}: zip entry ${entry.name}: bad deflate data (${(e as Error).message})`, { cause: e });
        }
        if (inflated.length !== entry.uncompressedSize) {
          fail('E_CORRUPT', `zip entry ${entry.name} inflates to ${inflated.length} bytes, expected ${entry.uncompressedSize}`);
        }
        data = out.subarray(0, entry.uncompressedSize);
      } else {
        throw new SedsegError('E_UNSUPPORTED', `${name}: zip entry ${entry.name} uses compression method ${entry.method} (only stored and deflate are supported)`);
      }
      if (crc32(data) !== entry.crc32) fail('E_CORRUPT', `zip entry ${entry.name} fails its CRC-32 check`);
      return part ? data.subarray(part.offset, part.offset + part.length) : data;
    },
  };
  return archive;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A little-endian 64-bit field that must fit a JS safe integer. */
function u64(v: DataView, at: number, source: string, what: string): number {
  const value = v.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new SedsegError('E_CORRUPT', `${source}: ${what} is out of range (${value})`);
  return Number(value);
}

function findExtra(buf: Uint8Array, start: number, length: number, id: number): Uint8Array | undefined {
  const v = view(buf);
  let p = start;
  const end = start + length;
  while (p + 4 <= end) {
    const headerId = v.getUint16(p, true);
    const size = v.getUint16(p + 2, true);
    if (p + 4 + size > end) return undefined;
    if (headerId === id) return buf.subarray(p + 4, p + 4 + size);
    p += 4 + size;
  }
  return undefined;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE, as in zip and gzip). */
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
