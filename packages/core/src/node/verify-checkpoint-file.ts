import { SedsegError } from '../errors.js';
import { openWeights, sniffWeightsFormat, type WeightsFormat } from '../weights/open-weights.js';
import { fileSource } from './file-source.js';

/**
 * Checks that the file at `path` IS a checkpoint, the way loading it would: a torch.save zip
 * (central directory intact, `<folder>/data.pkl` present, pickle loadable with the tensor
 * whitelist) or a safetensors file (header parsed, tensor ranges within the file). Reads the
 * index only, no tensor data, so it is quick even for a 1 GB file. Throws E_FORMAT / E_CORRUPT
 * / E_UNSAFE (the reader's error) when it is not.
 */
export async function verifyCheckpointFile(path: string): Promise<WeightsFormat> {
  const source = await fileSource(path);
  try {
    const format = await sniffWeightsFormat(source);
    if (format === undefined || format === 'legacy-pth') {
      const what = format === 'legacy-pth' ? 'a legacy (pre-1.6) torch file' : 'neither a .pth zip archive nor a safetensors file';
      throw new SedsegError('E_FORMAT', `${path}: not a checkpoint (${what})`);
    }
    const store = await openWeights(source);
    if (store.keys().length === 0) throw new SedsegError('E_FORMAT', `${path}: not a checkpoint (holds no tensors)`);
    return format;
  } finally {
    await source.close();
  }
}
