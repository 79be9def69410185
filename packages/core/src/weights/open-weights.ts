/**
 * Opens a weights file of either supported format, chosen by its content (not its extension):
 * a zip archive is a `torch.save` checkpoint, anything else must be a safetensors file.
 */
import { SedsegError } from '../errors.js';
import type { ByteSource } from '../io/byte-source.js';
import { openPth } from '../checkpoint/pth-reader.js';
import { openSafetensors } from '../checkpoint/safetensors.js';
import type { WeightStore } from './weight-store.js';

export type WeightsFormat = 'pth' | 'safetensors';

/** Guesses the format from the first bytes; `undefined` when it is neither. */
export async function sniffWeightsFormat(source: ByteSource): Promise<WeightsFormat | 'legacy-pth' | undefined> {
  if (source.size < 8) return undefined;
  const head = await source.read(0, Math.min(16, source.size));
  if (head[0] === 0x50 && head[1] === 0x4b) return 'pth'; // "PK": zip
  if (head[0] === 0x80 && head[1] !== undefined && head[1] <= 5) return 'legacy-pth'; // pickle PROTO
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > 1n && headerLength + 8n <= BigInt(source.size) && head[8] === 0x7b) return 'safetensors'; // "{"
  return undefined;
}

/** Opens `.pth` or `.safetensors` weights from any ByteSource. */
export async function openWeights(source: ByteSource): Promise<WeightStore> {
  const format = await sniffWeightsFormat(source);
  if (format === 'safetensors') return openSafetensors(source);
  if (format === 'pth' || format === 'legacy-pth') return openPth(source);
  throw new SedsegError('E_FORMAT', `${source.name}: not a weights file (expected a torch.save .pth zip archive or a .safetensors file)`);
}
