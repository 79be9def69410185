import { open, type FileHandle } from 'node:fs/promises';
import { SedsegError } from '../errors.js';
import { checkRange, type ByteSource } from '../io/byte-source.js';

/** Opens a file as a ByteSource; reads use positioned I/O, so nothing is loaded up front. */
export async function fileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((e as Error).message);
    throw new SedsegError('E_IO', `${path}: cannot open (${why})`, { cause: e });
  }
  const stat = await handle.stat();
  if (stat.isDirectory()) {
    await handle.close();
    throw new SedsegError('E_IO', `${path}: cannot open (is a directory)`);
  }
  let closed = false;
  const source: ByteSource = {
    name: path,
    size: stat.size,
    async read(offset, length) {
      checkRange(source, offset, length);
      if (closed) throw new SedsegError('E_IO', `${path}: read after close`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) throw new SedsegError('E_CORRUPT', `${path}: file shrank while reading`);
        done += bytesRead;
      }
      return out;
    },
    async close() {
      if (!closed) {
        closed = true;
        await handle.close();
      }
    },
  };
  return source;
}
