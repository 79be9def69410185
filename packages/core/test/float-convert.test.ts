import { describe, expect, it } from 'vitest';
import {
  bfloat16BitsToFloat32,
  bfloat16ToFloat32Array,
  castFloat,
  float16BitsToFloat32,
  float16ToFloat32Array,
  float32ToBfloat16Array,
  float32ToBfloat16Bits,
  float32ToFloat16Array,
  float32ToFloat16Bits,
  float64ToFloat16Bits,
  toFloat32,
} from '../src/tensor/float-convert.js';
import type { HostTensor } from '../src/tensor/host-tensor.js';

/** Reference decoding of float16 bits, straight from the definition (double arithmetic). */
function refHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Reference float -> float16: nearest of the two neighbouring halves, ties to even bits. */
function refToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  // Positive finite halves are monotonic in their bits: binary search the largest <= a.
  let lo = 0;
  let hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (refHalf(mid) <= a) lo = mid;
    else hi = mid - 1;
  }
  if (refHalf(lo) === a || lo === 0x7bff) return sign | lo;
  const dLo = a - refHalf(lo);
  const dHi = refHalf(lo + 1) - a;
  if (dLo < dHi) return sign | lo;
  if (dHi < dLo) return sign | (lo + 1);
  return sign | (lo % 2 === 0 ? lo : lo + 1);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => {
  f32[0] = x;
  return u32[0]!;
};
const fromBits = (b: number): number => {
  u32[0] = b;
  return f32[0]!;
};

/** Deterministic xorshift so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

describe('float16', () => {
  it('decodes every bit pattern exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const ref = refHalf(h);
      const got = float16BitsToFloat32(h);
      if (Number.isNaN(ref)) expect(got).toBeNaN();
      else if (got !== Math.fround(ref) || Object.is(got, -0) !== Object.is(ref, -0)) {
        expect.fail(`0x${h.toString(16)}: got ${got}, want ${ref}`);
      }
    }
  });

  it('round-trips all 65536 bit patterns fp16 -> fp32 -> fp16 (NaN payloads included)', () => {
    const all = new Uint16Array(0x10000).map((_, i) => i);
    const wide = float16ToFloat32Array(all);
    const back = float32ToFloat16Array(wide);
    expect(back).toEqual(all);
    // The scalar path agrees with the array path on every non-NaN pattern.
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaN: scalar canonicalises
      if (float32ToFloat16Bits(wide[h]!) !== h) expect.fail(`scalar 0x${h.toString(16)}`);
    }
  });

  it('converts known values', () => {
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float32ToFloat16Bits(65519.99)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // tie rounds to even = overflow
    expect(float32ToFloat16Bits(70000)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-70000)).toBe(0xfc00);
    expect(float32ToFloat16Bits(Infinity)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-Infinity)).toBe(0xfc00);
    expect(float32ToFloat16Bits(6.103515625e-5)).toBe(0x0400); // smallest normal 2^-14
    expect(float32ToFloat16Bits(6.1e-5)).toBe(0x03ff); // just below: largest subnormal
    expect(float32ToFloat16Bits(5.96e-8)).toBe(0x0001); // smallest subnormal 2^-24
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // tie between 0 and 2^-24 -> even (0)
    expect(float32ToFloat16Bits(Math.fround(2 ** -25 * 1.0001))).toBe(1);
    expect(float32ToFloat16Bits(1e-8)).toBe(0);
    expect(float32ToFloat16Bits(-1e-8)).toBe(0x8000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
    expect(float32ToFloat16Bits(1 / 3)).toBe(0x3555);
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
  });

  it('rounds exact ties to even, and nearby values to nearest', () => {
    // The midpoint of every pair of adjacent finite halves is a float32 (12 significant bits).
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (refHalf(h) + refHalf(h + 1)) / 2;
      expect(Math.fround(mid)).toBe(mid);
      const even = h % 2 === 0 ? h : h + 1;
      if (float32ToFloat16Bits(mid) !== even) expect.fail(`tie after 0x${h.toString(16)}`);
      if (float32ToFloat16Bits(-mid) !== (even | 0x8000)) expect.fail(`negative tie after 0x${h.toString(16)}`);
      const below = fromBits(bitsOf(mid) - 1);
      const above = fromBits(bitsOf(mid) + 1);
      if (float32ToFloat16Bits(below) !== h) expect.fail(`below tie after 0x${h.toString(16)}`);
      if (float32ToFloat16Bits(above) !== h + 1) expect.fail(`above tie after 0x${h.toString(16)}`);
    }
  });

  it('matches the reference on random float32 bit patterns', () => {
    const next = rng(1234);
    const src = new Float32Array(100_000);
    const bits = new Uint32Array(src.buffer);
    for (let i = 0; i < bits.length; i++) {
      // Half of them in the float16 range, where rounding matters.
      bits[i] = i % 2 === 0 ? next() : (next() & 0x80000000) | (0x33000000 + (next() % 0x15000000));
    }
    const out = float32ToFloat16Array(src);
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (Number.isNaN(v)) {
        expect(Number.isNaN(float16BitsToFloat32(out[i]!))).toBe(true);
        continue;
      }
      if (out[i] !== refToHalf(v)) expect.fail(`${v} (0x${bits[i]!.toString(16)}): got 0x${out[i]!.toString(16)}, want 0x${refToHalf(v).toString(16)}`);
    }
  });

  it('rounds float64 once (no double rounding through float32)', () => {
    // 1 + 2^-11 is a half-way tie; a hair above it must round up, but float32 would first
    // round the hair away and the tie would then go to even (down).
    const x = 1 + 2 ** -11 + 2 ** -40;
    expect(Math.fround(x)).toBe(1 + 2 ** -11);
    expect(float32ToFloat16Bits(x)).toBe(0x3c00);
    expect(float64ToFloat16Bits(x)).toBe(0x3c01);
    expect(float64ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(float64ToFloat16Bits(1 + 2 ** -11 - 2 ** -40)).toBe(0x3c00);
    expect(float64ToFloat16Bits(1e300)).toBe(0x7c00);
    expect(float64ToFloat16Bits(-1e-300)).toBe(0x8000);
  });
});

describe('bfloat16', () => {
  it('decodes as the upper half of a float32', () => {
    for (let b = 0; b < 0x10000; b++) {
      const want = fromBits((b << 16) >>> 0);
      const got = bfloat16BitsToFloat32(b);
      if (Number.isNaN(want)) expect(got).toBeNaN();
      else if (!Object.is(got, want)) expect.fail(`0x${b.toString(16)}`);
    }
  });

  it('round-trips all bit patterns bf16 -> fp32 -> bf16', () => {
    const all = new Uint16Array(0x10000).map((_, i) => i);
    const back = float32ToBfloat16Array(bfloat16ToFloat32Array(all));
    for (let b = 0; b < 0x10000; b++) {
      const nan = (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
      if (nan) expect((back[b]! & 0x7f80) === 0x7f80 && (back[b]! & 0x7f) !== 0).toBe(true);
      else if (back[b] !== b) expect.fail(`0x${b.toString(16)}`);
    }
  });

  it('rounds to nearest even on the dropped 16 bits', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(fromBits(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(float32ToBfloat16Bits(fromBits(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(float32ToBfloat16Bits(fromBits(0x3f808001))).toBe(0x3f81);
    expect(float32ToBfloat16Bits(fromBits(0x3f807fff))).toBe(0x3f80);
    expect(float32ToBfloat16Bits(fromBits(0x7f7fffff))).toBe(0x7f80); // max float -> Inf
    expect(float32ToBfloat16Bits(-Infinity)).toBe(0xff80);
    expect(float32ToBfloat16Bits(fromBits(0x7f800001)) & 0x7f).not.toBe(0); // NaN stays NaN
    expect(float32ToBfloat16Bits(fromBits(0xff800001)) & 0xff80).toBe(0xff80);

    const next = rng(99);
    for (let i = 0; i < 100_000; i++) {
      const b = next();
      const v = fromBits(b);
      if (!Number.isFinite(v)) continue;
      const lo = b >>> 16;
      const dLo = Math.abs(v - fromBits((lo << 16) >>> 0));
      const up = fromBits(((lo + 1) << 16) >>> 0); // one bf16 step away from zero (may be Inf)
      const dUp = Math.abs(up - v);
      const want = dLo < dUp ? lo : dUp < dLo ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
      if (float32ToBfloat16Bits(v) !== want) expect.fail(`0x${b.toString(16)}`);
    }
  });
});

describe('tensor conversions', () => {
  it('toFloat32 handles every dtype', () => {
    const shape = [2, 2];
    const f32t: HostTensor<'float32'> = { dtype: 'float32', shape, data: new Float32Array([1, 2, 3, 4]) };
    expect(toFloat32(f32t)).toBe(f32t);
    const cases: HostTensor[] = [
      { dtype: 'float16', shape, data: new Uint16Array([0x3c00, 0x4000, 0xc200, 0x7c00]) },
      { dtype: 'bfloat16', shape, data: new Uint16Array([0x3f80, 0x4000, 0xc040, 0x7f80]) },
      { dtype: 'float64', shape, data: new Float64Array([1, 2, -3, Infinity]) },
      { dtype: 'int64', shape, data: new BigInt64Array([1n, 2n, -3n, 1n << 60n]) },
      { dtype: 'int32', shape, data: new Int32Array([1, 2, -3, 7]) },
      { dtype: 'uint8', shape, data: new Uint8Array([1, 2, 3, 255]) },
      { dtype: 'bool', shape, data: new Uint8Array([1, 0, 1, 1]) },
    ];
    const want = [
      [1, 2, -3, Infinity],
      [1, 2, -3, Infinity],
      [1, 2, -3, Infinity],
      [1, 2, -3, 2 ** 60],
      [1, 2, -3, 7],
      [1, 2, 3, 255],
      [1, 0, 1, 1],
    ];
    cases.forEach((t, i) => {
      const r = toFloat32(t);
      expect(r.dtype).toBe('float32');
      expect(r.shape).toEqual(shape);
      expect(r.data).toBeInstanceOf(Float32Array);
      expect([...r.data]).toEqual(want[i]);
    });
    expect(toFloat32({ dtype: 'float64', shape: [1], data: new Float64Array([0.1]) }).data[0]).toBe(Math.fround(0.1));
  });

  it('castFloat converts between float formats', () => {
    const t: HostTensor<'float32'> = { dtype: 'float32', shape: [3], data: new Float32Array([1, 0.1, 70000]) };
    const h = castFloat(t, 'float16');
    expect(h.dtype).toBe('float16');
    expect([...h.data]).toEqual([0x3c00, 0x2e66, 0x7c00]);
    const b = castFloat(t, 'bfloat16');
    expect([...b.data]).toEqual([0x3f80, float32ToBfloat16Bits(0.1), float32ToBfloat16Bits(70000)]);
    expect(castFloat(h, 'float16')).toBe(h);
    expect([...castFloat(h, 'float32').data]).toEqual([1, float16BitsToFloat32(0x2e66), Infinity]);
    expect([...castFloat(b, 'float16').data]).toEqual([0x3c00, float32ToFloat16Bits(bfloat16BitsToFloat32(b.data[1]!)), 0x7c00]);
    const d = castFloat({ dtype: 'float64', shape: [2], data: new Float64Array([1 + 2 ** -11 + 2 ** -40, 0.1]) }, 'float16');
    expect([...d.data]).toEqual([0x3c01, 0x2e66]);
    const i = castFloat({ dtype: 'int32', shape: [2], data: new Int32Array([2049, -7]) }, 'float16');
    expect([...i.data].map(float16BitsToFloat32)).toEqual([2048, -7]);
  });

  it('converts 10M elements quickly', () => {
    const n = 10_000_000;
    const src = new Float32Array(n);
    for (let i = 0; i < n; i++) src[i] = (i % 1000) * 0.37 - 150;
    const t0 = performance.now();
    const h = float32ToFloat16Array(src);
    const t1 = performance.now();
    const back = float16ToFloat32Array(h);
    const t2 = performance.now();
    const b = float32ToBfloat16Array(src);
    const t3 = performance.now();
    bfloat16ToFloat32Array(b);
    const t4 = performance.now();
    console.log(
      `10M: f32->f16 ${(t1 - t0).toFixed(0)} ms, f16->f32 ${(t2 - t1).toFixed(0)} ms, f32->bf16 ${(t3 - t2).toFixed(0)} ms, bf16->f32 ${(t4 - t3).toFixed(0)} ms`,
    );
    expect(back[1]).toBe(float16BitsToFloat32(float32ToFloat16Bits(src[1]!)));
    // Generous bounds so a loaded CI machine does not flake; typical times are far lower.
    for (const ms of [t1 - t0, t2 - t1, t3 - t2, t4 - t3]) expect(ms).toBeLessThan(2000);
  });
});
