/**
 * Backends for the commands, through core's registry. `--backend` takes a registered name
 * (the built-ins `ort` and `tfjs` register when their packages are imported), an installed
 * package name (imported from the current folder's node_modules, then the CLI's), or a path to
 * an ES module; a package or module registers itself on import or default-exports its
 * `BackendDefinition`. `--device` picks the device; each backend maps it (and `--threads`).
 */
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  assertBackendDefinition,
  getBackend,
  listBackends,
  parseDevice,
  registerBackend,
  resolveBackend,
  SedsegError,
  type BackendDefinition,
  type BackendOps,
  type Device,
  type DeviceName,
} from '@sedseg/core';
import { UsageError } from './usage-error.js';

/** The backends that ship with the CLI: registered name → package. */
export const BUILTIN_BACKENDS: Readonly<Record<string, string>> = { ort: '@sedseg/backend-ort', tfjs: '@sedseg/backend-tfjs' };

/** Help text for `--backend` and `--device`. */
export const BACKEND_HELP = `  --backend NAME      ort, tfjs, an installed backend package, or ./path/to/plugin.mjs
                      (default: the best one that starts here; "sedseg backends" lists them)
  --device DEVICE     auto, cpu, cuda, wasm, webgpu (default auto)`;

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || /\.(m?js|cjs)$/.test(spec) || spec.includes('\\');
}

/** Imports a module, turning a failure into one line naming the module. */
async function importModule(specifier: string, shown: string): Promise<Record<string, unknown>> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? 'not found' : (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new SedsegError('E_BACKEND', `backend module ${shown} could not be loaded: ${why}`, { cause: e });
  }
}

/** Imports a module and returns the backend it provides (its default export, or what it registered). */
async function loadBackendModule(specifier: string, shown: string): Promise<BackendDefinition> {
  const before = new Set(listBackends().map((d) => d.name));
  const mod = await importModule(specifier, shown);
  const candidate = mod.default ?? mod.backend;
  if (candidate !== undefined && typeof candidate === 'object' && candidate !== null && 'create' in candidate) {
    assertBackendDefinition(candidate, shown);
    registerBackend(candidate);
    return candidate;
  }
  const added = listBackends().filter((d) => !before.has(d.name));
  if (added.length === 1) return added[0]!;
  if (added.length > 1)
    throw new SedsegError('E_BACKEND', `${shown} registered ${added.length} backends (${added.map((d) => d.name).join(', ')}); choose one with --backend NAME`);
  const registered = candidate === undefined ? undefined : 'its default export is not a backend definition';
  throw new SedsegError(
    'E_BACKEND',
    `${shown} is not a sedseg backend: ${registered ?? 'it has no default export and registered no backend'} (see "Writing a backend" in @sedseg/core's README)`,
  );
}

/** Resolves a package name from the current folder first (a user's own install), then from the CLI. */
function resolvePackage(name: string, cwd: string): string | undefined {
  for (const base of [join(cwd, 'noop.js'), import.meta.url]) {
    try {
      const resolved = createRequire(base).resolve(name);
      return pathToFileURL(resolved).href;
    } catch {
      // not resolvable from here
    }
  }
  return undefined;
}

/** Registers the built-in backends (those whose packages are installed); returns why others are missing. */
export async function loadBuiltinBackends(): Promise<Record<string, string>> {
  const missing: Record<string, string> = {};
  await Promise.all(
    Object.entries(BUILTIN_BACKENDS).map(async ([name, pkg]) => {
      if (getBackend(name)) return;
      try {
        await import(pkg);
      } catch (e) {
        missing[name] = `${pkg} could not be loaded: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`;
      }
    }),
  );
  return missing;
}

/** `--backend` names nothing that exists (a usage error for the commands). */
export class UnknownBackendError extends Error {}

/**
 * The backend definition `--backend SPEC` names (registering it when it comes from a package or
 * a file). Undefined SPEC: every built-in is registered and undefined is returned (choose by priority).
 */
export async function backendDefinition(spec: string | undefined, cwd = process.cwd()): Promise<BackendDefinition | undefined> {
  if (spec === undefined || spec === '') {
    await loadBuiltinBackends();
    return undefined;
  }
  if (BUILTIN_BACKENDS[spec] !== undefined && !getBackend(spec)) {
    await importModule(BUILTIN_BACKENDS[spec], BUILTIN_BACKENDS[spec]);
  }
  const registered = getBackend(spec);
  if (registered) return registered;
  if (looksLikePath(spec)) {
    const file = resolve(cwd, spec);
    return loadBackendModule(pathToFileURL(file).href, file);
  }
  const url = resolvePackage(spec, cwd);
  if (url === undefined) {
    throw new UnknownBackendError(
      `unknown backend "${spec}": not a built-in (${Object.keys(BUILTIN_BACKENDS).join(', ')}), not an installed package, not a file path (start paths with ./ or /)`,
    );
  }
  return loadBackendModule(url, spec);
}

export interface BackendRequest {
  /** The backend named by `--backend` (undefined: the registry chooses by priority). */
  definition?: BackendDefinition;
  device: DeviceName;
  threads?: number;
}

export interface StartedBackend {
  ops: BackendOps<unknown>;
  /** The backend's registered name. */
  name: string;
  device: Device;
  /** One line to show when the requested device could not be used. */
  notice?: string;
}

/** Checks `--device` (usage error listing the choices). */
export function deviceOption(value: string | undefined, command: string): DeviceName {
  if (value === undefined) return 'auto';
  try {
    return parseDevice(value);
  } catch (e) {
    throw new UsageError((e as Error).message, command);
  }
}

/**
 * Checks `--backend` and `--device` and loads the named backend's module, before any model work
 * (an unknown name is a usage error; a module that fails to load, one line naming it).
 */
export async function backendRequest(options: { backend?: string; device?: string; threads?: number }, command: string): Promise<BackendRequest> {
  const device = deviceOption(options.device, command);
  let definition: BackendDefinition | undefined;
  try {
    definition = await backendDefinition(options.backend);
  } catch (e) {
    if (e instanceof UnknownBackendError) throw new UsageError(e.message, command);
    throw e;
  }
  if (definition && device !== 'auto' && !definition.devices.includes(device)) {
    throw new UsageError(`backend "${definition.name}" does not run on ${device} (its devices: ${definition.devices.join(', ')})`, command);
  }
  return { ...(definition ? { definition } : {}), device, ...(options.threads !== undefined ? { threads: options.threads } : {}) };
}

/** Starts the requested backend (see core's `resolveBackend` for the fall-through rules). */
export async function startBackend(request: BackendRequest): Promise<StartedBackend> {
  const resolved = await resolveBackend({
    ...(request.definition ? { backend: request.definition.name } : {}),
    device: request.device,
    ...(request.threads !== undefined ? { threads: request.threads } : {}),
  });
  return { ops: resolved.ops, name: resolved.backend, device: resolved.device, ...(resolved.notice ? { notice: resolved.notice } : {}) };
}
