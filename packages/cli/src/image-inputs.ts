import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';

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

/**
 * Expands the command's image arguments: a file is taken as is (its content is checked when
 * decoded), a directory gives the images directly inside it (by extension, sorted), a pattern
 * with `*` or `?` in its last component matches files of that directory (for shells that do not
 * expand globs). Arguments that give nothing are reported, not fatal.
 */
export async function expandImageInputs(args: readonly string[]): Promise<{ files: string[]; problems: InputProblem[] }> {
  const files: string[] = [];
  const problems: InputProblem[] = [];
  for (const arg of args) {
    if (hasGlob(basename(arg)) && !hasGlob(dirname(arg))) {
      const dir = dirname(arg);
      const re = globToRegExp(basename(arg));
      let names: string[];
      try {
        names = (await readdir(dir)).filter((n) => re.test(n)).sort();
      } catch {
        problems.push({ input: arg, message: `${arg}: no such folder for the pattern` });
        continue;
      }
      if (names.length === 0) problems.push({ input: arg, message: `${arg}: no file matches` });
      files.push(...names.map((n) => join(dir, n)));
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
      const names = (await readdir(arg)).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
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
