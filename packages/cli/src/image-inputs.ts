import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

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
 * Expands the command's image arguments: a file is taken as is (its content is checked when
 * decoded), a directory gives the images directly inside it (by extension, not hidden, sorted), a pattern
 * (`*` and `?` within names, `**` for any depth of folders; for shells that do not expand
 * globs) gives the files it matches. Arguments that give nothing are reported, not fatal.
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
    let info;
    try {
      info = await stat(arg);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push({ input: arg, message: `${arg}: cannot open (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message})` });
      continue;
    }
    if (info.isDirectory()) {
      // hidden files (e.g. macOS "._" resource forks) are not images
      const names = (await readdir(arg)).filter((n) => !n.startsWith('.') && IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
      if (names.length === 0) problems.push({ input: arg, message: `${arg}: the folder holds no images (${[...IMAGE_EXTENSIONS].join(' ')})` });
      files.push(...names.map((n) => join(arg, n)));
    } else {
      files.push(arg);
    }
  }
  // The same file named twice is segmented once.
  const seen = new Set<string>();
  return { files: files.filter((f) => (seen.has(resolve(f)) ? false : (seen.add(resolve(f)), true))), problems };
}
