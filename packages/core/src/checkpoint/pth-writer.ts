import { SedsegError } from '../errors.js';
import { nameForMessage, shapeForMessage } from '../io/message-text.js';
import { ZipStreamWriter, type ByteSink } from '../io/zip-writer.js';
import type { DType } from '../tensor/dtype.js';
import { bytesOf, shapeSize, type HostTensor } from '../tensor/host-tensor.js';
import type { TensorInfo } from '../weights/weight-store.js';
import { PickleEmitter, PICKLE_BATCH_SIZE } from './pickle-writer.js';
import { checkTensorForWrite } from './safetensors.js';

/**
 * Writer for `torch.save` checkpoints: what `torch.save({"model": state_dict}, f)` writes, so
 * that the authors' PyTorch code (detectron2's checkpointer) loads it with `torch.load(f)`.
 *
 * Archive (the zip layout of torch >= 2.1, see zip-writer.ts):
 *
 *   <name>/data.pkl                the pickle: {"model": OrderedDict(key → tensor)}
 *   <name>/.format_version         "1": storages named by number, in numeric order
 *   <name>/.storage_alignment      "64"
 *   <name>/byteorder               "little"
 *   <name>/data/0 … data/N-1       one storage per tensor, raw little-endian elements
 *   <name>/version                 "3\n", the archive format version
 *   <name>/.data/serialization_id  40 digits identifying the archive
 *
 * Each tensor is pickled as torch does: `_rebuild_tensor_v2(storage, 0, size, stride, False,
 * OrderedDict())`, the storage a persistent id `('storage', torch.<T>Storage, '<i>', 'cpu',
 * numel)`. The state dict is written without the `_metadata` attribute of
 * `Module.state_dict()` (module versions), which `load_state_dict` does not need.
 *
 * Streaming: the pickle needs only names, dtypes and shapes (`infos`), so it goes first; then
 * each tensor's bytes go out as its entry as the tensor arrives, and can be dropped. Tensors
 * must therefore arrive in `infos` order.
 */

/** torch's storage class for each dtype (the `torch.<T>Storage` in persistent ids). */
export const TORCH_STORAGE_TYPES: Readonly<Record<DType, string>> = {
  float32: 'FloatStorage',
  float16: 'HalfStorage',
  bfloat16: 'BFloat16Storage',
  float64: 'DoubleStorage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

/** torch.save's archive format version (`kProducedFileFormatVersion`). */
const ARCHIVE_VERSION = '3\n';
const STORAGE_ALIGNMENT = 64;

export interface WritePthOptions {
  /** Name, dtype and shape of every tensor, in the order the tensors will be given. */
  readonly infos: readonly TensorInfo[];
  /**
   * The archive's top folder. torch uses the file name without its extension
   * (`model_final.pth` → `model_final/`); any name loads. Default "archive".
   */
  readonly archiveName?: string;
  /** Named first in error messages (the output path). */
  readonly source?: string;
  /** See ZipStreamWriterOptions.zip64Threshold (tests). */
  readonly zip64Threshold?: number;
}

/** Row-major strides in elements, as torch computes them for a contiguous tensor. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= Math.max(shape[i]!, 1);
  }
  return strides;
}

/**
 * The `data.pkl` of a checkpoint holding `{"model": OrderedDict(...)}` with one storage per
 * tensor, storage keys "0", "1", … in `infos` order.
 */
export function pthStatePickle(infos: readonly TensorInfo[]): Uint8Array {
  const p = new PickleEmitter();
  p.proto(2).emptyDict().str('model');
  p.global('collections', 'OrderedDict').emptyTuple().reduce();
  // CPython's _batch_setitems: MARK … SETITEMS per batch, a lone item with SETITEM.
  for (let start = 0; start < infos.length; start += PICKLE_BATCH_SIZE) {
    const batch = infos.slice(start, start + PICKLE_BATCH_SIZE);
    if (batch.length > 1) p.mark();
    batch.forEach((info, i) => {
      p.str(info.name);
      p.global('torch._utils', '_rebuild_tensor_v2');
      p.mark(); // the six arguments
      p.mark(); // the persistent id: five items
      p.str('storage')
        .global('torch', TORCH_STORAGE_TYPES[info.dtype])
        .str(String(start + i))
        .str('cpu')
        .int(shapeSize(info.shape));
      p.tuple(5).persistentId();
      p.int(0); // storage offset
      p.intTuple(info.shape).intTuple(contiguousStrides(info.shape));
      p.bool(false); // requires_grad
      p.global('collections', 'OrderedDict').emptyTuple().reduce(); // backward hooks
      p.tuple(6).reduce();
    });
    if (batch.length > 1) p.setItems();
    else p.setItem();
  }
  p.setItem(); // "model" → the state dict
  return p.stop().bytes().slice();
}

/** FNV-1a, 64 bits, of a string's UTF-16 code units. */
function fnv1a64(text: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return h;
}

/** c10::hash_combine on 64 bits. */
function hashCombine(seed: bigint, value: bigint): bigint {
  return BigInt.asUintN(64, seed ^ BigInt.asUintN(64, value + 0x9e3779b9n + (seed << 6n) + (seed >> 2n)));
}

/**
 * torch's serialization id: 20 digits from the record names and 20 from the records' CRCs
 * (torch hashes names with std::hash, so its digits differ; only the form matters — nothing
 * checks it on load).
 */
function serializationId(names: readonly string[], crcs: readonly number[]): string {
  let nameHash = 0n;
  for (const n of names) nameHash = hashCombine(nameHash, fnv1a64(n));
  let crcHash = 0n;
  for (const c of crcs) crcHash = hashCombine(crcHash, BigInt(c));
  return nameHash.toString().padStart(20, '0') + crcHash.toString().padStart(20, '0');
}

let littleEndianChecked = false;
function assertLittleEndianHost(): void {
  if (littleEndianChecked) return;
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new SedsegError('E_UNSUPPORTED', 'writing .pth files needs a little-endian host');
  littleEndianChecked = true;
}

/**
 * Writes a `torch.save` checkpoint to `sink`, tensor by tensor (see the module comment). The
 * tensors from `entries` must match `infos` (name, dtype, shape) and come in its order.
 */
export async function writePth(
  sink: ByteSink,
  entries: AsyncIterable<readonly [string, HostTensor]> | Iterable<readonly [string, HostTensor]>,
  options: WritePthOptions,
): Promise<void> {
  assertLittleEndianHost();
  const { infos } = options;
  const where = options.source === undefined ? '' : `${options.source}: `;
  const archive = options.archiveName ?? 'archive';
  if (archive === '' || /[/\\]/.test(archive)) throw new SedsegError('E_ARGUMENT', `${where}bad archive name ${JSON.stringify(archive)}`);
  const seen = new Set<string>();
  for (const info of infos) {
    if (seen.has(info.name)) throw new SedsegError('E_ARGUMENT', `${where}tensor "${nameForMessage(info.name)}" announced twice`);
    seen.add(info.name);
    if (TORCH_STORAGE_TYPES[info.dtype] === undefined)
      throw new SedsegError('E_UNSUPPORTED', `${where}tensor "${nameForMessage(info.name)}" has unsupported dtype ${info.dtype}`);
    if (!info.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SedsegError('E_ARGUMENT', `${where}tensor "${nameForMessage(info.name)}" has invalid shape ${shapeForMessage(info.shape)}`);
    }
  }

  const zip = new ZipStreamWriter(sink, { align: STORAGE_ALIGNMENT, zip64Threshold: options.zip64Threshold });
  const names: string[] = [];
  const crcs: number[] = [];
  const add = async (name: string, data: Uint8Array | string): Promise<void> => {
    names.push(`${archive}/${name}`);
    crcs.push(await zip.addEntry(`${archive}/${name}`, data));
  };
  await add('data.pkl', pthStatePickle(infos));
  await add('.format_version', '1');
  await add('.storage_alignment', String(STORAGE_ALIGNMENT));
  await add('byteorder', 'little');

  let next = 0;
  for await (const [name, tensor] of entries) {
    const info = infos[next];
    if (info === undefined || info.name !== name) {
      const problem = info === undefined ? 'after all announced tensors' : `where "${nameForMessage(info.name)}" was expected`;
      throw new SedsegError(
        'E_ARGUMENT',
        seen.has(name)
          ? `${where}tensor "${nameForMessage(name)}" given out of order (${problem}); a .pth is written in infos order`
          : `${where}tensor "${nameForMessage(name)}" was not announced in infos`,
      );
    }
    try {
      checkTensorForWrite(name, tensor, info);
    } catch (e) {
      throw new SedsegError('E_ARGUMENT', `${where}${(e as Error).message}`, { cause: e });
    }
    await add(`data/${next}`, bytesOf(tensor.data));
    next++;
  }
  if (next < infos.length) throw new SedsegError('E_ARGUMENT', `${where}tensor "${nameForMessage(infos[next]!.name)}" was announced but never given`);

  await add('version', ARCHIVE_VERSION);
  const id = serializationId(names, crcs);
  await zip.addEntry(`${archive}/.data/serialization_id`, id);
  await zip.finish();
}
