/** What every part of one decoder run shares: the backend, the weights, and the run's bookkeeping. */
import type { Ops } from '../../ops/ops.js';
import type { ModelParams } from '../model-params.js';
import type { DecoderArchitecture } from '../decoder/decoder-forward.js';
import type { ClassChunks } from './class-chunks.js';
import type { DecoderProgress } from './decoder-progress.js';
import type { DecoderTracer } from './decoder-trace.js';
import type { OwnedTensors } from './owned-tensors.js';

export interface DecoderRunState<T> {
  ops: Ops<T>;
  params: ModelParams<T>;
  arch: DecoderArchitecture;
  tensors: OwnedTensors<T>;
  tracer: DecoderTracer<T>;
  progress: DecoderProgress;
  /** Most values (classes × channels × pixels) of pooled features the class attention takes at once. */
  attentionBandValues: number;
  /** Above this many pooled values of all classes, the class attention is streamed over the chunks. */
  allClassAttentionValues: number;
}

/** The decoder's inputs as the decoder layers take them (owned by the run). */
export interface DecoderLayerInputs<T> {
  /** Class-batched cost map [T, P, h, w]: the input of the corr guidance chain. */
  corrClasses: ClassChunks<T>;
  /** `conv1` of the cost map [T, hidden, h, w]: the input of decoder layer 0. */
  corrEmbed: ClassChunks<T>;
  /** `head0(corrEmbed)` [1, T, h, w]: the scores of the first rejection. */
  maskAux: T;
  /** Appearance guidances of decoder layers 0, 1, 2 (shared by every class). */
  guidance: [T, T, T];
}
