import { Inflate } from 'fflate';
import { SedsegError } from '../errors.js';
import type { ByteSource } from './byte-source.js';
import { crc32 } from './crc32.js';
import { nameForMessage } from './message-text.js';

export { crc32 } from './crc32.js';

/**
 * A minimal, read-only ZIP reader over a random-access ByteSource.
 *
 * Only what checkpoint containers need: the central directory (ZIP64 included, torch writes it
 * for large files), stored entries read by byte range without copying the archive, and
 * deflated entries. Encrypted, multi-disk and other compression methods are refused.
 *
 * Integrity: an archive is not trusted to be consistent. At open, entries whose byte ranges
 * (as far as the central directory tells) overlap are refused. The first time an entry's data
 * is used, its local file header must agree with the central directory (signature, name,
 * compression method, and CRC/sizes unless a data descriptor follows the data) and the data
 * must end before the next entry starts. Every entry's CRC-32 is verified once, lazily, on its
 * first read: a whole-entry read checks the bytes it returns; the first partial read of a stored
 * entry streams the whole entry through the CRC in chunks first (later reads are plain
 * positioned reads). A deflated entry is inflated with its output bounded by its declared size
 * while inflating (a header cannot make it inflate more), and its CRC checked.
 *
 * Memory: stored entries (all torch storages) are never cached. A deflated entry read in parts
 * is inflated once and kept in a small LRU cache (`DEFAULT_INFLATE_CACHE_BYTES`), so many reads
 * of views into one compressed storage cost one inflation; torch never compresses storages, so
 * this cache is normally empty.
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
   * Reads an entry (inflating a deflated one). With `part`, reads only `length` bytes at
   * `offset` within the entry's uncompressed data; for a stored entry that is a single
   * positioned read once the entry's CRC-32 has been verified (see the module comment).
   * The bytes of a deflated entry are always a fresh copy the caller owns; a stored entry's
   * bytes are whatever the source returns (views for in-memory sources).
   */
  readEntry(entry: ZipEntry, part?: ZipRange): Promise<Uint8Array>;
}

export interface OpenZipOptions {
  /** Largest deflated entry `readEntry` will inflate (bytes); default 256 MiB. */
  maxInflatedSize?: number;
  /** Bytes of inflated entries kept for partial reads (LRU); default 256 MiB. */
  inflateCacheBytes?: number;
}

/** Default of `OpenZipOptions.maxInflatedSize`: no torch checkpoint compresses anything this large. */
export const DEFAULT_MAX_INFLATED_BYTES = 256 * 1024 * 1024;

/**
 * Default of `OpenZipOptions.inflateCacheBytes`. One maximal deflated entry fits, so reading
 * many views of one compressed storage inflates it once; torch writes storages uncompressed,
 * so real checkpoints never fill it.
 */
export const DEFAULT_INFLATE_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Largest central directory read into memory. A torch checkpoint has about 100 bytes of
 * central directory per tensor (a few hundred kB for the largest models); 64 MiB is over half
 * a million entries.
 */
export const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

/** Chunk size of the streaming CRC pass over a stored entry (bounds its memory). */
const CRC_CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * Deflate input is fed in chunks of at most this size. Deflate expands at most 1032:1, so a
 * chunk is also kept small enough that its output cannot overshoot the bytes still expected by
 * much: an entry inflating beyond its declared size is stopped after about 1 MB of excess.
 */
const INFLATE_INPUT_CHUNK = 64 * 1024;
const INFLATE_MAX_RATIO = 1032;

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
/** General purpose flag bit 3: CRC and sizes follow the data in a data descriptor. */
const FLAG_DATA_DESCRIPTOR = 0x0008;

/** True when `head` (the first bytes of a file) looks like a ZIP archive. */
export function looksLikeZip(head: Uint8Array): boolean {
  // Local file header (any archive with entries) or an EOCD record (empty archive).
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/** What the reader knows about an entry beyond its public fields. */
interface EntryState {
  /** The raw name bytes of the central directory record, compared with the local header. */
  readonly nameBytes: Uint8Array;
  /** Where the next entry's local header (or the central directory) starts: the data must end by then. */
  boundary: number;
  /** Resolves to the data offset once the local header has been checked. */
  dataOffset?: Promise<number>;
  /** CRC-32 verified (stored entries; deflated ones are checked at every inflation). */
  verified: boolean;
  /** A failed check, repeated on every later read. */
  failure?: SedsegError;
  /** The streaming CRC pass of a stored entry, while it runs. */
  checking?: Promise<void>;
  /** An inflation for a partial read, while it runs. */
  inflating?: Promise<Uint8Array>;
}

export async function openZip(source: ByteSource, options: OpenZipOptions = {}): Promise<ZipArchive> {
  const maxInflated = options.maxInflatedSize ?? DEFAULT_MAX_INFLATED_BYTES;
  const cacheLimit = options.inflateCacheBytes ?? DEFAULT_INFLATE_CACHE_BYTES;
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
      looksLikeZip(head) ? 'truncated zip archive (no end-of-central-directory record)' : 'not a zip archive (no end-of-central-directory record)',
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
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw new SedsegError(
      'E_UNSUPPORTED',
      `${name}: zip central directory of ${cdSize} bytes exceeds the ${MAX_CENTRAL_DIRECTORY_BYTES / 2 ** 20} MiB limit (MAX_CENTRAL_DIRECTORY_BYTES)`,
    );
  }

  // --- Central directory. ---
  const cd = await source.read(cdOffset, cdSize);
  const cdView = view(cd);
  const decoder = new TextDecoder('utf-8');
  const entries: ZipEntry[] = [];
  const byName = new Map<string, ZipEntry>();
  const states = new Map<ZipEntry, EntryState>();
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
    const nameBytes = cd.slice(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength);
    const entryName = decoder.decode(nameBytes);
    const label = nameForMessage(entryName);

    // ZIP64 extra field (id 1): 8-byte values for exactly the fields saturated above, in order.
    const needUncompressed = uncompressedSize === U32_MAX;
    const needCompressed = compressedSize === U32_MAX;
    const needOffset = localHeaderOffset === U32_MAX;
    if (needUncompressed || needCompressed || needOffset) {
      const extra = findExtra(cd, p + CENTRAL_SIZE + nameLength, extraLength, 0x0001);
      const want = (needUncompressed ? 8 : 0) + (needCompressed ? 8 : 0) + (needOffset ? 8 : 0);
      if (!extra || extra.length < want) fail('E_CORRUPT', `zip entry ${label}: missing ZIP64 extra field`);
      const ev = view(extra!);
      let q = 0;
      if (needUncompressed) {
        uncompressedSize = u64(ev, q, name, `size of ${label}`);
        q += 8;
      }
      if (needCompressed) {
        compressedSize = u64(ev, q, name, `compressed size of ${label}`);
        q += 8;
      }
      if (needOffset) localHeaderOffset = u64(ev, q, name, `offset of ${label}`);
    }
    if (flags & 0x0001) throw new SedsegError('E_UNSUPPORTED', `${name}: zip entry ${label} is encrypted`);
    if (diskStart !== 0 && diskStart !== U16_MAX) fail('E_FORMAT', 'multi-disk zip archives are not supported');
    if (localHeaderOffset + LOCAL_SIZE + compressedSize > cdOffset) {
      fail('E_CORRUPT', `zip entry ${label} (offset ${localHeaderOffset}, ${compressedSize} bytes) runs past the file data`);
    }
    const entry: ZipEntry = { name: entryName, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset };
    entries.push(entry);
    states.set(entry, { nameBytes, boundary: cdOffset, verified: false });
    if (!byName.has(entryName)) byName.set(entryName, entry);
    p = end;
  }

  // --- No two entries may share bytes. An entry occupies at least its local header, its name
  // and its data; the extra field length is only known from the local header, so the exact end
  // is checked against `boundary` when the entry is first used. ---
  const byOffset = [...entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < byOffset.length; i++) {
    const entry = byOffset[i]!;
    const next = byOffset[i + 1];
    const state = states.get(entry)!;
    if (next) state.boundary = next.localHeaderOffset;
    const minEnd = entry.localHeaderOffset + LOCAL_SIZE + state.nameBytes.length + entry.compressedSize;
    if (minEnd > state.boundary) {
      fail(
        'E_CORRUPT',
        next
          ? `zip entry ${nameForMessage(entry.name)} (bytes ${entry.localHeaderOffset}..${minEnd}) overlaps zip entry ${nameForMessage(next.name)} (local header at ${next.localHeaderOffset})`
          : `zip entry ${nameForMessage(entry.name)} (bytes ${entry.localHeaderOffset}..${minEnd}) runs into the central directory at ${cdOffset}`,
      );
    }
  }

  const stateOf = (entry: ZipEntry): EntryState => {
    const state = states.get(entry);
    if (!state) throw new SedsegError('E_ARGUMENT', `${name}: zip entry ${nameForMessage(String(entry?.name))} does not belong to this archive`);
    return state;
  };
  const corrupt = (entry: ZipEntry, msg: string): SedsegError => new SedsegError('E_CORRUPT', `${name}: zip entry ${nameForMessage(entry.name)}: ${msg}`);

  /** Checks the local header against the central directory; returns where the data starts. */
  const readLocalHeader = async (entry: ZipEntry, state: EntryState): Promise<number> => {
    const nameLength = state.nameBytes.length;
    if (entry.localHeaderOffset + LOCAL_SIZE + nameLength > source.size) {
      fail('E_CORRUPT', `truncated zip archive (local header of ${nameForMessage(entry.name)} at ${entry.localHeaderOffset} lies past the end)`);
    }
    const head = await source.read(entry.localHeaderOffset, LOCAL_SIZE + nameLength);
    const local = view(head);
    if (local.getUint32(0, true) !== SIG_LOCAL) {
      fail('E_CORRUPT', `bad local header signature for zip entry ${nameForMessage(entry.name)} at ${entry.localHeaderOffset}`);
    }
    const localFlags = local.getUint16(6, true);
    const localMethod = local.getUint16(8, true);
    const localNameLength = local.getUint16(26, true);
    const localExtraLength = local.getUint16(28, true);
    if (localNameLength !== nameLength || !head.subarray(LOCAL_SIZE).every((b, i) => b === state.nameBytes[i])) {
      throw corrupt(entry, `local header at ${entry.localHeaderOffset} names a different entry than the central directory`);
    }
    if (localMethod !== entry.method) {
      throw corrupt(entry, `local header says compression method ${localMethod}, the central directory ${entry.method}`);
    }
    const offset = entry.localHeaderOffset + LOCAL_SIZE + localNameLength + localExtraLength;
    if (!(localFlags & FLAG_DATA_DESCRIPTOR)) {
      // CRC and sizes are in the local header itself and must agree.
      let localCompressed: number = local.getUint32(18, true);
      let localUncompressed: number = local.getUint32(22, true);
      if (localCompressed === U32_MAX || localUncompressed === U32_MAX) {
        const extraBytes = offset <= source.size ? await source.read(offset - localExtraLength, localExtraLength) : new Uint8Array(0);
        const extra = findExtra(extraBytes, 0, extraBytes.length, 0x0001);
        if (!extra || extra.length < 16) throw corrupt(entry, 'local header has saturated sizes but no ZIP64 extra field');
        localUncompressed = u64(view(extra), 0, name, `local size of ${nameForMessage(entry.name)}`);
        localCompressed = u64(view(extra), 8, name, `local compressed size of ${nameForMessage(entry.name)}`);
      }
      const localCrc = local.getUint32(14, true);
      if (localCrc !== entry.crc32 || localCompressed !== entry.compressedSize || localUncompressed !== entry.uncompressedSize) {
        throw corrupt(
          entry,
          `local header (CRC ${hex32(localCrc)}, ${localCompressed}/${localUncompressed} bytes) disagrees with the central directory (CRC ${hex32(entry.crc32)}, ${entry.compressedSize}/${entry.uncompressedSize} bytes)`,
        );
      }
    }
    if (offset + entry.compressedSize > source.size) {
      fail(
        'E_CORRUPT',
        `truncated zip archive (entry ${nameForMessage(entry.name)} needs bytes ${offset}..${offset + entry.compressedSize}, file has ${source.size})`,
      );
    }
    if (offset + entry.compressedSize > state.boundary) {
      throw corrupt(entry, `data (bytes ${offset}..${offset + entry.compressedSize}) runs into the next entry or the central directory at ${state.boundary}`);
    }
    return offset;
  };
  const dataOffset = (entry: ZipEntry): Promise<number> => {
    const state = stateOf(entry);
    state.dataOffset ??= readLocalHeader(entry, state);
    return state.dataOffset;
  };

  const checkCrc = (entry: ZipEntry, state: EntryState, crc: number): void => {
    if (crc !== entry.crc32) {
      state.failure = new SedsegError(
        'E_CORRUPT',
        `${name}: zip entry ${nameForMessage(entry.name)} fails its CRC-32 check (data ${hex32(crc)}, directory ${hex32(entry.crc32)})`,
      );
      throw state.failure;
    }
    state.verified = true;
  };

  /** Streams a stored entry through the CRC in bounded chunks (once per entry). */
  const verifyStored = (entry: ZipEntry, state: EntryState, range: ZipRange): Promise<void> => {
    state.checking ??= (async () => {
      let crc = 0;
      for (let done = 0; done < range.length; ) {
        const n = Math.min(CRC_CHUNK_BYTES, range.length - done);
        crc = crc32(await source.read(range.offset + done, n), crc);
        done += n;
      }
      checkCrc(entry, state, crc);
    })().finally(() => {
      state.checking = undefined;
    });
    return state.checking;
  };

  // Inflated entries kept for partial reads, least recently used first.
  const cache = new Map<ZipEntry, Uint8Array>();
  let cacheBytes = 0;
  const cacheGet = (entry: ZipEntry): Uint8Array | undefined => {
    const data = cache.get(entry);
    if (data) {
      cache.delete(entry);
      cache.set(entry, data);
    }
    return data;
  };
  const cachePut = (entry: ZipEntry, data: Uint8Array): void => {
    if (cache.has(entry)) return;
    cache.set(entry, data);
    cacheBytes += data.length;
    for (const [key, value] of cache) {
      if (cacheBytes <= cacheLimit || key === entry) break; // the newest entry always stays
      cache.delete(key);
      cacheBytes -= value.length;
    }
  };

  const inflateEntry = async (entry: ZipEntry, state: EntryState): Promise<Uint8Array> => {
    if (state.failure) throw state.failure;
    if (entry.uncompressedSize > maxInflated) {
      throw new SedsegError(
        'E_UNSUPPORTED',
        `${name}: deflated zip entry ${nameForMessage(entry.name)} is too large to inflate (${entry.uncompressedSize} bytes, limit ${maxInflated})`,
      );
    }
    const raw = await source.read(await dataOffset(entry), entry.compressedSize);
    let data: Uint8Array;
    try {
      data = inflateBounded(raw, entry.uncompressedSize);
    } catch (e) {
      if (e instanceof InflateOverflow) {
        state.failure = corrupt(entry, `inflates to more than the ${entry.uncompressedSize} bytes its header declares`);
      } else if (e instanceof InflateShort) {
        state.failure = corrupt(entry, `inflates to ${e.size} bytes, expected ${entry.uncompressedSize}`);
      } else {
        state.failure = new SedsegError('E_CORRUPT', `${name}: zip entry ${nameForMessage(entry.name)}: bad deflate data (${(e as Error).message})`, {
          cause: e,
        });
      }
      throw state.failure;
    }
    checkCrc(entry, state, crc32(data));
    return data;
  };

  const archive: ZipArchive = {
    source,
    entries,
    get: (entryName) => byName.get(entryName),
    async entryRange(entry) {
      if (entry.method !== 0) {
        throw new SedsegError('E_UNSUPPORTED', `${name}: zip entry ${nameForMessage(entry.name)} is compressed (method ${entry.method}); no direct byte range`);
      }
      if (entry.compressedSize !== entry.uncompressedSize)
        fail('E_CORRUPT', `stored zip entry ${nameForMessage(entry.name)} has different compressed and uncompressed sizes`);
      return { offset: await dataOffset(entry), length: entry.uncompressedSize };
    },
    async readEntry(entry, part) {
      const state = stateOf(entry);
      if (part) {
        const ok = Number.isSafeInteger(part.offset) && Number.isSafeInteger(part.length) && part.offset >= 0 && part.length >= 0;
        if (!ok || part.offset + part.length > entry.uncompressedSize) {
          throw new SedsegError(
            'E_CORRUPT',
            `${name}: bytes ${part.offset}..${part.offset + part.length} lie outside zip entry ${nameForMessage(entry.name)} (${entry.uncompressedSize} bytes)`,
          );
        }
      }
      if (entry.method === 0) {
        const range = await archive.entryRange(entry);
        if (state.failure) throw state.failure;
        const whole = !part || (part.offset === 0 && part.length === range.length);
        if (!state.verified) {
          if (whole) {
            // The common case (a tensor spanning its whole storage): one read, checked as is.
            const data = await source.read(range.offset, range.length);
            if (!state.verified) checkCrc(entry, state, crc32(data));
            return data;
          }
          await verifyStored(entry, state, range);
        }
        return whole ? source.read(range.offset, range.length) : source.read(range.offset + part!.offset, part!.length);
      }
      if (entry.method === 8) {
        if (!part) {
          const cached = cacheGet(entry);
          return cached ? cached.slice() : inflateEntry(entry, state);
        }
        let data = cacheGet(entry);
        if (!data) {
          state.inflating ??= inflateEntry(entry, state).finally(() => {
            state.inflating = undefined;
          });
          data = await state.inflating;
          cachePut(entry, data);
        }
        return data.slice(part.offset, part.offset + part.length);
      }
      throw new SedsegError(
        'E_UNSUPPORTED',
        `${name}: zip entry ${nameForMessage(entry.name)} uses compression method ${entry.method} (only stored and deflate are supported)`,
      );
    },
  };
  return archive;
}

class InflateOverflow extends Error {}
class InflateShort extends Error {
  constructor(readonly size: number) {
    super(`inflated to ${size} bytes`);
  }
}

/**
 * Inflates raw deflate data into exactly `size` bytes, feeding the input in chunks and stopping
 * as soon as the output would exceed `size` (so a lying header costs at most one chunk's worth
 * of extra work and memory).
 */
function inflateBounded(raw: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let filled = 0;
  let overflow = false;
  const inflater = new Inflate((chunk: Uint8Array) => {
    if (overflow) return;
    if (chunk.length > size - filled) {
      overflow = true;
      return;
    }
    out.set(chunk, filled);
    filled += chunk.length;
  });
  if (raw.length === 0) throw new Error('no deflate data');
  for (let i = 0; i < raw.length && !overflow; ) {
    const chunk = Math.min(INFLATE_INPUT_CHUNK, 1024 + Math.ceil((size - filled) / INFLATE_MAX_RATIO));
    const end = Math.min(raw.length, i + chunk);
    inflater.push(raw.subarray(i, end), end === raw.length);
    i = end;
  }
  if (overflow) throw new InflateOverflow();
  if (filled !== size) throw new InflateShort(filled);
  return out;
}

function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
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
