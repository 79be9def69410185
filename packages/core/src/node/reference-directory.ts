import { readFile } from 'node:fs/promises';
import { isAbsolute, join, normalize } from 'node:path';
import { SedsegError } from '../errors.js';
import type { ReferenceFiles } from '../conformance/golden-checks.js';

/**
 * The reference data set in a folder (e.g. `shared/reference`) for the conformance kit's golden
 * checks: `read('tiny/model.pth')` reads `<dir>/tiny/model.pth`, undefined when it is missing.
 */
export function referenceDirectory(dir: string): ReferenceFiles {
  return {
    async read(path) {
      const rel = normalize(path);
      if (isAbsolute(rel) || rel === '..' || rel.startsWith(`..${'/'}`) || rel.startsWith('..\\')) {
        throw new SedsegError('E_ARGUMENT', `reference path ${JSON.stringify(path)} leaves the reference folder`);
      }
      const file = join(dir, rel);
      try {
        const bytes = await readFile(file);
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw new SedsegError('E_IO', `${file}: cannot read (${code ?? (e as Error).message})`, { cause: e });
      }
    },
  };
}
