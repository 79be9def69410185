/**
 * The backend registry: backend packages register a definition when imported; a host (the CLI,
 * an app) asks for a backend by name and/or device and gets the first that starts, trying
 * candidates by priority and falling through, with the reason kept, when one cannot run here.
 *
 * The registry lives on `globalThis` (under a `Symbol.for` key) so every copy of core in a
 * process — ESM and CJS builds, two installed versions — shares one list.
 */
import { SedsegError } from '../errors.js';
import type { BackendOps } from '../ops/ops.js';
import { assertBackendDefinition, type BackendDefinition, type Device, type DeviceName } from './backend-definition.js';

const REGISTRY_KEY = Symbol.for('@sedseg/core/backend-registry');

function registry(): Map<string, BackendDefinition> {
  const g = globalThis as unknown as Record<symbol, Map<string, BackendDefinition> | undefined>;
  let map = g[REGISTRY_KEY];
  if (map === undefined) {
    map = new Map();
    g[REGISTRY_KEY] = map;
  }
  return map;
}

/**
 * Adds a backend (or replaces the one registered under the same name: the last registration
 * wins, so an application can override a built-in). Checks the definition's shape.
 */
export function registerBackend(definition: BackendDefinition<unknown>): void {
  assertBackendDefinition(definition, `registerBackend(${typeof (definition as { name?: unknown })?.name === 'string' ? `"${definition.name}"` : '…'})`);
  registry().set(definition.name, definition as BackendDefinition);
}

/** Removes a backend by name (true when one was registered). */
export function unregisterBackend(name: string): boolean {
  return registry().delete(name);
}

/** The registered backends, highest priority first (ties: first registered first). */
export function listBackends(): BackendDefinition[] {
  return [...registry().values()].sort((a, b) => b.priority - a.priority);
}

/** The backend registered under `name`, if any. */
export function getBackend(name: string): BackendDefinition | undefined {
  return registry().get(name);
}

export interface ResolveBackendOptions {
  /** A registered backend's name (default: every registered one, by priority). */
  backend?: string;
  /** `auto` (default) tries each backend's devices in its order. */
  device?: DeviceName;
  threads?: number;
  extra?: Readonly<Record<string, unknown>>;
}

/** A candidate that was skipped, and why. */
export interface BackendFallback {
  backend: string;
  device: Device;
  reason: string;
}

export interface ResolvedBackend<T = unknown> {
  ops: BackendOps<T>;
  /** The backend's registered name. */
  backend: string;
  device: Device;
  /** Candidates tried before this one, with the reason each could not run. */
  fallbacks: BackendFallback[];
  /**
   * Set when an explicitly requested device could not be used and another device runs instead:
   * one line for the user (e.g. `cuda is unavailable (ort: CUDA libraries not found); running ort on cpu`).
   */
  notice?: string;
}

function reasonOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split('\n')[0]!.trim() || 'failed to start';
}

async function tryStart(def: BackendDefinition, device: Device, options: ResolveBackendOptions): Promise<{ ops: BackendOps } | { reason: string }> {
  try {
    const reason = await def.unavailableReason?.(device);
    if (reason) return { reason };
    const ops = await def.create({
      device,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      ...(options.extra ? { extra: options.extra } : {}),
    });
    return { ops };
  } catch (e) {
    return { reason: reasonOf(e) };
  }
}

function summary(fallbacks: readonly BackendFallback[]): string {
  return fallbacks.map((f) => `${f.backend}/${f.device}: ${f.reason}`).join('; ');
}

/**
 * Starts a backend. With `backend` and an explicit `device`, exactly that pair runs or this
 * throws naming what is missing. With only a `device`, every backend supporting it is tried;
 * when none can run, it falls back to `auto` and says so in `notice`. With neither, backends are
 * tried by priority on each of their devices in order.
 */
export async function resolveBackend<T = unknown>(options: ResolveBackendOptions = {}): Promise<ResolvedBackend<T>> {
  const device = options.device ?? 'auto';
  const all = listBackends();
  if (all.length === 0) {
    throw new SedsegError('E_BACKEND', 'no sedseg backend is registered (import one, e.g. @sedseg/backend-ort or @sedseg/backend-tfjs)');
  }
  let defs = all;
  if (options.backend !== undefined) {
    const def = getBackend(options.backend);
    if (!def) throw new SedsegError('E_ARGUMENT', `unknown backend "${options.backend}" (registered: ${all.map((d) => d.name).join(', ')})`);
    if (device !== 'auto' && !def.devices.includes(device)) {
      throw new SedsegError('E_ARGUMENT', `backend "${def.name}" does not run on ${device} (its devices: ${def.devices.join(', ')})`);
    }
    defs = [def];
  }
  const fallbacks: BackendFallback[] = [];
  const attempt = async (def: BackendDefinition, dev: Device): Promise<ResolvedBackend<T> | undefined> => {
    if (fallbacks.some((f) => f.backend === def.name && f.device === dev)) return undefined;
    const started = await tryStart(def, dev, options);
    if ('ops' in started) return { ops: started.ops as BackendOps<T>, backend: def.name, device: dev, fallbacks };
    fallbacks.push({ backend: def.name, device: dev, reason: started.reason });
    return undefined;
  };

  if (device !== 'auto') {
    for (const def of defs.filter((d) => d.devices.includes(device))) {
      const hit = await attempt(def, device);
      if (hit) return hit;
    }
    const why =
      fallbacks.length > 0
        ? summary(fallbacks)
        : `no registered backend supports it (registered: ${all.map((d) => `${d.name}: ${d.devices.join('/')}`).join(', ')})`;
    if (options.backend !== undefined)
      throw new SedsegError('E_BACKEND', `backend "${options.backend}" cannot run on ${device}: ${fallbacks.map((f) => f.reason).join('; ')}`);
    for (const def of defs) {
      for (const dev of def.devices) {
        const hit = await attempt(def, dev);
        if (hit) return { ...hit, notice: `${device} is unavailable (${why}); running ${hit.backend} on ${hit.device}` };
      }
    }
  } else {
    for (const def of defs) {
      for (const dev of def.devices) {
        const hit = await attempt(def, dev);
        if (hit) return hit;
      }
    }
  }
  const which = options.backend !== undefined ? `backend "${options.backend}" could not start` : 'no backend could start';
  throw new SedsegError('E_BACKEND', `${which}: ${summary(fallbacks)}`);
}
