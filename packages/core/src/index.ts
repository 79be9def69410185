export { SedsegError, isSedsegError, type SedsegErrorCode } from './errors.js';
export * from './tensor/dtype.js';
export * from './tensor/host-tensor.js';
export * from './io/byte-source.js';
export type { TensorInfo, WeightStore } from './weights/weight-store.js';
