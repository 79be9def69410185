import { SedsegError } from '../errors.js';
import { nameForMessage } from './message-text.js';
import { crc32 } from './crc32.js';

/**
 * A streaming ZIP writer for stored (uncompressed) entries, laid out like torch's writer
 * (miniz in PyTorchStreamWriter), so that `torch.load` and memory-mapped loading find what they
 * expect:
 *
 * - entries go out strictly one after another: local header, data, data descriptor. The
 *   sizes are declared up front (`beginEntry(name, size)`); the CRC-32 is computed while the
 *   data streams through and written in the data descriptor (flag bit 3), so nothing is ever
 *   written twice or seeked back to, and the sink may be a plain stream;
 * - each entry's data starts at a multiple of `align` bytes (64, torch's kFieldAlignment):
 *   the local header's extra field carries padding under the id "FB" (0x4246), as torch does;
 * - ZIP64 records (local and central extra fields, 8-byte data descriptor sizes, ZIP64 end
 *   record and locator) are written only where a size, an offset or the entry count does not
 *   fit the classic fields, so checkpoints under 4 GiB are plain zip files.
 *
 * Names are UTF-8 (flag bit 11). Times are fixed (1980-01-01 00:00) so that equal input gives
 * equal bytes.
 */

/** Where the bytes go, in order. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void> | void;
}

export interface ZipStreamWriterOptions {
  /** Alignment of every entry's data (default 64, like torch). */
  readonly align?: number;
  /**
   * Sizes and offsets from this value up are written in ZIP64 form (default 0xFFFFFFFF, the
   * classic limit). Tests lower it to exercise the ZIP64 path on small files.
   */
  readonly zip64Threshold?: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const FLAGS = 0x0808; // bit 3: CRC and sizes in a data descriptor; bit 11: UTF-8 names
const DOS_DATE = 0x0021; // 1980-01-01
const VERSION_CLASSIC = 20;
const VERSION_ZIP64 = 45;
const ID_ZIP64 = 0x0001;
const ID_PADDING = 0x4246; // "FB", torch's padding record
const LOCAL_SIZE = 30;

const encoder = new TextEncoder();

interface CentralRecord {
  readonly name: Uint8Array;
  readonly size: number;
  readonly crc: number;
  readonly offset: number;
}

interface OpenEntry {
  readonly label: string;
  readonly name: Uint8Array;
  readonly size: number;
  readonly offset: number;
  readonly zip64: boolean;
  written: number;
  crc: number;
}

/** Little-endian field writer over a fixed-size buffer. */
class Fields {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private at = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(n: number): this {
    this.view.setUint16(this.at, n, true);
    this.at += 2;
    return this;
  }
  u32(n: number): this {
    this.view.setUint32(this.at, n, true);
    this.at += 4;
    return this;
  }
  u64(n: number): this {
    this.view.setBigUint64(this.at, BigInt(n), true);
    this.at += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.at);
    this.at += b.length;
    return this;
  }
  fill(byte: number, n: number): this {
    this.bytes.fill(byte, this.at, this.at + n);
    this.at += n;
    return this;
  }
}

export class ZipStreamWriter {
  private readonly align: number;
  private readonly limit: number;
  private readonly central: CentralRecord[] = [];
  private readonly names = new Set<string>();
  private current: OpenEntry | undefined;
  private position = 0;
  private finished = false;

  constructor(
    private readonly sink: ByteSink,
    options: ZipStreamWriterOptions = {},
  ) {
    this.align = options.align ?? 64;
    this.limit = options.zip64Threshold ?? U32_MAX;
    if (!Number.isSafeInteger(this.align) || this.align < 1 || this.align > U16_MAX) {
      throw new SedsegError('E_ARGUMENT', `zip: alignment ${this.align} is not between 1 and ${U16_MAX}`);
    }
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.position;
  }

  private async emit(bytes: Uint8Array): Promise<void> {
    await this.sink.write(bytes);
    this.position += bytes.length;
  }

  /** Starts an entry of exactly `size` bytes; its data follows through `write`. */
  async beginEntry(name: string, size: number): Promise<void> {
    if (this.finished) throw new SedsegError('E_ARGUMENT', `zip: entry ${nameForMessage(name)} added after the archive was finished`);
    if (this.current) throw new SedsegError('E_ARGUMENT', `zip: entry ${nameForMessage(name)} begun before ${this.current.label} was ended`);
    if (!Number.isSafeInteger(size) || size < 0) throw new SedsegError('E_ARGUMENT', `zip: entry ${nameForMessage(name)} has invalid size ${size}`);
    if (this.names.has(name)) throw new SedsegError('E_ARGUMENT', `zip: entry ${nameForMessage(name)} added twice`);
    const nameBytes = encoder.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > U16_MAX) throw new SedsegError('E_ARGUMENT', `zip: entry name of ${nameBytes.length} bytes`);
    this.names.add(name);

    const offset = this.position;
    const zip64 = size >= this.limit || offset >= this.limit;
    const zip64Extra = zip64 ? 4 + 16 : 0;
    // Padding so that the data starts on an alignment boundary (the "FB" record's 4-byte
    // header counts towards it, as in torch's getPadding).
    const unpadded = offset + LOCAL_SIZE + nameBytes.length + zip64Extra + 4;
    const padding = (this.align - (unpadded % this.align)) % this.align;
    const extraLength = zip64Extra + 4 + padding;
    const header = new Fields(LOCAL_SIZE + nameBytes.length + extraLength)
      .u32(SIG_LOCAL)
      .u16(zip64 ? VERSION_ZIP64 : VERSION_CLASSIC)
      .u16(FLAGS)
      .u16(0) // stored
      .u16(0) // time
      .u16(DOS_DATE)
      .u32(0) // CRC: in the data descriptor
      .u32(zip64 ? U32_MAX : 0)
      .u32(zip64 ? U32_MAX : 0)
      .u16(nameBytes.length)
      .u16(extraLength)
      .raw(nameBytes);
    if (zip64) header.u16(ID_ZIP64).u16(16).u64(size).u64(size);
    header.u16(ID_PADDING).u16(padding).fill(0x5a, padding); // 'Z', like torch
    await this.emit(header.bytes);
    this.current = { label: nameForMessage(name), name: nameBytes, size, offset, zip64, written: 0, crc: 0 };
  }

  /** Data of the current entry, in order; the total must match the size given to `beginEntry`. */
  async write(chunk: Uint8Array): Promise<void> {
    const entry = this.current;
    if (!entry) throw new SedsegError('E_ARGUMENT', 'zip: data written outside an entry');
    if (entry.written + chunk.length > entry.size) {
      throw new SedsegError('E_ARGUMENT', `zip: entry ${entry.label} given more than its ${entry.size} bytes`);
    }
    entry.crc = crc32(chunk, entry.crc);
    entry.written += chunk.length;
    await this.emit(chunk);
  }

  /** Ends the current entry (data descriptor); returns its CRC-32. */
  async endEntry(): Promise<number> {
    const entry = this.current;
    if (!entry) throw new SedsegError('E_ARGUMENT', 'zip: no entry to end');
    if (entry.written !== entry.size) {
      throw new SedsegError('E_ARGUMENT', `zip: entry ${entry.label} got ${entry.written} of its ${entry.size} bytes`);
    }
    const descriptor = new Fields(entry.zip64 ? 24 : 16).u32(SIG_DESCRIPTOR).u32(entry.crc);
    if (entry.zip64) descriptor.u64(entry.size).u64(entry.size);
    else descriptor.u32(entry.size).u32(entry.size);
    await this.emit(descriptor.bytes);
    this.central.push({ name: entry.name, size: entry.size, crc: entry.crc, offset: entry.offset });
    this.current = undefined;
    return entry.crc;
  }

  /** A whole entry from bytes in memory. */
  async addEntry(name: string, data: Uint8Array | string): Promise<number> {
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    await this.beginEntry(name, bytes.length);
    await this.write(bytes);
    return this.endEntry();
  }

  /** Writes the central directory and the end records; the archive is complete after this. */
  async finish(): Promise<void> {
    if (this.current) throw new SedsegError('E_ARGUMENT', `zip: finished while entry ${this.current.label} is open`);
    if (this.finished) throw new SedsegError('E_ARGUMENT', 'zip: finished twice');
    this.finished = true;

    const cdOffset = this.position;
    for (const r of this.central) {
      // Only the fields that do not fit go into the ZIP64 extra, in the order the spec fixes.
      const bigSize = r.size >= this.limit;
      const bigOffset = r.offset >= this.limit;
      const extraLength = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
      const version = extraLength > 0 ? VERSION_ZIP64 : VERSION_CLASSIC;
      const record = new Fields(46 + r.name.length + extraLength)
        .u32(SIG_CENTRAL)
        .u16(version) // made by (MS-DOS attributes)
        .u16(version) // needed
        .u16(FLAGS)
        .u16(0)
        .u16(0)
        .u16(DOS_DATE)
        .u32(r.crc)
        .u32(bigSize ? U32_MAX : r.size)
        .u32(bigSize ? U32_MAX : r.size)
        .u16(r.name.length)
        .u16(extraLength)
        .u16(0) // comment
        .u16(0) // disk
        .u16(0) // internal attributes
        .u32(0) // external attributes
        .u32(bigOffset ? U32_MAX : r.offset)
        .raw(r.name);
      if (extraLength > 0) {
        record.u16(ID_ZIP64).u16(extraLength - 4);
        if (bigSize) record.u64(r.size).u64(r.size);
        if (bigOffset) record.u64(r.offset);
      }
      await this.emit(record.bytes);
    }
    const cdSize = this.position - cdOffset;
    const count = this.central.length;
    const zip64 =
      count >= U16_MAX || cdSize >= this.limit || cdOffset >= this.limit || this.central.some((r) => r.size >= this.limit || r.offset >= this.limit);
    if (zip64) {
      const recordOffset = this.position;
      await this.emit(
        new Fields(56 + 20)
          .u32(SIG_ZIP64_EOCD)
          .u64(44) // size of the rest of the record
          .u16(VERSION_ZIP64)
          .u16(VERSION_ZIP64)
          .u32(0) // this disk
          .u32(0) // disk of the central directory
          .u64(count)
          .u64(count)
          .u64(cdSize)
          .u64(cdOffset)
          .u32(SIG_ZIP64_LOCATOR)
          .u32(0)
          .u64(recordOffset)
          .u32(1).bytes, // total disks
      );
    }
    await this.emit(
      new Fields(22)
        .u32(SIG_EOCD)
        .u16(0)
        .u16(0)
        .u16(zip64 ? U16_MAX : count)
        .u16(zip64 ? U16_MAX : count)
        .u32(zip64 ? U32_MAX : cdSize)
        .u32(zip64 ? U32_MAX : cdOffset)
        .u16(0).bytes,
    );
  }
}
