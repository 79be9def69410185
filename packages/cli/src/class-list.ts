import { readFile } from 'node:fs/promises';
import { SedsegError, validateClassNames } from '@sedseg/core';

/** Reads a class file: a JSON array of class names (reference format; `", "` joins synonyms). */
export async function readClassesFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SedsegError('E_IO', `${path}: cannot read the class file (${code === 'ENOENT' ? 'no such file' : (e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${path}: the class file is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed) || !parsed.every((c) => typeof c === 'string')) {
    throw new SedsegError('E_FORMAT', `${path}: the class file must be a JSON array of strings`);
  }
  try {
    return validateClassNames(parsed);
  } catch (e) {
    throw new SedsegError('E_ARGUMENT', `${path}: ${(e as Error).message}`);
  }
}
