/**
 * Progress on a terminal: one line redrawn in place on stderr with a bar, counts and ETA.
 * Silent when stderr is not a TTY (pipes and CI logs get the per-image lines instead).
 */
export class ProgressBar {
  private start = 0;
  private lastDraw = 0;
  private active = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return Boolean(this.stream.isTTY);
  }

  update(label: string, done: number, total: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!this.active || done === 0) {
      this.start = now;
      this.active = true;
    }
    if (done < total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 24;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.start) / 1000;
    const eta = done > 0 && done < total ? ` ETA ${formatSeconds((elapsed / done) * (total - done))}` : '';
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}${eta}`;
    const columns = this.stream.columns ?? 80;
    this.stream.write(`\r${line.slice(0, columns - 1).padEnd(Math.min(columns - 1, line.length + 8))}`);
  }

  /** Clears the line (before printing anything else). */
  clear(): void {
    if (this.enabled && this.active) this.stream.write(`\r${' '.repeat((this.stream.columns ?? 80) - 1)}\r`);
    this.active = false;
  }
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}
