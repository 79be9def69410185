import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSafetensors, serializeSafetensors } from '../src/checkpoint/safetensors.js';
import { fileSource } from '../src/node/file-source.js';
import { writeSafetensorsFile } from '../src/node/write-safetensors.js';
import { castFloat, float32ToFloat16Array } from '../src/tensor/float-convert.js';
import { bytesOf, type HostTensor } from '../src/tensor/host-tensor.js';
import type { TensorInfo } from '../src/weights/weight-store.js';
import { expectSedsegError } from './helpers/expect-sedseg-error.js';

const CASE_FILE = fileURLToPath(new URL('../../../../shared/reference/tiny/case-01/tensors.safetensors', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'sedseg-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tensors: Array<[string, HostTensor]> = [
  ['w', { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
  ['ids', { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, -2n, 3n]) }],
  ['mask', { dtype: 'bool', shape: [5], data: new Uint8Array([1, 0, 1, 1, 0]) }],
  ['h', { dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0xbc00]) }],
  ['none', { dtype: 'int32', shape: [0], data: new Int32Array(0) }],
];
const infos: TensorInfo[] = tensors.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));

async function* stream(list: Array<[string, HostTensor]>): AsyncIterable<[string, HostTensor]> {
  for (const e of list) yield e;
}

/** No temporary files may be left behind in the output folder. */
const leftovers = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

describe('writeSafetensorsFile', () => {
  it('streams tensors into a file identical to the in-memory serializer', async () => {
    const path = join(dir, 'a.safetensors');
    await writeSafetensorsFile(path, stream(tensors), { infos, metadata: { who: 'test' } });
    expect(new Uint8Array(readFileSync(path))).toEqual(serializeSafetensors(tensors, { who: 'test' }));
    const store = await openSafetensors(await fileSource(path));
    expect(store.keys()).toEqual(infos.map((i) => i.name));
    expect(store.metadata).toEqual({ who: 'test' });
    expect([...(await store.read('w')).data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...(await store.read('ids')).data]).toEqual([1n, -2n, 3n]);
    await store.close();
    expect(leftovers()).toEqual([]);
  });

  it('accepts a plain array and tensors in any order', async () => {
    const path = join(dir, 'b.safetensors');
    await writeSafetensorsFile(path, [...tensors].reverse(), { infos });
    expect(new Uint8Array(readFileSync(path))).toEqual(serializeSafetensors(tensors));
  });

  it('refuses to overwrite unless asked', async () => {
    const path = join(dir, 'exists.safetensors');
    writeFileSync(path, 'keep me');
    await expectSedsegError(() => writeSafetensorsFile(path, tensors, { infos }), 'E_IO', path, 'exists (pass overwrite: true to replace it)');
    expect(readFileSync(path, 'utf8')).toBe('keep me');
    // a dangling symbolic link is an existing entry too: kept, and never written through
    const link = join(dir, 'link.safetensors');
    symlinkSync(join(dir, 'nowhere', 'target.safetensors'), link);
    await expectSedsegError(() => writeSafetensorsFile(link, tensors, { infos }), 'E_IO', link, 'exists (pass overwrite: true to replace it)');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    await writeSafetensorsFile(link, tensors, { infos, overwrite: true });
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    await writeSafetensorsFile(path, tensors, { infos, overwrite: true });
    const store = await openSafetensors(await fileSource(path));
    expect(store.keys()).toHaveLength(tensors.length);
    await store.close();
    expect(leftovers()).toEqual([]);
  });

  it('refuses tensors that differ from the announced infos, leaving no file', async () => {
    const path = join(dir, 'bad.safetensors');
    const wrongShape: Array<[string, HostTensor]> = [['w', { dtype: 'float32', shape: [3, 2], data: new Float32Array(6) }]];
    await expectSedsegError(
      () => writeSafetensorsFile(path, wrongShape, { infos: infos.slice(0, 1) }),
      'E_ARGUMENT',
      path,
      '"w"',
      'shape [3, 2]',
      'announced as [2, 3]',
    );
    const wrongDtype: Array<[string, HostTensor]> = [['w', { dtype: 'float16', shape: [2, 3], data: new Uint16Array(6) }]];
    await expectSedsegError(() => writeSafetensorsFile(path, wrongDtype, { infos: infos.slice(0, 1) }), 'E_ARGUMENT', '"w"', 'float16', 'announced as float32');
    const shortData: Array<[string, HostTensor]> = [['w', { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) }]];
    await expectSedsegError(() => writeSafetensorsFile(path, shortData, { infos: infos.slice(0, 1) }), 'E_ARGUMENT', '"w"');
    await expectSedsegError(() => writeSafetensorsFile(path, [tensors[0]!], { infos: infos.slice(0, 2) }), 'E_ARGUMENT', '"ids"', 'never given');
    await expectSedsegError(() => writeSafetensorsFile(path, [tensors[1]!], { infos: infos.slice(0, 1) }), 'E_ARGUMENT', '"ids"', 'not announced');
    await expectSedsegError(() => writeSafetensorsFile(path, [tensors[0]!, tensors[0]!], { infos: infos.slice(0, 1) }), 'E_ARGUMENT', '"w"', 'twice');
    await expectSedsegError(
      () =>
        writeSafetensorsFile(path, [], {
          infos: [
            { name: 'x', dtype: 'uint8', shape: [1] },
            { name: 'x', dtype: 'uint8', shape: [1] },
          ],
        }),
      'E_ARGUMENT',
      path,
      'duplicate',
    );
    expect(readdirSync(dir)).not.toContain('bad.safetensors');
    expect(leftovers()).toEqual([]);
  });

  it('passes errors of the source through and cleans up', async () => {
    const path = join(dir, 'failing.safetensors');
    async function* failing(): AsyncIterable<[string, HostTensor]> {
      yield tensors[0]!;
      throw new Error('source broke');
    }
    await expect(writeSafetensorsFile(path, failing(), { infos })).rejects.toThrow(/source broke/);
    expect(readdirSync(dir)).not.toContain('failing.safetensors');
    expect(leftovers()).toEqual([]);
  });

  it('refuses a folder that does not exist', async () => {
    const path = join(dir, 'no-such-dir', 'x.safetensors');
    await expectSedsegError(() => writeSafetensorsFile(path, [], { infos: [] }), 'E_IO', path);
  });

  it('converts the reference file to float16 one tensor at a time', async () => {
    const src = await openSafetensors(await fileSource(CASE_FILE));
    const half = (name: string) => {
      const info = src.info(name)!;
      return { ...info, dtype: info.dtype === 'float32' ? ('float16' as const) : info.dtype };
    };
    async function* converted(): AsyncIterable<[string, HostTensor]> {
      for (const name of src.keys()) {
        const t = await src.read(name);
        yield [name, t.dtype === 'float32' ? castFloat(t, 'float16') : t];
      }
    }
    const path = join(dir, 'half.safetensors');
    await writeSafetensorsFile(path, converted(), { infos: src.keys().map(half), metadata: { ...src.metadata } });

    const out = await openSafetensors(await fileSource(path));
    expect(out.keys()).toEqual(src.keys());
    expect(out.metadata).toEqual(src.metadata);
    for (const name of ['input', 'probs', 'labels', 'image']) {
      const a = await src.read(name);
      const b = await out.read(name);
      expect(out.info(name)).toEqual(half(name));
      const want = a.dtype === 'float32' ? float32ToFloat16Array(a.data as Float32Array) : a.data;
      // Byte comparison: deep-equality on large typed arrays is slow.
      expect(Buffer.compare(bytesOf(b.data), bytesOf(want))).toBe(0);
    }
    await src.close();
    await out.close();
  });
});
