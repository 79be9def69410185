/** The progress line of `sedseg segment`, drawn on a fake terminal with a fake clock. */
import { describe, expect, it } from 'vitest';
import { formatSeconds, ProgressBar, type ProgressStream } from '../src/progress.js';

class FakeTerminal implements ProgressStream {
  writes: string[] = [];
  constructor(
    public isTTY: boolean | undefined,
    public columns: number | undefined,
  ) {}
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  /** The lines as they appear: each write redraws from column 0, erasing to the end. */
  get lines(): string[] {
    return this.writes.map((w) => w.replace(/^\r/, '').replace(/\x1b\[K/g, '')).filter((l) => l !== '');
  }
  get last(): string {
    return this.lines.at(-1) ?? '';
  }
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A run of `images` images of `seconds` each, with decoder progress reports in between. */
function simulate(bar: ProgressBar, c: ReturnType<typeof clock>, images: number, seconds: number): void {
  bar.report({ phase: 'weights', done: 5, total: 10 });
  bar.report({ phase: 'weights', done: 10, total: 10 });
  bar.clear();
  for (let i = 0; i < images; i++) {
    bar.startImage(i, images);
    if (i === 0) {
      bar.report({ phase: 'text', done: 0, total: 847 });
      c.advance(200);
      bar.report({ phase: 'text', done: 847, total: 847 });
    }
    bar.report({ phase: 'image', done: 0, total: 1 });
    c.advance(seconds * 100);
    bar.report({ phase: 'image', done: 1, total: 1 });
    for (let step = 0; step <= 10; step++) {
      bar.report({ phase: 'decoder', done: step * 10, total: 100, detail: step < 4 ? 'cost map' : 'layer 2 of 3' });
      c.advance(seconds * 80);
    }
    bar.finishImage();
    bar.clear();
  }
}

describe('progress line', () => {
  it('is silent when the stream is not a terminal', () => {
    const term = new FakeTerminal(false, 120);
    const c = clock();
    simulate(new ProgressBar(term, c.now), c, 3, 1);
    expect(term.writes).toEqual([]);
  });

  it.each([
    ['0 (a pty without a size, as under `script`)', 0, 79],
    ['undefined', undefined, 79],
    ['20', 20, 19],
    ['200', 200, 199],
    ['1', 1, 0],
  ])('fits a terminal of %s columns', (_what, columns, width) => {
    const term = new FakeTerminal(true, columns);
    const c = clock();
    expect(() => simulate(new ProgressBar(term, c.now), c, 3, 2)).not.toThrow();
    expect(term.writes.length).toBeGreaterThan(5);
    for (const line of term.lines) expect(line.length).toBeLessThanOrEqual(width);
    // every redraw starts at column 0 and erases the rest of the old line
    for (const w of term.writes) expect(w).toMatch(/^\r.*\x1b\[K$/s);
  });

  it('shows the image, the decoder phase, a bar and the percentage on a wide terminal', () => {
    const term = new FakeTerminal(true, 200);
    const c = clock();
    const bar = new ProgressBar(term, c.now);
    bar.startImage(2, 10);
    bar.report({ phase: 'decoder', done: 0, total: 100, detail: 'cost map' });
    c.advance(1000);
    bar.report({ phase: 'decoder', done: 48, total: 100, detail: 'layer 2 of 3' });
    expect(term.last).toMatch(/^image 3\/10 · decoder layer 2 of 3 \[#+-+\] {2}48% · ETA \S+$/);
    const barText = /\[([#-]+)\]/.exec(term.last)![1]!;
    expect(barText.length).toBe(30);
    expect(barText.split('#').length - 1).toBe(Math.round(0.48 * 30));
  });

  it('counts class names and says how long that step has left', () => {
    const term = new FakeTerminal(true, 120);
    const c = clock();
    const bar = new ProgressBar(term, c.now);
    bar.startImage(0, 1);
    bar.report({ phase: 'text', done: 0, total: 800 });
    c.advance(10_000);
    bar.report({ phase: 'text', done: 200, total: 800 });
    expect(term.last).toMatch(/^image 1\/1 · encoding class names \[#+-+\] 200\/800 · 30s left$/);
  });

  it('the ETA covers the remaining images, from the time the finished ones took', () => {
    const term = new FakeTerminal(true, 200);
    const c = clock();
    const bar = new ProgressBar(term, c.now);
    // image 1 of 4: class names (once) 50 s, then 10 s of segmenting
    bar.startImage(0, 4);
    bar.report({ phase: 'text', done: 0, total: 100 });
    c.advance(50_000);
    bar.report({ phase: 'text', done: 100, total: 100 });
    c.advance(10_000);
    bar.finishImage();
    // image 2 starts: three images of ~10 s are left (the class names are not counted again)
    bar.startImage(1, 4);
    expect(bar.etaSeconds()).toBeCloseTo(30, 5);
    c.advance(4000);
    expect(bar.etaSeconds()).toBeCloseTo(26, 5);
    // the decoder's own progress refines the current image's rest: 2 s in, a quarter done → 6 s left
    bar.report({ phase: 'decoder', done: 0, total: 100, detail: 'cost map' });
    c.advance(2000);
    bar.report({ phase: 'decoder', done: 25, total: 100, detail: 'layer 1 of 3' });
    expect(bar.etaSeconds()).toBeCloseTo(6 + 2 * 10, 5);
    expect(term.last).toMatch(/ETA 26s$/);
  });

  it('before any image is done, the decoder progress gives the estimate', () => {
    const term = new FakeTerminal(true, 200);
    const c = clock();
    const bar = new ProgressBar(term, c.now);
    bar.startImage(0, 3);
    expect(bar.etaSeconds()).toBeUndefined();
    c.advance(1000); // image encoder
    bar.report({ phase: 'decoder', done: 0, total: 200, detail: 'cost map' });
    c.advance(500);
    bar.report({ phase: 'decoder', done: 2, total: 200, detail: 'cost map' });
    expect(bar.etaSeconds()).toBeUndefined(); // 1 % done is too little to extrapolate from
    c.advance(8500);
    bar.report({ phase: 'decoder', done: 100, total: 200, detail: 'layer 1 of 3' });
    // this image: 10 s so far + 9 s left = 19 s; two more of those
    expect(bar.etaSeconds()).toBeCloseTo(9 + 2 * 19, 5);
  });

  it('redraws at most ten times a second within one step, at once when the step changes', () => {
    const term = new FakeTerminal(true, 100);
    const c = clock();
    const bar = new ProgressBar(term, c.now);
    bar.startImage(0, 1);
    const before = term.writes.length;
    for (let i = 0; i < 50; i++) {
      bar.report({ phase: 'decoder', done: i, total: 100, detail: 'cost map' });
      c.advance(10);
    }
    expect(term.writes.length - before).toBeLessThanOrEqual(6);
    bar.report({ phase: 'decoder', done: 50, total: 100, detail: 'layer 1 of 3' });
    expect(term.last).toMatch(/decoder layer 1 of 3/);
  });

  it('clear erases the line once and only when something was drawn', () => {
    const term = new FakeTerminal(true, 0);
    const bar = new ProgressBar(term, clock().now);
    bar.clear();
    expect(term.writes).toEqual([]);
    bar.startImage(0, 2);
    bar.clear();
    bar.clear();
    expect(term.writes.at(-1)).toBe('\r\x1b[K');
    expect(term.writes.filter((w) => w === '\r\x1b[K')).toHaveLength(1);
  });

  it('shows a download with its percentage and time left, and only its label when the size is unknown', () => {
    const term = new FakeTerminal(true, 100);
    const c = clock();
    const bar = new ProgressBar(term, c.now);
    bar.download('downloading sed-b', 0, 1000);
    c.advance(1000);
    bar.download('downloading sed-b', 250, 1000);
    expect(term.last).toMatch(/^downloading sed-b \[#+-+\] {2}25% · 3\.0s left$/);
    const unknown = new FakeTerminal(true, 100);
    new ProgressBar(unknown, c.now).download('downloading sed-b', 250, 0);
    expect(unknown.last).toBe('downloading sed-b');
  });

  it('formats durations', () => {
    expect(formatSeconds(0.04)).toBe('0.0s');
    expect(formatSeconds(9.96)).toBe('10.0s');
    expect(formatSeconds(59.6)).toBe('60s');
    expect(formatSeconds(80)).toBe('1m20s');
    expect(formatSeconds(119.7)).toBe('1m59s');
    expect(formatSeconds(7260)).toBe('2h01m');
    expect(formatSeconds(-3)).toBe('0.0s');
  });
});
