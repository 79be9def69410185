/**
 * The model being trained as one weight store with the official key names: the trained tensors'
 * current values (float32, from the trainer) and every other key read from the checkpoint the
 * run started from (the frozen text tower and logit_scale, never changed). Checkpoints are
 * written from it and the periodic evaluation loads a model from it, without a second copy of
 * the frozen weights in memory.
 */
import { SedsegError, type HostTensor, type TensorInfo, type WeightStore } from '@sedseg/core';

export function trainedWeightStore(
  init: WeightStore,
  keys: readonly string[],
  parameters: ReadonlyMap<string, HostTensor<'float32'>>,
  source = '<training>',
): WeightStore {
  const infos = new Map<string, TensorInfo>();
  for (const key of keys) {
    const trained = parameters.get(key);
    const info = trained === undefined ? init.info(key) : { name: key, dtype: 'float32' as const, shape: trained.shape };
    if (info === undefined) throw new SedsegError('E_KEY', `${init.source}: no tensor "${key}"`);
    infos.set(key, info);
  }
  return {
    source,
    format: 'memory',
    keys: () => [...infos.keys()],
    info: (name) => infos.get(name),
    async read(name) {
      if (!infos.has(name)) throw new SedsegError('E_KEY', `${source}: no tensor "${name}"`);
      return parameters.get(name) ?? init.read(name);
    },
    // the checkpoint store belongs to the caller
    close: async () => undefined,
  };
}
