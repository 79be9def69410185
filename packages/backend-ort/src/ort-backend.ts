/**
 * The ort backend's registry entry. Devices map to ONNX Runtime execution providers: `cuda` →
 * CUDA (with CPU for the nodes CUDA does not take), `cpu` → CPU. `threads` sets the intra-op
 * threads. Extras: `memArena` (boolean), `maxSessions` (positive integer) — see `OrtOpsOptions`.
 */
import { registerBackend, SedsegError, type BackendDefinition, type BackendOptions, type Device } from '@sedseg/core';
import { createOrtOps, cudaInstalled, type OrtOpsOptions } from './ort-ops.js';

function extrasOf(extra: Readonly<Record<string, unknown>> | undefined): Pick<OrtOpsOptions, 'memArena' | 'maxSessions'> {
  const out: Pick<OrtOpsOptions, 'memArena' | 'maxSessions'> = {};
  if (extra?.memArena !== undefined) {
    if (typeof extra.memArena !== 'boolean')
      throw new SedsegError('E_ARGUMENT', `ort backend: option memArena must be true or false, got ${JSON.stringify(extra.memArena)}`);
    out.memArena = extra.memArena;
  }
  if (extra?.maxSessions !== undefined) {
    if (!Number.isInteger(extra.maxSessions) || (extra.maxSessions as number) < 1)
      throw new SedsegError('E_ARGUMENT', `ort backend: option maxSessions must be a positive integer, got ${JSON.stringify(extra.maxSessions)}`);
    out.maxSessions = extra.maxSessions as number;
  }
  return out;
}

function unavailableReason(device: Device): string | undefined {
  if (device === 'cuda' && !cudaInstalled()) {
    return 'this onnxruntime-node install has no CUDA provider libraries (libonnxruntime_providers_cuda; install onnxruntime-node with its CUDA binaries, see ONNX Runtime docs)';
  }
  return undefined;
}

async function create(options: BackendOptions) {
  const reason = unavailableReason(options.device);
  if (reason) throw new SedsegError('E_BACKEND', reason);
  return createOrtOps({
    executionProviders: options.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...extrasOf(options.extra),
  });
}

export const ortBackend: BackendDefinition = {
  name: 'ort',
  priority: 100,
  devices: ['cuda', 'cpu'],
  description: 'ONNX Runtime (onnxruntime-node): each SED stage compiled to an ONNX graph; fastest on a CPU server',
  unavailableReason,
  create,
};

registerBackend(ortBackend);
