/**
 * The tfjs backend's registry entry. Devices map to tfjs platforms: `cuda` → tfjs-node-gpu,
 * `cpu` → tfjs-node when installed, else the pure-JS cpu backend, `wasm` → tfjs-backend-wasm.
 * Threads: tfjs-backend-wasm's thread pool when the device is wasm; tfjs-node sizes its own
 * pool, and the pure-JS backend is single-threaded, so `threads` is ignored there.
 * Extras: `cpuKernels` (boolean, see `TfjsOpsOptions`), `wasmPaths` (string).
 */
import { registerBackend, SedsegError, type BackendDefinition, type BackendOptions, type Device } from '@sedseg/core';
import { platformInstalled, TFJS_PLATFORM_PACKAGES, type TfjsPlatform } from './platform.js';
import { createTfjsOps, type TfjsOpsOptions } from './tfjs-ops.js';

const PLATFORM_OF_DEVICE: Readonly<Record<'cuda' | 'wasm', TfjsPlatform>> = { cuda: 'node-gpu', wasm: 'wasm' };

function extrasOf(extra: Readonly<Record<string, unknown>> | undefined): Pick<TfjsOpsOptions, 'cpuKernels' | 'wasmPaths'> {
  const out: Pick<TfjsOpsOptions, 'cpuKernels' | 'wasmPaths'> = {};
  if (extra?.cpuKernels !== undefined) {
    if (typeof extra.cpuKernels !== 'boolean')
      throw new SedsegError('E_ARGUMENT', `tfjs backend: option cpuKernels must be true or false, got ${JSON.stringify(extra.cpuKernels)}`);
    out.cpuKernels = extra.cpuKernels;
  }
  if (extra?.wasmPaths !== undefined) {
    if (typeof extra.wasmPaths !== 'string') throw new SedsegError('E_ARGUMENT', 'tfjs backend: option wasmPaths must be a string');
    out.wasmPaths = extra.wasmPaths;
  }
  return out;
}

async function createOn(options: BackendOptions) {
  const extras = extrasOf(options.extra);
  const platforms: TfjsPlatform[] =
    options.device === 'cpu' ? ((await platformInstalled('node')) ? ['node', 'cpu'] : ['cpu']) : [PLATFORM_OF_DEVICE[options.device as 'cuda' | 'wasm']];
  let last: unknown;
  for (const platform of platforms) {
    try {
      const ops = await createTfjsOps({ platform, ...extras });
      // Production mode: no debug checks, and no "install tfjs-node" banner in a host's output.
      ops.tf.env().set('PROD', true);
      if (platform === 'wasm' && options.threads !== undefined) {
        const wasm = ops.tf.findBackend('wasm') as { setThreadsCount?: (n: number) => void } | undefined;
        wasm?.setThreadsCount?.(options.threads);
      }
      return ops;
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

async function unavailableReason(device: Device): Promise<string | undefined> {
  if (device === 'cpu') return undefined;
  const platform = PLATFORM_OF_DEVICE[device as 'cuda' | 'wasm'];
  if (platform === undefined) return `tfjs has no ${device} device`;
  return (await platformInstalled(platform as 'node-gpu' | 'wasm')) === false
    ? `${TFJS_PLATFORM_PACKAGES[platform as 'node-gpu' | 'wasm']} is not installed`
    : undefined;
}

export const tfjsBackend: BackendDefinition = {
  name: 'tfjs',
  priority: 50,
  devices: ['cuda', 'cpu', 'wasm'],
  description: 'TensorFlow.js: tfjs-node(-gpu) when installed, else pure-JS cpu kernels; wasm; trains',
  unavailableReason,
  create: createOn,
};

registerBackend(tfjsBackend);
