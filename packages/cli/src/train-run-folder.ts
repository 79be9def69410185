/**
 * The files of a training run folder and how they are written so that a kill at any moment
 * leaves a checkpoint that resumes:
 *
 *     model.safetensors        every key, official names (trained values + frozen ones)
 *     model.config.json        its architecture (as `sedseg convert` writes it)
 *     optimizer.safetensors    m/<key>, v/<key> (AdamW moments, float32)
 *     state.json               iteration, settings, options, per-tensor AdamW steps
 *     log.jsonl                one line per iteration and per evaluation
 *
 * A checkpoint is a small journal: the new model and optimizer go to `*.next.safetensors`
 * (each written through a temporary file), then state.json with the new iteration (the commit
 * point), then the `.next` files are renamed into place. Resuming first finishes a commit that
 * was interrupted (a `.next` file of the state's iteration is moved into place, one of another
 * iteration is an unfinished checkpoint and is removed), then checks that both files carry the
 * state's iteration in their metadata.
 */
import { readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type HostTensor, openSafetensors, SedsegError, type TensorInfo, type WeightStore } from '@sedseg/core';
import { entryExists, fileSource, writeFileAtomic, writeSafetensorsFile } from '@sedseg/core/node';
import type { TrainSettings } from './train-settings.js';

export const RUN_FILES = Object.freeze({
  model: 'model.safetensors',
  modelConfig: 'model.config.json',
  optimizer: 'optimizer.safetensors',
  state: 'state.json',
  log: 'log.jsonl',
});

const ITERATION_KEY = 'sedseg.iteration';
const NEXT = (file: string): string => file.replace(/\.safetensors$/, '.next.safetensors');

/** Files a run writes (a folder holding only these may be replaced with --overwrite). */
const RUN_FILE_PATTERN = /^(model(_\d+)?(\.next)?\.safetensors|model(_\d+)?\.config\.json|optimizer(\.next)?\.safetensors|state\.json|log\.jsonl|\..*\.tmp)$/;

export interface TrainState {
  format: string;
  /** Iterations done = the next iteration to run. */
  iteration: number;
  settings: TrainSettings;
  /** The command-line options of the run (paths absolute): a resume takes those it is not given. */
  options: Record<string, string | boolean>;
  /** AdamW step count per trained tensor. */
  adam_steps: Record<string, number>;
  /** Not compared on resume. */
  info: Record<string, unknown>;
}

/**
 * A new run needs an empty (or missing) folder; with `overwrite` a folder that holds only run
 * files is emptied of them (anything else in it is refused: it is not ours to delete). `dryRun`
 * only checks.
 */
export async function prepareNewRunFolder(dir: string, overwrite: boolean, options: { dryRun?: boolean } = {}): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new SedsegError('E_IO', `${dir}: cannot read the run folder (${(e as Error).message})`, { cause: e });
  }
  if (names.length === 0) return;
  if (!overwrite) throw new SedsegError('E_IO', `${dir} is not empty: use --resume to continue the run in it or --overwrite to start again`);
  const foreign = names.filter((n) => !RUN_FILE_PATTERN.test(n));
  if (foreign.length > 0) {
    throw new SedsegError(
      'E_IO',
      `${dir}: --overwrite only replaces a run folder, and ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''} is not a run file`,
    );
  }
  if (options.dryRun) return;
  // state.json first: a folder left half-emptied is not taken for a run
  for (const n of [RUN_FILES.state, ...names.filter((x) => x !== RUN_FILES.state)]) await rm(join(dir, n), { force: true });
}

export async function readTrainState(dir: string): Promise<TrainState> {
  const path = join(dir, RUN_FILES.state);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SedsegError(
      'E_IO',
      code === 'ENOENT' ? `${path} does not exist: nothing to resume (start the run without --resume)` : `${path}: cannot read (${(e as Error).message})`,
      { cause: e },
    );
  }
  let state: TrainState;
  try {
    state = JSON.parse(text) as TrainState;
  } catch (e) {
    throw new SedsegError('E_FORMAT', `${path}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (
    typeof state !== 'object' ||
    state === null ||
    !Number.isSafeInteger(state.iteration) ||
    typeof state.settings !== 'object' ||
    typeof state.options !== 'object'
  ) {
    throw new SedsegError('E_FORMAT', `${path}: not a sedseg training state`);
  }
  return state;
}

async function fileIteration(path: string): Promise<number | undefined> {
  const store = await openSafetensors(await fileSource(path));
  try {
    const v = store.metadata[ITERATION_KEY];
    return v === undefined ? undefined : Number(v);
  } finally {
    await store.close();
  }
}

/** Finishes an interrupted checkpoint commit and checks that the files belong to the state. */
export async function recoverCheckpoint(dir: string, state: TrainState): Promise<void> {
  for (const file of [RUN_FILES.model, RUN_FILES.optimizer]) {
    const next = join(dir, NEXT(file));
    if (await entryExists(next)) {
      if ((await fileIteration(next)) === state.iteration) await rename(next, join(dir, file));
      else await unlink(next);
    }
    const path = join(dir, file);
    if (!(await entryExists(path))) throw new SedsegError('E_IO', `${path} is missing: the run folder cannot be resumed`);
    const at = await fileIteration(path);
    if (at !== state.iteration) {
      throw new SedsegError(
        'E_CORRUPT',
        `${path} is the checkpoint of iteration ${at ?? '(unknown)'} but ${RUN_FILES.state} is at iteration ${state.iteration}`,
      );
    }
  }
}

export interface CheckpointContent {
  /** The whole model (trainedWeightStore). */
  model: WeightStore;
  /** Safetensors metadata of the model file (architecture, source). */
  modelMetadata: Record<string, string>;
  moments: ReadonlyMap<string, { m: Float32Array; v: Float32Array; step: number }>;
  shapes: ReadonlyMap<string, readonly number[]>;
  state: TrainState;
}

/** Writes a checkpoint of `content.state.iteration` (see the module comment for the order). */
export async function writeCheckpoint(dir: string, content: CheckpointContent): Promise<void> {
  const iteration = String(content.state.iteration);
  const { model } = content;
  const modelInfos: TensorInfo[] = model.keys().map((k) => model.info(k)!);
  async function* modelTensors(): AsyncGenerator<readonly [string, HostTensor]> {
    for (const { name } of modelInfos) yield [name, await model.read(name)];
  }
  await writeSafetensorsFile(join(dir, NEXT(RUN_FILES.model)), modelTensors(), {
    infos: modelInfos,
    metadata: { ...content.modelMetadata, [ITERATION_KEY]: iteration },
    overwrite: true,
  });
  const optInfos: TensorInfo[] = [];
  const optEntries: [string, HostTensor][] = [];
  for (const [key, s] of content.moments) {
    const shape = content.shapes.get(key)!;
    for (const [part, data] of [
      ['m', s.m],
      ['v', s.v],
    ] as const) {
      optInfos.push({ name: `${part}/${key}`, dtype: 'float32', shape });
      optEntries.push([`${part}/${key}`, { dtype: 'float32', shape, data }]);
    }
  }
  await writeSafetensorsFile(join(dir, NEXT(RUN_FILES.optimizer)), optEntries, {
    infos: optInfos,
    metadata: { format: 'sedseg-adamw', [ITERATION_KEY]: iteration },
    overwrite: true,
  });
  await writeFileAtomic(join(dir, RUN_FILES.state), `${JSON.stringify(content.state, null, 1)}\n`, { overwrite: true });
  for (const file of [RUN_FILES.model, RUN_FILES.optimizer]) await rename(join(dir, NEXT(file)), join(dir, file));
}

/** The AdamW moments of a checkpoint, with the state's step counts. */
export async function readMoments(
  dir: string,
  keys: readonly string[],
  steps: Readonly<Record<string, number>>,
): Promise<Map<string, { m: Float32Array; v: Float32Array; step: number }>> {
  const path = join(dir, RUN_FILES.optimizer);
  const store = await openSafetensors(await fileSource(path));
  try {
    const out = new Map<string, { m: Float32Array; v: Float32Array; step: number }>();
    for (const key of keys) {
      const step = steps[key];
      if (!Number.isSafeInteger(step)) throw new SedsegError('E_CORRUPT', `${RUN_FILES.state}: no AdamW step count for "${key}"`);
      const read = async (part: string): Promise<Float32Array> => {
        const t = await store.read(`${part}/${key}`);
        if (t.dtype !== 'float32') throw new SedsegError('E_CORRUPT', `${path}: "${part}/${key}" is ${t.dtype}, not float32`);
        return new Float32Array(t.data as Float32Array);
      };
      out.set(key, { m: await read('m'), v: await read('v'), step: step! });
    }
    return out;
  } finally {
    await store.close();
  }
}
