/**
 * Chooses the TensorFlow.js platform at run time. Only `@tensorflow/tfjs-core` and the pure-JS
 * `cpu` backend are dependencies; tfjs-node-gpu, tfjs-node and the wasm backend are optional
 * peers, loaded with a dynamic `import()` only when asked for (or tried by 'auto').
 */
import { SedsegError } from '@sedseg/core';
import type * as tfc from '@tensorflow/tfjs-core';

/** Where tfjs runs. 'auto' = the first that loads of 'node-gpu', 'node', 'cpu'. */
export type TfjsPlatform = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
/** A concrete platform. */
export type ResolvedTfjsPlatform = Exclude<TfjsPlatform, 'auto'>;
/** The `@tensorflow/tfjs-core` namespace (`tf`). */
export type TfjsNamespace = typeof tfc;

export interface LoadTfjsOptions {
  /**
   * wasm only: the folder (URL or path, ending in `/`) holding the `tfjs-backend-wasm*.wasm`
   * files. Default in Node: the installed package's `dist/` folder; in a browser tfjs's own
   * default (next to the script).
   */
  wasmPaths?: string;
}

export interface LoadedTfjs {
  /** The tfjs namespace the backend is registered in. */
  tf: TfjsNamespace;
  /** The active tfjs backend name: 'tensorflow' (tfjs-node[-gpu]), 'wasm' or 'cpu'. */
  backend: string;
  platform: ResolvedTfjsPlatform;
}

/** The package each platform needs. */
export const TFJS_PLATFORM_PACKAGES: Readonly<Record<ResolvedTfjsPlatform, string>> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

const BACKEND_NAMES: Readonly<Record<ResolvedTfjsPlatform, string>> = {
  'node-gpu': 'tensorflow',
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

const AUTO_ORDER: readonly ResolvedTfjsPlatform[] = ['node-gpu', 'node', 'cpu'];
const PLATFORMS: readonly TfjsPlatform[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Loads tfjs on `platform`, makes its backend the active one (`tf.setBackend` + `tf.ready()`)
 * and returns the namespace. An explicitly requested platform whose package is not installed
 * throws `SedsegError('E_ARGUMENT')` naming the package to install; 'auto' falls through to the
 * next candidate instead.
 */
export async function loadTfjs(platform: TfjsPlatform = 'auto', options: LoadTfjsOptions = {}): Promise<LoadedTfjs> {
  if (!PLATFORMS.includes(platform)) {
    throw new SedsegError('E_ARGUMENT', `unknown tfjs platform "${String(platform)}" (expected one of ${PLATFORMS.join(', ')})`);
  }
  if (platform !== 'auto') return loadPlatform(platform, options);
  const failures: string[] = [];
  for (const candidate of AUTO_ORDER) {
    if (!isNode && (candidate === 'node' || candidate === 'node-gpu')) continue;
    try {
      return await loadPlatform(candidate, options);
    } catch (e) {
      failures.push(`${candidate}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  throw new SedsegError('E_ARGUMENT', `no tfjs platform could be loaded (${failures.join('; ')})`);
}

async function loadPlatform(platform: ResolvedTfjsPlatform, options: LoadTfjsOptions): Promise<LoadedTfjs> {
  const backend = BACKEND_NAMES[platform];
  let tf: TfjsNamespace;
  switch (platform) {
    case 'node-gpu':
    case 'node': {
      if (!isNode) throw new SedsegError('E_ARGUMENT', `tfjs platform '${platform}' runs only in Node.js`);
      // tfjs-node[-gpu] re-exports tfjs-core and registers the 'tensorflow' backend on import.
      tf = namespaceOf(await importOptional(platform));
      break;
    }
    case 'wasm': {
      tf = namespaceOf(await import('@tensorflow/tfjs-core'));
      const wasm = (await importOptional('wasm')) as { setWasmPaths?: (p: string) => void };
      const engine = tf.engine() as unknown as { registry: Record<string, unknown> };
      if (engine.registry.wasm === undefined) {
        // paths must be set before the backend initialises (once per process)
        const paths = options.wasmPaths ?? (isNode ? await nodeWasmDir() : undefined);
        if (paths !== undefined) wasm.setWasmPaths?.(paths);
      }
      break;
    }
    case 'cpu': {
      tf = namespaceOf(await import('@tensorflow/tfjs-core'));
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    }
  }
  try {
    if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`);
    await tf.ready();
    if (backend === 'cpu') quietCpuBanner(tf);
  } catch (e) {
    if (e instanceof SedsegError) throw e;
    throw new SedsegError(
      'E_ARGUMENT',
      `tfjs platform '${platform}': backend '${backend}' failed to initialise: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return { tf, backend: tf.getBackend(), platform };
}

/**
 * The pure-JS cpu backend prints a banner in Node on its first tensor ("Hi, looks like you are
 * running TensorFlow.js in Node.js … install our node backend"): noise in a library's or a
 * CLI's output, and the 'auto' platform already tries tfjs-node first (`platform` says which ran).
 * The banner is the only thing its `firstUse` flag does, so it is cleared without touching `PROD`
 * (which would also turn off tfjs's debug checks).
 */
function quietCpuBanner(tf: TfjsNamespace): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if (backend.firstUse === true) backend.firstUse = false;
}

/** Imports an optional peer; a missing package becomes a SedsegError naming what to install. */
async function importOptional(platform: ResolvedTfjsPlatform): Promise<unknown> {
  const pkg = TFJS_PLATFORM_PACKAGES[platform];
  if (isNode && !(await nodeResolves(pkg))) throw notInstalled(platform, pkg);
  try {
    // a variable specifier keeps bundlers from insisting on packages that are not installed
    return await import(/* @vite-ignore */ /* webpackIgnore: true */ pkg);
  } catch (e) {
    if (isModuleNotFound(e, pkg)) throw notInstalled(platform, pkg, e);
    throw new SedsegError('E_ARGUMENT', `tfjs platform '${platform}': ${pkg} is installed but failed to load: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
}

function notInstalled(platform: ResolvedTfjsPlatform, pkg: string, cause?: unknown): SedsegError {
  return new SedsegError(
    'E_ARGUMENT',
    `tfjs platform '${platform}' needs ${pkg}, which is not installed (npm install ${pkg})`,
    cause === undefined ? undefined : { cause },
  );
}

function isModuleNotFound(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return msg.includes(pkg);
  return /cannot find (module|package)|failed to (resolve|load|fetch)/i.test(msg) && msg.includes(pkg);
}

async function nodeRequire(): Promise<NodeJS.Require> {
  const { createRequire } = await import('node:module');
  return createRequire(import.meta.url);
}

/**
 * Whether the package a platform needs is installed: true/false in Node.js, undefined in a
 * browser (where only loading it tells).
 */
export async function platformInstalled(platform: ResolvedTfjsPlatform): Promise<boolean | undefined> {
  return isNode ? nodeResolves(TFJS_PLATFORM_PACKAGES[platform]) : undefined;
}

async function nodeResolves(pkg: string): Promise<boolean> {
  try {
    (await nodeRequire()).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** The installed wasm backend's dist folder (its main file sits there), as a path ending in /. */
async function nodeWasmDir(): Promise<string> {
  const main = (await nodeRequire()).resolve(TFJS_PLATFORM_PACKAGES.wasm);
  const { dirname, sep } = await import('node:path');
  return dirname(main) + sep;
}

/** The tf namespace of an imported module, whether it came through ESM or CJS interop. */
function namespaceOf(mod: unknown): TfjsNamespace {
  const m = mod as { default?: unknown; tensor?: unknown };
  const d = m.default as { tensor?: unknown } | undefined;
  if (d !== undefined && d !== null && typeof d.tensor === 'function') return d as TfjsNamespace;
  if (typeof m.tensor === 'function') return m as TfjsNamespace;
  throw new SedsegError('E_ARGUMENT', 'the loaded tfjs module does not look like @tensorflow/tfjs-core');
}
