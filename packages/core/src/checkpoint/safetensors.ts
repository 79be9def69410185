import { SedsegError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { nameForMessage, previewValue, quoteForMessage, shapeForMessage } from '../io/message-text.js';
import { DTYPE_BYTES, type DType } from '../tensor/dtype.js';
import { bytesOf, shapeToString, typedArrayFromBytes, type HostTensor } from '../tensor/host-tensor.js';
import type { TensorInfo, WeightStore } from '../weights/weight-store.js';

/**
 * The safetensors format: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header
 * `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}`,
 * then the raw little-endian tensor data; offsets are relative to the start of the data area.
 *
 * The reader enforces the rules of the reference implementation (the `safetensors` Rust
 * crate, `Metadata::validate` and `read_metadata`): sorted by `data_offsets`, the tensors must
 * lie back to back from offset 0 — no gap, no overlap — and together cover the data area
 * exactly (no trailing bytes), and each tensor's byte length must be numel × dtype size. A file
 * that breaks them is E_CORRUPT: shifted or padded data would otherwise be read silently as
 * wrong values.
 */

/** safetensors dtype names <-> sedseg dtypes (only those sedseg handles). */
const FROM_SAFETENSORS: ReadonlyMap<string, DType> = new Map([
  ['F32', 'float32'],
  ['F16', 'float16'],
  ['BF16', 'bfloat16'],
  ['F64', 'float64'],
  ['I64', 'int64'],
  ['I32', 'int32'],
  ['U8', 'uint8'],
  ['BOOL', 'bool'],
]);

const TO_SAFETENSORS: Readonly<Record<DType, string>> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  bool: 'BOOL',
};

/** The safetensors name of a dtype (`float32` -> `F32`). */
export function safetensorsDTypeName(dtype: DType): string {
  return TO_SAFETENSORS[dtype];
}

/** Refuse absurd headers before allocating for them (the reference implementation uses 100 MB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

let littleEndianChecked = false;
/** safetensors data is little-endian and is viewed in place, so the host must be too. */
function assertLittleEndianHost(): void {
  if (littleEndianChecked) return;
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new SedsegError('E_UNSUPPORTED', 'safetensors needs a little-endian host');
  }
  littleEndianChecked = true;
}

// ---------------------------------------------------------------------------------------------
// Reader

/** A safetensors file opened for lazy reading; `metadata` is the header's `__metadata__`. */
export interface SafetensorsStore extends WeightStore {
  readonly format: 'safetensors';
  readonly metadata: Readonly<Record<string, string>>;
}

interface Entry extends TensorInfo {
  /** Byte range inside the data area. */
  readonly begin: number;
  readonly end: number;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Validates one header entry (everything that can be checked without the other tensors). */
function parseEntry(file: string, name: string, raw: unknown, dataSize: number): Entry {
  const where = `${file}: tensor ${quoteForMessage(name)}`;
  if (!isPlainObject(raw)) throw new SedsegError('E_FORMAT', `${where}: header entry is not an object`);
  const { dtype: code, shape, data_offsets: offsets } = raw;
  if (typeof code !== 'string') throw new SedsegError('E_FORMAT', `${where}: dtype is missing or not a string`);
  const dtype = FROM_SAFETENSORS.get(code);
  if (dtype === undefined) {
    throw new SedsegError(
      'E_UNSUPPORTED',
      `${where} has dtype ${previewValue(code, 40)}, which is not supported (supported: ${[...FROM_SAFETENSORS.keys()].join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new SedsegError('E_FORMAT', `${where}: shape ${previewValue(shape)} is not a list of non-negative integers`);
  }
  const [begin, end] = Array.isArray(offsets) && offsets.length === 2 && offsets.every(isCount) ? (offsets as [number, number]) : [];
  if (begin === undefined || end === undefined || begin > end) {
    throw new SedsegError('E_FORMAT', `${where}: data_offsets ${previewValue(offsets)} is not [begin, end] with 0 <= begin <= end`);
  }
  let numel = 1;
  for (const d of shape as number[]) numel *= d;
  const needed = numel * DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(needed)) {
    throw new SedsegError('E_CORRUPT', `${where}: ${code} ${shapeForMessage(shape as number[])} is too large (its byte size overflows)`);
  }
  if (end - begin !== needed) {
    throw new SedsegError(
      'E_CORRUPT',
      `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${code} ${shapeForMessage(shape as number[])} needs ${needed}`,
    );
  }
  if (end > dataSize) {
    throw new SedsegError('E_CORRUPT', `${where}: data_offsets [${begin}, ${end}] run past the end of the data area (${dataSize} bytes; truncated file?)`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/**
 * Sorts entries into storage order and checks the layout rules of the reference crate: each
 * tensor starts where the previous one ends (the first at 0) and the last ends at the end of
 * the data area. Ties (empty tensors at one offset) keep header order.
 */
function sortAndCheckLayout(file: string, entries: Entry[], dataSize: number): Entry[] {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0; // where the next tensor must start
  let previous: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < expected) {
      const other = previous!;
      throw new SedsegError(
        'E_CORRUPT',
        `${file}: tensors ${quoteForMessage(other.name)} [${other.begin}, ${other.end}] and ${quoteForMessage(e.name)} [${e.begin}, ${e.end}] overlap`,
      );
    }
    if (e.begin > expected) {
      const after = previous ? `after tensor ${quoteForMessage(previous.name)} [${previous.begin}, ${previous.end}]` : 'at the start of the data area';
      throw new SedsegError(
        'E_CORRUPT',
        `${file}: ${e.begin - expected} unused bytes ${after}: tensor ${quoteForMessage(e.name)} starts at ${e.begin}, expected ${expected} (tensors must fill the data area back to back)`,
      );
    }
    expected = e.end;
    previous = e;
  }
  if (expected !== dataSize) {
    throw new SedsegError(
      'E_CORRUPT',
      `${file}: the data area has ${dataSize} bytes but the tensors cover ${expected} (${dataSize - expected} trailing bytes${sorted.length === 0 ? ' and no tensors' : ''})`,
    );
  }
  return sorted;
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) throw new SedsegError('E_FORMAT', `${file}: ${METADATA_KEY} is not an object`);
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') {
      throw new SedsegError(
        'E_FORMAT',
        `${file}: ${METADATA_KEY} must map strings to strings, but ${quoteForMessage(k)} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`,
      );
    }
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
  return Object.fromEntries(Object.entries(raw)) as Record<string, string>;
}

async function readHeader(source: ByteSource): Promise<{ json: unknown; dataStart: number }> {
  const file = source.name;
  if (source.size < 8) throw new SedsegError('E_CORRUPT', `${file}: ${source.size} bytes is too short for a safetensors header`);
  const prefix = await source.read(0, 8);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  // A huge length usually means this is not a safetensors file at all (e.g. a zip .pth).
  if (n > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw new SedsegError('E_FORMAT', `${file}: header length ${n} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES / 1e6} MB limit (not a safetensors file?)`);
  }
  if (n > BigInt(source.size - 8)) {
    throw new SedsegError('E_CORRUPT', `${file}: header length ${n} exceeds the file size (${source.size} bytes; truncated file?)`);
  }
  const length = Number(n);
  const bytes = await source.read(8, length);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    const why = nameForMessage(String((e as Error).message ?? e).split('\n')[0]!);
    throw new SedsegError('E_FORMAT', `${file}: bad JSON header: ${why}`, { cause: e });
  }
  return { json, dataStart: 8 + length };
}

/**
 * Opens a safetensors file. Only the header is read and validated here; tensor data is read
 * range by range in `read`. `keys()` lists tensors in the order of their data offsets.
 */
export async function openSafetensors(source: ByteSource): Promise<SafetensorsStore> {
  assertLittleEndianHost();
  const file = source.name;
  const { json, dataStart } = await readHeader(source);
  if (!isPlainObject(json)) {
    throw new SedsegError(
      'E_FORMAT',
      `${file}: header is ${Array.isArray(json) ? 'an array' : json === null ? 'null' : `a ${typeof json}`}, not a JSON object`,
    );
  }
  const dataSize = source.size - dataStart;
  const entries: Entry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name !== METADATA_KEY) entries.push(parseEntry(file, name, raw, dataSize));
  }
  const metadata = parseMetadata(file, json[METADATA_KEY]);
  const ordered = sortAndCheckLayout(file, entries, dataSize);
  const byName = new Map(ordered.map((e) => [e.name, e]));
  const keys = ordered.map((e) => e.name);
  let closed = false;

  return {
    source: file,
    format: 'safetensors',
    metadata,
    keys: () => keys,
    info(name) {
      const e = byName.get(name);
      return e && { name: e.name, dtype: e.dtype, shape: e.shape };
    },
    async read(name) {
      const e = byName.get(name);
      if (e === undefined) throw new SedsegError('E_KEY', `${file}: no tensor named ${quoteForMessage(String(name))}`);
      if (closed) throw new SedsegError('E_IO', `${file}: read of ${quoteForMessage(name)} after close`);
      const bytes = await source.read(dataStart + e.begin, e.end - e.begin);
      // typedArrayFromBytes copies only when the range is misaligned for the dtype.
      return { dtype: e.dtype, shape: e.shape, data: typedArrayFromBytes(e.dtype, bytes) };
    },
    async close() {
      closed = true;
      await source.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Writer

export interface SafetensorsLayout {
  /** The 8-byte length, the JSON header and its space padding; data starts right after. */
  readonly headerBytes: Uint8Array;
  /** `[begin, end]` of each entry in the data area, in the order given. */
  readonly offsets: ReadonlyArray<readonly [number, number]>;
  /** Total bytes of tensor data. */
  readonly dataSize: number;
}

function checkMetadataArg(metadata: Record<string, string> | undefined): void {
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (typeof v !== 'string') throw new SedsegError('E_ARGUMENT', `safetensors metadata "${k}" must be a string, got ${typeof v}`);
  }
}

/**
 * Lays tensors out back to back in the given order and builds the header for them. The JSON is
 * space padded so that the data area starts at a multiple of 8, which keeps every tensor that
 * starts at an aligned offset aligned in memory too.
 */
export function safetensorsHeader(entries: readonly TensorInfo[], metadata?: Record<string, string>): SafetensorsLayout {
  checkMetadataArg(metadata);
  const parts: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  const seen = new Set<string>();
  const offsets: Array<[number, number]> = [];
  let pos = 0;
  for (const { name, dtype, shape } of entries) {
    if (typeof name !== 'string' || name === '' || name === METADATA_KEY) {
      throw new SedsegError('E_ARGUMENT', `invalid safetensors tensor name ${previewValue(name)}`);
    }
    if (seen.has(name)) throw new SedsegError('E_ARGUMENT', `duplicate safetensors tensor name "${name}"`);
    seen.add(name);
    if (!Object.hasOwn(TO_SAFETENSORS, dtype)) throw new SedsegError('E_ARGUMENT', `tensor "${name}": unknown dtype ${String(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw new SedsegError('E_ARGUMENT', `tensor ${quoteForMessage(name)}: shape ${previewValue(shape)} is not a list of non-negative integers`);
    }
    let numel = 1;
    for (const d of shape) numel *= d;
    const end = pos + numel * DTYPE_BYTES[dtype];
    if (!Number.isSafeInteger(end)) throw new SedsegError('E_ARGUMENT', `tensor "${name}": too large`);
    offsets.push([pos, end]);
    // Build the JSON by hand so that names such as "__proto__" need no object round trip.
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: TO_SAFETENSORS[dtype], shape: [...shape], data_offsets: [pos, end] })}`);
    pos = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8; // 8 + padded is then a multiple of 8 too
  const headerBytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(padded), true);
  headerBytes.set(json, 8);
  return { headerBytes, offsets, dataSize: pos };
}

/**
 * Checks that a tensor's data matches its dtype and shape (and, if given, the announced info).
 * Shared by the in-memory and streaming writers.
 */
export function checkTensorForWrite(name: string, t: HostTensor, announced?: TensorInfo): void {
  if (announced !== undefined) {
    if (t.dtype !== announced.dtype) {
      throw new SedsegError('E_ARGUMENT', `tensor "${name}" has dtype ${t.dtype} but was announced as ${announced.dtype}`);
    }
    const same = t.shape.length === announced.shape.length && t.shape.every((d, i) => d === announced.shape[i]);
    if (!same) {
      throw new SedsegError('E_ARGUMENT', `tensor "${name}" has shape ${shapeToString(t.shape)} but was announced as ${shapeToString(announced.shape)}`);
    }
  }
  let numel = 1;
  for (const d of t.shape) numel *= d;
  const itemBytes = DTYPE_BYTES[t.dtype];
  if (itemBytes === undefined || t.data.length !== numel || t.data.byteLength !== numel * itemBytes) {
    throw new SedsegError(
      'E_ARGUMENT',
      `tensor "${name}": ${t.data.length} elements of ${t.data.BYTES_PER_ELEMENT} bytes do not fit ${t.dtype} ${shapeToString(t.shape)}`,
    );
  }
}

/** Serializes tensors into one in-memory safetensors file (meant for small outputs and tests). */
export function serializeSafetensors(
  tensors: Record<string, HostTensor> | ReadonlyArray<readonly [string, HostTensor]>,
  metadata?: Record<string, string>,
): Uint8Array {
  assertLittleEndianHost();
  const list = Array.isArray(tensors) ? (tensors as ReadonlyArray<readonly [string, HostTensor]>) : Object.entries(tensors);
  const layout = safetensorsHeader(
    list.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    metadata,
  );
  const out = new Uint8Array(layout.headerBytes.byteLength + layout.dataSize);
  out.set(layout.headerBytes, 0);
  list.forEach(([name, t], i) => {
    checkTensorForWrite(name, t);
    out.set(bytesOf(t.data), layout.headerBytes.byteLength + layout.offsets[i]![0]);
  });
  return out;
}
