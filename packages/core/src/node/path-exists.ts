import { stat } from 'node:fs/promises';
import { SedsegError } from '../errors.js';

/** True when something exists at `path`; false when nothing does; E_IO when it cannot be told. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new SedsegError('E_IO', `${path}: cannot stat (${(e as Error).message})`, { cause: e });
  }
}
