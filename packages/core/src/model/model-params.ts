/**
 * Access to the model's weights as backend tensors, by their official checkpoint key names
 * (DESIGN.md §3), e.g. `params.get('sem_seg_head.predictor.transformer.conv1.weight')`.
 */
import { SedsegError } from '../errors.js';
import { toFloat32 } from '../tensor/float-convert.js';
import type { Ops } from '../ops/ops.js';
import type { WeightStore } from '../weights/weight-store.js';

export interface ModelParams<T> {
  /** The weight as a backend tensor (shape as stored). Throws E_KEY for an unknown key. */
  get(name: string): T;
  has(name: string): boolean;
}

/** Looks keys up under a prefix: `scoped(p, 'a.b.').get('w')` reads `a.b.w`. */
export function scoped<T>(params: ModelParams<T>, prefix: string): ModelParams<T> {
  return { get: (n) => params.get(prefix + n), has: (n) => params.has(prefix + n) };
}

/**
 * Reads every weight of `store` whose key passes `filter`, converts it to float32 and uploads it
 * with `ops.weight` (or `ops.constant`) (one tensor at a time, so the file is never held twice). `dispose()`
 * frees the uploaded tensors. A tensor that `upload` refuses is read and shown to `onTensor` but
 * not uploaded (weights only fingerprinted at load, e.g. the text tower's: text-encoder-weights.ts).
 */
export async function uploadParams<T>(
  ops: Ops<T>,
  store: WeightStore,
  filter: (name: string) => boolean = () => true,
  onProgress?: (done: number, total: number) => void,
  /** Sees each float32 host tensor before upload (e.g. to fingerprint the weights). */
  onTensor?: (name: string, values: Float32Array) => void,
  upload: (name: string) => boolean = () => true,
): Promise<ModelParams<T> & { dispose(): void; names(): string[] }> {
  const names = store.keys().filter(filter);
  const tensors = new Map<string, T>();
  for (const [i, name] of names.entries()) {
    const host = toFloat32(await store.read(name));
    onTensor?.(name, host.data);
    if (upload(name)) tensors.set(name, ops.weight ? ops.weight(host.data, host.shape, name) : ops.constant(host.data, host.shape, name));
    onProgress?.(i + 1, names.length);
  }
  return {
    get(name) {
      const t = tensors.get(name);
      if (t === undefined) throw new SedsegError('E_KEY', `${store.source}: missing weight "${name}"`);
      return t;
    },
    has: (name) => tensors.has(name),
    names: () => [...tensors.keys()],
    dispose() {
      ops.dispose([...tensors.values()]);
      tensors.clear();
    },
  };
}
