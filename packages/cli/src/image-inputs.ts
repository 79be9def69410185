import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { describeFileType } from './file-type.js';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif']);

export interface InputProblem {
  input: string;
  message: string;
}

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const c of pattern) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const hasGlob = (s: string): boolean => /[*?]/.test(s);

type Entry = { name: string; dir: boolean; file: boolean };

async function entries(dir: string): Promise<Entry[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((e) => ({ name: e.name, dir: e.isDirectory(), file: e.isFile() }));
  } catch {
    return [];
  }
}

/** Files under `dir` matching the pattern components `rest` (`*`, `?` within a name; `**` any folders). */
async function walk(dir: string, rest: readonly string[]): Promise<string[]> {
  const [head, ...tail] = rest;
  if (head === undefined) return [];
  const here = (name: string): string => (dir === '.' ? name : join(dir, name));
  if (head === '**') {
    const out = await walk(dir, tail);
    for (const e of await entries(dir)) if (e.dir && !e.name.startsWith('.')) out.push(...(await walk(here(e.name), rest)));
    return out;
  }
  const re = hasGlob(head) ? globToRegExp(head) : undefined;
  const out: string[] = [];
  for (const e of await entries(dir)) {
    if (re ? !re.test(e.name) || (e.name.startsWith('.') && !head.startsWith('.')) : e.name !== head) continue;
    if (tail.length === 0 && e.file) out.push(here(e.name));
    else if (tail.length > 0 && e.dir) out.push(...(await walk(here(e.name), tail)));
  }
  return out;
}

/** The files a glob pattern matches (sorted); the folder the pattern starts from must exist. */
async function expandGlob(pattern: string): Promise<string[] | undefined> {
  const parts = pattern.split(/[\\/]+/);
  let fixed = 0;
  while (fixed < parts.length - 1 && !hasGlob(parts[fixed]!) && parts[fixed] !== '**') fixed++;
  const base = fixed === 0 ? '.' : parts.slice(0, fixed).join('/') || '/';
  try {
    if (!(await stat(base)).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return [...new Set(await walk(base, parts.slice(fixed)))].sort();
}

/**
 * Expands the command's image arguments: a regular file is taken as is (its content is checked
 * when decoded; a FIFO, socket or device is refused: reading it would block), a directory
 * gives the images directly inside it (by extension, not hidden, sorted), a pattern (`*` and
 * `?` within names, `**` for any depth of folders; for shells that do not expand globs) gives
 * the files it matches. Arguments that give nothing are reported, not fatal.
 */
export async function expandImageInputs(args: readonly string[]): Promise<{ files: string[]; problems: InputProblem[] }> {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  for (const arg of args) {
    if (hasGlob(arg)) {
      const matches = await expandGlob(arg);
      if (matches === undefined) problems.push({ input: arg, message: `${arg}: no such folder for the pattern` });
      else if (matches.length === 0) problems.push({ input: arg, message: `${arg}: no file matches` });
      else files.push(...matches);
      continue;
    }
    let info: Stats;
    try {
      info = await stat(arg);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push({
        input: arg,
        message: `${arg}: cannot open (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message})`,
      });
      continue;
    }
    if (info.isDirectory()) {
      // hidden files (e.g. macOS "._" resource forks) are not images; nor are folders named like one
      const found = (await readdir(arg, { withFileTypes: true }))
        .filter((e) => !e.name.startsWith('.') && !e.isDirectory() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      if (found.length === 0) problems.push({ input: arg, message: `${arg}: the folder holds no images (${[...IMAGE_EXTENSIONS].join(' ')})` });
      for (const e of found) {
        const path = join(arg, e.name);
        // symbolic links are followed when read; FIFOs, sockets and devices would block or never end
        if (e.isFIFO() || e.isSocket() || e.isCharacterDevice() || e.isBlockDevice()) {
          problems.push({ input: path, message: `${path}: ${e.isFIFO() ? 'a FIFO (named pipe)' : e.isSocket() ? 'a socket' : 'a device'}, not an image file` });
        } else {
          files.push(path); // a file, or a link or entry of unknown type: checked when read
        }
      }
    } else if (!info.isFile()) {
      problems.push({ input: arg, message: `${arg}: ${describeFileType(info)}, not an image file` });
    } else {
      files.push(arg);
    }
  }
  // The same file named twice is segmented once.
  const seen = new Set<string>();
  const unique = files.filter((f) => {
    if (seen.has(resolve(f))) return false;
    seen.add(resolve(f));
    return true;
  });
  return { files: unique, problems };
}
