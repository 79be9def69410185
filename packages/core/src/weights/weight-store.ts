import type { DType } from '../tensor/dtype.js';
import type { HostTensor } from '../tensor/host-tensor.js';

/** Name, dtype and shape of one stored tensor — known without reading its data. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/**
 * A read-only, lazily loaded set of named tensors: a `.pth` checkpoint, a safetensors file, or
 * tensors built in memory. Listing keys reads no tensor data; `read` loads one tensor.
 */
export interface WeightStore {
  /** Where the weights come from (file path, `<memory>`), for messages. */
  readonly source: string;
  readonly format: 'pth' | 'safetensors' | 'memory';
  /** Tensor names in storage order. */
  keys(): readonly string[];
  info(name: string): TensorInfo | undefined;
  /** Loads one tensor as stored (dtype unchanged). Fails with E_KEY for an unknown name. */
  read(name: string): Promise<HostTensor>;
  close(): Promise<void>;
}
