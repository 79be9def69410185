/**
 * What a backend package (or a plugin module's default export) gives the registry: a name, the
 * devices it can run on, a priority, and a factory. The factory maps the common options
 * (`device`, `threads`) and its own extras onto its runtime; the host application never does.
 */
import { SedsegError } from '../errors.js';
import type { BackendOps } from '../ops/ops.js';

/** Where a backend computes. `auto` lets the registry choose. */
export const DEVICES = ['auto', 'cpu', 'cuda', 'wasm', 'webgpu'] as const;
export type DeviceName = (typeof DEVICES)[number];
/** A concrete device (what a backend is created for). */
export type Device = Exclude<DeviceName, 'auto'>;

export interface BackendOptions {
  /** The device to run on (one of the definition's `devices`). */
  device: Device;
  /** CPU threads for the backend's kernels; a backend that cannot set them ignores it. */
  threads?: number;
  /** Backend-specific settings, passed through untouched (each backend documents its own). */
  extra?: Readonly<Record<string, unknown>>;
}

export interface BackendDefinition<T = unknown> {
  /** Unique name, used by `--backend NAME` and reported in results (e.g. `ort`, `tfjs`). */
  readonly name: string;
  /** Higher is tried first when no backend is named. Built-ins: ort 100, tfjs 50. */
  readonly priority: number;
  /** Devices it supports, in the order `auto` tries them. */
  readonly devices: readonly Device[];
  /** One line for listings. */
  readonly description?: string;
  /**
   * Why it cannot run on `device` here (e.g. "CUDA libraries not found"), or undefined when it
   * can. A cheap probe that loads no model; optional (then only `create` can fail).
   */
  unavailableReason?(device: Device): string | undefined | Promise<string | undefined>;
  /** A ready operator set for `options.device`; throws (with the reason) when it cannot start. */
  create(options: BackendOptions): Promise<BackendOps<T>>;
}

/**
 * Checks that a value (e.g. a plugin module's default export) is a backend definition; throws
 * one line naming `source` and the first problem.
 */
export function assertBackendDefinition(value: unknown, source: string): asserts value is BackendDefinition {
  const fail = (what: string): never => {
    throw new SedsegError('E_ARGUMENT', `${source}: not a sedseg backend definition: ${what}`);
  };
  if (typeof value !== 'object' || value === null)
    fail(`expected an object with name, priority, devices and create(), got ${value === null ? 'null' : typeof value}`);
  const d = value as Record<string, unknown>;
  if (typeof d.name !== 'string' || !/^[A-Za-z0-9@/._-]+$/.test(d.name)) fail('"name" must be a non-empty string of letters, digits and @/._-');
  if (typeof d.priority !== 'number' || !Number.isFinite(d.priority)) fail('"priority" must be a finite number');
  if (!Array.isArray(d.devices) || d.devices.length === 0) fail('"devices" must be a non-empty array');
  for (const dev of d.devices as unknown[]) {
    if (typeof dev !== 'string' || dev === 'auto' || !(DEVICES as readonly string[]).includes(dev))
      fail(`unknown device ${JSON.stringify(dev)} (devices: ${DEVICES.filter((x) => x !== 'auto').join(', ')})`);
  }
  if (typeof d.create !== 'function') fail('"create" must be a function returning the backend\'s Ops');
  if (d.unavailableReason !== undefined && typeof d.unavailableReason !== 'function') fail('"unavailableReason" must be a function when given');
}

/** Checks a device name (one line listing the choices). */
export function parseDevice(value: string): DeviceName {
  if (!(DEVICES as readonly string[]).includes(value)) throw new SedsegError('E_ARGUMENT', `unknown device "${value}" (choose ${DEVICES.join(', ')})`);
  return value as DeviceName;
}
