/**
 * Class embeddings kept in IndexedDB (the browser's `ClassEmbeddingDiskCache`): one record per
 * (weights digest, template-set key, class name), so a changed vocabulary encodes only its new
 * classes, across reloads.
 */
import { SedsegError, type ClassEmbeddingPersistence } from '@sedseg/core';

const STORE = 'class-embeddings';
const BY_KEY = 'by-digest-templates';

interface EmbeddingRecord {
  digest: string;
  templateKey: string;
  name: string;
  data: Float32Array;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** True when this environment has IndexedDB. */
export function hasIndexedDb(): boolean {
  return typeof (globalThis as { indexedDB?: unknown }).indexedDB !== 'undefined';
}

/** A `ClassEmbeddingPersistence` over the IndexedDB database `dbName` (default `sedseg`). */
export function indexedDbClassEmbeddings(dbName = 'sedseg'): ClassEmbeddingPersistence {
  if (!hasIndexedDb())
    throw new SedsegError('E_UNSUPPORTED', 'IndexedDB is not available here: class embeddings cannot be stored (pass classEmbeddings: false)');
  let db: Promise<IDBDatabase> | undefined;
  const open = (): Promise<IDBDatabase> => {
    db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open(dbName, 1);
      r.onupgradeneeded = () => {
        const store = r.result.createObjectStore(STORE, { keyPath: ['digest', 'templateKey', 'name'] });
        store.createIndex(BY_KEY, ['digest', 'templateKey']);
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(new SedsegError('E_IO', `IndexedDB ${dbName}: ${r.error?.message ?? 'could not open'}`));
      r.onblocked = () => reject(new SedsegError('E_IO', `IndexedDB ${dbName}: blocked by another tab holding an older version`));
    });
    db.catch(() => {
      db = undefined;
    });
    return db;
  };
  return {
    async load(digest, templateKey) {
      const d = await open();
      const records = await request(
        d
          .transaction(STORE, 'readonly')
          .objectStore(STORE)
          .index(BY_KEY)
          .getAll(IDBKeyRange.only([digest, templateKey])),
      );
      return new Map((records as EmbeddingRecord[]).map((r) => [r.name, r.data]));
    },
    async save(digest, templateKey, entries) {
      const d = await open();
      const tx = d.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      for (const [name, data] of entries) store.put({ digest, templateKey, name, data } satisfies EmbeddingRecord);
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(new SedsegError('E_IO', `IndexedDB ${dbName}: ${tx.error?.message ?? 'write failed'}`));
        tx.onabort = () => reject(new SedsegError('E_IO', `IndexedDB ${dbName}: ${tx.error?.message ?? 'write aborted'}`));
      });
    },
  };
}
