import type { FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { writePth } from '../checkpoint/pth-writer.js';
import { SedsegError } from '../errors.js';
import type { ByteSink } from '../io/zip-writer.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import type { TensorInfo } from '../weights/weight-store.js';
import { entryExists, stageFile } from './atomic-write.js';

export interface WritePthFileOptions {
  /** Name, dtype and shape of every tensor, in the order they will be given. */
  readonly infos: readonly TensorInfo[];
  /** Replace an existing file at `path` (default: refuse). */
  readonly overwrite?: boolean;
  /** What the refusal to overwrite tells the user (the CLI names its flag). */
  readonly overwriteHint?: string;
  /** See ZipStreamWriterOptions.zip64Threshold (tests). */
  readonly zip64Threshold?: number;
}

/** Small writes (zip headers) are gathered up to this size; tensor data goes out directly. */
const BUFFER_BYTES = 1 << 20;

/** A sequential sink over a file handle that gathers small writes into one buffer. */
class FileSink implements ByteSink {
  private readonly buffer = new Uint8Array(BUFFER_BYTES);
  private used = 0;
  private position = 0;
  constructor(private readonly handle: FileHandle) {}

  private async put(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length <= BUFFER_BYTES) {
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
      return;
    }
    await this.flush();
    if (bytes.length < BUFFER_BYTES / 4) {
      this.buffer.set(bytes, 0);
      this.used = bytes.length;
    } else {
      await this.put(bytes);
    }
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const pending = this.buffer.subarray(0, this.used);
    this.used = 0;
    await this.put(pending);
  }
}

/**
 * Writes a `torch.save` checkpoint (`{"model": state_dict}`, see pth-writer.ts) tensor by
 * tensor; each tensor from `entries` can be dropped once written, so a large checkpoint is
 * never held whole. The tensors must come in `infos` order. The archive's folder is named
 * after the file, as torch names it (`model_final.pth` → `model_final/`). Written to a
 * temporary name next to `path` and moved into place at the end (atomic-write.ts): `path`
 * never holds a half-written file, and an existing entry there is kept unless `overwrite`.
 */
export async function writePthFile(
  path: string,
  entries: AsyncIterable<readonly [string, HostTensor]> | Iterable<readonly [string, HostTensor]>,
  options: WritePthFileOptions,
): Promise<void> {
  const { infos, overwrite = false, zip64Threshold } = options;
  const overwriteHint = options.overwriteHint ?? 'pass overwrite: true to replace it';
  if (!overwrite && (await entryExists(path))) throw new SedsegError('E_IO', `${path} exists (${overwriteHint})`);
  const archiveName = basename(path, extname(path)).replace(/[\\]/g, '_') || 'archive';
  const staged = await stageFile(path, async (handle) => {
    const sink = new FileSink(handle);
    await writePth(sink, entries, { infos, archiveName, source: path, zip64Threshold });
    await sink.flush();
    await handle.sync();
  });
  await staged.commit({ overwrite, overwriteHint });
}
