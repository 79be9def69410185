import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { SedsegError } from '../errors.js';
import { openWeights } from '../weights/open-weights.js';
import type { WeightStore } from '../weights/weight-store.js';
import { fileSource } from './file-source.js';

/** Opens a `.pth` or `.safetensors` file lazily (tensor data are read on demand). */
export async function openWeightsFile(path: string): Promise<WeightStore> {
  const source = await fileSource(path);
  try {
    return await openWeights(source);
  } catch (e) {
    await source.close();
    throw e;
  }
}

/**
 * Where a config for `weightsPath` is looked for when none is given: `<name>.config.json`
 * beside the file, then `config.json` in the same folder (the reference layout).
 */
export function configCandidates(weightsPath: string): string[] {
  const dir = dirname(weightsPath);
  const stem = basename(weightsPath, extname(weightsPath));
  return [join(dir, `${stem}.config.json`), join(dir, 'config.json')];
}

export interface LoadedConfig {
  path: string;
  config: unknown;
}

/** Reads and parses a JSON config file, with errors that name the file. */
export async function readConfigFile(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SedsegError('E_IO', `${path}: cannot read config (${code === 'ENOENT' ? 'no such file' : (e as Error).message})`, { cause: e });
  }
  try {
    return { path, config: JSON.parse(text) as unknown };
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${path}: config is not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

/** The explicit config, else the first candidate beside the weights that exists, else none. */
export async function findConfig(weightsPath: string, explicit?: string): Promise<LoadedConfig | undefined> {
  if (explicit !== undefined) return readConfigFile(explicit);
  const found = configCandidates(weightsPath).find((p) => existsSync(p));
  return found === undefined ? undefined : readConfigFile(found);
}
