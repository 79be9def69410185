/**
 * `--weights` (or a command's WEIGHTS argument) → a checkpoint file: a local path, a released
 * model by name (`sed-b`, `sed-l`) or an http(s) URL, the latter two downloaded once into
 * `<cache>/models/` (`resolveWeights` in @sedseg/core/node) with progress on the terminal. The
 * cache root is `defaultCacheDir()` (`SEDSEG_CACHE_DIR` moves it).
 */
import { entryExists, findKnownModel, resolveWeights, type DownloadEvent } from '@sedseg/core/node';
import { defaultCacheDir } from './cache-dir.js';
import type { CommandIO } from './command.js';
import type { ProgressBar } from './progress.js';
import { precheckWeightsFile } from './weights-precheck.js';

/** The model `segment` uses when no --weights is given. */
export const DEFAULT_MODEL = 'sed-b';

export interface WeightsArgOptions {
  /** Redraws download progress on a terminal. */
  bar?: ProgressBar;
  /** Machine-readable output: notices become JSON lines on stdout instead of text on stderr. */
  json?: boolean;
}

export interface ResolvedWeightsArg {
  /** The checkpoint file to load. */
  path: string;
  /** What the user asked for (the spec, or the default model's name). */
  spec: string;
  /** Known model name, when one was asked for. */
  name?: string;
  source: 'local' | 'cache' | 'download';
}

const MB = 1024 * 1024;
/** A spec with a scheme (resolveWeights accepts http and https, and names the others). */
const URL_SPEC = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Resolves a weights spec, downloading it if needed; `undefined` means the default model (said in
 * one line). A local file is checked to be a regular file that looks like a checkpoint.
 */
export async function resolveWeightsArg(
  spec: string | undefined,
  command: string,
  io: CommandIO,
  options: WeightsArgOptions = {},
): Promise<ResolvedWeightsArg> {
  const notice = (event: string, text: string, fields: Record<string, unknown> = {}): void => {
    options.bar?.clear();
    if (options.json) io.out(JSON.stringify({ event, message: text, ...fields }));
    else io.err(`sedseg ${command}: ${text}`);
  };
  const given = spec ?? DEFAULT_MODEL;
  if (spec === undefined) {
    const model = findKnownModel(DEFAULT_MODEL)!;
    notice('weights', `no --weights given: using ${model.name}, the authors' ${model.label} checkpoint (${model.backbone})`, { weights: model.name });
  }
  let announced = false;
  let started = 0;
  const onProgress = (e: DownloadEvent): void => {
    if (e.phase === 'wait') {
      notice('download-wait', `waiting for another sedseg process that is downloading ${given} (${e.lockPath})`);
      return;
    }
    if (!announced) {
      announced = true;
      started = performance.now();
      const size = e.total !== undefined ? ` (${(e.total / MB).toFixed(0)} MB)` : '';
      notice('download', `downloading ${given}${size} from ${e.url} into the cache (${defaultCacheDir()}); resumable if interrupted`, {
        url: e.url,
        bytes: e.total ?? null,
      });
    }
    options.bar?.download(`downloading ${given}`, e.done, e.total ?? 0);
  };
  // An existing local entry is checked here (a FIFO must not be opened, a folder is named as one);
  // names, URLs and missing paths go to resolveWeights (which also tells a mistyped model name).
  if (!findKnownModel(given) && !URL_SPEC.test(given) && (await entryExists(given))) {
    await precheckWeightsFile(given);
    return { path: given, spec: given, source: 'local' };
  }
  const resolved = await resolveWeights(given, { cacheDir: defaultCacheDir(), onProgress });
  options.bar?.clear();
  if (resolved.source === 'download' && announced) {
    notice('downloaded', `downloaded ${given} in ${((performance.now() - started) / 1000).toFixed(0)} s: ${resolved.path}`, { path: resolved.path });
  }
  await precheckWeightsFile(resolved.path);
  return { path: resolved.path, spec: given, source: resolved.source, ...(resolved.name !== undefined ? { name: resolved.name } : {}) };
}
