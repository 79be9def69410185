/**
 * Progress of `sedseg segment` on a terminal: one line on stderr, redrawn in place,
 *
 *   loading weights [##########----------] 52%
 *   image 1/10 · encoding class names [####------] 212/847 · 1m05s left
 *   image 3/10 · decoder layer 2 of 3 [#####-----] 48% · ETA 1m20s
 *
 * The ETA is for the whole run: the time per image is measured on the images already done
 * (class-name encoding, done once, left out), and the current image's rest is taken from the
 * decoder's own progress when it runs (its weighted steps), else from that average. Before any
 * image is done the decoder's progress alone gives an estimate of an image's time. Phases with
 * no overall estimate (weights, class names) show their own remaining time as "left".
 *
 * Silent when the stream is not a TTY (pipes and CI logs get the per-image lines instead). The
 * line is fitted to the terminal's width; a terminal that reports 0 or no columns (a pty
 * without a size, `script -qc …`) counts as 80.
 */
import type { SedProgress } from '@sedseg/core';

/** What the bar needs of a stream (`process.stderr` in use, a fake in tests). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export type Clock = () => number;

const BAR_MAX = 30;
const BAR_MIN = 6;
const REDRAW_MS = 100;
const FALLBACK_COLUMNS = 80;
/** The decoder's progress gives an image's rest once this share is done (before, it is noise). */
const MIN_DECODER_FRACTION = 0.03;

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) s = 0;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    return `${m}m${String(Math.floor(s - m * 60)).padStart(2, '0')}s`;
  }
  const h = Math.floor(s / 3600);
  return `${h}h${String(Math.floor((s - h * 3600) / 60)).padStart(2, '0')}m`;
}

interface Activity {
  label: string;
  done: number;
  total: number;
  /** Show `done/total` rather than a percentage. */
  counts: boolean;
  started: number;
}

export class ProgressBar {
  private activity: Activity | undefined;
  private drawn = false;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastLabel = '';
  // ---- images ----
  private index = -1;
  private count = 0;
  private imageStart = 0;
  /** Time of this image spent encoding class names (once per run: not an image's cost). */
  private textTime = 0;
  private textStart: number | undefined;
  private finished = 0;
  private finishedTime = 0;
  private decoderStart: number | undefined;

  constructor(
    private readonly stream: ProgressStream = process.stderr,
    private readonly clock: Clock = () => performance.now(),
  ) {}

  get enabled(): boolean {
    return Boolean(this.stream.isTTY);
  }

  /** Image `index` (0-based) of `count` starts. */
  startImage(index: number, count: number): void {
    const now = this.clock();
    this.index = index;
    this.count = count;
    this.imageStart = now;
    this.textTime = 0;
    this.textStart = undefined;
    this.decoderStart = undefined;
    this.activity = { label: 'reading', done: 0, total: 0, counts: false, started: now };
    this.draw(true);
  }

  /** A progress report of the model while it segments the current image (or loads). */
  report(p: SedProgress): void {
    const now = this.clock();
    if (p.phase === 'text') {
      this.textStart ??= now;
      if (p.done >= p.total && this.textStart !== undefined) {
        this.textTime += now - this.textStart;
        this.textStart = undefined;
      }
      if (p.total > 0) this.setActivity('encoding class names', p.done, p.total, true);
    } else if (p.phase === 'weights') {
      this.setActivity('loading weights', p.done, p.total, false);
    } else if (p.phase === 'image') {
      this.setActivity('image encoder', 0, 0, false); // one step: no bar
    } else if (p.phase === 'decoder') {
      this.decoderStart ??= now;
      this.setActivity(`decoder ${p.detail ?? ''}`.trim(), p.done, p.total, false);
    }
    this.draw(false);
  }

  /** A download before any image (bytes; `total` 0 when unknown). */
  download(label: string, done: number, total: number): void {
    this.setActivity(label, done, total, false);
    this.draw(false);
  }

  /** The current image is done (segmented or failed). */
  finishImage(): void {
    const now = this.clock();
    if (this.index < 0) return;
    this.finished++;
    this.finishedTime += Math.max(0, now - this.imageStart - this.textTime);
  }

  /** Clears the line (before printing anything else). */
  clear(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
    this.lastDraw = Number.NEGATIVE_INFINITY;
  }

  /** Seconds left for the whole run, when there is a basis for it. */
  etaSeconds(): number | undefined {
    if (this.index < 0 || this.textStart !== undefined) return undefined;
    const now = this.clock();
    const elapsed = Math.max(0, now - this.imageStart - this.textTime);
    const average = this.finished > 0 ? this.finishedTime / this.finished : undefined;
    let rest: number | undefined;
    const a = this.activity;
    const frac = this.decoderStart !== undefined && a !== undefined && a.total > 0 ? Math.min(1, a.done / a.total) : 0;
    if (frac >= MIN_DECODER_FRACTION) {
      rest = ((now - this.decoderStart!) / frac) * (1 - frac);
    } else if (average !== undefined) {
      rest = Math.max(0, average - elapsed);
    }
    if (rest === undefined) return undefined;
    const perImage = average ?? elapsed + rest;
    const after = Math.max(0, this.count - this.index - 1);
    return (rest + perImage * after) / 1000;
  }

  private setActivity(label: string, done: number, total: number, counts: boolean): void {
    const now = this.clock();
    const a = this.activity;
    if (a === undefined || a.label !== label || done < a.done) this.activity = { label, done, total, counts, started: now };
    else Object.assign(a, { done, total, counts });
  }

  private line(width: number): string {
    const a = this.activity;
    if (a === undefined) return '';
    const prefix = this.index >= 0 ? `image ${this.index + 1}/${this.count} · ` : '';
    const frac = a.total > 0 ? Math.min(1, Math.max(0, a.done / a.total)) : 0;
    // padded to its widest, so that the bar does not jitter as the numbers grow
    const amount = a.total <= 0 ? '' : a.counts ? `${a.done}/${a.total}`.padStart(2 * String(a.total).length + 1) : `${Math.floor(frac * 100)}%`.padStart(4);
    let tail = '';
    const eta = this.etaSeconds();
    if (eta !== undefined) tail = ` · ETA ${formatSeconds(eta)}`;
    else if (a.total > 0 && a.done > 0 && a.done < a.total && this.clock() - a.started >= 500) {
      const spent = this.clock() - a.started;
      tail = ` · ${formatSeconds(((spent / a.done) * (a.total - a.done)) / 1000)} left`;
    }
    const head = `${prefix}${a.label}`;
    let line = `${head}${amount ? ` ${amount}` : ''}${tail}`;
    if (a.total > 0) {
      const room = width - head.length - amount.length - tail.length - 4; // " [" "] "
      const bar = Math.min(BAR_MAX, room);
      if (bar >= BAR_MIN) {
        const filled = Math.round(frac * bar);
        line = `${head} [${'#'.repeat(filled)}${'-'.repeat(bar - filled)}] ${amount}${tail}`;
      }
    }
    return line.length > width ? line.slice(0, Math.max(0, width)) : line;
  }

  private draw(force: boolean): void {
    if (!this.enabled || this.activity === undefined) return;
    const now = this.clock();
    const label = this.activity.label;
    if (!force && label === this.lastLabel && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.lastLabel = label;
    const columns = this.stream.columns;
    const width = (typeof columns === 'number' && Number.isFinite(columns) && columns > 0 ? Math.floor(columns) : FALLBACK_COLUMNS) - 1;
    this.stream.write(`\r${this.line(width)}\x1b[K`);
    this.drawn = true;
  }
}
