import { SedsegError } from '../errors.js';

/**
 * Random-access bytes: a file on disk (see `@sedseg/core/node`), a Blob in the browser, or an
 * in-memory buffer. Readers take only the ranges they need, so large checkpoints are never
 * held twice in memory.
 */
export interface ByteSource {
  /** Name used in error messages (a file path, a URL, `<memory>`). */
  readonly name: string;
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; fails with E_CORRUPT past the end. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function checkRange(source: { name: string; size: number }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new SedsegError('E_CORRUPT', `${source.name}: invalid byte range ${offset}+${length}`);
  }
  if (offset + length > source.size) {
    throw new SedsegError('E_CORRUPT', `${source.name}: truncated file (needs bytes ${offset}..${offset + length}, file has ${source.size})`);
  }
}

/** A ByteSource over bytes already in memory (reads are zero-copy views). */
export function memorySource(bytes: Uint8Array, name = '<memory>'): ByteSource {
  const source: ByteSource = {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      checkRange(source, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    async close() {},
  };
  return source;
}

/** A ByteSource over a Blob/File (browser). */
export function blobSource(blob: Blob, name = (blob as { name?: string }).name ?? '<blob>'): ByteSource {
  const source: ByteSource = {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(source, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async close() {},
  };
  return source;
}
