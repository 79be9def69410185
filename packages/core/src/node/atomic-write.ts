/**
 * Writing a file so that its path never holds half a file: the bytes go to a temporary file in
 * the same folder, which is then moved into place. Without `overwrite` the move is a hard link,
 * which fails if ANY entry exists at the path (a file, a folder, a dangling symbolic link) —
 * race-free; with `overwrite` it is a rename, which replaces the entry itself (a symbolic link
 * is replaced, never written through). The one way sedseg writes its outputs (CLI results,
 * converted and dumped safetensors, ONNX exports, the class-embedding cache).
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SedsegError } from '../errors.js';

/** What a refused overwrite tells the user to do (the CLI names its flag). */
export interface OverwriteHint {
  /** Default: "pass overwrite: true to replace it". */
  overwriteHint?: string;
}

/** True when any directory entry exists at `path`, a dangling symbolic link included. */
export async function entryExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR') throw new SedsegError('E_IO', `${path}: cannot write there (${dirname(path)} is not a folder)`, { cause: e });
    throw new SedsegError('E_IO', `${path}: cannot check (${(e as Error).message})`, { cause: e });
  }
}

function ioReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOENT':
      return 'the folder is gone';
    case 'EISDIR':
    case 'ENOTEMPTY':
      return 'a folder is in the way';
    default:
      return err.message ?? String(e);
  }
}

/** A file written to a temporary name beside its destination, not yet moved into place. */
export interface StagedFile {
  readonly path: string;
  readonly temp: string;
  /** Moves the file into place (see the module comment); the temporary file is gone either way. */
  commit(options: { overwrite: boolean } & OverwriteHint): Promise<void>;
  /** Removes the temporary file (nothing happens after a commit). */
  discard(): Promise<void>;
}

/**
 * Writes a new temporary file in `path`'s folder: `content` bytes, or whatever the `content`
 * function writes through the handle it gets (streamed writers). Failures are `E_IO` naming
 * `path`; a `SedsegError` thrown by the writer is passed on as it is.
 */
export async function stageFile(path: string, content: Uint8Array | string | ((handle: FileHandle) => Promise<void>)): Promise<StagedFile> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx');
  } catch (e) {
    throw new SedsegError('E_IO', `${path}: cannot write (${ioReason(e)})`, { cause: e });
  }
  try {
    if (typeof content === 'function') await content(handle);
    else await handle.writeFile(content);
    await handle.close();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    if (e instanceof SedsegError) throw e;
    throw new SedsegError('E_IO', `${path}: cannot write (${ioReason(e)})`, { cause: e });
  }
  let settled = false;
  const discard = async (): Promise<void> => {
    if (settled) return;
    settled = true;
    await unlink(temp).catch(() => undefined);
  };
  return {
    path,
    temp,
    discard,
    async commit({ overwrite, overwriteHint = 'pass overwrite: true to replace it' }) {
      if (settled) throw new SedsegError('E_ARGUMENT', `${path}: staged file already committed or discarded`);
      try {
        if (overwrite) {
          await rename(temp, path);
        } else {
          await link(temp, path).catch(async (e: NodeJS.ErrnoException) => {
            // Filesystems without hard links (FAT, some network mounts): check, then rename.
            if (e.code !== 'EPERM' && e.code !== 'ENOTSUP' && e.code !== 'EOPNOTSUPP' && e.code !== 'EXDEV') throw e;
            if (await entryExists(path)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
            await rename(temp, path);
          });
        }
      } catch (e) {
        await discard();
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new SedsegError('E_IO', `${path} exists (${overwriteHint})`, { cause: e });
        }
        if (e instanceof SedsegError) throw e;
        throw new SedsegError('E_IO', `${path}: cannot write (${ioReason(e)})`, { cause: e });
      }
      await discard(); // after a link, the temporary name is still there
    },
  };
}

/** Writes a whole file through a temporary name (see the module comment). */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string, options: { overwrite: boolean } & OverwriteHint): Promise<void> {
  const staged = await stageFile(path, bytes);
  await staged.commit(options);
}
