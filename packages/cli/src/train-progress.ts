/**
 * Progress of `sedseg train` on stderr. On a terminal, one line redrawn in place:
 *
 *   iter 120/1000 [###-------------] loss 2.4312 · lr 1.9e-4 · 3.2 img/s · ETA 4m35s
 *
 * The ETA is the remaining iterations at the mean time per iteration of this session (data
 * loading included; evaluations and checkpoints are rare and left out). Elsewhere (pipes, CI
 * logs) the same text is printed as a line every `printPeriod` iterations and at the last.
 */
import { formatSeconds, type ProgressStream } from './progress.js';

const BAR = 16;

export class TrainProgress {
  private drawn = false;
  private seconds = 0;
  private steps = 0;

  constructor(
    private readonly total: number,
    private readonly printLine: (line: string) => void,
    private readonly stream: ProgressStream = process.stderr,
    private readonly printPeriod = 20,
  ) {}

  get enabled(): boolean {
    return Boolean(this.stream.isTTY);
  }

  /** Iteration `iter` (0-based) took `seconds`. */
  step(iter: number, loss: number, lr: number, imagesPerSecond: number, seconds: number): void {
    this.seconds += seconds;
    this.steps += 1;
    const done = iter + 1;
    const eta = ((this.total - done) * this.seconds) / this.steps;
    const filled = Math.round((done / this.total) * BAR);
    const text = `loss ${loss.toFixed(4)} · lr ${lr.toExponential(2)} · ${imagesPerSecond.toFixed(2)} img/s · ETA ${formatSeconds(eta)}`;
    if (this.enabled) {
      const line = `iter ${done}/${this.total} [${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${text}`;
      const width = Math.max(20, (this.stream.columns || 80) - 1);
      this.stream.write(`\r${line.slice(0, width)}\x1b[K`);
      this.drawn = true;
    } else if (done === 1 || done % this.printPeriod === 0 || done === this.total) {
      this.printLine(`iter ${done}/${this.total}: ${text}`);
    }
  }

  /** Clears the line (before printing anything else). */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  /** A line of its own, above the progress line. */
  tell(line: string): void {
    this.clear();
    this.printLine(line);
  }
}
