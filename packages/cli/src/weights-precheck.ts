/**
 * Cheap checks of a weights file before anything is created or loaded: it exists, is a regular
 * file (a FIFO would block the open forever), and its first bytes are a checkpoint's (a zip
 * archive or a safetensors header). Loading it later checks everything else.
 */
import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { SedsegError, sniffWeightsFormat } from '@sedseg/core';
import { fileSource } from '@sedseg/core/node';
import { describeFileType } from './file-type.js';

export async function precheckWeightsFile(path: string): Promise<void> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'no such file' : (e as Error).message;
    throw new SedsegError('E_IO', `${path}: cannot open (${why})`, { cause: e });
  }
  if (info.isDirectory()) throw new SedsegError('E_IO', `${path}: cannot open (is a directory)`);
  if (!info.isFile()) throw new SedsegError('E_IO', `${path}: cannot open (${describeFileType(info)}, not a regular file)`);
  const source = await fileSource(path);
  try {
    if ((await sniffWeightsFormat(source)) === undefined) {
      throw new SedsegError('E_FORMAT', `${path}: not a weights file (expected a torch.save .pth zip archive or a .safetensors file)`);
    }
  } finally {
    await source.close();
  }
}
