import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openSafetensors, safetensorsHeader, serializeSafetensors } from '../src/checkpoint/safetensors.js';
import { memorySource, type ByteSource } from '../src/io/byte-source.js';
import { fileSource } from '../src/node/file-source.js';
import { writeSafetensorsFile } from '../src/node/write-safetensors.js';
import type { DType } from '../src/tensor/dtype.js';
import { castFloat, float16BitsToFloat32, float32ToFloat16Array } from '../src/tensor/float-convert.js';
import type { HostTensor } from '../src/tensor/host-tensor.js';
import { memoryWeightStore } from '../src/weights/memory-store.js';
import { expectSedsegError } from './helpers/expect-sedseg-error.js';

// <repo root>/../shared/reference: the repo root is three levels above this test folder.
const CASE_DIR = fileURLToPath(new URL('../../../../shared/reference/tiny/case-01/', import.meta.url));
const CASE_FILE = `${CASE_DIR}tensors.safetensors`;

const DTYPE_CODES: Record<string, DType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};

/** Builds a safetensors file by hand: header text (or value), then `data`; optional raw length. */
function rawFile(header: unknown, data: Uint8Array | number = 0, length?: bigint): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.byteLength + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(body, 8 + json.byteLength);
  return out;
}

const open = (bytes: Uint8Array, name = 'bad.safetensors') => openSafetensors(memorySource(bytes, name));

/** FNV-1a over bytes: an independent checksum. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

describe('reading the reference case file', () => {
  const caseJson = JSON.parse(readFileSync(`${CASE_DIR}case.json`, 'utf8')) as {
    tensors: Record<string, { stored: boolean; dtype: string; shape: number[] }>;
  };
  // Independent parse of the file with a plain DataView.
  const fileBytes = new Uint8Array(readFileSync(CASE_FILE));
  const view = new DataView(fileBytes.buffer, fileBytes.byteOffset, fileBytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(fileBytes.subarray(8, 8 + n))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const rawOf = (name: string) => {
    const [b, e] = header[name]!.data_offsets;
    return fileBytes.subarray(8 + n + b, 8 + n + e);
  };

  it('lists the tensors of case.json with their dtypes and shapes, in offset order', async () => {
    const store = await openSafetensors(await fileSource(CASE_FILE));
    try {
      expect(store.format).toBe('safetensors');
      expect(store.source).toBe(CASE_FILE);
      expect(store.metadata).toEqual({ format: 'sed-reference-golden', case: 'case-01' });
      const stored = Object.entries(caseJson.tensors).filter(([, t]) => t.stored);
      expect(new Set(store.keys())).toEqual(new Set(stored.map(([name]) => name)));
      expect(store.keys()).toHaveLength(stored.length);
      for (const [name, t] of stored) {
        expect(store.info(name)).toEqual({ name, dtype: DTYPE_CODES[t.dtype], shape: t.shape });
      }
      const byOffset = Object.keys(header)
        .filter((k) => k !== '__metadata__')
        .sort((a, b) => header[a]!.data_offsets[0] - header[b]!.data_offsets[0]);
      expect(store.keys()).toEqual(byOffset);
      expect(store.info('nope')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('reads the image, label and float tensors byte for byte', async () => {
    const store = await openSafetensors(await fileSource(CASE_FILE));
    try {
      const image = await store.read('image');
      expect(image.dtype).toBe('uint8');
      expect(image.shape).toEqual([200, 300, 3]);
      expect(image.data).toBeInstanceOf(Uint8Array);
      expect(image.data.length).toBe(200 * 300 * 3);
      expect(fnv1a(image.data as Uint8Array)).toBe(fnv1a(rawOf('image')));

      const labels = await store.read('labels');
      expect(labels.dtype).toBe('int32');
      expect(labels.data).toBeInstanceOf(Int32Array);
      let sum = 0;
      for (let i = 0; i < 200 * 300; i++) sum += view.getInt32(rawOf('labels').byteOffset + 4 * i, true);
      expect((labels.data as Int32Array).reduce((a, b) => a + b, 0)).toBe(sum);

      const input = await store.read('input');
      const raw = rawOf('input');
      expect(input.data).toBeInstanceOf(Float32Array);
      for (const i of [0, 1, 12345, input.data.length - 1]) {
        expect(input.data[i]).toBe(view.getFloat32(raw.byteOffset + 4 * i, true));
      }
      await expectSedsegError(() => store.read('missing'), 'E_KEY', CASE_FILE, '"missing"');
    } finally {
      await store.close();
    }
  });

  it('converts a float32 file to float16', async () => {
    const store = await openSafetensors(await fileSource(CASE_FILE));
    const converted: Array<[string, HostTensor]> = [];
    for (const name of store.keys()) {
      const t = await store.read(name);
      converted.push([name, t.dtype === 'float32' ? castFloat(t, 'float16') : t]);
    }
    await store.close();
    const bytes = serializeSafetensors(converted, { ...store.metadata, dtype: 'float16' });
    expect(bytes.byteLength).toBeLessThan(fileBytes.byteLength);

    const half = await open(bytes, 'half.safetensors');
    expect(half.keys()).toEqual(store.keys());
    expect(half.metadata.dtype).toBe('float16');
    for (const name of half.keys()) {
      const info = half.info(name)!;
      const code = header[name]!.dtype;
      expect(info.dtype).toBe(code === 'F32' ? 'float16' : DTYPE_CODES[code]);
      expect(info.shape).toEqual(header[name]!.shape);
    }
    const res3 = await half.read('res3');
    const src = new Float32Array(rawOf('res3').slice().buffer);
    expect(res3.data).toEqual(float32ToFloat16Array(src));
    for (let i = 0; i < src.length; i += 97) {
      const v = float16BitsToFloat32((res3.data as Uint16Array)[i]!);
      expect(Math.abs(v - src[i]!)).toBeLessThanOrEqual(Math.abs(src[i]!) * 2 ** -11 + 2 ** -25);
    }
    expect(fnv1a((await half.read('image')).data as Uint8Array)).toBe(fnv1a(rawOf('image')));
  });
});

describe('writing and reading back', () => {
  const tensors: Record<string, HostTensor> = {
    f32: { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e38, -0, NaN, Infinity]) },
    f16: { dtype: 'float16', shape: [3], data: new Uint16Array([0x3c00, 0x7e01, 0x8001]) },
    bf16: { dtype: 'bfloat16', shape: [1, 2], data: new Uint16Array([0x3f80, 0xff80]) },
    f64: { dtype: 'float64', shape: [2], data: new Float64Array([Math.PI, -1e-300]) },
    i64: { dtype: 'int64', shape: [2], data: new BigInt64Array([-(1n << 62n), 12345678901234n]) },
    i32: { dtype: 'int32', shape: [1, 1, 3], data: new Int32Array([-1, 0, 2147483647]) },
    u8: { dtype: 'uint8', shape: [5], data: new Uint8Array([0, 1, 128, 254, 255]) },
    bool: { dtype: 'bool', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
    scalar: { dtype: 'float32', shape: [], data: new Float32Array([42]) },
    empty: { dtype: 'int64', shape: [0, 4], data: new BigInt64Array(0) },
  };

  it('round-trips every dtype', async () => {
    const bytes = serializeSafetensors(tensors, { author: 'test', π: 'ünïcode' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const store = await open(bytes, 'rt.safetensors');
    expect(store.metadata).toEqual({ author: 'test', π: 'ünïcode' });
    // Same order as given (the empty tensor sits at the end offset, after all others).
    expect(store.keys()).toEqual(Object.keys(tensors));
    for (const [name, t] of Object.entries(tensors)) {
      const r = await store.read(name);
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(r.data.constructor).toBe(t.data.constructor);
      expect(new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength)).toEqual(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  });

  it('accepts a list of pairs and keeps its order', async () => {
    const bytes = serializeSafetensors([
      ['z', tensors.u8!],
      ['a', tensors.f32!],
      ['0', tensors.i32!],
    ]);
    const store = await open(bytes);
    expect(store.keys()).toEqual(['z', 'a', '0']);
    expect(store.metadata).toEqual({});
    // Misaligned float32 (after 5 bytes of u8) is still read correctly.
    expect([...(await store.read('a')).data].slice(0, 3)).toEqual([1, -2.5, Math.fround(3e38)]);
  });

  it('lays the header out with space padding and no holes', () => {
    for (let pad = 0; pad < 8; pad++) {
      const name = 'x'.repeat(pad + 1);
      const { headerBytes, offsets, dataSize } = safetensorsHeader(
        [
          { name, dtype: 'uint8', shape: [3] },
          { name: 'b', dtype: 'float32', shape: [2, 2] },
        ],
        { k: 'v' },
      );
      expect(headerBytes.byteLength % 8).toBe(0);
      const n = Number(new DataView(headerBytes.buffer).getBigUint64(0, true));
      expect(n).toBe(headerBytes.byteLength - 8);
      const text = new TextDecoder().decode(headerBytes.subarray(8));
      expect(text.trimEnd().endsWith('}')).toBe(true);
      expect(text.slice(text.trimEnd().length)).toMatch(/^ *$/);
      expect(offsets).toEqual([
        [0, 3],
        [3, 19],
      ]);
      expect(dataSize).toBe(19);
      const json = JSON.parse(text) as Record<string, unknown>;
      expect(json.__metadata__).toEqual({ k: 'v' });
      expect(json.b).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [3, 19] });
    }
  });

  it('refuses bad writer input', async () => {
    await expectSedsegError(
      () =>
        safetensorsHeader([
          { name: 'a', dtype: 'uint8', shape: [1] },
          { name: 'a', dtype: 'uint8', shape: [1] },
        ]),
      'E_ARGUMENT',
      'duplicate',
      '"a"',
    );
    await expectSedsegError(() => safetensorsHeader([{ name: '__metadata__', dtype: 'uint8', shape: [1] }]), 'E_ARGUMENT', '__metadata__');
    await expectSedsegError(() => safetensorsHeader([{ name: 'a', dtype: 'uint8', shape: [-1] }]), 'E_ARGUMENT', '"a"', 'shape');
    await expectSedsegError(() => safetensorsHeader([], { k: 1 as unknown as string }), 'E_ARGUMENT', 'metadata "k"');
    await expectSedsegError(() => serializeSafetensors({ w: { dtype: 'float32', shape: [3], data: new Float32Array(2) } }), 'E_ARGUMENT', '"w"', '[3]');
    await expectSedsegError(
      () => serializeSafetensors({ w: { dtype: 'float16', shape: [2], data: new Float32Array(2) as unknown as Uint16Array } }),
      'E_ARGUMENT',
      '"w"',
    );
  });

  it('reads tensor data lazily, range by range', async () => {
    const bytes = serializeSafetensors(tensors);
    const reads: Array<[number, number]> = [];
    const inner = memorySource(bytes, 'lazy.safetensors');
    const counting: ByteSource = {
      name: inner.name,
      size: inner.size,
      read: (offset, length) => {
        reads.push([offset, length]);
        return inner.read(offset, length);
      },
      close: () => inner.close(),
    };
    const store = await openSafetensors(counting);
    expect(reads.length).toBe(2); // the length prefix and the JSON header
    const dataStart = reads[1]![0] + reads[1]![1];
    reads.length = 0;
    await store.read('i32');
    const {
      data_offsets: [b, e],
    } = (JSON.parse(new TextDecoder().decode(bytes.subarray(8, dataStart))) as Record<string, { data_offsets: [number, number] }>).i32!;
    expect(reads).toEqual([[dataStart + b, e - b]]);
    await store.close();
    await expectSedsegError(() => store.read('i32'), 'E_IO', 'after close');
  });
});

describe('memoryWeightStore', () => {
  it('serves tensors and validates their length', async () => {
    const t: HostTensor = { dtype: 'int32', shape: [2], data: new Int32Array([1, 2]) };
    const store = memoryWeightStore(
      new Map([
        ['b', t],
        ['a', t],
      ]),
    );
    expect(store.format).toBe('memory');
    expect(store.source).toBe('<memory>');
    expect(store.keys()).toEqual(['b', 'a']);
    expect(store.info('a')).toEqual({ name: 'a', dtype: 'int32', shape: [2] });
    expect(await store.read('a')).toBe(t);
    await expectSedsegError(() => store.read('c'), 'E_KEY', '<memory>', '"c"');
    await expectSedsegError(
      () => memoryWeightStore({ w: { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) } }, 'mine'),
      'E_ARGUMENT',
      'mine',
      '"w"',
      '[2, 2]',
    );
    await expectSedsegError(
      () => memoryWeightStore({ w: { dtype: 'bfloat16', shape: [2], data: new Float32Array(2) as unknown as Uint16Array } }),
      'E_ARGUMENT',
      '"w"',
    );
  });
});

describe('hostile headers', () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

  it('refuses overlapping tensors, naming both', async () => {
    await expectSedsegError(() => open(rawFile({ a: f32(0, 8), b: f32(4, 12) }, 16)), 'E_CORRUPT', 'bad.safetensors', '"a"', '"b"', 'overlap');
    // A large tensor covering a later one that does not touch its direct predecessor.
    await expectSedsegError(() => open(rawFile({ big: f32(0, 32), x: f32(4, 8), y: f32(12, 16) }, 32)), 'E_CORRUPT', '"big"', '"x"', 'overlap');
    await expectSedsegError(() => open(rawFile({ a: f32(0, 8), b: f32(0, 8) }, 8)), 'E_CORRUPT', '"a"', '"b"');
    // An empty tensor inside another one overlaps it too (the reference crate requires every
    // tensor, empty or not, to start where the previous one ends).
    await expectSedsegError(() => open(rawFile({ a: f32(0, 8), e: f32(4, 4, [0]) }, 8)), 'E_CORRUPT', '"a"', '"e"', 'overlap');
    // Empty tensors at the boundaries between tensors are fine, in header order among ties.
    const ok = await open(rawFile({ e0: f32(0, 0, [0]), a: f32(0, 8), e: f32(8, 8, [0, 3]), c: f32(8, 16), z: f32(16, 16, [0]) }, 16));
    expect(ok.keys()).toEqual(['e0', 'a', 'e', 'c', 'z']);
  });

  it('refuses offsets outside the data area', async () => {
    await expectSedsegError(() => open(rawFile({ a: f32(0, 8), b: f32(8, 16) }, 12)), 'E_CORRUPT', '"b"', '[8, 16]', 'past the end', '12 bytes');
    await expectSedsegError(() => open(rawFile({ a: { dtype: 'U8', shape: [1], data_offsets: [-1, 0] } }, 8)), 'E_FORMAT', '"a"', 'data_offsets');
    await expectSedsegError(() => open(rawFile({ a: { dtype: 'U8', shape: [1], data_offsets: [2, 1] } }, 8)), 'E_FORMAT', '"a"', 'data_offsets');
    await expectSedsegError(() => open(rawFile({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1, 2] } }, 8)), 'E_FORMAT', '"a"', 'data_offsets');
    await expectSedsegError(() => open(rawFile({ a: { dtype: 'U8', shape: [1] } }, 8)), 'E_FORMAT', '"a"', 'data_offsets');
  });

  it('refuses a byte length that does not match dtype and shape', async () => {
    await expectSedsegError(() => open(rawFile({ w: f32(0, 8, [3]) }, 16)), 'E_CORRUPT', '"w"', 'hold 8 bytes', 'F32 [3] needs 12');
  });

  it('refuses a truncated data area', async () => {
    const good = serializeSafetensors({ a: { dtype: 'float32', shape: [4], data: new Float32Array(4) } });
    await expectSedsegError(() => open(good.subarray(0, good.byteLength - 1)), 'E_CORRUPT', '"a"', 'truncated');
  });

  it('refuses bad JSON', async () => {
    await expectSedsegError(() => open(rawFile('{"a": {')), 'E_FORMAT', 'bad.safetensors', 'bad JSON header');
    await expectSedsegError(() => open(rawFile('')), 'E_FORMAT', 'bad JSON header');
    const invalidUtf8 = rawFile('{"  ": {}}');
    invalidUtf8[10] = 0xff;
    await expectSedsegError(() => open(invalidUtf8), 'E_FORMAT', 'bad JSON header');
  });

  it('refuses a header that is not a JSON object', async () => {
    await expectSedsegError(() => open(rawFile('[]')), 'E_FORMAT', 'an array', 'not a JSON object');
    await expectSedsegError(() => open(rawFile('null')), 'E_FORMAT', 'null', 'not a JSON object');
    await expectSedsegError(() => open(rawFile('"x"')), 'E_FORMAT', 'a string', 'not a JSON object');
    await expectSedsegError(() => open(rawFile('5')), 'E_FORMAT', 'not a JSON object');
    await expectSedsegError(() => open(rawFile({ a: 5 })), 'E_FORMAT', '"a"', 'not an object');
  });

  it('refuses header lengths larger than the file or than 100 MB', async () => {
    await expectSedsegError(() => open(rawFile('{}', 10, 1000n)), 'E_CORRUPT', 'header length 1000 exceeds', 'file size');
    await expectSedsegError(() => open(rawFile('{}', 10, 2n ** 40n)), 'E_FORMAT', `header length ${2 ** 40} exceeds`, '100 MB');
    await expectSedsegError(() => open(rawFile('{}', 10, 2n ** 64n - 1n)), 'E_FORMAT', 'header length 18446744073709551615 exceeds');
    await expectSedsegError(() => open(new Uint8Array(5)), 'E_CORRUPT', '5 bytes', 'too short');
  });

  it('refuses unsupported dtypes, naming tensor and dtype', async () => {
    await expectSedsegError(() => open(rawFile({ q: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 8)), 'E_UNSUPPORTED', '"q"', 'F8_E4M3');
    await expectSedsegError(() => open(rawFile({ s: { dtype: 'I16', shape: [2], data_offsets: [0, 4] } }, 8)), 'E_UNSUPPORTED', '"s"', 'I16');
    await expectSedsegError(() => open(rawFile({ s: { shape: [2], data_offsets: [0, 4] } }, 8)), 'E_FORMAT', '"s"', 'dtype');
  });

  it('refuses negative or non-integer shapes', async () => {
    await expectSedsegError(() => open(rawFile({ w: { dtype: 'U8', shape: [-1, 2], data_offsets: [0, 0] } }, 8)), 'E_FORMAT', '"w"', 'shape [-1,2]');
    await expectSedsegError(() => open(rawFile({ w: { dtype: 'U8', shape: [1.5], data_offsets: [0, 1] } }, 8)), 'E_FORMAT', '"w"', 'shape [1.5]');
    await expectSedsegError(() => open(rawFile({ w: { dtype: 'U8', shape: ['2'], data_offsets: [0, 2] } }, 8)), 'E_FORMAT', '"w"', 'shape');
    await expectSedsegError(() => open(rawFile({ w: { dtype: 'U8', shape: 2, data_offsets: [0, 2] } }, 8)), 'E_FORMAT', '"w"', 'shape');
  });

  it('refuses metadata that is not string to string', async () => {
    await expectSedsegError(() => open(rawFile({ __metadata__: { a: 1 } })), 'E_FORMAT', '__metadata__', '"a"', 'number');
    await expectSedsegError(() => open(rawFile({ __metadata__: ['x'] })), 'E_FORMAT', '__metadata__');
    const ok = await open(rawFile('{"__metadata__": {"__proto__": "p", "k": "v"}}'));
    expect(Object.getPrototypeOf(ok.metadata)).toBe(Object.prototype);
    expect(ok.metadata.k).toBe('v');
    expect(Object.keys(ok.metadata)).toContain('__proto__');
  });
});

describe('layout rules of the reference implementation (fuzzing regressions)', () => {
  const f32 = (begin: number, end: number, shape = [(end - begin) / 4]) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const tensorsOf = (n: number): Array<[string, HostTensor]> =>
    Array.from({ length: n }, (_, i): [string, HostTensor] => [
      `t${i}`,
      { dtype: 'float32', shape: [3 + (i % 5)], data: new Float32Array(3 + (i % 5)).map((_, j) => i * 100 + j) },
    ]);

  it('refuses 8 bytes inserted in the data area (every later tensor would be shifted)', async () => {
    const good = serializeSafetensors(tensorsOf(20));
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    const at = 8 + n + 100;
    const bad = new Uint8Array(good.length + 8);
    bad.set(good.subarray(0, at));
    bad.set(good.subarray(at), at + 8);
    await expectSedsegError(() => open(bad, 'ins.safetensors'), 'E_CORRUPT', 'ins.safetensors: the data area has', '8 trailing bytes');
  });

  it('refuses gaps between tensors, before the first and after the last', async () => {
    await expectSedsegError(
      () => open(rawFile({ a: f32(0, 8), b: f32(12, 16) }, 16)),
      'E_CORRUPT',
      'bad.safetensors: 4 unused bytes after tensor "a" [0, 8]: tensor "b" starts at 12, expected 8',
    );
    await expectSedsegError(
      () => open(rawFile({ a: f32(4, 8) }, 8)),
      'E_CORRUPT',
      '4 unused bytes at the start of the data area: tensor "a" starts at 4, expected 0',
    );
    await expectSedsegError(() => open(rawFile({ a: f32(0, 8) }, 9)), 'E_CORRUPT', 'the data area has 9 bytes but the tensors cover 8 (1 trailing bytes)');
  });

  it('refuses a header-only file that declares tensors, and data without tensors', async () => {
    await expectSedsegError(() => open(rawFile({ a: f32(0, 8) }, 0)), 'E_CORRUPT', '"a"', 'run past the end of the data area (0 bytes');
    await expectSedsegError(
      () => open(rawFile({ __metadata__: { k: 'v' } }, 16)),
      'E_CORRUPT',
      'the data area has 16 bytes but the tensors cover 0 (16 trailing bytes and no tensors)',
    );
    // A header-only file with no tensors, or only empty ones, is fine.
    expect((await open(rawFile({}, 0))).keys()).toEqual([]);
    expect((await open(rawFile({ e: { dtype: 'U8', shape: [0, 5], data_offsets: [0, 0] } }, 0))).keys()).toEqual(['e']);
  });

  it('refuses byte sizes that overflow', async () => {
    await expectSedsegError(() => open(rawFile({ w: { dtype: 'F64', shape: [2 ** 40, 2 ** 20], data_offsets: [0, 8] } }, 8)), 'E_CORRUPT', '"w"', 'too large');
  });

  it('bounds messages about shape or data_offsets nested 100k deep (no stack overflow)', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const shapeMsg = await expectSedsegError(
      () => open(rawFile(`{"w": {"dtype": "U8", "shape": ${deep}, "data_offsets": [0, 0]}}`)),
      'E_FORMAT',
      '"w"',
      'shape [[[…]]]',
    );
    expect(shapeMsg.length).toBeLessThan(300);
    const offsetsMsg = await expectSedsegError(
      () => open(rawFile(`{"w": {"dtype": "U8", "shape": [1], "data_offsets": ${deep}}}`, 1)),
      'E_FORMAT',
      '"w"',
      'data_offsets',
    );
    expect(offsetsMsg.length).toBeLessThan(300);
    const dtypeMsg = await expectSedsegError(
      () => open(rawFile({ w: { dtype: 'X'.repeat(1_000_000), shape: [1], data_offsets: [0, 1] } }, 1)),
      'E_UNSUPPORTED',
      '"w"',
    );
    expect(dtypeMsg.length).toBeLessThan(400);
    const nameMsg = await expectSedsegError(() => open(rawFile({ ['n'.repeat(1_000_000)]: f32(0, 8, [3]) }, 8)), 'E_CORRUPT', 'hold 8 bytes');
    expect(nameMsg.length).toBeLessThan(500);
    const metaMsg = await expectSedsegError(() => open(rawFile({ __metadata__: { ['m\n'.repeat(100_000)]: [] } })), 'E_FORMAT', '__metadata__', 'an array');
    expect(metaMsg.length).toBeLessThan(500);
  });

  it('the golden case files and both writers satisfy the rules', async () => {
    for (const c of ['case-01', 'case-02', 'case-03', 'case-04']) {
      const file = fileURLToPath(new URL(`../../../../shared/reference/tiny/${c}/tensors.safetensors`, import.meta.url));
      const store = await openSafetensors(await fileSource(file));
      expect(store.keys().length).toBeGreaterThan(5);
      for (const name of store.keys()) expect((await store.read(name)).shape).toEqual(store.info(name)!.shape);
      await store.close();
    }
    // Empty tensors anywhere in the list, odd sizes, metadata: still back to back.
    const list = [
      ...tensorsOf(5),
      ['e', { dtype: 'int64', shape: [0], data: new BigInt64Array(0) }] as [string, HostTensor],
      ['u', { dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) }] as [string, HostTensor],
    ];
    expect((await open(serializeSafetensors(list, { k: 'v' }))).keys()).toEqual(list.map(([n]) => n));
    const dir = mkdtempSync(join(tmpdir(), 'sedseg-st-'));
    try {
      const path = join(dir, 'w.safetensors');
      await writeSafetensorsFile(path, [...list].reverse(), { infos: list.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })) });
      const store = await openSafetensors(await fileSource(path));
      expect(store.keys()).toEqual(list.map(([n]) => n));
      expect([...((await store.read('t3')).data as Float32Array)]).toEqual([300, 301, 302, 303, 304, 305]);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
