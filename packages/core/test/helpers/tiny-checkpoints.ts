/**
 * Test helper: small, valid checkpoints built in memory (a torch.save zip and a safetensors
 * file) whose bytes are not all alike, so that a misplaced or repeated chunk changes them.
 */
import { serializeSafetensors } from '../../src/checkpoint/safetensors.js';
import { pickle, tensor, type PyValue } from './pickle-writer.js';
import { writeZip } from './zip-writer.js';

/** Deterministic pseudo-random bytes (xorshift32). */
export function noiseBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A `.pth` (zip, archive/data.pkl) holding `{'model': {'w': float32[numel]}}`: about 4·numel bytes. */
export function tinyPth(numel = 64 * 1024, seed = 7): Uint8Array {
  const sd = new Map<PyValue, PyValue>([['w', tensor({ storageType: 'FloatStorage', key: '0', numel, shape: [numel] })]]);
  const root = new Map<PyValue, PyValue>([['model', sd]]);
  return writeZip([
    { name: 'archive/data.pkl', data: pickle(root) },
    { name: 'archive/data/0', data: noiseBytes(numel * 4, seed) },
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}

/** A safetensors file with one float32 tensor of `numel` elements. */
export function tinySafetensors(numel = 1024, seed = 3): Uint8Array {
  const data = new Float32Array(noiseBytes(numel * 4, seed).buffer).map((v) => (Number.isFinite(v) ? v : 0));
  return serializeSafetensors({ w: { dtype: 'float32', shape: [numel], data } });
}
