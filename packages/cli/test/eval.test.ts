/**
 * `sedseg eval` mechanics on a small custom dataset (4 images from reference/eval, 3 classes:
 * fast): shards run under GNU parallel and merged equal the single run; a run killed after its
 * first image resumes to the same result; other settings, overlapping or mismatched results and
 * bad inputs are refused with messages that name the problem.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTiffLabels, readLabelFile } from '@sedseg/core/node';
import { TINY_EVAL_ARGS } from './eval-golden.js';
import { CLI, REFERENCE_DIR, runCli, runCliAsync } from './run-cli.js';

const TINY = join(REFERENCE_DIR, 'tiny/model.pth');
const ADE = join(REFERENCE_DIR, 'eval/ade150-mini/ADEChallengeData2016');
const STEMS = ['ADE_val_00000001', 'ADE_val_00000005', 'ADE_val_00000006', 'ADE_val_00000002'];

let work: string;
let data: string;
let common: string[];

interface Result {
  settings: Record<string, unknown>;
  shard: { index: number; count: number } | null;
  complete: boolean;
  metrics: Record<string, number>;
  iou: (number | null)[];
  acc: (number | null)[];
  confusion: number[][];
  images: { index: number; image: string; label: string; seconds: number }[];
}

const read = (file: string): Result => JSON.parse(readFileSync(file, 'utf8')) as Result;
/** What must be equal between two results of the same images (time and environment aside). */
const essence = (r: Result) => ({
  settings: r.settings,
  complete: r.complete,
  metrics: r.metrics,
  iou: r.iou,
  acc: r.acc,
  confusion: r.confusion,
  images: r.images.map(({ index, image, label }) => ({ index, image, label })),
});

/** Labels with 3 classes: the ADE ground truth modulo 3, ignore (255) kept. */
async function writeLabels(dir: string, stems: string[], tweak?: (data: Uint8Array) => void): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const stem of stems) {
    const gt = await readLabelFile(join(ADE, 'annotations_detectron2/validation', `${stem}.png`));
    const values = Uint8Array.from(gt.data, (v) => (v === 255 ? 255 : v % 3));
    tweak?.(values);
    await sharp(values, { raw: { width: gt.width, height: gt.height, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(join(dir, `${stem}.png`));
  }
}

function copyImages(dir: string, stems: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const stem of stems) copyFileSync(join(ADE, 'images/validation', `${stem}.jpg`), join(dir, `${stem}.jpg`));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sedseg-eval-'));
  data = join(work, 'data');
  copyImages(join(data, 'images'), STEMS);
  await writeLabels(join(data, 'labels'), STEMS);
  writeFileSync(join(data, 'classes.json'), JSON.stringify(['wall', 'sky', 'floor']));
  common = [
    '--images',
    join(data, 'images'),
    '--labels',
    join(data, 'labels'),
    '--classes-file',
    join(data, 'classes.json'),
    '--ignore-label',
    '255',
    ...TINY_EVAL_ARGS,
    '--threads',
    '1',
    '--cache-dir',
    join(work, 'cache'),
  ];
  const single = await runCliAsync(['eval', ...common, '--out', join(work, 'single.json')]);
  expect(single.code, single.stderr).toBe(0);
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sedseg eval: shards, merge, resume', () => {
  it('the single run covers every pair, with per-class numbers and sorted non-zero counts', () => {
    const r = read(join(work, 'single.json'));
    expect(r.images.map((im) => im.image)).toEqual(STEMS.map((s) => `${s}.jpg`).sort());
    expect(r.complete).toBe(true);
    expect(r.iou).toHaveLength(3);
    const pixels = r.confusion.reduce((s, e) => s + e[2]!, 0);
    expect(pixels).toBe(120 * 160 + 157 * 211 + 180 * 240 + 200 * 300);
    expect(r.confusion.every((e) => e[0]! < 3 && e[1]! <= 3)).toBe(true);
  });

  it('3 shards under GNU parallel, merged, equal the single run exactly', async () => {
    const parallel = spawnSync('sh', ['-c', 'command -v parallel'], { encoding: 'utf8' });
    expect(parallel.status, 'GNU parallel is missing: node tools/ensure-test-tools.mjs installs it (apt-get install parallel)').toBe(0);
    const quoted = [process.execPath, CLI, 'eval', ...common].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const shards = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('parallel', [
        '--will-cite',
        '--halt',
        'now,fail=1',
        '-j',
        '3',
        `${quoted} --shard {}/3 --out ${join(work, 'shard-{}.json')}`,
        ':::',
        '1',
        '2',
        '3',
      ]);
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(shards.code, shards.stderr).toBe(0);
    const parts = [1, 2, 3].map((i) => read(join(work, `shard-${i}.json`)));
    expect(parts.map((p) => p.images.map((im) => im.index))).toEqual([[0, 3], [1], [2]]);
    expect(parts.map((p) => p.complete)).toEqual([false, false, false]);
    const merged = runCli(['eval', 'merge', ...[1, 2, 3].map((i) => join(work, `shard-${i}.json`)), '--out', join(work, 'merged.json')]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(essence(read(join(work, 'merged.json')))).toEqual(essence(read(join(work, 'single.json'))));

    // merge refusals: the same shard twice, other settings, not a result
    const twice = runCli(['eval', 'merge', join(work, 'shard-1.json'), join(work, 'shard-1.json'), '--out', join(work, 'bad.json')]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/both evaluated image 0 \(ADE_val_00000001\.jpg\): overlapping results/);
    const other = read(join(work, 'shard-2.json'));
    writeFileSync(join(work, 'other.json'), JSON.stringify({ ...other, settings: { ...other.settings, resolution: 384, topk: 8 } }));
    const differ = runCli(['eval', 'merge', join(work, 'shard-1.json'), join(work, 'other.json'), '--out', join(work, 'bad.json')]);
    expect(differ.code).toBe(1);
    expect(differ.stderr).toContain('resolution: 320 vs 384; topk: null vs 8');
    const notResult = runCli(['eval', 'merge', join(work, 'shard-1.json'), join(data, 'classes.json'), '--out', join(work, 'bad.json')]);
    expect(notResult.code).toBe(1);
    expect(notResult.stderr).toMatch(/classes\.json: not a sedseg eval result/);
    expect(existsSync(join(work, 'bad.json'))).toBe(false);
  }, 60_000);

  it('a run killed after its first image resumes where it stopped, to the same result', async () => {
    const out = join(work, 'resumed.json');
    const records = join(`${out}.state`, 'images');
    const child = spawn(process.execPath, [CLI, 'eval', ...common, '--out', out], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(records) && readdirSync(records).some((n) => n.endsWith('.json'))) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        } else if (child.exitCode !== null) {
          clearInterval(poll);
          reject(new Error('the run ended before its first image record appeared'));
        }
      }, 5);
    });
    await exited;
    const left = readdirSync(records).filter((n) => /^\d+\.json$/.test(n));
    expect(left.length).toBeGreaterThanOrEqual(1);
    expect(left.length).toBeLessThan(STEMS.length); // killed mid-way
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(records).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const resumed = await runCliAsync(['eval', ...common, '--out', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming from ${out}.state: ${left.length} of ${STEMS.length} image(s) already evaluated`);
    expect(essence(read(out))).toEqual(essence(read(join(work, 'single.json'))));

    // the same state with other settings is refused, naming them
    const changed = runCli(['eval', ...common, '--resolution', '256', '--topk', '2', '--out', out]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(
      /the evaluation state in .*resumed\.json\.state was written with other settings \(state vs this run: settings\.resolution: 320 vs 256; settings\.topk: null vs 2\)/,
    );
  }, 60_000);
});

describe('label files written by libvips / libtiff', () => {
  it('8-bit TIFF labels read exactly, uncompressed, LZW, Deflate, PackBits, with and without predictor', async () => {
    const [w, h] = [97, 61];
    const values = Uint8Array.from({ length: w * h }, (_, i) => ((i * 7919) % 251) ^ (i >> 5));
    const variants = [
      ['none', 'none'],
      ['lzw', 'none'],
      ['lzw', 'horizontal'],
      ['deflate', 'horizontal'],
      ['packbits', 'none'],
    ] as const;
    for (const [compression, predictor] of variants) {
      const bytes = await sharp(values, { raw: { width: w, height: h, channels: 1 } })
        .toColourspace('b-w')
        .tiff({ compression, predictor })
        .toBuffer();
      const map = decodeTiffLabels(new Uint8Array(bytes), `${compression}.tif`);
      expect([map.width, map.height]).toEqual([w, h]);
      expect(Buffer.from(map.data).equals(Buffer.from(values)), `${compression}, predictor ${predictor}`).toBe(true);
    }
  });
});

describe('sedseg eval: bad inputs', () => {
  it('a label value that is neither a class nor the ignore label names the file and the value', async () => {
    const bad = join(work, 'bad-labels');
    await writeLabels(bad, [STEMS[0]!], (v) => {
      v[5 * 160 + 7] = 7;
    });
    const images = join(work, 'bad-images');
    copyImages(images, [STEMS[0]!]);
    const args = common.map((a) => (a === join(data, 'labels') ? bad : a === join(data, 'images') ? images : a));
    const r = await runCliAsync(['eval', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(bad, `${STEMS[0]}.png`)}: label value 7 at pixel (x 7, y 5) is neither a class (0…2) nor the ignore label 255`);
  }, 30_000);

  it('missing dataset folders name the folder and where the dataset is looked for', () => {
    const r = runCli(['eval', '--dataset', 'ADE-150', '--root', join(work, 'nowhere'), '--weights', TINY]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`label folder ${join(work, 'nowhere', 'ADEChallengeData2016/annotations_detectron2/validation')}: cannot list (no such folder)`);
    expect(r.stderr).toContain('under the datasets root (--root, else $DETECTRON2_DATASETS, else ./datasets)');
    const env = runCli(['eval', '--dataset', 'pc459', '--weights', TINY], { cwd: work });
    expect(env.stderr).toContain(`label folder datasets/VOCdevkit/VOC2010/annotations_detectron2/pc459_val: cannot list`);
  });

  it('pairs that do not match by name are refused; uneven folders pair by the names in both', () => {
    const images = join(work, 'pair-images');
    const labels = join(work, 'pair-labels');
    mkdirSync(images);
    mkdirSync(labels);
    for (const n of ['a.jpg', 'b.jpg', 'notes.txt']) writeFileSync(join(images, n), '');
    for (const n of ['a.png', 'c.png']) writeFileSync(join(labels, n), '');
    const args = ['eval', '--images', images, '--labels', labels, '--classes-file', join(data, 'classes.json'), '--ignore-label', '255', '--weights', TINY];
    const r = runCli(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('images and labels do not pair: in name order, image b.jpg meets label c.png');
    // uneven counts: the names in both folders, as detectron2 (then a.jpg, an empty file, fails to decode)
    writeFileSync(join(labels, 'd.png'), '');
    const uneven = runCli(args);
    expect(uneven.stderr).toContain('1 pairs: the names found in both folders (1 image(s) without a label and 2 label(s) without an image left out');
    expect(uneven.stderr).toContain(`${join(images, 'a.jpg')}: not a readable image`);
    rmSync(join(labels, 'a.png'));
    rmSync(join(labels, 'd.png'));
    const none = runCli(args);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no image of ${images} has a label in ${labels}`);
  });

  it('usage errors: shard, dataset name, incomplete custom dataset', () => {
    expect(runCli(['eval', '--dataset', 'ade150', '--shard', '4/3']).stderr).toContain('--shard must be i/n with 1 ≤ i ≤ n');
    expect(runCli(['eval', '--dataset', 'ade151']).stderr).toContain('unknown dataset "ade151" (datasets: ade150, ade847, pc59, pc459, voc20, voc20b)');
    const r = runCli(['eval', '--images', 'x', '--labels', 'y']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing --classes-file, --ignore-label');
  });
});
