/**
 * The ort-web backend's registry entry. Devices: `webgpu` → onnxruntime-web's WebGPU execution
 * provider (fails with the reason when the browser has no WebGPU adapter), `wasm` → its wasm
 * provider. `threads` sets the wasm threads. Extras: `wasmPaths` (string or file map, see
 * `ort.env.wasm.wasmPaths`), `maxSessions` (positive integer).
 */
import { registerBackend, SedsegError, type BackendDefinition, type BackendOptions, type Device } from '@sedseg/core';
import { probeWebGpu } from './gpu-limits.js';
import { createWebOps, type WebOpsOptions } from './web-ops.js';

function extrasOf(extra: Readonly<Record<string, unknown>> | undefined): Pick<WebOpsOptions, 'wasmPaths' | 'maxSessions'> {
  const out: Pick<WebOpsOptions, 'wasmPaths' | 'maxSessions'> = {};
  if (extra?.wasmPaths !== undefined) {
    if (typeof extra.wasmPaths !== 'string' && (typeof extra.wasmPaths !== 'object' || extra.wasmPaths === null))
      throw new SedsegError(
        'E_ARGUMENT',
        `ort-web backend: option wasmPaths must be a URL prefix or an object of file URLs, got ${JSON.stringify(extra.wasmPaths)}`,
      );
    out.wasmPaths = extra.wasmPaths as WebOpsOptions['wasmPaths'] & object;
  }
  if (extra?.maxSessions !== undefined) {
    if (!Number.isInteger(extra.maxSessions) || (extra.maxSessions as number) < 1)
      throw new SedsegError('E_ARGUMENT', `ort-web backend: option maxSessions must be a positive integer, got ${JSON.stringify(extra.maxSessions)}`);
    out.maxSessions = extra.maxSessions as number;
  }
  return out;
}

/** Why the backend cannot run on `device` here (WebGPU: no `navigator.gpu`, or no adapter). */
async function unavailableReason(device: Device): Promise<string | undefined> {
  if (device === 'webgpu') {
    const probe = await probeWebGpu();
    return probe.ok ? undefined : probe.reason;
  }
  if (device !== 'wasm') return `ort-web runs on webgpu or wasm, not ${device}`;
  return undefined;
}

async function create(options: BackendOptions) {
  if (options.device !== 'webgpu' && options.device !== 'wasm') {
    throw new SedsegError('E_ARGUMENT', `ort-web backend: device must be webgpu or wasm, got ${options.device}`);
  }
  return createWebOps({
    device: options.device,
    fallback: false,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...extrasOf(options.extra),
  });
}

const inBrowser =
  typeof (globalThis as { document?: unknown }).document !== 'undefined' ||
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined';

export const webBackend: BackendDefinition = {
  name: 'ort-web',
  // First in browsers (above tfjs, 50); in Node, after onnxruntime-node (100) and tfjs.
  priority: inBrowser ? 60 : 20,
  devices: ['webgpu', 'wasm'],
  description: 'ONNX Runtime Web (onnxruntime-web): each SED stage compiled to an ONNX graph, run on WebGPU, or on wasm without it',
  unavailableReason,
  create,
};

registerBackend(webBackend);
