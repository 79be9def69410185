/**
 * `--weights` as a user types it → a checkpoint file on disk.
 *
 * Spec forms, tried in this order:
 *  1. `scheme://…`: an http(s) URL, downloaded once into `<cacheDir>/models/url-<hash>/`;
 *     other schemes are refused. A Google Drive viewer link (as in the authors' README) is
 *     turned into its download URL first, and when that is a known model's release the
 *     model's cache entry is shared.
 *  2. a known model name (`sed-b`, `SED-L`; see known-models.ts), downloaded once into
 *     `<cacheDir>/models/<name>/model_final.pth`. A name always means the model: a local file
 *     called `sed-b` is given as `./sed-b`.
 *  3. anything else is a local path, returned unchanged once it is found to be a file. A local
 *     path is never written to.
 *
 * A cached file is used without any network access. The cache entry of a name does not
 * depend on the URL it came from (`urls` / `SEDSEG_MODEL_URL_<NAME>` pick a mirror, not another
 * model). See download-file.ts for resuming, locking and verification.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SedsegError } from '../errors.js';
import { downloadFile, type DownloadEvent, type DownloadFileOptions } from './download-file.js';
import { normalizeDriveUrl } from './google-drive-links.js';
import { findKnownModel, KNOWN_MODELS, knownModelNames, knownModelUrl, type KnownModel } from './known-models.js';

/** Network tuning is `downloadFile`'s (signal, retries, timeouts, redirects, progress interval). */
export interface ResolveWeightsOptions
  extends Pick<DownloadFileOptions, 'signal' | 'retries' | 'retryDelayMs' | 'idleTimeoutMs' | 'maxRedirects' | 'progressIntervalMs'> {
  /** Cache root (the CLI's `defaultCacheDir()`); downloads go to `<cacheDir>/models/`. Required for names and URLs. */
  cacheDir?: string;
  /** Download progress, and `phase: 'wait'` while another process downloads the same file. */
  onProgress?: (event: DownloadEvent) => void;
  /**
   * Download URL per known model name (case-insensitive keys), e.g. `{ 'sed-b': 'http://127.0.0.1:8080/b.pth' }`.
   * Wins over the environment variables `SEDSEG_MODEL_URL_SED_B` / `SEDSEG_MODEL_URL_SED_L`,
   * which win over the release links.
   */
  urls?: Readonly<Record<string, string | undefined>>;
  /** Environment read for `SEDSEG_MODEL_URL_<NAME>`; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Never download: a name or URL that is not cached yet fails (E_IO). */
  offline?: boolean;
}

export interface ResolvedWeights {
  /** The checkpoint file: the local path as given, or the file in the cache. */
  path: string;
  /** `local`: a path the user gave; `cache`: already downloaded; `download`: fetched by this call (or by a concurrent one it waited for). */
  source: 'local' | 'cache' | 'download';
  /** Canonical known model name (`sed-b`) when the spec named one (or its release URL). */
  name?: string;
  /** The URL the file is (or would be) downloaded from, for names and URLs. */
  url?: string;
}

/** `scheme://`: a URL rather than a path (`C:\…` and `C:/…` have no `//` after the colon). */
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

function urlCacheFile(cacheDir: string, url: string): string {
  const u = new URL(url);
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  const last = decodeURIComponent(u.pathname.split('/').pop() ?? '').replace(/[^A-Za-z0-9._-]/g, '_');
  // Formats are recognised by content; a name without a weights extension is not trusted.
  const file = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\.(pth|pt|bin|ckpt|safetensors)$/i.test(last) ? last : 'weights';
  return join(cacheDir, 'models', `url-${hash}`, file);
}

export function modelCacheFile(cacheDir: string, model: KnownModel): string {
  return join(cacheDir, 'models', model.name, model.fileName);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function localPath(spec: string): Promise<ResolvedWeights> {
  let isDir = false;
  try {
    const st = await stat(spec);
    if (st.isFile()) return { path: spec, source: 'local' };
    isDir = st.isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      throw new SedsegError('E_IO', `${spec}: cannot read weights file (${(e as Error).message})`, { cause: e });
    }
  }
  if (isDir) throw new SedsegError('E_IO', `${spec}: is a directory, not a weights file`);
  const known = knownModelNames().join(', ');
  // No folder and no extension: most likely a mistyped model name.
  if (!/[\\/]/.test(spec) && !/\.[A-Za-z0-9]+$/.test(spec)) {
    throw new SedsegError('E_ARGUMENT', `unknown model name "${spec}" (known: ${known}); for a file, give its path`);
  }
  throw new SedsegError('E_IO', `${spec}: cannot open (no such file; weights are a file path, a model name (${known}) or an http(s) URL)`);
}

/**
 * Turns a `--weights` spec (local path, known model name, http(s) URL) into a checkpoint path,
 * downloading names and URLs into `<cacheDir>/models/` on first use. See the file comment.
 */
export async function resolveWeights(spec: string, options: ResolveWeightsOptions = {}): Promise<ResolvedWeights> {
  const trimmed = spec.trim();
  if (trimmed === '') throw new SedsegError('E_ARGUMENT', 'no weights given (a file path, a model name or a URL)');

  let model: KnownModel | undefined;
  let url: string;
  if (URL_LIKE.test(trimmed)) {
    const scheme = trimmed.slice(0, trimmed.indexOf(':') + 1).toLowerCase();
    if (scheme !== 'http:' && scheme !== 'https:') {
      throw new SedsegError('E_ARGUMENT', `${trimmed}: unsupported URL scheme ${scheme} (weights URLs must be http:// or https://; give local files as paths)`);
    }
    try {
      url = normalizeDriveUrl(new URL(trimmed).href);
    } catch {
      throw new SedsegError('E_ARGUMENT', `${trimmed}: not a valid URL`);
    }
    model = KNOWN_MODELS.find((m) => m.url === url);
  } else {
    model = findKnownModel(trimmed);
    if (!model) return localPath(spec);
    url = knownModelUrl(model, { ...(options.urls ? { urls: options.urls } : {}), ...(options.env ? { env: options.env } : {}) });
  }
  const what = model ? model.name : url;
  const named = model ? { name: model.name } : {};

  if (options.cacheDir === undefined || options.cacheDir === '') {
    throw new SedsegError('E_ARGUMENT', `resolveWeights: a cacheDir is needed to download ${what}`);
  }
  const dest = model ? modelCacheFile(options.cacheDir, model) : urlCacheFile(options.cacheDir, url);
  if (await isFile(dest)) return { path: dest, source: 'cache', ...named, url };
  if (options.offline) {
    throw new SedsegError('E_IO', `${what} is not downloaded yet (${dest}) and downloads are off`);
  }

  const hint = model ? `download ${model.fileName} by hand from ${model.page} and pass --weights FILE` : 'download the file by hand and pass --weights FILE';
  const result = await downloadFile(url, dest, {
    label: model ? model.name : undefined,
    hint,
    ...pick(options, ['onProgress', 'signal', 'retries', 'retryDelayMs', 'idleTimeoutMs', 'maxRedirects', 'progressIntervalMs']),
  });
  return { path: result.path, source: 'download', ...named, url };
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
