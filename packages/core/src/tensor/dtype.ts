/** Element types a checkpoint tensor may have. */
export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/**
 * The typed array that holds a `DType` on the host. float16 and bfloat16 are kept as their raw
 * 16-bit patterns (Uint16Array); int64 as BigInt64Array; bool as 0/1 bytes.
 */
export interface DTypeArrayMap {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type TypedArrayFor<D extends DType> = DTypeArrayMap[D];
export type HostArray = DTypeArrayMap[DType];

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

export const ALL_DTYPES: readonly DType[] = Object.keys(DTYPE_BYTES) as DType[];

export function isFloatDType(d: DType): boolean {
  return d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'float64';
}
