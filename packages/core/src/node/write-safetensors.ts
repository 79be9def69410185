import type { FileHandle } from 'node:fs/promises';
import { checkTensorForWrite, safetensorsHeader, type SafetensorsLayout } from '../checkpoint/safetensors.js';
import { entryExists, stageFile } from './atomic-write.js';
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
  /** What the refusal to overwrite tells the user (the CLI names its flag). */
  readonly overwriteHint?: string;
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
 * moved into place at the end (atomic-write.ts), so `path` never holds a half-written file and an
 * existing entry there (a dangling symbolic link too) is kept unless `overwrite`.
 */
export async function writeSafetensorsFile(
  path: string,
  entries: AsyncIterable<readonly [string, HostTensor]> | Iterable<readonly [string, HostTensor]>,
  options: WriteSafetensorsOptions,
): Promise<void> {
  const { infos, metadata, overwrite = false } = options;
  const overwriteHint = options.overwriteHint ?? 'pass overwrite: true to replace it';
  if (!overwrite && (await entryExists(path))) throw new SedsegError('E_IO', `${path} exists (${overwriteHint})`);

  let layout: SafetensorsLayout;
  try {
    layout = safetensorsHeader(infos, metadata);
  } catch (e) {
    if (e instanceof SedsegError) throw new SedsegError(e.code, `${path}: ${e.message}`, { cause: e });
    throw e;
  }
  const dataStart = layout.headerBytes.byteLength;
  const slots = new Map(infos.map((info, i) => [info.name, { info, begin: layout.offsets[i]![0] }]));
  const written = new Set<string>();

  const staged = await stageFile(path, async (handle) => {
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
  });
  await staged.commit({ overwrite, overwriteHint });
}
