import { SedsegError } from '../errors.js';
import { DTYPE_BYTES } from '../tensor/dtype.js';
import { shapeToString, type HostTensor } from '../tensor/host-tensor.js';
import type { TensorInfo, WeightStore } from './weight-store.js';

/**
 * A WeightStore over tensors already in memory (tests, converted checkpoints). Every tensor is
 * validated up front so that later readers can trust `data.length === numel`. `read` returns the
 * stored tensor object itself (no copy).
 */
export function memoryWeightStore(tensors: Record<string, HostTensor> | ReadonlyMap<string, HostTensor>, source = '<memory>'): WeightStore {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, HostTensor>);
  const byName = new Map<string, { tensor: HostTensor; info: TensorInfo }>();
  for (const [name, t] of entries) {
    const where = `${source}: tensor "${name}"`;
    if (typeof t !== 'object' || t === null) throw new SedsegError('E_ARGUMENT', `${where}: not a tensor`);
    const itemBytes = (DTYPE_BYTES as Record<string, number | undefined>)[t.dtype];
    if (itemBytes === undefined) throw new SedsegError('E_ARGUMENT', `${where}: unknown dtype ${String(t.dtype)}`);
    const shape: readonly unknown[] = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new SedsegError('E_ARGUMENT', `${where}: shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
    }
    let numel = 1;
    for (const d of t.shape) numel *= d;
    // byteLength also catches a wrong array type (e.g. a Float32Array for float16).
    if (!ArrayBuffer.isView(t.data) || t.data.length !== numel || t.data.byteLength !== numel * itemBytes) {
      throw new SedsegError(
        'E_ARGUMENT',
        `${where}: data has ${t.data?.length} elements of ${t.data?.BYTES_PER_ELEMENT} bytes but ${t.dtype} ${shapeToString(t.shape)} needs ${numel} of ${itemBytes}`,
      );
    }
    byName.set(name, { tensor: t, info: { name, dtype: t.dtype, shape: t.shape } });
  }
  const keys = [...byName.keys()];
  return {
    source,
    format: 'memory',
    keys: () => keys,
    info: (name) => byName.get(name)?.info,
    async read(name) {
      const e = byName.get(name);
      if (e === undefined) throw new SedsegError('E_KEY', `${source}: no tensor named "${name}"`);
      return e.tensor;
    },
    async close() {},
  };
}
