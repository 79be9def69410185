/**
 * The name each input's outputs are written under (`<name>.labels.png`, `<name>.json`, …), all
 * in one folder, so two inputs must never share one. The rule, from the first level on, applied
 * only to the inputs that would otherwise clash (names compared ignoring case, since macOS and
 * Windows folders do):
 *   1. the file name without its extension          shots/photo.jpg  → photo
 *   2. the file name with its extension             shots/photo.jpg  → photo.jpg   (photo.jpg + photo.png)
 *   3. the path from the folder the clashing inputs have in common, "/" → "_"
 *                                                   a/photo.jpg      → a_photo.jpg  (a/photo.jpg + b/photo.jpg)
 * Inputs that still clash after that (a_b/x.png and a/b/x.png) are refused.
 */
import { SedsegError } from '@sedseg/core';
import { basename, dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';

/** The deepest folder holding all of `files` (absolute). */
function commonFolder(files: readonly string[]): string {
  let common = dirname(resolve(files[0]!));
  for (const f of files.slice(1)) {
    const dir = dirname(resolve(f));
    const outside = (): boolean => {
      const rel = relative(common, dir);
      return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
    };
    while (common !== dirname(common) && outside()) common = dirname(common);
  }
  return common;
}

const MAX_LEVEL = 3;

/** Output names for `files` (in the same order), distinct ignoring case; E_ARGUMENT if that is impossible. */
export function outputNames(files: readonly string[]): string[] {
  const level = files.map(() => 1);
  const nameAt = (i: number, lvl: number, group: readonly number[]): string => {
    const file = files[i]!;
    const name = basename(file);
    if (lvl === 1) return basename(file, extname(file)) || name;
    if (lvl === 2) return name;
    const base = commonFolder(group.map((j) => files[j]!));
    return relative(base, resolve(file)).split(sep).join('_');
  };
  // The inputs each level-3 name is computed against: the inputs it clashed with at level 2.
  const groups = new Map<number, number[]>();
  const names = files.map((_, i) => nameAt(i, 1, [i]));
  // Each round raises some level, so this ends within 2 × files.length rounds.
  for (;;) {
    const byName = new Map<string, number[]>();
    names.forEach((n, i) => {
      byName.set(n.toLowerCase(), [...(byName.get(n.toLowerCase()) ?? []), i]);
    });
    const clashes = [...byName.values()].filter((g) => g.length > 1);
    if (clashes.length === 0) return names;
    let moved = false;
    for (const group of clashes) {
      for (const i of group) {
        if (level[i]! >= MAX_LEVEL) continue;
        level[i]! += 1;
        if (level[i] === MAX_LEVEL) groups.set(i, group);
        names[i] = nameAt(i, level[i]!, groups.get(i) ?? [i]);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const byName = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const key = names[i]!.toLowerCase();
    const other = byName.get(key);
    if (other !== undefined) {
      throw new SedsegError(
        'E_ARGUMENT',
        `${files[other]} and ${files[i]} would write the same outputs (${names[i]}.*): segment them into different --out folders`,
      );
    }
    byName.set(key, i);
  }
  return names;
}
