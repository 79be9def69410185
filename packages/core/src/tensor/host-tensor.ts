import { SedsegError } from '../errors.js';
import { DTYPE_BYTES, type DType, type HostArray, type TypedArrayFor } from './dtype.js';

/** A dense, row-major (C-contiguous) tensor in host memory. */
export interface HostTensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayFor<D>;
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeToString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Wraps little-endian raw bytes as the typed array of `dtype` (copies only if misaligned). */
export function typedArrayFromBytes<D extends DType>(dtype: D, bytes: Uint8Array): TypedArrayFor<D> {
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new SedsegError('E_CORRUPT', `${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = aligned.byteLength / size;
  const { buffer, byteOffset } = aligned;
  let out: HostArray;
  switch (dtype) {
    case 'float32':
      out = new Float32Array(buffer, byteOffset, n);
      break;
    case 'float16':
    case 'bfloat16':
      out = new Uint16Array(buffer, byteOffset, n);
      break;
    case 'float64':
      out = new Float64Array(buffer, byteOffset, n);
      break;
    case 'int64':
      out = new BigInt64Array(buffer, byteOffset, n);
      break;
    case 'int32':
      out = new Int32Array(buffer, byteOffset, n);
      break;
    case 'uint8':
    case 'bool':
      out = new Uint8Array(buffer, byteOffset, n);
      break;
    default:
      throw new SedsegError('E_UNSUPPORTED', `unknown dtype ${String(dtype)}`);
  }
  return out as TypedArrayFor<D>;
}

/** Allocates a zero-filled typed array for `n` elements of `dtype`. */
export function allocTypedArray<D extends DType>(dtype: D, n: number): TypedArrayFor<D> {
  return typedArrayFromBytes(dtype, new Uint8Array(n * DTYPE_BYTES[dtype]));
}

/** The raw little-endian bytes of a typed array (a view, no copy). */
export function bytesOf(data: HostArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
