/**
 * `sedseg train` on the tiny model and a synthetic dataset (64×64 crops, batch 1: well under a
 * second a step): the run folder and its log, the model working with `segment`, a run stopped
 * after its checkpoint and resumed ending bit for bit where an uninterrupted one does, and the
 * errors that name what is wrong. The commands run in this process (no start-up per call).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWeightsFile, writeSyntheticDataset } from '@sedseg/core/node';
import type { CommandIO } from '../src/command.js';
import { segmentCommand } from '../src/commands/segment.js';
import { trainCommand } from '../src/commands/train.js';
import { sha256File } from '../src/eval-settings.js';
import { openTrainData } from '../src/train-data.js';
import { readTrainState, recoverCheckpoint } from '../src/train-run-folder.js';
import { REFERENCE_DIR, runCli } from './run-cli.js';

const TINY = join(REFERENCE_DIR, 'tiny/model.pth');
const CLASSES = ['grass', 'red circle', 'blue square', 'yellow triangle', 'white stripe'];

let work: string;
let data: { imageDir: string; labelDir: string };
let val: { imageDir: string; labelDir: string };
let classesFile: string;

interface Captured {
  code: number;
  out: string[];
  err: string[];
}

async function train(args: string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIO = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await trainCommand(args, io);
  return { code, out, err };
}

/** The training data options, with the class file and extensions. */
const dataArgs = (d = data, classes = classesFile): string[] => [
  '--images',
  d.imageDir,
  '--labels',
  d.labelDir,
  '--image-ext',
  'png',
  '--classes-file',
  classes,
];
const recipe = ['--weights', TINY, '--iters', '4', '--batch', '1', '--crop', '64', '--checkpoint-period', '2', '--no-cache'];

const logLines = (run: string): Record<string, unknown>[] =>
  readFileSync(join(run, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sedseg-train-'));
  data = await writeSyntheticDataset(join(work, 'data'), 4, 1);
  val = await writeSyntheticDataset(join(work, 'val'), 2, 2);
  classesFile = join(work, 'classes.json');
  writeFileSync(classesFile, JSON.stringify(CLASSES));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('sedseg train', () => {
  it('trains and writes a run folder whose model segment uses as it is', async () => {
    const run = join(work, 'run');
    const r = await train([...recipe, ...dataArgs(), '--out', run, '--val-images', val.imageDir, '--val-labels', val.labelDir, '--keep-checkpoints', '--json']);
    expect(r.code).toBe(0);
    for (const f of ['model.safetensors', 'model.config.json', 'optimizer.safetensors', 'state.json', 'log.jsonl']) expect(existsSync(join(run, f))).toBe(true);
    expect(existsSync(join(run, 'model.next.safetensors'))).toBe(false);
    for (const f of ['model_0000002.safetensors', 'model_0000002.config.json', 'model_0000004.safetensors']) expect(existsSync(join(run, f))).toBe(true);

    const log = logLines(run);
    const steps = log.filter((l) => l.type === 'train');
    expect(steps.map((l) => l.iter)).toEqual([0, 1, 2, 3]);
    for (const l of steps) {
      for (const k of ['loss', 'loss_0', 'loss_1', 'loss_2', 'loss_3', 'lr', 'grad_norm', 'clip_coef', 'images_per_s', 'seconds'])
        expect(typeof l[k]).toBe('number');
      const parts = [0, 1, 2, 3].map((i) => l[`loss_${i}`] as number);
      expect(l.loss as number).toBeCloseTo(
        parts.reduce((a, b) => a + b),
        5,
      );
    }
    expect(steps[0]!.lr).toBeCloseTo(2e-4, 12); // cosine over --iters: lr(0) = base, lr(2) = base / 2
    expect(steps[2]!.lr).toBeCloseTo(1e-4, 12);
    const evals = log.filter((l) => l.type === 'eval');
    expect(evals.map((l) => l.iter)).toEqual([1, 3]); // every checkpoint period (the default eval period) and at the end
    expect(typeof evals[0]!.mIoU).toBe('number');
    expect(evals[0]!.iou as unknown[]).toHaveLength(CLASSES.length);
    expect(r.err.join('\n')).toMatch(/eval after iteration 4: mIoU [\d.]+ · fwIoU/);
    expect(r.err.join('\n')).toMatch(/iter 4\/4: loss [\d.]+ · lr [\d.e+-]+ · [\d.]+ img\/s · ETA/);

    const summary = JSON.parse(r.out.at(-1)!) as { iterations: { to: number }; stopped: boolean; eval: { mIoU: number } };
    expect(summary.iterations.to).toBe(4);
    expect(summary.stopped).toBe(false);
    expect(typeof summary.eval.mIoU).toBe('number');

    const state = await readTrainState(run);
    expect(state.iteration).toBe(4);
    expect(state.settings.weights.sha256).toBe(await sha256File(TINY));
    expect(state.settings.classes).toEqual(CLASSES);
    expect(state.settings.schedule.max_iter).toBe(4);
    expect(state.settings.optimizer).toMatchObject({ base_lr: 2e-4, clip_multiplier: 0.01, weight_decay: 1e-4, clip_value: 0.01 });
    expect(state.settings.decoder_pooling).toBe(2);
    expect(new Set(Object.values(state.adam_steps))).toEqual(new Set([4]));

    // every key of the init checkpoint: trained ones changed (float32), frozen ones copied bit for bit
    const init = await openWeightsFile(TINY);
    const trained = await openWeightsFile(join(run, 'model.safetensors'));
    try {
      expect(trained.keys().slice().sort()).toEqual(init.keys().slice().sort());
      const bytes = async (s: typeof init, k: string): Promise<string> => {
        const d = (await s.read(k)).data;
        return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('base64');
      };
      const key = (suffix: string): string => trained.keys().find((k) => k.endsWith(suffix))!;
      for (const frozen of [key('clip_model.token_embedding.weight'), key('clip_model.logit_scale')]) {
        expect(await bytes(trained, frozen)).toBe(await bytes(init, frozen));
        expect(Object.keys(state.adam_steps)).not.toContain(frozen);
      }
      const decoderKey = key('transformer.head.weight');
      expect(await bytes(trained, decoderKey)).not.toBe(await bytes(init, decoderKey));
      expect(Object.keys(state.adam_steps)).toContain(decoderKey);
    } finally {
      await init.close();
      await trained.close();
    }

    const segOut = join(work, 'seg');
    const seg = await segmentCommand(
      [
        join(val.imageDir, '000000.png'),
        '--weights',
        join(run, 'model.safetensors'),
        '--classes-file',
        classesFile,
        '--out',
        segOut,
        '--resolution',
        '64',
        '--no-cache',
      ],
      { out: () => undefined, err: () => undefined },
    );
    expect(seg).toBe(0);
    expect(existsSync(join(segOut, '000000.labels.png'))).toBe(true);
  });

  it('a run stopped after a checkpoint and resumed ends bit for bit as the uninterrupted run', async () => {
    const full = join(work, 'run');
    const run = join(work, 'run-resumed');
    const stopped = await train([...recipe, ...dataArgs(), '--out', run, '--stop-after', '3']);
    expect(stopped.err.join('\n')).toMatch(/stopped after iteration 3/);
    expect((await readTrainState(run)).iteration).toBe(2); // the checkpoint of iteration 2; iteration 3 is lost, as in a kill
    expect(logLines(run).map((l) => l.iter)).toEqual([0, 1, 2]);
    // an unfinished checkpoint commit of another iteration (killed before state.json) is dropped
    cpSync(join(full, 'model.safetensors'), join(run, 'model.next.safetensors'));

    const resumed = await train(['--out', run, '--resume']); // every setting from state.json
    expect(resumed.code).toBe(0);
    expect(resumed.err.join('\n')).toMatch(/resuming the run .* at iteration 3 of 4/);
    expect(existsSync(join(run, 'model.next.safetensors'))).toBe(false);
    for (const f of ['model.safetensors', 'optimizer.safetensors']) expect(readFileSync(join(run, f)).equals(readFileSync(join(full, f)))).toBe(true);
    const losses = (r: string) =>
      logLines(r)
        .filter((l) => l.type === 'train')
        .map((l) => [l.iter, l.loss, l.grad_norm]);
    expect(losses(run)).toEqual(losses(full));
  });

  it('a checkpoint interrupted after its state.json is completed on resume', async () => {
    const run = join(work, 'run-commit');
    cpSync(join(work, 'run'), run, { recursive: true });
    renameSync(join(run, 'model.safetensors'), join(run, 'model.next.safetensors'));
    await recoverCheckpoint(run, await readTrainState(run));
    expect(existsSync(join(run, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(run, 'model.next.safetensors'))).toBe(false);
    renameSync(join(run, 'optimizer.safetensors'), join(run, 'gone.safetensors'));
    await expect(recoverCheckpoint(run, await readTrainState(run))).rejects.toThrow(/optimizer\.safetensors is missing/);
  });

  it('a resume with other settings is refused, naming them; a used folder needs --resume or --overwrite', async () => {
    const run = join(work, 'run');
    await expect(train(['--out', run, '--resume', '--iters', '8', '--lr', '1e-4'])).rejects.toThrow(
      /other settings \(iters: 4 vs 8; optimizer\.base_lr: 0\.0002 vs 0\.0001; schedule\.max_iter: 4 vs 8\)/,
    );
    await expect(train([...recipe, ...dataArgs(), '--out', run])).rejects.toThrow(/is not empty: use --resume .* or --overwrite/);
    await expect(train([...recipe, ...dataArgs(), '--out', join(work, 'nothing-here'), '--resume'])).rejects.toThrow(
      /state\.json does not exist: nothing to resume/,
    );
    // --overwrite empties a run folder (only one: a file that is not a run's stops it)
    const again = join(work, 'run-again');
    cpSync(run, again, { recursive: true });
    writeFileSync(join(again, 'notes.txt'), 'mine');
    await expect(train([...recipe, ...dataArgs(), '--out', again, '--overwrite'])).rejects.toThrow(/notes\.txt is not a run file/);
    rmSync(join(again, 'notes.txt'));
    await train([...recipe, ...dataArgs(), '--out', again, '--overwrite', '--stop-after', '1']);
    expect(existsSync(join(again, 'state.json'))).toBe(false); // stopped before its first checkpoint
    expect(logLines(again).map((l) => l.iter)).toEqual([0]);
    const done = await train(['--out', run, '--resume']);
    expect(done.err.join('\n')).toMatch(/complete \(4 of 4 iterations\): nothing to do/);
  });

  describe('errors', () => {
    const out = () => join(work, `bad-${Math.random().toString(36).slice(2)}`);

    it('a label map of another size than its image', async () => {
      const d = { imageDir: join(work, 'sized', 'images'), labelDir: join(work, 'sized', 'labels') };
      cpSync(data.imageDir, d.imageDir, { recursive: true });
      cpSync(data.labelDir, d.labelDir, { recursive: true });
      await sharp(new Uint8Array(32 * 48), { raw: { width: 32, height: 48, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(join(d.labelDir, '000002.png'));
      await expect(train([...recipe, ...dataArgs(d), '--out', out()])).rejects.toThrow(/000002\.png is 32×48 but its image .*000002\.png is 64×64/);
    });

    it('a label value that is neither a class nor the ignore label', async () => {
      await expect(train([...recipe, ...dataArgs(), '--ignore-label', '254', '--out', out()])).rejects.toThrow(
        /000000\.png: label value 255 at \(x \d+, y \d+\) is not a class: the class list has T = 5 classes .* the ignore label is 254/,
      );
    });

    it('a class list that does not match the label values', async () => {
      const short = join(work, 'three.json');
      writeFileSync(short, JSON.stringify(CLASSES.slice(0, 3)));
      await expect(train([...recipe, ...dataArgs(data, short), '--out', out()])).rejects.toThrow(/label value [34] at .* T = 3 classes/);
      // more classes than the labels use: a warning naming them (here followed by a failure to stop early)
      const long = join(work, 'seven.json');
      writeFileSync(long, JSON.stringify([...CLASSES, 'cat', 'dog']));
      const err: string[] = [];
      await expect(
        trainCommand([...recipe.map((a) => (a === TINY ? join(work, 'missing.pth') : a)), ...dataArgs(data, long), '--out', out()], {
          out: () => undefined,
          err: (l) => err.push(l),
        }),
      ).rejects.toThrow(/missing\.pth/);
      expect(err.join('\n')).toMatch(/no label uses 2 of the 7 classes \(cat; dog\)/);
    });

    it('an empty dataset', async () => {
      const d = { imageDir: join(work, 'empty', 'images'), labelDir: join(work, 'empty', 'labels') };
      mkdirSync(d.imageDir, { recursive: true });
      mkdirSync(d.labelDir, { recursive: true });
      await expect(train([...recipe, ...dataArgs(d), '--out', out()])).rejects.toThrow(/empty.*labels: no \*\.png file|is empty/);
    });

    it('missing, unknown and bad options', async () => {
      await expect(train([...recipe, ...dataArgs(), '--out', out(), '--bogus'])).rejects.toThrow(/Unknown option '--bogus'/);
      await expect(train([...recipe, ...dataArgs()])).rejects.toThrow(/missing --out/);
      await expect(train([...recipe, '--images', data.imageDir, '--labels', data.labelDir, '--out', out()])).rejects.toThrow(/missing --classes-file/);
      await expect(train([...dataArgs(), '--out', out()])).rejects.toThrow(/missing --weights/);
      await expect(train([...recipe, ...dataArgs(), '--out', out(), '--crop', '100'])).rejects.toThrow(/--crop must be a multiple of 32 .*got 100/);
      await expect(train([...recipe, ...dataArgs(), '--out', out(), '--crop', '32'])).rejects.toThrow(/--crop must be at least 64/);
      await expect(train([...recipe, ...dataArgs(), '--out', out(), '--val-images', val.imageDir])).rejects.toThrow(
        /--val-images and --val-labels go together/,
      );
      await expect(train([...recipe, ...dataArgs(), '--out', out(), '--lr', '0'])).rejects.toThrow(/--lr must be a positive number/);
      await expect(train([...recipe, ...dataArgs(), '--dataset', 'ade150', '--out', out()])).rejects.toThrow(/give --dataset or --images\/--labels, not both/);
    });

    it('opens a named split under --root with its layout, vocabulary and ignore label', async () => {
      const root = join(work, 'datasets');
      const images = join(root, 'coco-stuff/images/train2017');
      const labels = join(root, 'coco-stuff/annotations_detectron2/train2017');
      mkdirSync(images, { recursive: true });
      mkdirSync(labels, { recursive: true });
      for (const name of ['000000000009', '000000000025']) {
        await sharp(join(data.imageDir, '000000.png'))
          .jpeg()
          .toFile(join(images, `${name}.jpg`));
        cpSync(join(data.labelDir, '000000.png'), join(labels, `${name}.png`));
      }
      const opened = await openTrainData({ dataset: 'coco-stuff', root, imageExt: 'png', labelExt: 'png', ignoreLabel: 0 });
      expect(opened.imageDir).toBe(images);
      expect(opened.folder.size).toBe(2);
      expect(opened.folder.classNames).toHaveLength(171);
      expect(opened.folder.ignoreLabel).toBe(255);
      expect(opened.settings).toMatchObject({ name: 'coco-stuff', samples: 2, image_ext: 'jpg', label_ext: 'png', ignore_label: 255 });
      await expect(openTrainData({ dataset: 'ade150', root, imageExt: 'jpg', labelExt: 'png', ignoreLabel: 255 })).rejects.toThrow(/ADEChallengeData2016/);
    });

    it('is a command of the CLI (usage errors exit 2)', () => {
      const help = runCli(['--help']);
      expect(help.stdout).toMatch(/\n {2}train {8}fine-tune/);
      expect(help.stdout).toMatch(/convert a checkpoint to safetensors or \.pth/);
      const bad = runCli(['train', '--out', out(), '--crop', '100', ...dataArgs(), '--weights', TINY]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/sedseg train: --crop must be a multiple of 32/);
    });
  });
});
