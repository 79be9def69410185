import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isSedsegError, type SedsegErrorCode } from '../src/errors.js';
import { memorySource, type ByteSource } from '../src/io/byte-source.js';
import { crc32IsNative, crc32Js } from '../src/io/crc32.js';
import { crc32, openZip } from '../src/io/zip-reader.js';
import { deflateRun, writeZip, zipLayout, type ZipWriteEntry } from './helpers/zip-writer.js';

const TINY = new URL('../../../../shared/reference/tiny/model.pth', import.meta.url);
const enc = new TextEncoder();

async function expectError(p: Promise<unknown>, code: SedsegErrorCode | SedsegErrorCode[], fragment: string | RegExp): Promise<void> {
  const caught = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSedsegError(caught), `expected SedsegError, got ${String(caught)}`).toBe(true);
  const err = caught as Error & { code: SedsegErrorCode };
  expect(Array.isArray(code) ? code : [code]).toContain(err.code);
  if (typeof fragment === 'string') expect(err.message).toContain(fragment);
  else expect(err.message).toMatch(fragment);
}

const sample = (): ZipWriteEntry[] => [
  { name: 'archive/data.pkl', data: enc.encode('pickle bytes') },
  { name: 'archive/data/0', data: Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff) },
  { name: 'archive/small', data: enc.encode('a'.repeat(500)), method: 8 },
  { name: 'archive/empty', data: new Uint8Array(0) },
];

/** Index of the first occurrence of a 4-byte little-endian signature at or after `from`. */
function findSig(bytes: Uint8Array, sig: number, from = 0): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = from; i + 4 <= bytes.length; i++) if (dv.getUint32(i, true) === sig) return i;
  return -1;
}

describe('openZip', () => {
  it.each([false, true])('reads stored and deflated entries (zip64 = %s)', async (zip64) => {
    const entries = sample();
    const bytes = writeZip(entries, { zip64, comment: zip64 ? '' : 'a comment' });
    const zip = await openZip(memorySource(bytes, 'x.zip'));
    expect(zip.entries.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    expect(zip.entries.map((e) => e.method)).toEqual([0, 0, 8, 0]);
    for (const e of entries) expect(await zip.readEntry(zip.get(e.name)!)).toEqual(e.data);

    // Stored data lies at a 64-byte aligned range of the source, read without copying.
    const entry = zip.get('archive/data/0')!;
    const range = await zip.entryRange(entry);
    expect(range.offset % 64).toBe(0);
    expect(range.length).toBe(1000);
    expect(bytes.subarray(range.offset, range.offset + 1000)).toEqual(entries[1]!.data);
    const part = await zip.readEntry(entry, { offset: 300, length: 20 });
    expect(part).toEqual(entries[1]!.data!.subarray(300, 320));
    expect(part.buffer).toBe(bytes.buffer); // a view of the memory source
    expect(await zip.readEntry(zip.get('archive/small')!, { offset: 10, length: 5 })).toEqual(enc.encode('aaaaa'));
    await expectError(zip.entryRange(zip.get('archive/small')!), 'E_UNSUPPORTED', 'archive/small is compressed');
    await expectError(zip.readEntry(entry, { offset: 990, length: 20 }), 'E_CORRUPT', 'outside zip entry archive/data/0');
  });

  it('reads an empty archive', async () => {
    const zip = await openZip(memorySource(writeZip([])));
    expect(zip.entries).toEqual([]);
    expect(zip.get('x')).toBeUndefined();
  });

  it('reads the tiny torch checkpoint (entries, CRC of data.pkl)', async () => {
    const bytes = new Uint8Array(readFileSync(TINY));
    const zip = await openZip(memorySource(bytes, 'model.pth'));
    expect(zip.entries.length).toBe(211);
    expect(zip.entries[0]!.name).toBe('model/data.pkl');
    const pkl = await zip.readEntry(zip.entries[0]!);
    expect(pkl[0]).toBe(0x80);
    expect(crc32(pkl)).toBe(zip.entries[0]!.crc32);
  });

  it('refuses other compression methods and encryption', async () => {
    const bytes = writeZip([{ name: 'a', data: enc.encode('abc') }]);
    const cd = findSig(bytes, 0x02014b50);
    const bz = bytes.slice();
    bz[cd + 10] = 12; // bzip2
    const zip = await openZip(memorySource(bz, 'bz.zip'));
    await expectError(zip.readEntry(zip.get('a')!), 'E_UNSUPPORTED', 'bz.zip: zip entry a uses compression method 12');
    const enc1 = bytes.slice();
    enc1[cd + 8] = 1;
    await expectError(openZip(memorySource(enc1, 'e.zip')), 'E_UNSUPPORTED', 'zip entry a is encrypted');
  });

  it('checks CRC-32 on whole-entry reads', async () => {
    const bytes = writeZip([{ name: 'a', data: enc.encode('abc') }]);
    const zip = await openZip(memorySource(bytes));
    const range = await zip.entryRange(zip.get('a')!);
    bytes[range.offset] = 0x41;
    await expectError(zip.readEntry(zip.get('a')!), 'E_CORRUPT', 'zip entry a fails its CRC-32 check');
  });

  it('bad deflate data', async () => {
    const bytes = writeZip([{ name: 'z', data: enc.encode('x'.repeat(100)), method: 8 }]);
    const zip = await openZip(memorySource(bytes));
    const local = findSig(bytes, 0x04034b50);
    const dataStart = local + 30 + 1 + new DataView(bytes.buffer).getUint16(local + 28, true);
    bytes[dataStart] = 0xff; // invalid block type
    await expectError(zip.readEntry(zip.get('z')!), 'E_CORRUPT', /zip entry z/);
  });

  it('entry past the end of the file, bad local header', async () => {
    const bytes = writeZip([{ name: 'a', data: enc.encode('abc') }]);
    const cd = findSig(bytes, 0x02014b50);
    const far = bytes.slice();
    new DataView(far.buffer).setUint32(cd + 42, 1_000_000, true);
    await expectError(openZip(memorySource(far, 'far.zip')), 'E_CORRUPT', 'far.zip: zip entry a (offset 1000000, 3 bytes) runs past the file data');
    const big = bytes.slice();
    new DataView(big.buffer).setUint32(cd + 20, 1_000_000, true);
    new DataView(big.buffer).setUint32(cd + 24, 1_000_000, true);
    await expectError(openZip(memorySource(big, 'big.zip')), 'E_CORRUPT', 'zip entry a');
    const local = bytes.slice();
    local[0] = 0; // local header signature
    const zip = await openZip(memorySource(local, 'l.zip'));
    await expectError(zip.readEntry(zip.get('a')!), 'E_CORRUPT', 'bad local header signature for zip entry a');
  });

  it('corrupt central directory and ZIP64 records', async () => {
    const bytes = writeZip(sample());
    const cd = findSig(bytes, 0x02014b50);
    const badCd = bytes.slice();
    badCd[cd] = 0;
    await expectError(openZip(memorySource(badCd, 'c.zip')), 'E_CORRUPT', 'bad central directory entry #0');

    const z64 = writeZip(sample(), { zip64: true });
    const rec = findSig(z64, 0x06064b50);
    const bad64 = z64.slice();
    bad64[rec] = 0;
    await expectError(openZip(memorySource(bad64, 'z.zip')), 'E_CORRUPT', 'bad ZIP64 end-of-central-directory signature');
    const noExtra = z64.slice();
    const cd64 = findSig(noExtra, 0x02014b50);
    noExtra[cd64 + 46 + 'archive/data.pkl'.length] = 9; // extra id 1 → 9
    await expectError(openZip(memorySource(noExtra, 'z.zip')), 'E_CORRUPT', 'missing ZIP64 extra field');
    const loc = findSig(z64, 0x07064b50);
    const noLocator = z64.slice();
    noLocator[loc] = 0;
    await expectError(openZip(memorySource(noLocator, 'z.zip')), 'E_CORRUPT', 'no ZIP64 locator');
  });

  it('not a zip archive', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array<number>(100).fill(0)]);
    await expectError(openZip(memorySource(png, 'img.png')), 'E_FORMAT', 'img.png: not a zip archive');
    await expectError(openZip(memorySource(new Uint8Array(0), 'e')), 'E_FORMAT', 'empty file');
    await expectError(openZip(memorySource(enc.encode('PK\x03\x04'), 't')), 'E_CORRUPT', 'truncated zip archive');
  });

  it('every truncation fails with E_CORRUPT / E_FORMAT, never a RangeError', async () => {
    const bytes = writeZip(sample());
    for (let n = 0; n < bytes.length; n++) {
      const cut = bytes.subarray(0, n);
      const done = await openZip(memorySource(cut, 'cut.zip'))
        .then(async (zip) => {
          for (const e of zip.entries) await zip.readEntry(e);
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isSedsegError(done), `cut at ${n}: ${String(done)}`).toBe(true);
      expect(['E_CORRUPT', 'E_FORMAT']).toContain((done as { code: string }).code);
    }
  });
});

describe('crc32', () => {
  it('computes the standard check value, natively and in JS, in one piece or in chunks', () => {
    const check = enc.encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Js(check)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32Js(new Uint8Array(0))).toBe(0);
    let seed = 99;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    for (const n of [1, 7, 8, 9, 15, 16, 17, 1000, 65_537]) {
      const data = Uint8Array.from({ length: n }, rnd);
      // Unaligned views too.
      const view = new Uint8Array(data.buffer, 1, n - 1);
      expect(crc32Js(data)).toBe(crc32(data));
      expect(crc32Js(view)).toBe(crc32(view));
      const cut = n >> 1;
      expect(crc32Js(data.subarray(cut), crc32Js(data.subarray(0, cut)))).toBe(crc32Js(data));
      expect(crc32(data.subarray(cut), crc32(data.subarray(0, cut)))).toBe(crc32(data));
    }
    // Node >= 20.16 has a native one (process.getBuiltinModule('zlib').crc32).
    const proc = process as unknown as { getBuiltinModule?: (id: string) => { crc32?: unknown } };
    expect(crc32IsNative()).toBe(typeof proc.getBuiltinModule?.('zlib').crc32 === 'function');
  });
});

describe('openZip: integrity checks', () => {
  /** A ByteSource that records the reads it serves. */
  function counting(bytes: Uint8Array, name = 'c.zip'): { source: ByteSource; reads: [number, number][] } {
    const inner = memorySource(bytes, name);
    const reads: [number, number][] = [];
    return {
      reads,
      source: {
        ...inner,
        read: (offset, length) => {
          reads.push([offset, length]);
          return inner.read(offset, length);
        },
      },
    };
  }

  it('verifies a stored entry once, on its first partial read, then reads only the parts', async () => {
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff);
    const bytes = writeZip([{ name: 'd', data }]);
    const { source, reads } = counting(bytes);
    const zip = await openZip(source);
    const range = await zip.entryRange(zip.get('d')!);
    reads.length = 0;
    expect(await zip.readEntry(zip.get('d')!, { offset: 100, length: 10 })).toEqual(data.subarray(100, 110));
    expect(reads).toEqual([
      [range.offset, 5000],
      [range.offset + 100, 10],
    ]); // CRC pass, then the part
    reads.length = 0;
    expect(await zip.readEntry(zip.get('d')!, { offset: 200, length: 10 })).toEqual(data.subarray(200, 210));
    expect(await zip.readEntry(zip.get('d')!)).toEqual(data);
    expect(reads).toEqual([
      [range.offset + 200, 10],
      [range.offset, 5000],
    ]);
  });

  it('a whole-entry read is one read, checked as it is returned', async () => {
    const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
    const bytes = writeZip([{ name: 'd', data }]);
    const { source, reads } = counting(bytes);
    const zip = await openZip(source);
    const range = await zip.entryRange(zip.get('d')!);
    reads.length = 0;
    expect(await zip.readEntry(zip.get('d')!, { offset: 0, length: 3000 })).toEqual(data);
    expect(reads).toEqual([[range.offset, 3000]]);
  });

  it('a damaged stored entry fails on partial reads too, and keeps failing', async () => {
    const data = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
    const bytes = writeZip([{ name: 'archive/data/7', data }]);
    bytes[zipLayout(bytes)[0]!.data + 2999]! ^= 1; // far from the part read below
    const zip = await openZip(memorySource(bytes, 'bad.zip'));
    const entry = zip.get('archive/data/7')!;
    await expectError(zip.readEntry(entry, { offset: 0, length: 4 }), 'E_CORRUPT', 'bad.zip: zip entry archive/data/7 fails its CRC-32 check');
    await expectError(zip.readEntry(entry, { offset: 8, length: 4 }), 'E_CORRUPT', 'fails its CRC-32 check');
    await expectError(zip.readEntry(entry), 'E_CORRUPT', 'fails its CRC-32 check');
  });

  it('refuses entries whose byte ranges overlap, from the central directory alone', async () => {
    const bytes = writeZip([
      { name: 'a', data: new Uint8Array(100) },
      { name: 'b', data: new Uint8Array(100) },
    ]);
    const [a, b] = zipLayout(bytes);
    const same = bytes.slice();
    new DataView(same.buffer).setUint32(b!.central + 42, a!.local, true);
    await expectError(
      openZip(memorySource(same, 'o.zip')),
      'E_CORRUPT',
      /^o\.zip: zip entry [ab] \(bytes \d+\.\.\d+\) overlaps zip entry [ab] \(local header at \d+\)$/,
    );
    const inside = bytes.slice();
    new DataView(inside.buffer).setUint32(b!.central + 42, a!.data + 10, true);
    await expectError(openZip(memorySource(inside, 'o.zip')), 'E_CORRUPT', 'zip entry a (bytes');
    const longer = bytes.slice(); // a's data claimed to run into b's local header
    new DataView(longer.buffer).setUint32(a!.central + 20, 200, true);
    new DataView(longer.buffer).setUint32(a!.central + 24, 200, true);
    await expectError(openZip(memorySource(longer, 'o.zip')), 'E_CORRUPT', 'zip entry a (bytes');
  });

  it('stops inflating at the declared size, whatever the deflate data holds', async () => {
    const bytes = writeZip([{ name: 'z', deflated: deflateRun(0x41, 64 * 2 ** 20), size: 10, crc: 0 }]);
    const zip = await openZip(memorySource(bytes, 'z.zip'));
    const t0 = performance.now();
    await expectError(zip.readEntry(zip.get('z')!), 'E_CORRUPT', 'z.zip: zip entry z: inflates to more than the 10 bytes its header declares');
    expect(performance.now() - t0).toBeLessThan(2000);
    const short = writeZip([{ name: 'z', deflated: deflateRun(0x41, 5), size: 10, crc: 0 }]);
    const zs = await openZip(memorySource(short, 'z.zip'));
    await expectError(zs.readEntry(zs.get('z')!), 'E_CORRUPT', 'zip entry z: inflates to 5 bytes, expected 10');
    await expectError(zs.readEntry(zs.get('z')!, { offset: 0, length: 2 }), 'E_CORRUPT', 'inflates to 5 bytes, expected 10');
  });

  it('keeps inflated entries for partial reads in a bounded LRU cache', async () => {
    const mk = (b: number) => Uint8Array.from({ length: 4000 }, (_, i) => (i + b) & 0xff);
    const bytes = writeZip([
      { name: 'x', data: mk(1), method: 8 },
      { name: 'y', data: mk(2), method: 8 },
    ]);
    const [x, y] = zipLayout(bytes);
    const { source, reads } = counting(bytes);
    const compressedReads = () => reads.filter(([offset]) => offset === x!.data || offset === y!.data).map(([offset]) => (offset === x!.data ? 'x' : 'y'));
    // Room for one inflated entry only: alternating reads evict each other.
    const small = await openZip(source, { inflateCacheBytes: 5000 });
    for (const name of ['x', 'x', 'y', 'y', 'x']) {
      const part = await small.readEntry(small.get(name)!, { offset: 10, length: 5 });
      expect(part).toEqual(mk(name === 'x' ? 1 : 2).subarray(10, 15));
    }
    expect(compressedReads()).toEqual(['x', 'y', 'x']);
    reads.length = 0;
    const roomy = await openZip(source);
    for (const name of ['x', 'y', 'x', 'y']) await roomy.readEntry(roomy.get(name)!, { offset: 0, length: 1 });
    expect(compressedReads()).toEqual(['x', 'y']);
    // Whole reads are served from the cache as copies the caller owns.
    const whole = await roomy.readEntry(roomy.get('x')!);
    whole[0] = 99;
    expect((await roomy.readEntry(roomy.get('x')!, { offset: 0, length: 1 }))[0]).toBe(1);
    expect(compressedReads()).toEqual(['x', 'y']);
  });

  it('refuses a central directory over 64 MiB without reading it', async () => {
    const size = 64 * 2 ** 20 + 100;
    const bytes = new Uint8Array(size + 22);
    const dv = new DataView(bytes.buffer);
    dv.setUint32(0, 0x04034b50, true);
    dv.setUint32(size, 0x06054b50, true);
    dv.setUint16(size + 10, 1, true);
    dv.setUint32(size + 12, size - 50, true); // central directory size
    dv.setUint32(size + 16, 50, true); // its offset
    await expectError(
      openZip(memorySource(bytes, 'big.zip')),
      'E_UNSUPPORTED',
      'big.zip: zip central directory of 67108914 bytes exceeds the 64 MiB limit (MAX_CENTRAL_DIRECTORY_BYTES)',
    );
  });
});
