import { SedsegError } from '../errors.js';
import type { DType } from './dtype.js';
import { shapeSize, type HostTensor } from './host-tensor.js';

/**
 * Exact IEEE-754 conversions between float32 and the two 16-bit float formats, which sedseg
 * keeps as raw Uint16Array bit patterns:
 *
 *  - float16 (binary16): 1 sign, 5 exponent, 10 mantissa bits.
 *  - bfloat16: the upper 16 bits of a float32 (1 sign, 8 exponent, 7 mantissa bits).
 *
 * Narrowing rounds to nearest, ties to even; values too large become ±Infinity; NaN stays NaN
 * (its payload is kept where the narrower format has room for it). Widening is exact.
 *
 * Everything works on integer bit patterns (no tables): array conversions view the Float32Array
 * as a Uint32Array, scalar ones go through one shared Float32Array/Uint32Array pair.
 */

export type FloatDType = 'float32' | 'float16' | 'bfloat16';

// One scratch float32 for the scalar conversions (bit access without a DataView per call).
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

// ---------------------------------------------------------------------------------------------
// float32 bits <-> float16 bits

/** float32 bit pattern (as an unsigned 32-bit number) -> float16 bit pattern. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) {
    if (abs === 0x7f800000) return sign | 0x7c00; // ±Inf
    // NaN: keep the top 10 payload bits; if they are all zero, set one so it is not Inf.
    const payload = (abs >>> 13) & 0x3ff;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload);
  }
  // 65520 = 65504 + half an ulp: the tie rounds to even, i.e. up, which overflows to Inf.
  if (abs >= 0x477ff000) return sign | 0x7c00;
  if (abs >= 0x38800000) {
    // Normal half (|x| >= 2^-14): rebias the exponent by 127-15 = 112, then round away the low
    // 13 mantissa bits to nearest-even. A mantissa carry correctly bumps the exponent.
    const r = abs - 0x38000000;
    return sign | ((r + 0x0fff + ((r >>> 13) & 1)) >>> 13);
  }
  // |x| <= 2^-25: half way to the smallest subnormal (2^-24) or less, rounds (to even) to 0.
  if (abs <= 0x33000000) return sign;
  // Subnormal half: the result counts units of 2^-24. With the implicit bit restored the value is
  // mant * 2^(e-150), i.e. mant * 2^(e-126) units, and here e is 102..112 so the shift is 14..24.
  const e = abs >>> 23;
  const mant = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let h = mant >>> shift;
  const rem = mant & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) === 1)) h += 1; // may carry into the smallest normal
  return sign | h;
}

/** float16 bit pattern -> float32 bit pattern (unsigned). Exact. */
function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return (sign | 0x7f800000 | (m << 13)) >>> 0; // Inf / NaN (payload kept)
  if (e !== 0) return (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
  if (m === 0) return sign >>> 0; // ±0
  // Subnormal half m * 2^-24: normalise so that bit 10 is the implicit one.
  const shift = Math.clz32(m) - 21;
  return (sign | ((113 - shift) << 23) | (((m << shift) & 0x3ff) << 13)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// float32 bits <-> bfloat16 bits

function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x0040; // NaN: force a quiet bit
  // Round to nearest even on the dropped 16 bits. No overflow: for finite x the sum stays below
  // 2^32, and the largest finite values correctly carry into the Inf pattern.
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

function bf16BitsToF32Bits(b: number): number {
  return (b << 16) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Scalar API (JS numbers)

/** float32 value -> float16 bits. `x` is first rounded to float32 (Math.fround). */
export function float32ToFloat16Bits(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16Bits(scratchU32[0]!);
}

/** float16 bits -> its (exact) value. */
export function float16BitsToFloat32(h: number): number {
  scratchU32[0] = f16BitsToF32Bits(h & 0xffff);
  return scratchF32[0]!;
}

/** float32 value -> bfloat16 bits. `x` is first rounded to float32 (Math.fround). */
export function float32ToBfloat16Bits(x: number): number {
  scratchF32[0] = x;
  return f32BitsToBf16Bits(scratchU32[0]!);
}

/** bfloat16 bits -> its (exact) value. */
export function bfloat16BitsToFloat32(b: number): number {
  scratchU32[0] = bf16BitsToF32Bits(b & 0xffff);
  return scratchF32[0]!;
}

/**
 * float64 value -> float32 bit pattern rounded to *odd* (inexact results get an odd last bit).
 * Rounding to odd first and then to nearest-even in a format at least 2 bits narrower gives the
 * same result as rounding the float64 directly, so float64 -> float16/bfloat16 is not double
 * rounded.
 */
function f64ToF32BitsRoundToOdd(x: number): number {
  scratchF32[0] = x;
  let bits = scratchU32[0]!;
  const r = scratchF32[0]!;
  if (r !== x && Number.isFinite(r) && (bits & 1) === 0) {
    // Inexact with an even last bit: step one ulp towards x (sign-magnitude, so on |bits|).
    bits = Math.abs(r) > Math.abs(x) ? bits - 1 : bits + 1;
  }
  return bits >>> 0;
}

/** float64 value -> float16 bits, rounded once (to nearest even). */
export function float64ToFloat16Bits(x: number): number {
  return f32BitsToF16Bits(f64ToF32BitsRoundToOdd(x));
}

/** float64 value -> bfloat16 bits, rounded once (to nearest even). */
export function float64ToBfloat16Bits(x: number): number {
  return f32BitsToBf16Bits(f64ToF32BitsRoundToOdd(x));
}

// ---------------------------------------------------------------------------------------------
// Array API

function checkOut<T extends { length: number }>(out: T, n: number): T {
  if (out.length !== n) {
    throw new SedsegError('E_ARGUMENT', `output array has ${out.length} elements, expected ${n}`);
  }
  return out;
}

// A Float32Array is always 4-byte aligned, so it can be viewed as a Uint32Array without a copy.
function u32View(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

export function float32ToFloat16Array(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  checkOut(out, src.length);
  const bits = u32View(src);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

export function float16ToFloat32Array(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  checkOut(out, src.length);
  const bits = u32View(out);
  for (let i = 0; i < src.length; i++) bits[i] = f16BitsToF32Bits(src[i]!);
  return out;
}

export function float32ToBfloat16Array(src: Float32Array, out = new Uint16Array(src.length)): Uint16Array {
  checkOut(out, src.length);
  const bits = u32View(src);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToBf16Bits(bits[i]!);
  return out;
}

export function bfloat16ToFloat32Array(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  checkOut(out, src.length);
  const bits = u32View(out);
  for (let i = 0; i < src.length; i++) bits[i] = bf16BitsToF32Bits(src[i]!);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tensor API

/**
 * Converts any tensor to float32: 16-bit floats exactly, float64 with rounding to nearest,
 * integers and bools numerically (int64 through Number, so beyond 2^53 it is rounded twice).
 * A float32 tensor is returned as is (same object, no copy).
 */
export function toFloat32(t: HostTensor): HostTensor<'float32'> {
  const shape = t.shape;
  switch (t.dtype) {
    case 'float32':
      return t as HostTensor<'float32'>;
    case 'float16':
      return { dtype: 'float32', shape, data: float16ToFloat32Array(t.data as Uint16Array) };
    case 'bfloat16':
      return { dtype: 'float32', shape, data: bfloat16ToFloat32Array(t.data as Uint16Array) };
    case 'int64': {
      const src = t.data as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
      return { dtype: 'float32', shape, data: out };
    }
    case 'float64':
    case 'int32':
    case 'uint8':
    case 'bool':
      // The Float32Array constructor converts element-wise with round-to-nearest-even.
      return { dtype: 'float32', shape, data: new Float32Array(t.data as Float64Array | Int32Array | Uint8Array) };
    default:
      throw new SedsegError('E_UNSUPPORTED', `cannot convert dtype ${String((t as HostTensor).dtype)} to float32`);
  }
}

/** Narrows a non-16-bit tensor to float16/bfloat16 bits, element by element, rounding once. */
function narrowFromNumbers(t: HostTensor, toBits: (x: number) => number): Uint16Array {
  const n = t.data.length;
  const out = new Uint16Array(n);
  if (t.dtype === 'int64') {
    const src = t.data as BigInt64Array;
    for (let i = 0; i < n; i++) out[i] = toBits(Number(src[i]!));
  } else {
    const src = t.data as Float64Array | Int32Array | Uint8Array;
    for (let i = 0; i < n; i++) out[i] = toBits(src[i]!);
  }
  return out;
}

/**
 * Casts a tensor to float32, float16 or bfloat16 (bits), rounding to nearest even exactly once.
 * Returns the same object when it already has that dtype.
 */
export function castFloat<D extends FloatDType>(t: HostTensor, dtype: D): HostTensor<D> {
  if (t.dtype === dtype) return t as HostTensor<D>;
  if (t.data.length !== shapeSize(t.shape)) {
    throw new SedsegError('E_ARGUMENT', `tensor data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${shapeSize(t.shape)}`);
  }
  const shape = t.shape;
  if (dtype === 'float32') return toFloat32(t) as HostTensor<D>;
  const to16 = dtype === 'float16' ? float32ToFloat16Array : float32ToBfloat16Array;
  const from: DType = t.dtype;
  let data: Uint16Array;
  if (from === 'float32') {
    data = to16(t.data as Float32Array);
  } else if (from === 'float16' || from === 'bfloat16') {
    // Widening 16-bit floats to float32 is exact, so this rounds only once.
    data = to16(toFloat32(t).data);
  } else {
    data = narrowFromNumbers(t, dtype === 'float16' ? float64ToFloat16Bits : float64ToBfloat16Bits);
  }
  return { dtype, shape, data } as HostTensor<D>;
}
