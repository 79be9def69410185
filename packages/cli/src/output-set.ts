/**
 * The outputs of one image, written all or nothing: every file is first written to a temporary
 * name beside its destination ({@link stageFile}); only when all are written are they moved into
 * place. If anything fails, the temporary files and the outputs already moved are removed, so a
 * failed image leaves nothing behind.
 */
import { unlink } from 'node:fs/promises';
import { stageFile, type StagedFile } from '@sedseg/core/node';

export class OutputSet {
  private readonly staged: StagedFile[] = [];

  constructor(private readonly options: { overwrite: boolean }) {}

  /** Writes `bytes` for `path` under a temporary name (E_IO on failure: then call `abort`). */
  async add(path: string, bytes: Uint8Array | string): Promise<void> {
    this.staged.push(await stageFile(path, bytes));
  }

  /** Moves every staged file into place; on a failure removes what this set wrote, then throws. */
  async commit(): Promise<void> {
    const placed: string[] = [];
    try {
      for (const file of this.staged) {
        await file.commit({ ...this.options, overwriteHint: 'use --overwrite to replace it' });
        placed.push(file.path);
      }
    } catch (e) {
      for (const path of placed) await unlink(path).catch(() => undefined);
      await this.abort();
      throw e;
    }
  }

  /** Removes the temporary files not yet moved into place. */
  async abort(): Promise<void> {
    for (const file of this.staged) await file.discard();
  }
}
