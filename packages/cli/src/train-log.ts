/**
 * log.jsonl of a training run: one JSON object per line, `{"type":"train","iter":i,…}` after
 * iteration i and `{"type":"eval","iter":i,…}` for an evaluation after iteration i. Lines are
 * appended as they happen; a run resumed at iteration k first drops the lines of iterations
 * ≥ k (done after its last checkpoint, they are done again) and a torn last line, so the log
 * reads as one uninterrupted run.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { SedsegError } from '@sedseg/core';
import { writeFileAtomic } from '@sedseg/core/node';

export interface LogLine {
  type: 'train' | 'eval';
  iter: number;
  [field: string]: unknown;
}

export class TrainLog {
  private constructor(readonly path: string) {}

  /** The log of a new run (no file yet) or of a run resumed at iteration `resumeAt`. */
  static async open(path: string, resumeAt: number | undefined): Promise<TrainLog> {
    if (resumeAt !== undefined) {
      let text = '';
      try {
        text = await readFile(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SedsegError('E_IO', `${path}: cannot read (${(e as Error).message})`, { cause: e });
      }
      const kept = text.split('\n').filter((line) => {
        try {
          const parsed = JSON.parse(line) as Partial<LogLine>;
          return typeof parsed.iter === 'number' && parsed.iter < resumeAt;
        } catch {
          return false;
        }
      });
      await writeFileAtomic(path, kept.map((l) => `${l}\n`).join(''), { overwrite: true });
    }
    return new TrainLog(path);
  }

  async append(line: LogLine): Promise<void> {
    try {
      await appendFile(this.path, `${JSON.stringify(line)}\n`);
    } catch (e) {
      throw new SedsegError('E_IO', `${this.path}: cannot write (${(e as Error).message})`, { cause: e });
    }
  }
}
