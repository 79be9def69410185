import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openPth } from '../src/checkpoint/pth-reader.js';
import { isSedsegError, type SedsegErrorCode } from '../src/errors.js';
import { memorySource } from '../src/io/byte-source.js';
import { crc32 } from '../src/io/crc32.js';
import { fileSource } from '../src/node/file-source.js';
import { bytesOf, type HostTensor } from '../src/tensor/host-tensor.js';
import { PickleWriter, pickle, tensor, tuple, type PyValue, type TensorSpec } from './helpers/pickle-writer.js';
import { deflateRun, writeZip, zipLayout, type ZipWriteEntry, type ZipWriteOptions } from './helpers/zip-writer.js';

// The repository is cloned with `shared/` beside it: <repo>/../shared/reference/tiny.
const TINY_DIR = new URL('../../../../shared/reference/tiny/', import.meta.url);
const TINY_PTH = fileURLToPath(new URL('model.pth', TINY_DIR));
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

interface BuildOptions extends ZipWriteOptions {
  prefix?: string;
  byteorder?: string;
  /** Storage keys whose entry is deflated instead of stored. */
  deflate?: string[];
  extra?: ZipWriteEntry[];
}

/** A torch.save-style zip: data.pkl, [byteorder], data/<key>..., version. */
function buildPth(root: PyValue | Uint8Array, storages: Record<string, Uint8Array>, options: BuildOptions = {}): Uint8Array {
  const prefix = options.prefix ?? 'archive';
  const entries: ZipWriteEntry[] = [{ name: `${prefix}/data.pkl`, data: root instanceof Uint8Array ? root : pickle(root) }];
  if (options.byteorder) entries.push({ name: `${prefix}/byteorder`, data: enc.encode(options.byteorder) });
  for (const [key, data] of Object.entries(storages)) {
    entries.push({ name: `${prefix}/data/${key}`, data, method: options.deflate?.includes(key) ? 8 : 0 });
  }
  entries.push({ name: `${prefix}/version`, data: enc.encode('3\n') }, ...(options.extra ?? []));
  return writeZip(entries, options);
}

const open = (bytes: Uint8Array, name = 'ck.pth') => openPth(memorySource(bytes, name));
const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);
const dict = (entries: [PyValue, PyValue][]) => new Map<PyValue, PyValue>(entries);
const t = (spec: Partial<TensorSpec> & { shape: number[] }) => tensor({ storageType: 'FloatStorage', key: '0', numel: 6, ...spec });

/** The row-major elements of a strided view, computed the slow way. */
function stridedRef<T>(storage: ArrayLike<T>, offset: number, shape: number[], stride: number[]): T[] {
  const out: T[] = [];
  const walk = (dim: number, at: number): void => {
    if (dim === shape.length) {
      out.push(storage[at]!);
      return;
    }
    for (let i = 0; i < shape[dim]!; i++) walk(dim + 1, at + i * stride[dim]!);
  };
  walk(0, offset);
  return out;
}

describe('openPth: the tiny reference checkpoint', () => {
  it('reproduces keys.json: order, shapes, dtypes, sums', async () => {
    const expected = JSON.parse(readFileSync(new URL('keys.json', TINY_DIR), 'utf8')) as Record<
      string,
      { shape: number[]; dtype: string; sum: number; sum_sq: number }
    >;
    const store = await openPth(await fileSource(TINY_PTH));
    try {
      expect(store.format).toBe('pth');
      expect(store.source).toBe(TINY_PTH);
      expect(store.keys()).toEqual(Object.keys(expected));
      expect(store.keys().length).toBe(209);
      for (const [name, want] of Object.entries(expected)) {
        expect(store.info(name)).toEqual({ name, dtype: want.dtype, shape: want.shape });
      }
      const started = performance.now();
      const tensors = new Map<string, HostTensor>();
      for (const name of store.keys()) tensors.set(name, await store.read(name));
      const elapsed = performance.now() - started;
      expect(elapsed).toBeLessThan(1000);
      for (const [name, want] of Object.entries(expected)) {
        const got = tensors.get(name)!;
        expect(got.dtype).toBe('float32');
        expect(got.shape).toEqual(want.shape);
        const data = got.data as Float32Array;
        expect(data).toBeInstanceOf(Float32Array);
        expect(data.length).toBe(want.shape.reduce((a, b) => a * b, 1));
        let sum = 0;
        let sumSq = 0;
        let sumAbs = 0;
        for (const x of data) {
          sum += x;
          sumSq += x * x;
          sumAbs += Math.abs(x);
        }
        expect(Math.abs(sum - want.sum), `${name} sum`).toBeLessThanOrEqual(1e-9 * Math.max(sumAbs, 1e-12));
        expect(Math.abs(sumSq - want.sum_sq), `${name} sum_sq`).toBeLessThanOrEqual(1e-9 * Math.max(want.sum_sq, 1e-12));
      }
    } finally {
      await store.close();
    }
  });

  it('every truncation point gives a clear E_CORRUPT / E_FORMAT', async () => {
    const bytes = new Uint8Array(readFileSync(TINY_PTH));
    const cuts = [
      0,
      1,
      4,
      10,
      21,
      30,
      100,
      31_000,
      40_000,
      bytes.length >> 1,
      bytes.length - 20_000,
      bytes.length - 1000,
      bytes.length - 100,
      bytes.length - 22,
      bytes.length - 21,
      bytes.length - 1,
    ];
    for (const n of cuts) {
      const result = await open(bytes.subarray(0, n), 'model.pth').then(
        async (store) => {
          for (const k of store.keys()) await store.read(k);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(isSedsegError(result), `cut at ${n}: ${String(result)}`).toBe(true);
      const err = result as Error & { code: string };
      expect(['E_CORRUPT', 'E_FORMAT'], `cut at ${n}: ${err.message}`).toContain(err.code);
      expect(err.message).toMatch(/^model\.pth: (empty file|truncated zip archive)/);
    }
  });
});

describe('openPth: tensor views', () => {
  const storage = f32(0, 1, 2, 3, 4, 5);
  const cases: [string, Partial<TensorSpec> & { shape: number[] }, number[]][] = [
    ['full', { shape: [2, 3] }, [0, 1, 2, 3, 4, 5]],
    ['transposed', { shape: [3, 2], stride: [1, 3] }, [0, 3, 1, 4, 2, 5]],
    ['row1', { shape: [3], offset: 3 }, [3, 4, 5]],
    ['column1', { shape: [2], offset: 1, stride: [3] }, [1, 4]],
    ['expanded', { shape: [2, 3], stride: [0, 1], offset: 3 }, [3, 4, 5, 3, 4, 5]],
    ['broadcast', { shape: [4], stride: [0], offset: 2 }, [2, 2, 2, 2]],
    ['scalar', { shape: [], offset: 5 }, [5]],
    ['unit dims', { shape: [1, 3, 1], stride: [7, 1, 9], offset: 2 }, [2, 3, 4]],
    ['empty', { shape: [0, 3] }, []],
    ['every other', { shape: [3], stride: [2] }, [0, 2, 4]],
  ];

  it('materialises views, slices, shared storages and stride-0 tensors C-contiguously', async () => {
    const store = await open(buildPth(dict([['model', dict(cases.map(([name, spec]) => [name, t(spec)]))]]), { '0': storage }));
    expect(store.keys()).toEqual(cases.map(([name]) => name));
    for (const [name, spec, want] of cases) {
      const got = await store.read(name);
      expect(got.dtype).toBe('float32');
      expect(got.shape, name).toEqual(spec.shape);
      expect([...(got.data as Float32Array)], name).toEqual(want);
      expect(store.info(name)).toEqual({ name, dtype: 'float32', shape: spec.shape });
    }
    // Results own their memory: writing to them leaves the checkpoint bytes alone.
    const a = await store.read('full');
    (a.data as Float32Array)[0] = 42;
    expect((await store.read('full')).data[0]).toBe(0);
  });

  it('a permuted 3-D view', async () => {
    const values = Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    const spec = { key: '1', numel: 24, shape: [4, 2, 3], stride: [1, 12, 4] };
    const store = await open(buildPth(dict([['p', t(spec)]]), { '1': f32(...values) }));
    expect([...((await store.read('p')).data as Float32Array)]).toEqual(stridedRef(values, 0, spec.shape, spec.stride));
  });

  it('two tensors viewing one storage, written with EMPTY_DICT + SETITEMS like torch', async () => {
    const w = new PickleWriter().proto(2).emptyDict().mark();
    w.str('a').value(t({ shape: [2], offset: 0 }));
    w.str('b').value(t({ shape: [2], offset: 4 }));
    w.setitems().stop();
    const store = await open(buildPth(w.finish(), { '0': storage }));
    expect([...((await store.read('a')).data as Float32Array)]).toEqual([0, 1]);
    expect([...((await store.read('b')).data as Float32Array)]).toEqual([4, 5]);
  });
});

describe('openPth: dtypes', () => {
  const u16 = (...v: number[]) => new Uint8Array(new Uint16Array(v).buffer);
  const i64 = (...v: bigint[]) => new Uint8Array(new BigInt64Array(v).buffer);
  const f64 = (...v: number[]) => new Uint8Array(new Float64Array(v).buffer);
  const i32 = (...v: number[]) => new Uint8Array(new Int32Array(v).buffer);
  const nanPayload = new Uint8Array(new BigUint64Array([0x7ff0000000000123n]).buffer);

  it('reads each dtype with its raw bits', async () => {
    const specs: [string, string, number, Uint8Array, Partial<TensorSpec>][] = [
      ['half', 'HalfStorage', 4, u16(0x3c00, 0x7e01, 0xfc00, 0x0001), {}],
      ['bf16', 'BFloat16Storage', 4, u16(0x3f80, 0xffc1, 0x7f80, 0x0001), {}],
      ['double', 'DoubleStorage', 4, new Uint8Array([...f64(1.5, -2), ...nanPayload, ...f64(1e-310)]), {}],
      ['long', 'LongStorage', 4, i64(1n, -1n, 2n ** 62n, -(2n ** 63n)), {}],
      ['int', 'IntStorage', 4, i32(7, -7, 2 ** 31 - 1, -(2 ** 31)), {}],
      ['byte', 'ByteStorage', 4, new Uint8Array([0, 1, 128, 255]), {}],
      ['bool', 'BoolStorage', 4, new Uint8Array([1, 0, 0, 1]), {}],
    ];
    const sd = dict(specs.map(([name, type, numel, , s], i) => [name, tensor({ storageType: type, key: String(i), numel, shape: [2, 2], ...s })]));
    const storages = Object.fromEntries(specs.map(([, , , data], i) => [String(i), data]));
    const store = await open(buildPth(dict([['model', sd]]), storages));
    const dtypes = ['float16', 'bfloat16', 'float64', 'int64', 'int32', 'uint8', 'bool'];
    for (const [i, [name, , , data]] of specs.entries()) {
      const got = await store.read(name);
      expect(got.dtype).toBe(dtypes[i]);
      expect(store.info(name)?.dtype).toBe(dtypes[i]);
      expect(bytesOf(got.data), name).toEqual(data);
    }
    expect((await store.read('half')).data).toBeInstanceOf(Uint16Array);
    expect((await store.read('long')).data).toEqual(new BigInt64Array([1n, -1n, 2n ** 62n, -(2n ** 63n)]));
    expect((await store.read('bool')).data).toEqual(new Uint8Array([1, 0, 0, 1]));
  });

  it('transposed views of 1, 2 and 8-byte elements keep exact bits', async () => {
    const half = [0x3c00, 0x7e01, 0xfc00, 0x0001, 0x1234, 0xffff];
    const long = [1n, -1n, 2n ** 62n, -(2n ** 63n), 5n, 6n];
    const dbl = new Uint8Array([...f64(1, 2), ...nanPayload, ...f64(4, 5, 6)]);
    const view = { shape: [3, 2], stride: [1, 3], numel: 6 };
    const store = await open(
      buildPth(
        dict([
          ['h', tensor({ storageType: 'HalfStorage', key: 'h', ...view })],
          ['l', tensor({ storageType: 'LongStorage', key: 'l', ...view })],
          ['d', tensor({ storageType: 'DoubleStorage', key: 'd', ...view })],
          ['b', tensor({ storageType: 'ByteStorage', key: 'b', ...view })],
        ]),
        { h: u16(...half), l: i64(...long), d: dbl, b: new Uint8Array([1, 2, 3, 4, 5, 6]) },
      ),
    );
    expect([...((await store.read('h')).data as Uint16Array)]).toEqual(stridedRef(half, 0, view.shape, view.stride));
    expect([...((await store.read('l')).data as BigInt64Array)]).toEqual(stridedRef(long, 0, view.shape, view.stride));
    const d = bytesOf((await store.read('d')).data);
    const words = new BigUint64Array(d.buffer, d.byteOffset, 6);
    expect([...words]).toEqual(stridedRef([...new BigUint64Array(dbl.buffer)], 0, view.shape, view.stride));
    expect(words[4]).toBe(0x7ff0000000000123n); // NaN payload survives
    expect([...((await store.read('b')).data as Uint8Array)]).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('byteorder "big" is byte-swapped on read', async () => {
    const be = new Uint8Array(24);
    const dv = new DataView(be.buffer);
    [0, 1.5, -2, 3, 4.25, 5].forEach((v, i) => {
      dv.setFloat32(i * 4, v, false);
    });
    const store = await open(
      buildPth(
        dict([
          ['a', t({ shape: [2, 3] })],
          ['t', t({ shape: [3, 2], stride: [1, 3] })],
        ]),
        { '0': be },
        { byteorder: 'big' },
      ),
    );
    expect([...((await store.read('a')).data as Float32Array)]).toEqual([0, 1.5, -2, 3, 4.25, 5]);
    expect([...((await store.read('t')).data as Float32Array)]).toEqual([0, 3, 1.5, 4.25, -2, 5]);
    // The source bytes are untouched (a second read gives the same answer).
    expect([...((await store.read('a')).data as Float32Array)]).toEqual([0, 1.5, -2, 3, 4.25, 5]);
    const little = await open(buildPth(dict([['a', t({ shape: [2] })]]), { '0': f32(1, 2, 3, 4, 5, 6) }, { byteorder: 'little' }));
    expect([...((await little.read('a')).data as Float32Array)]).toEqual([1, 2]);
  });
});

describe('openPth: checkpoint layouts', () => {
  const storage = f32(0, 1, 2, 3, 4, 5);

  it('{"model": sd, "optimizer": ...}: optimizer state is parsed, its storages never read', async () => {
    const optimizer = dict([
      [
        'state',
        dict([
          [
            0,
            dict([
              ['momentum_buffer', tensor({ storageType: 'FloatStorage', key: 'opt0', numel: 6, shape: [6] })],
              ['step', 3],
            ]),
          ],
        ]),
      ],
      [
        'param_groups',
        [
          dict([
            ['lr', 0.01],
            ['momentum', 0.9],
            ['betas', tuple(0.9, 0.999)],
            ['params', [0, 1]],
            ['foreach', null],
            ['nesterov', false],
          ]),
        ],
      ],
      // Types a model tensor may not use are fine here, and so is an inconsistent tensor.
      ['odd', tensor({ storageType: 'ShortStorage', key: 'opt1', numel: 2, shape: [2] })],
      ['past_end', tensor({ storageType: 'FloatStorage', key: 'opt2', numel: 1, shape: [100] })],
    ]);
    const root = dict([
      [
        'model',
        dict([
          ['w', t({ shape: [2, 3] })],
          ['b', t({ shape: [3], offset: 3 })],
        ]),
      ],
      ['optimizer', optimizer],
      [
        'scheduler',
        dict([
          ['base_lrs', [0.01]],
          ['last_epoch', 7],
        ]),
      ],
      ['iteration', 12345],
      ['__author__', 'x'],
    ]);
    const store = await open(buildPth(root, { '0': storage }));
    expect(store.keys()).toEqual(['w', 'b']);
    expect(store.info('momentum_buffer')).toBeUndefined();
    expect([...((await store.read('b')).data as Float32Array)]).toEqual([3, 4, 5]);
  });

  it('OrderedDict state dict with _metadata, nn.Parameter wrappers, model/ prefix', async () => {
    const w = new PickleWriter().proto(2).emptyDict().str('model');
    w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    w.str('p').value(tensor({ storageType: 'FloatStorage', key: '0', numel: 6, shape: [2, 3], parameter: true }));
    w.str('q').value(t({ shape: [1], offset: 1 }));
    w.setitems();
    // state dicts carry `_metadata` (an OrderedDict of versions) as an instance attribute
    w.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce();
    w.str('').emptyDict().str('version').int(1).setitem().setitem().setitem().build();
    w.setitem().stop();
    const store = await open(buildPth(w.finish(), { '0': storage }, { prefix: 'model' }));
    expect(store.keys()).toEqual(['p', 'q']);
    expect([...((await store.read('p')).data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a bare state dict; nested dicts flattened with "."; non-tensor values skipped', async () => {
    const root = dict([
      ['a', t({ shape: [1] })],
      ['n', 5],
      [
        'sub',
        dict([
          ['x', t({ shape: [1], offset: 1 })],
          ['deeper', dict([['y', t({ shape: [1], offset: 2 })]])],
          ['s', 'text'],
        ]),
      ],
      ['z', t({ shape: [1], offset: 3 })],
    ]);
    const store = await open(buildPth(root, { '0': storage }, { prefix: 'some_name' }));
    expect(store.keys()).toEqual(['a', 'sub.x', 'sub.deeper.y', 'z']);
    expect((await store.read('sub.deeper.y')).data[0]).toBe(2);
  });

  it('"state_dict" entry, torch 2 extra records, ZIP64, deflated storage', async () => {
    const root = dict([
      ['epoch', 3],
      ['state_dict', dict([['w', t({ shape: [2, 3], stride: [1, 2] })]])],
    ]);
    const extra = [
      { name: 'archive/.data/version', data: enc.encode('3\n') },
      { name: 'archive/.data/serialization_id', data: enc.encode('1234') },
    ];
    const store = await open(buildPth(root, { '0': storage }, { zip64: true, byteorder: 'little', deflate: ['0'], extra }));
    expect(store.keys()).toEqual(['w']);
    expect([...((await store.read('w')).data as Float32Array)]).toEqual([0, 2, 4, 1, 3, 5]);
  });

  it('reading an unknown key is E_KEY', async () => {
    const store = await open(buildPth(dict([['a', t({ shape: [1] })]]), { '0': storage }));
    await expectError(store.read('nope'), 'E_KEY', 'ck.pth: no tensor named "nope"');
    expect(store.info('nope')).toBeUndefined();
    await store.close();
  });
});

describe('openPth: refused and broken files', () => {
  const storage = f32(0, 1, 2, 3, 4, 5);

  it('a pickle calling os.system', async () => {
    const evil = new PickleWriter().proto(2).global('os', 'system').str('touch /tmp/pwned').tupleN(1).reduce().stop().finish();
    await expectError(open(buildPth(evil, {}), 'model.pth'), 'E_UNSAFE', 'model.pth: refusing to load pickle global os.system (not a tensor checkpoint type)');
  });

  it('builtins.eval hidden in the optimizer entry', async () => {
    const w = new PickleWriter().proto(2).emptyDict().mark();
    w.str('model').value(dict([['w', t({ shape: [1] })]]));
    w.str('optimizer').global('builtins', 'eval').str('1+1').tupleN(1).reduce();
    w.setitems().stop();
    await expectError(open(buildPth(w.finish(), { '0': storage })), 'E_UNSAFE', 'builtins.eval');
  });

  it('torch globals outside the whitelist, calling a storage class', async () => {
    const load = new PickleWriter().proto(2).global('torch', 'load').str('x').tupleN(1).reduce().stop().finish();
    await expectError(open(buildPth(load, {})), 'E_UNSAFE', 'torch.load');
    const call = new PickleWriter().proto(2).global('torch', 'FloatStorage').int(3).tupleN(1).reduce().stop().finish();
    await expectError(open(buildPth(call, {})), 'E_UNSAFE', 'refusing to call pickle global torch.FloatStorage');
  });

  it('legacy (pre-1.6) torch.save file', async () => {
    const legacy = new PickleWriter()
      .proto(2)
      .op(0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)
      .stop()
      .raw(new Uint8Array(200))
      .finish();
    await expectError(open(legacy, 'old.pth'), 'E_FORMAT', 'old.pth: legacy (non-zip) torch.save format; re-save with torch>=1.6');
  });

  it('files that are not checkpoints', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, ...new Array<number>(64).fill(0)]);
    await expectError(open(png, 'image.png'), 'E_FORMAT', 'image.png: not a PyTorch checkpoint');
    await expectError(open(new Uint8Array(0), 'empty.pth'), 'E_FORMAT', 'empty.pth: empty file');
    await expectError(open(pickle(dict([['a', 1]])), 'p.pkl'), 'E_FORMAT', 'a bare pickle');
    await expectError(open(writeZip([{ name: 'docs/readme.txt', data: enc.encode('hi') }]), 'z.zip'), 'E_FORMAT', 'without <folder>/data.pkl');
    const jit = buildPth(
      dict([['a', 1]]),
      {},
      {
        extra: [
          { name: 'archive/constants.pkl', data: pickle(null) },
          { name: 'archive/code/__torch__.py', data: enc.encode('') },
        ],
      },
    );
    await expectError(open(jit, 'script.pt'), 'E_FORMAT', 'TorchScript archive');
    await expectError(open(buildPth([1, 2], {})), 'E_FORMAT', 'checkpoint holds a list');
    await expectError(
      open(
        buildPth(
          dict([
            ['model', dict([['lr', 0.1]])],
            ['epoch', 1],
          ]),
          {},
        ),
      ),
      'E_FORMAT',
      'no tensors found in the checkpoint (top-level keys: model, epoch)',
    );
    await expectError(open(buildPth(dict([['a', t({ shape: [1] })]]), { '0': storage }, { byteorder: 'middle' })), 'E_FORMAT', 'archive/byteorder is "middle"');
  });

  it('a missing storage entry', async () => {
    await expectError(open(buildPth(dict([['w', t({ shape: [2], key: '7' })]]), { '0': storage })), 'E_CORRUPT', 'ck.pth: missing storage data/7 for tensor w');
  });

  it('a tensor past the end of its storage', async () => {
    await expectError(
      open(buildPth(dict([['w', t({ shape: [7] })]]), { '0': storage })),
      'E_CORRUPT',
      /tensor w \(size \[7\].*\) reaches past the end of its storage data\/0 \(6 elements\)/,
    );
    await expectError(open(buildPth(dict([['w', t({ shape: [2, 3], stride: [3, 2] })]]), { '0': storage })), 'E_CORRUPT', 'tensor w');
    await expectError(open(buildPth(dict([['w', t({ shape: [1], offset: 6 })]]), { '0': storage })), 'E_CORRUPT', 'tensor w');
  });

  it('a storage entry shorter than its persistent id says', async () => {
    await expectError(open(buildPth(dict([['w', t({ shape: [2] })]]), { '0': f32(1, 2) })), 'E_CORRUPT', 'storage data/0 of tensor w has 8 bytes, expected 24');
  });

  it('malformed tensor arguments and unsupported dtypes in the state dict', async () => {
    const w = new PickleWriter().proto(2).emptyDict().str('w');
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().binpersid();
    w.int(0).str('not a size').emptyTuple().bool(false).none().tuple().reduce().setitem().stop();
    await expectError(open(buildPth(w.finish(), { '0': storage })), 'E_CORRUPT', 'tensor w: bad size str');
    const short = tensor({ storageType: 'ShortStorage', key: '0', numel: 12, shape: [2] });
    await expectError(open(buildPth(dict([['w', short]]), { '0': storage })), 'E_UNSUPPORTED', 'tensor w has unsupported dtype int16');
    const badPid = new PickleWriter().proto(2).emptyDict().str('w');
    badPid.global('torch._utils', '_rebuild_tensor_v2').mark().value(tuple('storage', 'x')).binpersid();
    badPid.int(0).value(tuple(1)).value(tuple(1)).bool(false).none().tuple().reduce().setitem().stop();
    await expectError(open(buildPth(badPid.finish(), {})), 'E_CORRUPT', 'tensor w: unexpected persistent id');
  });

  it('a corrupt data.pkl', async () => {
    const cut = pickle(dict([['w', t({ shape: [1] })]])).subarray(0, 40);
    await expectError(open(buildPth(cut, { '0': storage })), 'E_CORRUPT', 'ck.pth: corrupt pickle');
  });
});

describe('openPth: hostile files (fuzzing regressions)', () => {
  const storage = f32(0, 1, 2, 3, 4, 5);
  const timed = async <T>(budgetMs: number, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await run();
    expect(performance.now() - t0, 'time budget').toBeLessThan(budgetMs);
    return result;
  };

  it('48 dicts each holding the previous one twice (2^48 paths) open at once; the tensor is named by its first path', async () => {
    const w = new PickleWriter().proto(2);
    w.emptyDict()
      .put(0)
      .str('w')
      .value(t({ shape: [2] }))
      .setitem()
      .pop(); // d0 = {'w': tensor}
    for (let k = 1; k <= 48; k++)
      w.emptyDict()
        .put(k)
        .str('a')
        .get(k - 1)
        .setitem()
        .str('b')
        .get(k - 1)
        .setitem()
        .pop();
    w.emptyDict().str('model').get(48).setitem().stop();
    const bytes = buildPth(w.finish(), { '0': storage });
    expect(bytes.length).toBeLessThan(2000);
    const store = await timed(2000, () => open(bytes));
    expect(store.keys()).toEqual([`${'a.'.repeat(48)}w`]);
    expect([...((await store.read(store.keys()[0]!)).data as Float32Array)]).toEqual([0, 1]);
  });

  it('a tensor under two keys (tied weights) keeps both names; a dict inside itself is walked once', async () => {
    const w = new PickleWriter().proto(2).emptyDict().str('model');
    w.emptyDict().put(0).mark();
    w.str('embed.weight')
      .value(t({ shape: [2] }))
      .put(1);
    w.str('head.weight').get(1);
    w.str('self').get(0);
    w.str('sub')
      .emptyDict()
      .str('me')
      .get(0)
      .setitem()
      .str('x')
      .value(t({ shape: [1], offset: 5 }))
      .setitem();
    w.setitems().setitem().stop();
    const store = await timed(2000, () => open(buildPth(w.finish(), { '0': storage })));
    expect(store.keys()).toEqual(['embed.weight', 'head.weight', 'sub.x']);
    expect([...((await store.read('head.weight')).data as Float32Array)]).toEqual([0, 1]);
  });

  it('a tensor under 5000 nested dicts is refused with E_UNSUPPORTED, not a stack overflow', async () => {
    const w = new PickleWriter().proto(2);
    for (let i = 0; i < 5000; i++) w.emptyDict().str('d');
    w.emptyDict()
      .str('w')
      .value(t({ shape: [1] }))
      .setitem();
    for (let i = 0; i < 5000; i++) w.setitem();
    w.stop();
    await expectError(
      open(buildPth(w.finish(), { '0': storage }), 'deep.pth'),
      'E_UNSUPPORTED',
      /^deep\.pth: dicts nested more than 64 levels deep under "(d\.){63}d" \(MAX_STATE_DICT_DEPTH\)$/,
    );
    // 63 levels of nesting below the root are fine.
    const ok = new PickleWriter().proto(2);
    for (let i = 0; i < 63; i++) ok.emptyDict().str('d');
    ok.emptyDict()
      .str('w')
      .value(t({ shape: [1] }))
      .setitem();
    for (let i = 0; i < 63; i++) ok.setitem();
    const store = await open(buildPth(ok.stop().finish(), { '0': storage }));
    expect(store.keys()).toEqual([`${'d.'.repeat(63)}w`]);
  });

  it('a 100k-deep _rebuild_from_type_v2 chain is refused by name; one level (torch) works', async () => {
    const chain = (depth: number): Uint8Array => {
      const w = new PickleWriter().proto(2).emptyDict().str('w');
      w.global('torch._tensor', '_rebuild_from_type_v2').put(0);
      for (let i = 0; i < depth; i++) w.mark().get(0).global('torch', 'Tensor').put(1).pop().get(1);
      w.mark().global('torch._utils', '_rebuild_tensor_v2');
      w.global('torch', 'Tensor').mark();
      w.mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(6).tuple().binpersid();
      w.int(0).value(tuple(2)).value(tuple(1)).bool(false).global('collections', 'OrderedDict').emptyTuple().reduce().tuple();
      w.emptyDict().tuple(); // innermost (func, type, args, state)
      for (let i = 0; i < depth; i++) w.emptyDict().tuple();
      return w.reduce().setitem().stop().finish();
    };
    const store = await open(buildPth(chain(0), { '0': storage }));
    expect([...((await store.read('w')).data as Float32Array)]).toEqual([0, 1]);
    const nested = await open(buildPth(chain(3), { '0': storage }));
    expect([...((await nested.read('w')).data as Float32Array)]).toEqual([0, 1]);
    await expectError(
      timed(3000, () => open(buildPth(chain(100_000), { '0': storage }), 'chain.pth')),
      'E_UNSUPPORTED',
      'chain.pth: tensor w: more than 16 nested _rebuild_from_type_v2 calls',
    );
  });

  it('duplicate state-dict keys are refused, naming the key (no tensor dropped silently)', async () => {
    const w = new PickleWriter().proto(2).emptyDict().str('model').emptyDict().mark();
    w.str('w')
      .value(t({ shape: [1] }))
      .str('w')
      .value(t({ shape: [1], offset: 1 }));
    w.setitems().setitem().stop();
    await expectError(open(buildPth(w.finish(), { '0': storage })), 'E_CORRUPT', 'ck.pth: corrupt pickle: SETITEMS gives dict key "w" a second value');
    // The same through OrderedDict([(k, v), ...]).
    const od = new PickleWriter().proto(2).emptyDict().str('model').global('collections', 'OrderedDict');
    od.value([tuple('w', t({ shape: [1] })), tuple('w', t({ shape: [1], offset: 1 }))])
      .tupleN(1)
      .reduce()
      .setitem()
      .stop();
    await expectError(open(buildPth(od.finish(), { '0': storage })), 'E_CORRUPT', 'OrderedDict gets key "w" twice');
  });

  it('keys with invalid UTF-8 are refused instead of colliding as U+FFFD', async () => {
    const w = new PickleWriter().proto(2).emptyDict().mark();
    w.strBytes([0x77, 0xff]).value(t({ shape: [1] }));
    w.strBytes([0x77, 0xfe]).value(t({ shape: [1], offset: 1 }));
    w.setitems().stop();
    await expectError(open(buildPth(w.finish(), { '0': storage })), 'E_CORRUPT', 'ck.pth: corrupt pickle: BINUNICODE is not valid UTF-8');
  });

  it('a data.pkl over 64 MiB is refused from its header, before inflating (a 256 MiB EMPTY_LIST bomb)', async () => {
    const bomb = deflateRun(0x5d, 256 * 2 ** 20); // 1.7 MB of deflate data
    const mib = new Uint8Array(2 ** 20).fill(0x5d);
    let crc = 0;
    for (let i = 0; i < 256; i++) crc = crc32(mib, crc);
    // Honest header, correct CRC: before the limit this inflated and then ran V8 out of memory.
    const bytes = writeZip([{ name: 'archive/data.pkl', deflated: bomb, size: 256 * 2 ** 20, crc }]);
    await expectError(
      timed(2000, () => open(bytes, 'bomb.pth')),
      'E_UNSUPPORTED',
      'bomb.pth: archive/data.pkl is 268435456 bytes, over the 64 MiB limit for a checkpoint pickle (MAX_PICKLE_BYTES)',
    );
  });

  it('a data.pkl whose header understates its size is stopped while inflating', async () => {
    const bomb = deflateRun(0x5d, 256 * 2 ** 20);
    const bytes = writeZip([{ name: 'archive/data.pkl', deflated: bomb, size: 1000, crc: 0 }]);
    await expectError(
      timed(2000, () => open(bytes, 'liar.pth')),
      'E_CORRUPT',
      'liar.pth: zip entry archive/data.pkl: inflates to more than the 1000 bytes its header declares',
    );
  });

  it('a flipped bit in a storage is E_CORRUPT (CRC-32), for whole and partial reads', async () => {
    const root = dict([
      [
        'model',
        dict([
          ['all', t({ shape: [6] })],
          ['part', t({ shape: [2], key: '1' })],
        ]),
      ],
    ]);
    const bytes = buildPth(root, { '0': storage, '1': storage });
    const layout = zipLayout(bytes);
    const flip = (entry: string, byte: number): Uint8Array => {
      const copy = bytes.slice();
      copy[layout.find((e) => e.name === entry)!.data + byte]! ^= 0x10;
      return copy;
    };
    // Exponent bit of the first float: 0 becomes 2^-124 → the value is silently wrong without a CRC.
    const whole = await open(flip('archive/data/0', 3), 'flip.pth');
    await expectError(whole.read('all'), 'E_CORRUPT', /^flip\.pth: zip entry archive\/data\/0 fails its CRC-32 check/);
    await expectError(whole.read('all'), 'E_CORRUPT', 'fails its CRC-32 check'); // and stays refused
    // The damage lies outside the 2 floats `part` views: the whole storage is still checked once.
    const partial = await open(flip('archive/data/1', 20), 'flip.pth');
    await expectError(partial.read('part'), 'E_CORRUPT', 'zip entry archive/data/1 fails its CRC-32 check');
    expect([...((await partial.read('all')).data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a central directory pointing a storage at another entry is refused', async () => {
    const root = dict([
      [
        'model',
        dict([
          ['a', t({ shape: [6] })],
          ['b', t({ shape: [6], key: '1' })],
        ]),
      ],
    ]);
    const bytes = buildPth(root, { '0': storage, '1': f32(6, 7, 8, 9, 10, 11) });
    const layout = zipLayout(bytes);
    const entry = (name: string) => layout.find((e) => e.name === name)!;
    const retarget = (name: string, offset: number): Uint8Array => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setUint32(entry(name).central + 42, offset, true);
      return copy;
    };
    // data/1 → data/0's local header: both entries claim the same bytes.
    await expectError(
      open(retarget('archive/data/1', entry('archive/data/0').local), 'x.pth'),
      'E_CORRUPT',
      /^x\.pth: zip entry archive\/data\/[01] \(bytes \d+\.\.\d+\) overlaps zip entry archive\/data\/[01]/,
    );
    // data/0 → into data.pkl's data: reading the pickle's bytes as floats.
    await expectError(open(retarget('archive/data/0', entry('archive/data.pkl').data + 8), 'x.pth'), 'E_CORRUPT', 'overlaps zip entry archive/data/0');
  });

  it('local headers must agree with the central directory', async () => {
    const root = dict([['model', dict([['a', t({ shape: [6] })]])]]);
    const bytes = buildPth(root, { '0': storage });
    const local = zipLayout(bytes).find((e) => e.name === 'archive/data/0')!.local;
    const patch = (at: number, value: number, width: 1 | 2 | 4): Uint8Array => {
      const copy = bytes.slice();
      const dv = new DataView(copy.buffer);
      if (width === 1) copy[at] = value;
      else if (width === 2) dv.setUint16(at, value, true);
      else dv.setUint32(at, value, true);
      return copy;
    };
    const read = async (b: Uint8Array) => (await open(b, 'l.pth')).read('a');
    await expectError(read(patch(local, 0, 4)), 'E_CORRUPT', 'l.pth: bad local header signature for zip entry archive/data/0');
    await expectError(read(patch(local + 30 + 'archive/data/'.length, 0x39, 1)), 'E_CORRUPT', 'l.pth: zip entry archive/data/0: local header at');
    await expectError(read(patch(local + 8, 8, 2)), 'E_CORRUPT', 'zip entry archive/data/0: local header says compression method 8, the central directory 0');
    await expectError(read(patch(local + 22, 20, 4)), 'E_CORRUPT', 'zip entry archive/data/0: local header (CRC');
    await expectError(read(patch(local + 14, 1, 4)), 'E_CORRUPT', 'disagrees with the central directory');
    // A longer local extra field shifts the data into the next entry.
    const extra = new DataView(bytes.buffer, bytes.byteOffset).getUint16(local + 28, true);
    await expectError(
      read(patch(local + 28, extra + 8, 2)),
      'E_CORRUPT',
      /^l\.pth: zip entry archive\/data\/0: data \(bytes \d+\.\.\d+\) runs into the next entry or the central directory at \d+$/,
    );
  });

  it('torch-style archives (data descriptors, zero sizes in local headers) still read', async () => {
    const root = dict([['model', dict([['a', t({ shape: [2, 3] })]])]]);
    const bytes = buildPth(root, { '0': storage }, { dataDescriptor: true });
    const store = await open(bytes);
    expect([...((await store.read('a')).data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5]);
    const z64 = await open(buildPth(root, { '0': storage }, { dataDescriptor: true, zip64: true }));
    expect([...((await z64.read('a')).data as Float32Array)]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a deflated storage is inflated once for many tensor views (40 reads)', async () => {
    const n = 1 << 20; // 4 MiB of float32
    const values = new Float32Array(n).map((_, i) => i % 1000);
    const views = Array.from({ length: 40 }, (_, i): [string, PyValue] => [`v${i}`, t({ shape: [1000], offset: i * 1000, numel: n })]);
    const bytes = buildPth(dict([['model', dict(views)]]), { '0': new Uint8Array(values.buffer) }, { deflate: ['0'] });
    const pkl = zipLayout(bytes).find((e) => e.name === 'archive/data/0')!;
    const inner = memorySource(bytes, 'deflated.pth');
    let storageReads = 0;
    const counting = {
      ...inner,
      read: (offset: number, length: number) => {
        if (offset === pkl.data && length === pkl.compressedSize) storageReads++;
        return inner.read(offset, length);
      },
    };
    const store = await openPth(counting);
    const t0 = performance.now();
    for (let i = 0; i < 40; i++) {
      const got = (await store.read(`v${i}`)).data as Float32Array;
      expect(got.length).toBe(1000);
      expect(got[7]).toBe(7);
    }
    expect(storageReads).toBe(1);
    expect(performance.now() - t0).toBeLessThan(3000);
    // Results are copies: changing one leaves the cached bytes alone.
    ((await store.read('v0')).data as Float32Array)[0] = 42;
    expect((await store.read('v0')).data[0]).toBe(0);
  });

  it('a byteorder entry of more than 16 bytes is refused without reading it', async () => {
    const bytes = buildPth(dict([['a', t({ shape: [1] })]]), { '0': storage }, { byteorder: 'little'.repeat(10) });
    await expectError(open(bytes), 'E_FORMAT', 'ck.pth: archive/byteorder has 60 bytes, expected "little" or "big"');
  });

  it('huge key names stay out of messages', async () => {
    const key = `${'k'.repeat(1_000_000)}\n`;
    const caught = await open(buildPth(dict([[key, t({ shape: [7] })]]), { '0': storage })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSedsegError(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toMatch(/^ck\.pth: tensor k{200}…\(1000001 chars\) \(size \[7\]/);
    expect(message.length).toBeLessThan(500);
  });
});

describe('openPth: broadcast views', () => {
  it('a stride-0 view expanding 4 bytes to 3.6 GB is refused when read; small ones are materialised', async () => {
    const storage = f32(7);
    const root = dict([
      ['big', t({ shape: [30000, 30000], stride: [0, 0], numel: 1 })],
      ['small', t({ shape: [3, 2], stride: [0, 0], numel: 1 })],
    ]);
    const store = await open(buildPth(root, { '0': storage }), 'b.pth');
    expect(store.info('big')?.shape).toEqual([30000, 30000]);
    await expectError(
      store.read('big'),
      'E_UNSUPPORTED',
      'b.pth: tensor big [30000, 30000] repeats 1 stored elements as 900000000; refusing to materialise more than 256 MiB of a broadcast view (MAX_BROADCAST_BYTES)',
    );
    expect([...((await store.read('small')).data as Float32Array)]).toEqual([7, 7, 7, 7, 7, 7]);
  });
});
