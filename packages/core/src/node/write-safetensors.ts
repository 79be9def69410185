import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkTensorForWrite, safetensorsHeader } from '../checkpoint/safetensors.js';
import { pathExists } from './path-exists.js';
import { SedsegError } from '../errors.js';
import { bytesOf, type HostTensor } from '../tensor/host-tensor.js';
import type { TensorInfo } from '../weights/weight-store.js';

export interface WriteSafetensorsOptions {
  /**
   * Name, dtype and shape of every tensor, in file order. Needed up front because the header
   * (with all offsets) comes before the data.
   */
  readonly infos: readonly TensorInfo[];
  readonly metadata?: Record<string, string>;
  /** Replace an existing file at `path` (default: refuse). */
  readonly overwrite?: boolean;
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes a safetensors file tensor by tensor: each tensor from `entries` is written to its
 * place as it arrives and can then be dropped, so a large checkpoint is never held whole (the
 * entries may come in any order). The file is written to a temporary name next to `path` and
 * renamed at the end, so `path` never holds a half-written file.
 */
export async function writeSafetensorsFile(
  path: string,
  entries: AsyncIterable<readonly [string, HostTensor]> | Iterable<readonly [string, HostTensor]>,
  options: WriteSafetensorsOptions,
): Promise<void> {
  const { infos, metadata, overwrite = false } = options;
  if (!overwrite && (await pathExists(path))) throw new SedsegError('E_IO', `${path} exists (use overwrite)`);

  let layout;
  try {
    layout = safetensorsHeader(infos, metadata);
  } catch (e) {
    if (e instanceof SedsegError) throw new SedsegError(e.code, `${path}: ${e.message}`, { cause: e });
    throw e;
  }
  const dataStart = layout.headerBytes.byteLength;
  const slots = new Map(infos.map((info, i) => [info.name, { info, begin: layout.offsets[i]![0] }]));
  const written = new Set<string>();

  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(tmp, 'wx');
  } catch (e) {
    throw new SedsegError('E_IO', `${path}: cannot create temporary file ${tmp} (${(e as Error).message})`, { cause: e });
  }

  let ok = false;
  try {
    await writeAll(handle, layout.headerBytes, 0);
    for await (const [name, tensor] of entries) {
      const slot = slots.get(name);
      if (slot === undefined) throw new SedsegError('E_ARGUMENT', `${path}: tensor "${name}" was not announced in infos`);
      if (written.has(name)) throw new SedsegError('E_ARGUMENT', `${path}: tensor "${name}" given twice`);
      try {
        checkTensorForWrite(name, tensor, slot.info);
      } catch (e) {
        throw new SedsegError('E_ARGUMENT', `${path}: ${(e as Error).message}`, { cause: e });
      }
      await writeAll(handle, bytesOf(tensor.data), dataStart + slot.begin);
      written.add(name);
    }
    const missing = infos.find((info) => !written.has(info.name));
    if (missing !== undefined) {
      throw new SedsegError('E_ARGUMENT', `${path}: tensor "${missing.name}" was announced but never given`);
    }
    // Empty tensors at the end write nothing, so fix the length explicitly.
    await handle.truncate(dataStart + layout.dataSize);
    await handle.sync();
    await handle.close();
    // Re-check right before the rename: another writer may have created `path` meanwhile.
    if (!overwrite && (await pathExists(path))) throw new SedsegError('E_IO', `${path} exists (use overwrite)`);
    try {
      await rename(tmp, path);
    } catch (e) {
      throw new SedsegError('E_IO', `${path}: cannot rename ${tmp} into place (${(e as Error).message})`, { cause: e });
    }
    ok = true;
  } catch (e) {
    if (e instanceof SedsegError) throw e;
    throw new SedsegError('E_IO', `${path}: write failed (${(e as Error).message})`, { cause: e });
  } finally {
    if (!ok) {
      await handle.close().catch(() => {});
      await unlink(tmp).catch(() => {});
    }
  }
}
