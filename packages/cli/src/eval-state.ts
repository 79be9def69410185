/**
 * The state folder of `sedseg eval` (default `<out>.state`, or `--state DIR`): what makes a run
 * resumable. `settings.json` holds the run's settings and shard; `images/<k>.json` one image's
 * counts (its non-zero confusion entries, sizes, CER kept counts, time), written through a
 * temporary file and a rename once the image is done, so a killed run leaves whole records only.
 * A run finds the records of its images and evaluates only the others; the result is the same
 * because the counts are integers summed in any order. A folder written with other settings is
 * refused, naming the differences, never mixed in.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConfusionEntry, SedsegError } from '@sedseg/core';
import { writeFileAtomic } from '@sedseg/core/node';
import type { EvalSettings } from './eval-settings.js';
import { canonical, settingsDifferences } from './eval-settings.js';
import type { Shard } from './shard-option.js';

export const STATE_FORMAT = 'sedseg-eval-state/1';

/** One evaluated image. */
export interface EvalImageRecord {
  /** Position in the dataset's pairing order. */
  index: number;
  /** File names in the image and label folders. */
  image: string;
  label: string;
  height: number;
  width: number;
  /** Test-time resized size [h, w]. */
  resized: [number, number];
  confusion: ConfusionEntry[];
  /** CER: classes entering decoder layers 1, 2, 3; null on the full path. */
  kept_per_stage: [number, number, number] | null;
  /** Wall time of the image (read, model, count). */
  seconds: number;
  decoder_ms: number;
}

interface StateHeader {
  format: string;
  settings: EvalSettings;
  shard: Shard | null;
}

export class EvalState {
  private constructor(readonly dir: string) {}

  /**
   * Opens (or creates) the state folder for `settings` and `shard`. Existing state written with
   * different settings or another shard is refused with the differences named.
   */
  static async open(dir: string, settings: EvalSettings, shard: Shard | undefined): Promise<EvalState> {
    const header: StateHeader = { format: STATE_FORMAT, settings, shard: shard ?? null };
    const file = join(dir, 'settings.json');
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new SedsegError('E_IO', `${file}: cannot read the evaluation state (${code ?? (e as Error).message})`, { cause: e });
    }
    if (text === undefined) {
      try {
        await mkdir(join(dir, 'images'), { recursive: true });
      } catch (e) {
        throw new SedsegError('E_IO', `${dir}: cannot create the evaluation state folder (${(e as Error).message})`, { cause: e });
      }
      await writeFileAtomic(file, `${JSON.stringify(header, null, 2)}\n`, { overwrite: true });
      return new EvalState(dir);
    }
    let old: StateHeader;
    try {
      old = JSON.parse(text) as StateHeader;
    } catch (e) {
      throw new SedsegError('E_FORMAT', `${file}: not valid JSON (${(e as Error).message}); delete the folder ${dir} to start afresh`);
    }
    if (old?.format !== STATE_FORMAT) throw new SedsegError('E_FORMAT', `${file}: not a sedseg eval state (format ${JSON.stringify(old?.format)})`);
    const diffs = settingsDifferences({ settings: old.settings, shard: old.shard }, { settings: header.settings, shard: header.shard });
    if (diffs.length > 0) {
      throw new SedsegError(
        'E_ARGUMENT',
        `the evaluation state in ${dir} was written with other settings (state vs this run: ${diffs.join('; ')}); its counts cannot be mixed with this run's: use another --state/--out or delete ${dir}`,
      );
    }
    await mkdir(join(dir, 'images'), { recursive: true });
    return new EvalState(dir);
  }

  /** The records already written, by image index; each must match `expected` (index → image, label). */
  async load(expected: ReadonlyMap<number, { image: string; label: string }>): Promise<Map<number, EvalImageRecord>> {
    const folder = join(this.dir, 'images');
    const names = (await readdir(folder)).filter((n) => /^\d+\.json$/.test(n));
    const out = new Map<number, EvalImageRecord>();
    for (const name of names) {
      const file = join(folder, name);
      let record: EvalImageRecord;
      try {
        record = JSON.parse(await readFile(file, 'utf8')) as EvalImageRecord;
      } catch (e) {
        throw new SedsegError('E_FORMAT', `${file}: unreadable evaluation record (${(e as Error).message}); delete it to evaluate that image again`);
      }
      const want = expected.get(record.index);
      if (want === undefined) continue; // not one of this run's images
      if (record.image !== want.image || record.label !== want.label || `${record.index}.json` !== name) {
        throw new SedsegError(
          'E_ARGUMENT',
          `${file} is for ${record.image} / ${record.label} but image ${record.index} of this run is ${want.image} / ${want.label}: the dataset folders changed since the state was written; delete ${this.dir} to start afresh`,
        );
      }
      if (!Array.isArray(record.confusion)) throw new SedsegError('E_FORMAT', `${file}: no confusion counts`);
      out.set(record.index, record);
    }
    return out;
  }

  async save(record: EvalImageRecord): Promise<void> {
    await writeFileAtomic(join(this.dir, 'images', `${record.index}.json`), `${canonical(record)}\n`, { overwrite: true });
  }
}
