/** What a decoder run gives back: host tensors only (every backend tensor is freed by then). */
import type { HostTensor } from '../../tensor/host-tensor.js';

/** Host results of `runDecoder`. */
export interface DecoderResult {
  classCount: number;
  /** Side of the output maps (R/4) as [height, width]. */
  outputSize: [number, number];
  /** Full path: logits [1, T, R/4, R/4]. */
  logits?: HostTensor<'float32'>;
  /** CER: the top-k used. */
  topK?: number;
  /** CER: classes kept before decoder layer 1 (ranked by head0), among all T classes (length T). */
  valid0?: HostTensor<'uint8'>;
  /** CER: classes kept before decoder layer 2 (ranked by head1), among those kept before layer 1 (length T1). */
  valid1?: HostTensor<'uint8'>;
  /** CER: classes kept before decoder layer 3 (ranked by head2), among those kept before layer 2 (length T2). */
  valid2?: HostTensor<'uint8'>;
  /** CER: per rejection (before layers 1, 2, 3), the classes still in, in original class order [3, T]. */
  keep?: HostTensor<'uint8'>;
  /** CER: original indices of the classes decoder3 ran on. */
  survivors?: Int32Array;
  /** CER: head1 logits of the classes decoder layer 1 ran on [1, T1, 2h, 2w]. */
  maskAux0?: HostTensor<'float32'>;
  /** CER: head2 logits of the classes decoder layer 2 ran on [1, T2, 4h, 4w]. */
  maskAux1?: HostTensor<'float32'>;
  /** CER: probabilities [1, T, R/4, R/4]: sigmoid of the final logits, exactly 0 for rejected classes. */
  output?: HostTensor<'float32'>;
}

/** A host tensor of the given values (the shape copied). */
export function hostTensor<D extends 'float32' | 'uint8'>(dtype: D, shape: readonly number[], data: HostTensor<D>['data']): HostTensor<D> {
  return { dtype, shape: [...shape], data };
}
