/**
 * Image / ground-truth pairs of an evaluation folder pair, as detectron2 `load_sem_seg(gt_root,
 * image_root, gt_ext, image_ext)` makes them: the entries of each folder whose name ends with
 * its extension (`endswith`, case-sensitive, no recursion), each list sorted by name without the
 * extension (code-point order, as Python sorts strings), paired in order. When the counts
 * differ, the pairs are the stems found in both folders (sorted), as detectron2 then does (VOC
 * and PASCAL Context keep every image of the year in `JPEGImages`, labels only for the val set).
 * Equal counts whose stems do not match are refused (detectron2 would pair unrelated files).
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SedsegError } from '../errors.js';

export interface EvalPair {
  /** The stem shared by both files (file name without the extension). */
  stem: string;
  image: string;
  label: string;
}

export interface EvalPairs {
  pairs: EvalPair[];
  /** Files left out because the other folder has no file of their stem. */
  unpairedImages: number;
  unpairedLabels: number;
}

const byCodePoint = (a: string, b: string): number => {
  // Python compares strings by code point; JS `<` compares UTF-16 units (differs above U+FFFF)
  const ca = Array.from(a, (c) => c.codePointAt(0)!);
  const cb = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i]! - cb[i]!;
  return ca.length - cb.length;
};

async function listWithExt(dir: string, ext: string, what: string): Promise<{ name: string; stem: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new SedsegError('E_IO', `${what} folder ${dir}: cannot list (${why})`, { cause: e });
  }
  return names
    .filter((n) => n.endsWith(ext) && n.length > ext.length)
    .map((name) => ({ name, stem: name.slice(0, -ext.length).replace(/\.$/, '') }))
    .sort((a, b) => byCodePoint(a.stem, b.stem));
}

/** The evaluation pairs of `imageDir` (`*.<imageExt>`) and `labelDir` (`*.<labelExt>`). */
export async function listEvalPairs(imageDir: string, labelDir: string, imageExt: string, labelExt: string): Promise<EvalPairs> {
  const labels = await listWithExt(labelDir, labelExt, 'label');
  const images = await listWithExt(imageDir, imageExt, 'image');
  if (labels.length === 0) throw new SedsegError('E_IO', `label folder ${labelDir}: no *.${labelExt} file`);
  if (images.length === 0) throw new SedsegError('E_IO', `image folder ${imageDir}: no *.${imageExt} file`);
  if (images.length === labels.length) {
    const pairs = images.map((im, i) => ({ stem: im.stem, image: join(imageDir, im.name), label: join(labelDir, labels[i]!.name) }));
    const bad = pairs.findIndex((p, i) => p.stem !== labels[i]!.stem);
    if (bad >= 0) {
      throw new SedsegError(
        'E_ARGUMENT',
        `images and labels do not pair: in name order, image ${images[bad]!.name} meets label ${labels[bad]!.name} (${images.length} of each in ${imageDir} and ${labelDir})`,
      );
    }
    return { pairs, unpairedImages: 0, unpairedLabels: 0 };
  }
  const labelByStem = new Map(labels.map((l) => [l.stem, l.name]));
  const pairs: EvalPair[] = [];
  for (const im of images) {
    const label = labelByStem.get(im.stem);
    if (label !== undefined) pairs.push({ stem: im.stem, image: join(imageDir, im.name), label: join(labelDir, label) });
  }
  if (pairs.length === 0) {
    throw new SedsegError(
      'E_ARGUMENT',
      `no image of ${imageDir} has a label in ${labelDir} (no file name in common, e.g. ${images[0]!.name} / ${labels[0]!.name})`,
    );
  }
  return { pairs, unpairedImages: images.length - pairs.length, unpairedLabels: labels.length - pairs.length };
}
