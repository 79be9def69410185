import { SedsegError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { nameForMessage, shapeForMessage } from '../io/message-text.js';
import { looksLikeZip, openZip, type ZipArchive, type ZipEntry } from '../io/zip-reader.js';
import { DTYPE_BYTES, type DType } from '../tensor/dtype.js';
import { allocTypedArray, shapeSize, typedArrayFromBytes, type HostTensor } from '../tensor/host-tensor.js';
import type { TensorInfo, WeightStore } from '../weights/weight-store.js';
import { isDict, isTuple, PickleDataError, PickleGlobalRef, pyTypeName, unpickle, type PickleGlobal } from './pickle.js';

/**
 * Reader for `torch.save` checkpoints (the zip format of torch >= 1.6), without Python and
 * without running any of the pickle's code.
 *
 * Layout: `<prefix>/data.pkl` (the pickled object), `<prefix>/data/<key>` (one raw storage per
 * key, stored uncompressed), optional `<prefix>/byteorder` and `<prefix>/version`. The pickle
 * is run with a whitelist of torch/collections globals (see `PTH_GLOBALS`); tensors become
 * lazy descriptors (storage key, offset, size, stride) and their bytes are read only by
 * `read(name)`, as one positioned read of the range the tensor spans within its storage.
 *
 * Which tensors: if the top-level dict has a `model` (detectron2 / SED) or `state_dict` entry
 * that is a dict holding tensors, that dict; otherwise the top-level dict. Nested dicts are
 * flattened with '.'; non-tensor values (numbers, strings, None) are skipped. Other top-level
 * entries (optimizer, scheduler, iteration) are parsed as inert data and their storages never
 * read, so they may be absent or malformed; they must still use whitelisted globals only.
 *
 * A `byteorder` of "big" is supported by byte-swapping on read. Compressed (deflated) storages,
 * which torch never writes, are inflated once and kept by the zip reader (bounded LRU cache,
 * see zip-reader.ts) so that several tensors viewing one such storage cost one inflation.
 *
 * Hostile files: the zip reader checks every entry's CRC-32 once (lazily, on its first read)
 * and its local header against the central directory. `data.pkl` may be at most
 * `MAX_PICKLE_BYTES`; the pickle VM bounds the objects it creates (pickle.ts). The walk over
 * the unpickled object visits each dict once, iteratively, at most `MAX_STATE_DICT_DEPTH`
 * levels deep.
 */

/**
 * Largest `data.pkl` accepted (uncompressed bytes, checked against the zip header and again
 * while inflating). The pickle of a released SED checkpoint is a few hundred kB (about 150
 * bytes per tensor); 64 MiB would describe some 400,000 tensors.
 */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/**
 * Deepest nesting of dicts walked to find tensors. State dicts are flat (`{"model": {...}}`
 * is two levels); a few wrappers (`{"state_dict": {"module": ...}}`) stay far below.
 */
export const MAX_STATE_DICT_DEPTH = 64;

/**
 * Largest tensor materialised from a view whose elements repeat (stride 0, overlapping
 * strides: more elements than the storage range it spans). Model weights never are such views;
 * without a bound, 4 stored bytes viewed as [30000, 30000] with strides [0, 0] would allocate
 * 3.6 GB. Ordinary (non-repeating) views are bounded by their storage and unaffected.
 */
export const MAX_BROADCAST_BYTES = 256 * 1024 * 1024;

/** Most `_rebuild_from_type_v2` wrappers around one tensor (torch writes one). */
const MAX_REBUILD_NESTING = 16;

/** Largest `byteorder` entry ("little" or "big" and maybe a newline). */
const MAX_BYTEORDER_BYTES = 16;

/** Storage classes named in persistent ids → element type (`null`: known, not supported). */
const STORAGE_TYPES: ReadonlyMap<string, { dtype: DType | null; label: string; bytes: number }> = new Map([
  ['torch.FloatStorage', { dtype: 'float32', label: 'float32', bytes: 4 }],
  ['torch.HalfStorage', { dtype: 'float16', label: 'float16', bytes: 2 }],
  ['torch.BFloat16Storage', { dtype: 'bfloat16', label: 'bfloat16', bytes: 2 }],
  ['torch.DoubleStorage', { dtype: 'float64', label: 'float64', bytes: 8 }],
  ['torch.LongStorage', { dtype: 'int64', label: 'int64', bytes: 8 }],
  ['torch.IntStorage', { dtype: 'int32', label: 'int32', bytes: 4 }],
  ['torch.ByteStorage', { dtype: 'uint8', label: 'uint8', bytes: 1 }],
  ['torch.BoolStorage', { dtype: 'bool', label: 'bool', bytes: 1 }],
  // Recognised so that e.g. optimizer state using them still parses; a state-dict tensor of
  // one of these types is refused with E_UNSUPPORTED.
  ['torch.CharStorage', { dtype: null, label: 'int8', bytes: 1 }],
  ['torch.ShortStorage', { dtype: null, label: 'int16', bytes: 2 }],
  ['torch.ComplexFloatStorage', { dtype: null, label: 'complex64', bytes: 8 }],
  ['torch.ComplexDoubleStorage', { dtype: null, label: 'complex128', bytes: 16 }],
]);

/** A storage as named by a persistent id; `problem` is set when the id was malformed. */
class StorageRef {
  constructor(
    readonly key: string,
    /** Storage class, e.g. `torch.FloatStorage`. */
    readonly type: string,
    /** Elements (not bytes) in the storage. */
    readonly numel: number,
    readonly problem?: string,
  ) {}
}

/** A tensor built by `_rebuild_tensor_v2`: a view (offset, size, stride) of a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    /** Set when the arguments were malformed; reported only if the tensor is used. */
    readonly problem?: string,
    /** The error code for `problem`: malformed data, or beyond what the reader handles. */
    readonly problemCode: 'E_CORRUPT' | 'E_UNSUPPORTED' = 'E_CORRUPT',
  ) {}
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isCounts = (v: unknown): v is readonly number[] => isTuple(v) && v.every(isCount);

function rebuildTensor(args: readonly unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  const bad = (problem: string): TensorRef => new TensorRef(new StorageRef('?', '?', 0), 0, [], [], problem);
  if (!(storage instanceof StorageRef)) return bad(`storage is a ${pyTypeName(storage)}`);
  if (!isCount(offset)) return bad(`bad storage offset ${String(offset)}`);
  if (!isCounts(size)) return bad(`bad size ${pyTypeName(size)}`);
  if (!isCounts(stride) || stride.length !== size.length) return bad(`bad stride for size ${shapeForMessage(size)}`);
  return new TensorRef(storage, offset, size, stride, storage.problem);
}

const referenceOnly: PickleGlobal = {};

const REBUILD_FROM_TYPE = 'torch._tensor._rebuild_from_type_v2';

/**
 * `_rebuild_from_type_v2(func, new_type, args, state)` is `func(*args)` (the subclass and its
 * state do not matter for the data). A chain of these wrapping each other is unwrapped in a
 * loop, at most MAX_REBUILD_NESTING deep: no recursion however the pickle nests them.
 */
function rebuildFromType(args: readonly unknown[]): unknown {
  let [func, , inner] = args;
  for (let depth = 0; func instanceof PickleGlobalRef && func.qualname === REBUILD_FROM_TYPE && isTuple(inner); depth++) {
    if (depth >= MAX_REBUILD_NESTING) {
      return new TensorRef(new StorageRef('?', '?', 0), 0, [], [], `more than ${MAX_REBUILD_NESTING} nested _rebuild_from_type_v2 calls`, 'E_UNSUPPORTED');
    }
    [func, , inner] = inner;
  }
  return func instanceof PickleGlobalRef && func.spec.call && isTuple(inner) ? func.spec.call(inner) : rebuildTensor([]);
}

/**
 * The only globals a checkpoint may name. Storage classes and tensor types may only be
 * referenced (as arguments); the functions below are re-implemented, never looked up.
 */
export const PTH_GLOBALS: ReadonlyMap<string, PickleGlobal> = new Map<string, PickleGlobal>([
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  ['torch._utils._rebuild_tensor_v2', { call: rebuildTensor }],
  // _rebuild_parameter(data, requires_grad, backward_hooks[, state]): a Parameter is its data.
  ['torch._utils._rebuild_parameter', { call: (args) => args[0] }],
  ['torch._utils._rebuild_parameter_with_state', { call: (args) => args[0] }],
  // _rebuild_from_type_v2(func, new_type, args, state): tensors with Python attributes.
  ['torch._tensor._rebuild_from_type_v2', { call: rebuildFromType }],
  ['torch.Tensor', referenceOnly],
  ['torch.nn.parameter.Parameter', referenceOnly],
  // OrderedDict() or OrderedDict([(k, v), ...]); items usually follow via SETITEMS.
  [
    'collections.OrderedDict',
    {
      call: (args) => {
        const map = new Map<unknown, unknown>();
        const items = args[0];
        if (Array.isArray(items)) {
          for (const kv of items) {
            if (!Array.isArray(kv) || kv.length !== 2) continue;
            if (map.has(kv[0]))
              throw new PickleDataError(`OrderedDict gets key ${typeof kv[0] === 'string' ? JSON.stringify(nameForMessage(kv[0])) : pyTypeName(kv[0])} twice`);
            map.set(kv[0], kv[1]);
          }
        }
        return map;
      },
    },
  ],
  ...[...STORAGE_TYPES.keys()].map((name): [string, PickleGlobal] => [name, referenceOnly]),
]);

// Bytes 0x80 0x02 (pickle protocol 2), LONG1 of 10 bytes = 0x1950a86a20f9469cfc6c, torch's magic.
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

interface PthTensor {
  readonly info: TensorInfo;
  readonly ref: TensorRef;
  readonly entry: ZipEntry;
  /** Elements spanned in the storage, from `ref.offset` to the last addressed element. */
  readonly span: number;
}

/**
 * Opens a `torch.save` checkpoint. On success the store owns `source` (its `close()` closes
 * it); on failure `source` is left open for the caller.
 */
export async function openPth(source: ByteSource): Promise<WeightStore> {
  const file = source.name;
  const head = await source.read(0, Math.min(source.size, LEGACY_MAGIC.length));
  if (!looksLikeZip(head)) {
    if (source.size === 0) throw new SedsegError('E_FORMAT', `${file}: empty file, not a PyTorch checkpoint`);
    if (head.length < 4 && head.every((b, i) => b === [0x50, 0x4b, 0x03, 0x04][i])) {
      throw new SedsegError('E_CORRUPT', `${file}: truncated zip archive (${source.size} bytes)`);
    }
    if (head.length === LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => head[i] === b)) {
      throw new SedsegError('E_FORMAT', `${file}: legacy (non-zip) torch.save format; re-save with torch>=1.6: torch.save(torch.load(old), new)`);
    }
    if (head[0] === 0x80) throw new SedsegError('E_FORMAT', `${file}: a bare pickle, not a torch.save checkpoint (expected a zip archive)`);
    throw new SedsegError('E_FORMAT', `${file}: not a PyTorch checkpoint (neither a torch.save zip archive nor a legacy torch.save file)`);
  }
  const zip = await openZip(source);

  // The archive's single top folder: torch names it after the file (`archive/` by default).
  const first = zip.entries[0]?.name ?? '';
  let prefix = first.includes('/') ? first.slice(0, first.indexOf('/')) : '';
  if (!zip.get(`${prefix}/data.pkl`)) {
    const candidates = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
    if (candidates.length !== 1) throw new SedsegError('E_FORMAT', `${file}: zip archive without <folder>/data.pkl, not a torch.save checkpoint`);
    prefix = candidates[0]!.name.slice(0, -'/data.pkl'.length);
  }
  if (zip.get(`${prefix}/constants.pkl`) || zip.entries.some((e) => e.name.startsWith(`${prefix}/code/`))) {
    throw new SedsegError('E_FORMAT', `${file}: a TorchScript archive (torch.jit.save), not a torch.save checkpoint`);
  }
  const bigEndian = await readByteOrder(zip, prefix);

  const pklEntry = zip.get(`${prefix}/data.pkl`)!;
  if (pklEntry.uncompressedSize > MAX_PICKLE_BYTES) {
    throw new SedsegError(
      'E_UNSUPPORTED',
      `${file}: ${nameForMessage(pklEntry.name)} is ${pklEntry.uncompressedSize} bytes, over the ${MAX_PICKLE_BYTES / 2 ** 20} MiB limit for a checkpoint pickle (MAX_PICKLE_BYTES)`,
    );
  }
  // The zip reader never returns more than the declared size (checked while inflating).
  const pickled = await zip.readEntry(pklEntry);
  const root = unpickle(pickled, {
    source: file,
    globals: PTH_GLOBALS,
    refuseReason: 'not a tensor checkpoint type',
    persistentLoad: storageFromPersistentId,
  });

  const tensors = new Map<string, PthTensor>();
  for (const [name, ref] of selectStateDict(root, file)) {
    tensors.set(name, checkTensor(zip, prefix, name, ref));
  }
  const names = Object.freeze([...tensors.keys()]);

  return {
    source: file,
    format: 'pth',
    keys: () => names,
    info: (name) => tensors.get(name)?.info,
    async read(name) {
      const t = tensors.get(name);
      if (!t) throw new SedsegError('E_KEY', `${file}: no tensor named ${JSON.stringify(nameForMessage(String(name)))}`);
      return readTensor(zip, t, bigEndian);
    },
    close: () => source.close(),
  };
}

async function readByteOrder(zip: ZipArchive, prefix: string): Promise<boolean> {
  const entry = zip.get(`${prefix}/byteorder`);
  if (!entry) return false; // written since torch 1.13; older files are little-endian
  if (entry.uncompressedSize > MAX_BYTEORDER_BYTES) {
    throw new SedsegError('E_FORMAT', `${zip.source.name}: ${nameForMessage(entry.name)} has ${entry.uncompressedSize} bytes, expected "little" or "big"`);
  }
  const text = new TextDecoder().decode(await zip.readEntry(entry)).trim();
  if (text !== 'little' && text !== 'big') {
    throw new SedsegError(
      'E_FORMAT',
      `${zip.source.name}: ${nameForMessage(entry.name)} is ${JSON.stringify(nameForMessage(text))}, expected "little" or "big"`,
    );
  }
  return text === 'big';
}

/** Persistent id ('storage', storage_type, key, location, numel) → a storage descriptor. */
function storageFromPersistentId(pid: unknown): StorageRef {
  const bad = (problem: string): StorageRef => new StorageRef('?', '?', 0, problem);
  if (!isTuple(pid) || pid[0] !== 'storage' || pid.length !== 5) return bad(`unexpected persistent id (${pyTypeName(pid)})`);
  const [, type, key, , numel] = pid;
  if (!(type instanceof PickleGlobalRef) || !STORAGE_TYPES.has(type.qualname)) return bad(`persistent id names ${pyTypeName(type)}, not a storage type`);
  if ((typeof key !== 'string' && typeof key !== 'number') || !isCount(numel)) return bad('malformed storage persistent id');
  return new StorageRef(String(key), type.qualname, numel);
}

/** The dict of tensors: `model` / `state_dict` entry when it holds tensors, else the root. */
function selectStateDict(root: unknown, file: string): Map<string, TensorRef> {
  if (!isDict(root)) throw new SedsegError('E_FORMAT', `${file}: checkpoint holds a ${pyTypeName(root)}, expected a dict of tensors`);
  for (const key of ['model', 'state_dict']) {
    const inner = root.get(key);
    if (isDict(inner)) {
      const found = flattenTensors(inner, file);
      if (found.size > 0) return found;
    }
  }
  const found = flattenTensors(root, file);
  if (found.size === 0) {
    const keys = [...root.keys()]
      .slice(0, 8)
      .map((k) => (typeof k === 'string' || typeof k === 'number' ? nameForMessage(String(k), 40) : pyTypeName(k)))
      .join(', ');
    throw new SedsegError('E_FORMAT', `${file}: no tensors found in the checkpoint (top-level keys: ${keys || 'none'})`);
  }
  return found;
}

/**
 * Tensors under a dict, keyed by their '.'-joined path. Iterative (an explicit stack), so deep
 * nesting cannot overflow the call stack, and refused past MAX_STATE_DICT_DEPTH levels.
 *
 * Shared objects: a pickle can reference one dict from many places (memo), so the paths to it
 * can be exponentially many (48 dicts each holding the previous one twice: 2^48 paths). Each
 * dict is walked once, the first time it is reached (depth-first, in insertion order); a dict
 * reached again — or a dict inside itself — adds nothing, so its tensors are named by the
 * first path only. A tensor object stored under two keys of dicts that are walked (tied
 * weights in a state dict) keeps both names, as torch does on load.
 */
function flattenTensors(root: Map<unknown, unknown>, file: string): Map<string, TensorRef> {
  const out = new Map<string, TensorRef>();
  const seen = new Set<Map<unknown, unknown>>([root]);
  // Each frame walks one dict; `iter` resumes where a nested dict interrupted it.
  const frames: { iter: Iterator<[unknown, unknown]>; prefix: string }[] = [{ iter: root.entries(), prefix: '' }];
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    const step = frame.iter.next();
    if (step.done) {
      frames.pop();
      continue;
    }
    const [key, value] = step.value;
    if (!(value instanceof TensorRef) && !isDict(value)) continue; // numbers, strings, None…
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw new SedsegError('E_FORMAT', `${file}: state dict key of type ${pyTypeName(key)} under "${nameForMessage(frame.prefix)}"`);
    }
    const name = frame.prefix + String(key);
    if (isDict(value)) {
      if (seen.has(value)) continue;
      seen.add(value);
      if (frames.length >= MAX_STATE_DICT_DEPTH) {
        throw new SedsegError(
          'E_UNSUPPORTED',
          `${file}: dicts nested more than ${MAX_STATE_DICT_DEPTH} levels deep under "${nameForMessage(name)}" (MAX_STATE_DICT_DEPTH)`,
        );
      }
      frames.push({ iter: value.entries(), prefix: `${name}.` });
    } else {
      if (out.has(name)) throw new SedsegError('E_FORMAT', `${file}: duplicate tensor name ${nameForMessage(name)} after flattening nested dicts`);
      out.set(name, value);
    }
  }
  return out;
}

/** Validates a state-dict tensor against its storage entry, before any data is read. */
function checkTensor(zip: ZipArchive, prefix: string, key: string, ref: TensorRef): PthTensor {
  const file = zip.source.name;
  const name = nameForMessage(key); // for messages; info.name keeps the real key
  if (ref.problem) throw new SedsegError(ref.problemCode, `${file}: tensor ${name}: ${ref.problem}`);
  const storageName = `data/${nameForMessage(ref.storage.key)}`;
  const type = STORAGE_TYPES.get(ref.storage.type)!;
  if (!type.dtype) throw new SedsegError('E_UNSUPPORTED', `${file}: tensor ${name} has unsupported dtype ${type.label}`);
  const entry = zip.get(`${prefix}/data/${ref.storage.key}`);
  if (!entry) throw new SedsegError('E_CORRUPT', `${file}: missing storage ${storageName} for tensor ${name}`);
  const storageBytes = ref.storage.numel * type.bytes;
  if (entry.uncompressedSize < storageBytes) {
    throw new SedsegError('E_CORRUPT', `${file}: storage ${storageName} of tensor ${name} has ${entry.uncompressedSize} bytes, expected ${storageBytes}`);
  }
  let last = 0; // largest element index addressed, relative to the offset
  for (let i = 0; i < ref.shape.length; i++) last += (ref.shape[i]! - 1) * ref.stride[i]!;
  const empty = ref.shape.some((d) => d === 0);
  const span = empty ? 0 : last + 1;
  if (!Number.isSafeInteger(span) || ref.offset + span > ref.storage.numel) {
    throw new SedsegError(
      'E_CORRUPT',
      `${file}: tensor ${name} (size ${shapeForMessage(ref.shape)}, stride ${shapeForMessage(ref.stride)}, offset ${ref.offset}) reaches past the end of its storage ${storageName} (${ref.storage.numel} elements)`,
    );
  }
  return { info: Object.freeze({ name: key, dtype: type.dtype, shape: Object.freeze([...ref.shape]) }), ref, entry, span };
}

async function readTensor(zip: ZipArchive, t: PthTensor, bigEndian: boolean): Promise<HostTensor> {
  const { dtype, shape, name } = t.info;
  const size = DTYPE_BYTES[dtype];
  const count = shapeSize(shape);
  if (count === 0) return { dtype, shape, data: allocTypedArray(dtype, 0) };
  if (count > t.span && count * size > MAX_BROADCAST_BYTES) {
    // Elements repeat (stride 0 or overlapping strides): a few stored bytes could otherwise
    // demand gigabytes here.
    throw new SedsegError(
      'E_UNSUPPORTED',
      `${zip.source.name}: tensor ${nameForMessage(name)} ${shapeForMessage(shape)} repeats ${t.span} stored elements as ${count}; refusing to materialise more than ${MAX_BROADCAST_BYTES / 2 ** 20} MiB of a broadcast view (MAX_BROADCAST_BYTES)`,
    );
  }
  const raw = await zip.readEntry(t.entry, { offset: t.ref.offset * size, length: t.span * size });
  let bytes: Uint8Array;
  if (count === t.span && isCContiguous(shape, t.ref.stride)) {
    // The read already is the tensor; copy only if it shares a larger buffer (memory sources).
    bytes = raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength ? raw : raw.slice();
  } else {
    let out: Uint8Array;
    try {
      out = new Uint8Array(count * size);
    } catch (e) {
      throw new SedsegError('E_UNSUPPORTED', `${zip.source.name}: tensor ${nameForMessage(name)} ${shapeForMessage(shape)} is too large to materialise`, {
        cause: e,
      });
    }
    gather(raw, out, size, shape, t.ref.stride);
    bytes = out;
  }
  if (bigEndian && size > 1) swapBytes(bytes, size);
  return { dtype, shape, data: typedArrayFromBytes(dtype, bytes) };
}

function isCContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/**
 * Copies a strided view (element strides, relative to the start of `src`) into row-major
 * `dst`. Elements move as 1, 2 or 4-byte words (8-byte elements as two words), which keeps
 * float bit patterns, NaN payloads included, intact.
 */
function gather(src: Uint8Array, dst: Uint8Array, elementBytes: number, shape: readonly number[], stride: readonly number[]): void {
  const word = Math.min(elementBytes, 4);
  const words = elementBytes / word; // words per element
  const aligned = src.byteOffset % word === 0 ? src : src.slice();
  const make = (b: Uint8Array): Uint8Array | Uint16Array | Uint32Array =>
    word === 1 ? b : word === 2 ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2) : new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  const s = make(aligned);
  const d = make(dst);
  const rank = shape.length;
  if (rank === 0) {
    for (let w = 0; w < words; w++) d[w] = s[w]!;
    return;
  }
  const inner = shape[rank - 1]!;
  const innerStride = stride[rank - 1]! * words;
  const index = new Array<number>(rank).fill(0); // multi-index over the outer dims
  const outer = shapeSize(shape) / inner;
  let base = 0; // element offset of the current row in src
  let o = 0;
  for (let row = 0; row < outer; row++) {
    let p = base * words;
    if (words === 1) {
      for (let j = 0; j < inner; j++, p += innerStride) d[o++] = s[p]!;
    } else {
      for (let j = 0; j < inner; j++, p += innerStride) for (let w = 0; w < words; w++) d[o++] = s[p + w]!;
    }
    // Advance the outer multi-index like an odometer.
    for (let dim = rank - 2; dim >= 0; dim--) {
      index[dim]!++;
      base += stride[dim]!;
      if (index[dim]! < shape[dim]!) break;
      base -= index[dim]! * stride[dim]!;
      index[dim] = 0;
    }
  }
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}
