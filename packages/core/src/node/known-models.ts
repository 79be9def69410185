import { SedsegError } from '../errors.js';
import { driveDownloadUrl, driveViewUrl } from './google-drive-links.js';

/** A released SED checkpoint that `resolveWeights` can fetch by name. */
export interface KnownModel {
  /** Lower-case name used on the command line: `sed-b`, `sed-l`. */
  readonly name: string;
  /** Name in the authors' README table. */
  readonly label: string;
  /** CLIP image/text backbone the checkpoint was trained with. */
  readonly backbone: string;
  /** File name of the release (detectron2's final checkpoint); also the name in the cache. */
  readonly fileName: string;
  /** Authors' training config (in their repository), for reference. */
  readonly trainConfig: string;
  /** Google Drive file id of the release. */
  readonly driveFileId: string;
  /** Where the file is downloaded from unless overridden (see `knownModelUrl`). */
  readonly url: string;
  /** The link as published: a page a person can download the file from by hand. */
  readonly page: string;
  /** Environment variable that overrides `url` (tests, mirrors): `SEDSEG_MODEL_URL_SED_B`. */
  readonly urlEnv: string;
}

function model(name: string, label: string, backbone: string, trainConfig: string, driveFileId: string): KnownModel {
  return {
    name,
    label,
    backbone,
    fileName: 'model_final.pth',
    trainConfig,
    driveFileId,
    url: driveDownloadUrl(driveFileId),
    page: driveViewUrl(driveFileId),
    urlEnv: modelUrlEnvVar(name),
  };
}

/**
 * The authors' released checkpoints. Source: README.md of https://github.com/xb534/SED at
 * commit db20d93c0ec8b0ce7fae267a10f826dfc7da15f5 (2024-05-30), table "Pretrained weights",
 * column "Download": each row links a Google Drive *file* viewer page,
 * `https://drive.google.com/file/d/<id>/view?usp=drive_link`. The SED-fast (B) / SED-fast (L)
 * rows link the same two files: "fast" is an inference setting (TEST.FAST_INFERENCE True,
 * TEST.TOPK 8), not other weights. The README names no file and gives no checksum or size;
 * `model_final.pth` is detectron2's name for the last checkpoint of a training run.
 */
export const KNOWN_MODELS: readonly KnownModel[] = [
  model('sed-b', 'SED (B)', 'ConvNeXt-B', 'configs/convnextB_768.yaml', '1qx6zGZgSPkF6TObregRz4uzQqSRHrgUw'),
  model('sed-l', 'SED (L)', 'ConvNeXt-L', 'configs/convnextL_768.yaml', '1zAXE0QXy47n0cVn7j_2cSR85eqxdDGg8'),
];

export function knownModelNames(): string[] {
  return KNOWN_MODELS.map((m) => m.name);
}

/** The known model called `name` (case and surrounding blanks ignored), else undefined. */
export function findKnownModel(name: string): KnownModel | undefined {
  const key = name.trim().toLowerCase();
  return KNOWN_MODELS.find((m) => m.name === key);
}

/** `sed-b` → `SEDSEG_MODEL_URL_SED_B`. */
export function modelUrlEnvVar(name: string): string {
  return `SEDSEG_MODEL_URL_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export interface KnownModelUrlOptions {
  /** Per-model URL overrides keyed by model name (case-insensitive); win over the environment. */
  urls?: Readonly<Record<string, string | undefined>>;
  /** Environment to read `SEDSEG_MODEL_URL_<NAME>` from; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Where `model` is downloaded from: `options.urls[name]`, else the environment variable
 * `model.urlEnv` (so that a spawned CLI can be pointed at a local server), else the release.
 */
export function knownModelUrl(model: KnownModel, options: KnownModelUrlOptions = {}): string {
  const fromOption = Object.entries(options.urls ?? {}).find(([k, v]) => k.trim().toLowerCase() === model.name && v)?.[1];
  if (fromOption) return checkHttpUrl(fromOption, `the URL given for ${model.name}`);
  const fromEnv = (options.env ?? process.env)[model.urlEnv];
  if (fromEnv) return checkHttpUrl(fromEnv, model.urlEnv);
  return model.url;
}

function checkHttpUrl(url: string, what: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SedsegError('E_ARGUMENT', `${what} is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SedsegError('E_ARGUMENT', `${what} must be an http:// or https:// URL, not ${url}`);
  }
  return url;
}
