/**
 * On-disk store of class embeddings for `ClassEmbeddingCache`: one safetensors file per
 * (weights digest, template set) holding a flat P·D float32 tensor `class:<name>` per class, named
 * `<fnv64(digest)>-<templateSetKey>.safetensors` in the given folder; the digest and template
 * key are also kept in the file's metadata and checked on load. Files are replaced atomically
 * (written to a temporary file in the same folder, then renamed), so a reader never sees a
 * partial file; concurrent writers may lose each other's new entries, never corrupt the file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openSafetensors, serializeSafetensors } from '../checkpoint/safetensors.js';
import { SedsegError } from '../errors.js';
import { memorySource } from '../io/byte-source.js';
import { fnv1a64Hex } from '../hash/fnv1a64.js';
import type { ClassEmbeddingPersistence } from '../model/classes/class-embedding-cache.js';
import type { HostTensor } from '../tensor/host-tensor.js';
import { writeFileAtomic } from './atomic-write.js';

const FORMAT = 'sedseg-class-embeddings/1';
/** Tensor names are `class:<name>` (so that no class name can clash with `__metadata__`). */
const NAME_PREFIX = 'class:';

export class ClassEmbeddingDiskCache implements ClassEmbeddingPersistence {
  /** @param dir folder of the cache files (created on the first write). */
  constructor(readonly dir: string) {
    if (typeof dir !== 'string' || dir === '') throw new SedsegError('E_ARGUMENT', 'ClassEmbeddingDiskCache: a folder is required');
  }

  /** Path of the file of a (digest, template set) key. */
  filePath(digest: string, templateKey: string): string {
    return join(this.dir, `${fnv1a64Hex(digest)}-${templateKey.replace(/[^A-Za-z0-9._-]/g, '_')}.safetensors`);
  }

  async load(digest: string, templateKey: string): Promise<Map<string, Float32Array>> {
    const path = this.filePath(digest, templateKey);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new SedsegError('E_IO', `${path}: cannot read the class-embedding cache (${(e as Error).message})`, { cause: e });
    }
    // A cache file that cannot be parsed, or that belongs to another key (hash collision) or
    // format, is ignored (and replaced by the next save) rather than trusted.
    try {
      const store = await openSafetensors(memorySource(bytes, path));
      const meta = store.metadata;
      if (meta.format !== FORMAT || meta.digest !== digest || meta.template_set !== templateKey) return new Map();
      const out = new Map<string, Float32Array>();
      for (const key of store.keys()) {
        const t = await store.read(key);
        if (!key.startsWith(NAME_PREFIX) || t.dtype !== 'float32') return new Map();
        out.set(key.slice(NAME_PREFIX.length), Float32Array.from(t.data as Float32Array));
      }
      return out;
    } catch (e) {
      if (e instanceof SedsegError && e.code !== 'E_IO') return new Map();
      throw e;
    }
  }

  async save(digest: string, templateKey: string, entries: ReadonlyMap<string, Float32Array>): Promise<void> {
    const merged = await this.load(digest, templateKey);
    for (const [name, e] of entries) merged.set(name, e);
    const tensors: [string, HostTensor][] = [...merged].map(([name, data]) => [NAME_PREFIX + name, { dtype: 'float32', shape: [data.length], data }]);
    const bytes = serializeSafetensors(tensors, { format: FORMAT, digest, template_set: templateKey });
    const path = this.filePath(digest, templateKey);
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFileAtomic(path, bytes, { overwrite: true });
    } catch (e) {
      throw new SedsegError('E_IO', `${path}: cannot write the class-embedding cache (${(e as Error).message})`, { cause: e });
    }
  }
}
