/**
 * tfjs ops to train on, by device: `cuda` → tfjs-node-gpu, `cpu` → tfjs-node when installed,
 * else the pure-JS cpu backend (with this package's host kernels and their gradients). The wasm
 * backend cannot train SED: it has no Conv2DBackpropFilter / depthwise backprop kernels.
 */
import { SedsegError } from '@sedseg/core';
import { tfjsBackend } from '../tfjs-backend.js';
import { TfjsOps } from '../tfjs-ops.js';
import { ensureTfjsGradients } from './tfjs-gradients.js';

export type TrainingDevice = 'auto' | 'cpu' | 'cuda';

export async function createTrainingOps(device: TrainingDevice = 'auto'): Promise<TfjsOps> {
  if ((device as string) === 'wasm' || (device as string) === 'webgpu') {
    throw new SedsegError('E_BACKEND', `training cannot run on ${device}: tfjs's ${device} backend has no convolution filter gradients; use cpu or cuda`);
  }
  const candidates = device === 'auto' ? (['cuda', 'cpu'] as const) : [device];
  let reason = '';
  for (const d of candidates) {
    const why = await tfjsBackend.unavailableReason?.(d);
    if (why !== undefined) {
      reason += `${d}: ${why}; `;
      continue;
    }
    const ops = await tfjsBackend.create({ device: d });
    if (!(ops instanceof TfjsOps)) throw new SedsegError('E_BACKEND', 'the tfjs backend did not return TfjsOps');
    await ensureTfjsGradients(ops.tf);
    return ops;
  }
  throw new SedsegError('E_BACKEND', `no tfjs device to train on (${reason.slice(0, -2)})`);
}
