/**
 * Writes the synthetic shapes dataset (`syntheticSample`) as files a training or evaluation
 * command reads like any other folder pair:
 *
 *     <dir>/images/000000.png   RGB
 *     <dir>/labels/000000.png   8-bit grayscale, values 0…4 and 255 (ignore)
 *     <dir>/classes.txt         the class list, typed form ("grass, red circle, …")
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SedsegError } from '../errors.js';
import { formatClassList } from '../prompts/class-list-text.js';
import { SYNTHETIC_CLASS_NAMES, SYNTHETIC_IGNORE_LABEL, type SyntheticOptions, syntheticSample } from '../train-data/synthetic-shapes.js';
import { encodePng8 } from './png-write.js';

export interface WrittenSyntheticDataset {
  imageDir: string;
  labelDir: string;
  classFile: string;
  classNames: readonly string[];
  ignoreLabel: number;
  count: number;
}

/** Writes samples 0 … count−1 of seed `seed` under `dir` (created if needed; files overwritten). */
export async function writeSyntheticDataset(dir: string, count: number, seed: number, options: SyntheticOptions = {}): Promise<WrittenSyntheticDataset> {
  if (!Number.isInteger(count) || count < 1) throw new SedsegError('E_ARGUMENT', `synthetic dataset size must be a positive integer, got ${count}`);
  const imageDir = join(dir, 'images');
  const labelDir = join(dir, 'labels');
  const classFile = join(dir, 'classes.txt');
  try {
    await mkdir(imageDir, { recursive: true });
    await mkdir(labelDir, { recursive: true });
    for (let i = 0; i < count; i++) {
      const s = syntheticSample(seed, i, options);
      const stem = String(i).padStart(6, '0');
      await writeFile(join(imageDir, `${stem}.png`), encodePng8(s.image.width, s.image.height, 3, s.image.data));
      await writeFile(join(labelDir, `${stem}.png`), encodePng8(s.labels.width, s.labels.height, 1, s.labels.data));
    }
    await writeFile(classFile, `${formatClassList(SYNTHETIC_CLASS_NAMES)}\n`);
  } catch (e) {
    if (e instanceof SedsegError) throw e; // a bad option, not a file-system failure
    throw new SedsegError('E_IO', `${dir}: cannot write the synthetic dataset (${(e as Error).message})`, { cause: e });
  }
  return { imageDir, labelDir, classFile, classNames: SYNTHETIC_CLASS_NAMES, ignoreLabel: SYNTHETIC_IGNORE_LABEL, count };
}
