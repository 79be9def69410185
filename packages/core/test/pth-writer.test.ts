import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPth } from '../src/checkpoint/pth-reader.js';
import { unpickle } from '../src/checkpoint/pickle.js';
import { PickleEmitter } from '../src/checkpoint/pickle-writer.js';
import { pthStatePickle, writePth } from '../src/checkpoint/pth-writer.js';
import { memorySource } from '../src/io/byte-source.js';
import { fileSource } from '../src/node/file-source.js';
import { writePthFile } from '../src/node/write-pth-file.js';
import { castFloat } from '../src/tensor/float-convert.js';
import { bytesOf, type HostTensor } from '../src/tensor/host-tensor.js';
import type { TensorInfo } from '../src/weights/weight-store.js';
import { expectSedsegError } from './helpers/expect-sedseg-error.js';
import { referencePath } from './helpers/reference.js';

const TINY_PTH = referencePath('tiny/model.pth');

const dir = mkdtempSync(join(tmpdir(), 'sedseg-pth-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasPython = spawnSync('python3', ['-c', 'import zipfile, pickle, pickletools'], { encoding: 'utf8' }).status === 0;
/** A Python with torch, for the real torch.load check: SEDSEG_TORCH_PYTHON, else python3 if it has torch. */
const TORCH_PYTHON = process.env.SEDSEG_TORCH_PYTHON ?? 'python3';
const hasTorch = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

/**
 * Loads a written .pth with CPython's own zipfile and pickle (torch's stand-ins: the globals
 * torch would import are recorded, persistent ids are kept as they are) and reports what
 * torch.load would see.
 */
const PY_INSPECT = `
import collections, json, pickle, pickletools, struct, sys, zipfile
path = sys.argv[1]
z = zipfile.ZipFile(path)
bad = z.testzip()
names = z.namelist()
prefix = names[0].split('/')[0]
raw = open(path, 'rb').read()
def data_offset(info):
    n, e = struct.unpack('<HH', raw[info.header_offset + 26:info.header_offset + 30])
    return info.header_offset + 30 + n + e
pkl = z.read(prefix + '/data.pkl')
ops = [op.name for op, arg, pos in pickletools.genops(pkl)]
globals_seen = sorted({arg.replace(' ', '.') for op, arg, pos in pickletools.genops(pkl) if op.name == 'GLOBAL'})
class Tensor:
    def __init__(self, *args): self.args = args
class Storage:
    def __init__(self, name): self.name = name
class U(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ('collections', 'OrderedDict'): return collections.OrderedDict
        if (module, name) == ('torch._utils', '_rebuild_tensor_v2'): return Tensor
        if module == 'torch' and name.endswith('Storage'): return Storage(module + '.' + name)
        raise pickle.UnpicklingError('unexpected global %s.%s' % (module, name))
    def persistent_load(self, pid): return pid
import io
obj = U(io.BytesIO(pkl)).load()
sd = obj['model']
tensors = []
for k, t in sd.items():
    (tag, storage, key, loc, numel), offset, size, stride, grad, hooks = t.args
    info = z.getinfo(prefix + '/data/' + key)
    tensors.append(dict(name=k, tag=tag, storage=storage.name, key=key, location=loc, numel=numel, offset=offset,
        size=list(size), stride=list(stride), requires_grad=grad, hooks=type(hooks).__name__ + str(len(hooks)),
        bytes=info.file_size, aligned=data_offset(info) % 64 == 0, method=info.compress_type))
print(json.dumps(dict(bad=bad, names=names, top=type(obj).__name__, top_keys=list(obj.keys()), state=type(sd).__name__,
    globals=globals_seen, protocol=pkl[1], ops=sorted(set(ops)), tensors=tensors,
    byteorder=z.read(prefix + '/byteorder').decode(), version=z.read(prefix + '/version').decode(),
    serialization_id=z.read(prefix + '/.data/serialization_id').decode(),
    all_aligned=all(data_offset(i) % 64 == 0 for i in z.infolist()))))
`;

interface PyTensor {
  name: string;
  tag: string;
  storage: string;
  key: string;
  location: string;
  numel: number;
  offset: number;
  size: number[];
  stride: number[];
  requires_grad: boolean;
  hooks: string;
  bytes: number;
  aligned: boolean;
  method: number;
}
interface PyReport {
  bad: string | null;
  names: string[];
  top: string;
  top_keys: string[];
  state: string;
  globals: string[];
  protocol: number;
  ops: string[];
  tensors: PyTensor[];
  byteorder: string;
  version: string;
  serialization_id: string;
  all_aligned: boolean;
}

function pyInspect(path: string): PyReport {
  const r = spawnSync('python3', ['-c', PY_INSPECT, path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as PyReport;
}

const sha = (t: HostTensor): string => createHash('sha256').update(bytesOf(t.data)).digest('hex');

/** Every tensor of a .pth file, in order, read with the project's reader. */
async function readAll(path: string): Promise<[string, HostTensor][]> {
  const store = await openPth(await fileSource(path));
  try {
    const out: [string, HostTensor][] = [];
    for (const k of store.keys()) out.push([k, await store.read(k)]);
    return out;
  } finally {
    await store.close();
  }
}

const infosOf = (list: readonly (readonly [string, HostTensor])[]): TensorInfo[] => list.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));

async function* stream<T>(list: readonly T[]): AsyncIterable<T> {
  for (const e of list) yield e;
}

let tiny: [string, HostTensor][];
const fp32Path = join(dir, 'model_final.pth');
const fp16Path = join(dir, 'model_fp16.pth');

beforeAll(async () => {
  tiny = await readAll(TINY_PTH);
  await writePthFile(fp32Path, stream(tiny), { infos: infosOf(tiny) });
  const half = tiny.map(([n, t]): [string, HostTensor] => [n, castFloat(t, 'float16')]);
  await writePthFile(fp16Path, stream(half), { infos: infosOf(half) });
});

describe('writePthFile', () => {
  it('writes the tiny model so that the reader gets the same keys, shapes, dtypes and bytes', async () => {
    const back = await readAll(fp32Path);
    expect(back.map(([k]) => k)).toEqual(tiny.map(([k]) => k));
    back.forEach(([name, t], i) => {
      const src = tiny[i]![1];
      expect(t.dtype, name).toBe('float32');
      expect(t.shape, name).toEqual(src.shape);
      expect(sha(t), name).toBe(sha(src));
    });
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes float16 as HalfStorage, bit-identical to castFloat', async () => {
    const back = await readAll(fp16Path);
    expect(back.map(([k]) => k)).toEqual(tiny.map(([k]) => k));
    back.forEach(([name, t], i) => {
      expect(t.dtype, name).toBe('float16');
      expect(t.shape, name).toEqual(tiny[i]![1].shape);
      expect(sha(t), name).toBe(sha(castFloat(tiny[i]![1], 'float16')));
    });
  });

  it('is deterministic: the same tensors give the same bytes', async () => {
    // The archive folder is named after the file, so write under the same name elsewhere.
    mkdirSync(join(dir, 'copy'));
    const copy = join(dir, 'copy', 'model_final.pth');
    await writePthFile(copy, stream(tiny), { infos: infosOf(tiny) });
    expect(readFileSync(copy).equals(readFileSync(fp32Path))).toBe(true);
  });

  it.skipIf(!hasPython)("is a torch.save archive to CPython's zipfile and pickle", () => {
    const py = pyInspect(fp32Path);
    expect(py.bad).toBeNull(); // every CRC-32 checks out
    expect(py.names.slice(0, 4)).toEqual(['model_final/data.pkl', 'model_final/.format_version', 'model_final/.storage_alignment', 'model_final/byteorder']);
    expect(py.names.slice(4, 4 + tiny.length)).toEqual(tiny.map((_, i) => `model_final/data/${i}`));
    expect(py.names.slice(4 + tiny.length)).toEqual(['model_final/version', 'model_final/.data/serialization_id']);
    expect(py.byteorder).toBe('little');
    expect(py.version).toBe('3\n');
    expect(py.serialization_id).toMatch(/^\d{40}$/);
    expect(py.all_aligned).toBe(true);
    expect(py.protocol).toBe(2);
    expect(py.top).toBe('dict');
    expect(py.top_keys).toEqual(['model']);
    expect(py.state).toBe('OrderedDict');
    expect(py.globals).toEqual(['collections.OrderedDict', 'torch.FloatStorage', 'torch._utils._rebuild_tensor_v2']);
    expect(py.ops).toEqual(
      expect.arrayContaining(['PROTO', 'EMPTY_DICT', 'BINUNICODE', 'GLOBAL', 'BINPERSID', 'MARK', 'TUPLE', 'SETITEMS', 'SETITEM', 'REDUCE', 'STOP']),
    );
    expect(py.tensors.map((t) => t.name)).toEqual(tiny.map(([k]) => k));
    py.tensors.forEach((t, i) => {
      const src = tiny[i]![1];
      const numel = src.shape.reduce((a, b) => a * b, 1);
      expect(t.tag).toBe('storage');
      expect(t.storage).toBe('torch.FloatStorage');
      expect(t.key).toBe(String(i));
      expect(t.location).toBe('cpu');
      expect(t.numel).toBe(numel);
      expect(t.offset).toBe(0);
      expect(t.size).toEqual(src.shape);
      expect(t.stride).toEqual(src.shape.map((_, d) => src.shape.slice(d + 1).reduce((a, b) => a * b, 1)));
      expect(t.requires_grad).toBe(false);
      expect(t.hooks).toBe('OrderedDict0');
      expect(t.bytes).toBe(numel * 4);
      expect(t.aligned).toBe(true);
      expect(t.method).toBe(0); // stored
    });
  });

  it.skipIf(!hasPython)('names the half storages torch.HalfStorage', () => {
    const py = pyInspect(fp16Path);
    expect(py.bad).toBeNull();
    expect(py.globals).toContain('torch.HalfStorage');
    expect(py.globals).not.toContain('torch.FloatStorage');
    expect(py.tensors.every((t) => t.storage === 'torch.HalfStorage' && t.bytes === t.numel * 2 && t.aligned)).toBe(true);
  });

  it('writes ZIP64 records that both zip readers accept (forced on a small file)', async () => {
    const path = join(dir, 'zip64.pth');
    const some = [...tiny.slice(0, 3), ['n.empty', { dtype: 'int64', shape: [0], data: new BigInt64Array(0) }] as [string, HostTensor]];
    await writePthFile(path, stream(some), { infos: infosOf(some), zip64Threshold: 0 });
    const bytes = readFileSync(path);
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // ZIP64 end record
    const back = await readAll(path);
    expect(back.map(([k, t]) => [k, t.dtype, t.shape, sha(t)])).toEqual(some.map(([k, t]) => [k, t.dtype, t.shape, sha(t)]));
    if (hasPython) {
      const py = pyInspect(path);
      expect(py.bad).toBeNull();
      expect(py.all_aligned).toBe(true);
      expect(py.tensors.map((t) => t.storage)).toEqual(['torch.FloatStorage', 'torch.FloatStorage', 'torch.FloatStorage', 'torch.LongStorage']);
    }
  });

  it('keeps every dtype and scalar and empty shapes', async () => {
    const odd: [string, HostTensor][] = [
      ['s', { dtype: 'float32', shape: [], data: new Float32Array([4.5]) }],
      ['ids', { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, -2n, 3n]) }],
      ['i', { dtype: 'int32', shape: [2, 1], data: new Int32Array([7, -8]) }],
      ['mask', { dtype: 'bool', shape: [5], data: new Uint8Array([1, 0, 1, 1, 0]) }],
      ['u', { dtype: 'uint8', shape: [2], data: new Uint8Array([0, 255]) }],
      ['b', { dtype: 'bfloat16', shape: [2], data: new Uint16Array([0x3f80, 0xc000]) }],
      ['d', { dtype: 'float64', shape: [1], data: new Float64Array([Math.PI]) }],
      ['none', { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) }],
      ['big', { dtype: 'uint8', shape: [70000], data: new Uint8Array(70000).fill(3) }], // numel needs BININT
    ];
    const chunks: Uint8Array[] = [];
    await writePth({ write: (b) => void chunks.push(b.slice()) }, odd, { infos: infosOf(odd) });
    const store = await openPth(memorySource(Buffer.concat(chunks)));
    expect(store.keys()).toEqual(odd.map(([k]) => k));
    for (const [k, t] of odd) {
      const back = await store.read(k);
      expect([back.dtype, back.shape, sha(back)], k).toEqual([t.dtype, t.shape, sha(t)]);
    }
  });

  it.skipIf(!hasTorch)('loads with torch.load (weights_only, mmap) as {"model": OrderedDict} of CPU tensors', () => {
    const script = `
import collections, sys, torch
ref = torch.load(sys.argv[1], weights_only=True)['model']
for path, dtype in ((sys.argv[2], torch.float32), (sys.argv[3], torch.float16)):
    for mmap in (False, True):
        obj = torch.load(path, weights_only=True, mmap=mmap)
        sd = obj['model']
        assert list(obj) == ['model'] and type(sd) is collections.OrderedDict and list(sd) == list(ref)
        for k, v in sd.items():
            assert v.dtype == dtype and v.device.type == 'cpu' and v.is_contiguous() and torch.equal(v, ref[k].to(dtype)), k
print('ok')
`;
    const r = spawnSync(TORCH_PYTHON, ['-c', script, TINY_PTH, fp32Path, fp16Path], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });

  it('emits integers with the opcodes CPython picks, read back exactly', () => {
    const values = [0, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 40, 2 ** 53 - 1];
    const p = new PickleEmitter().proto(2).mark();
    for (const v of values) p.int(v);
    const pkl = p.tuple(values.length).stop().bytes();
    expect(unpickle(pkl, { source: 'ints', globals: new Map() })).toEqual(values);
    // BININT1, BININT2 and BININT up to 32-bit signed; LONG1 beyond.
    expect([...pkl.subarray(3, 5)]).toEqual([0x4b, 0]);
    expect(pkl.filter((b, i) => i > 2 && b === 0x8a).length).toBeGreaterThanOrEqual(3);
  });

  it('batches dict items by 1000 like CPython', () => {
    const many: TensorInfo[] = Array.from({ length: 1001 }, (_, i) => ({ name: `t${i}`, dtype: 'float32', shape: [1] }));
    const pkl = pthStatePickle(many);
    // SETITEMS (0x75) once for the first thousand, SETITEM (0x73) twice: the lone last item and "model".
    const tail = pkl.subarray(pkl.length - 3);
    expect([...tail]).toEqual([0x73, 0x73, 0x2e]);
    if (hasPython) {
      const r = spawnSync(
        'python3',
        ['-c', 'import pickletools,sys;print(sum(op.name=="SETITEMS" for op,a,p in pickletools.genops(sys.stdin.buffer.read())))'],
        {
          input: pkl,
          encoding: 'utf8',
        },
      );
      expect(r.stdout.trim()).toBe('1');
    }
  });

  it('refuses tensors that do not match the announced ones, and leaves nothing behind', async () => {
    const list = tiny.slice(0, 2);
    const infos = infosOf(list);
    const path = join(dir, 'bad.pth');
    await expectSedsegError(() => writePthFile(path, stream([list[1]!, list[0]!]), { infos }), 'E_ARGUMENT', 'bad.pth', 'out of order', list[0]![0]);
    await expectSedsegError(() => writePthFile(path, stream([list[0]!]), { infos }), 'E_ARGUMENT', 'announced but never given', list[1]![0]);
    await expectSedsegError(
      () => writePthFile(path, stream([...list, ['x', list[0]![1]] as [string, HostTensor]]), { infos }),
      'E_ARGUMENT',
      '"x" was not announced',
    );
    const wrong: [string, HostTensor] = [list[0]![0], castFloat(list[0]![1], 'float16')];
    await expectSedsegError(() => writePthFile(path, stream([wrong, list[1]!]), { infos }), 'E_ARGUMENT', 'dtype float16 but was announced as float32');
    expect(readdirSync(dir).filter((f) => f.startsWith('.bad.pth') || f === 'bad.pth')).toEqual([]);
  });

  it('refuses to replace an existing file unless told to', async () => {
    const path = join(dir, 'taken.pth');
    writeFileSync(path, 'keep me');
    const list = tiny.slice(0, 1);
    await expectSedsegError(
      () => writePthFile(path, stream(list), { infos: infosOf(list), overwriteHint: 'use --overwrite' }),
      'E_IO',
      'taken.pth exists (use --overwrite',
    );
    expect(readFileSync(path, 'utf8')).toBe('keep me');
    await writePthFile(path, stream(list), { infos: infosOf(list), overwrite: true });
    expect((await readAll(path)).map(([k]) => k)).toEqual([list[0]![0]]);
  });
});
