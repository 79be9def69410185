import { describe, expect, it } from 'vitest';
import { isSedsegError, type SedsegErrorCode } from '../src/errors.js';
import {
  isDict,
  isList,
  isTuple,
  PickleDataError,
  PickleGlobalRef,
  PyObject,
  unpickle,
  type PickleGlobal,
  type UnpickleOptions,
} from '../src/checkpoint/pickle.js';
import { PickleWriter, pickle, tuple } from './helpers/pickle-writer.js';

const hex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
const load = (data: Uint8Array, extra: Partial<UnpickleOptions> = {}): unknown => unpickle(data, { source: 'test.pkl', globals: new Map(), ...extra });

function expectError(fn: () => unknown, code: SedsegErrorCode, fragment: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isSedsegError(caught), `expected SedsegError, got ${String(caught)}`).toBe(true);
  const err = caught as Error & { code: string };
  expect(err.code).toBe(code);
  if (typeof fragment === 'string') expect(err.message).toContain(fragment);
  else expect(err.message).toMatch(fragment);
}

// pickle.dumps(v, protocol=p) of
// {'a': [1, -2, 2.5, 'xé中', None, True, False, (1, 2), ()], 'b': b'xy', 'big': 2**70,
//  'neg': -2**40, 'n': -5, 'nested': {'k': []}, 's': {1, 2}, 'fs': frozenset([3])}
const PY_PROTO0 =
  '286470300a56610a70310a286c70320a49310a61492d320a6146322e350a615678e95c75346532640a70330a614e614930310a614930300a612849310a49320a7470340a612874617356620a70350a635f636f646563730a656e636f64650a70360a285678790a70370a566c6174696e310a70380a7470390a527031300a73566269670a7031310a4c313138303539313632303731373431313330333432344c0a73566e65670a7031320a4c2d313039393531313632373737364c0a73566e0a7031330a492d350a73566e65737465640a7031340a28647031350a566b0a7031360a286c7031370a737356730a7031380a635f5f6275696c74696e5f5f0a7365740a7031390a28286c7032300a49310a6149320a61747032310a527032320a735666730a7032330a635f5f6275696c74696e5f5f0a66726f7a656e7365740a7032340a28286c7032350a49330a61747032360a527032370a732e';
const PY_PROTO4 =
  '80049589000000000000007d94288c0161945d94284b014afeffffff4740040000000000008c0678c3a9e4b8ad944e88894b014b02869429658c01629443027879948c03626967948a090000000000000000408c036e6567948a060000000000ff8c016e944afbffffff8c066e6573746564947d948c016b945d94738c0173948f94284b014b02908c02667394284b039194752e';
const PY_PROTO5 = `8005${PY_PROTO4.slice(4)}`;

// Protocol 0 spells bytes and sets as calls; whitelisted here as plain data constructors.
const PROTO0_GLOBALS = new Map<string, PickleGlobal>([
  ['_codecs.encode', { call: ([s]) => Uint8Array.from(String(s), (c) => c.charCodeAt(0)) }],
  ['builtins.set', { call: ([items]) => new Set(items as unknown[]) }],
  ['builtins.frozenset', { call: ([items]) => new Set(items as unknown[]) }],
]);

function checkSample(v: unknown): void {
  expect(isDict(v)).toBe(true);
  const d = v as Map<string, unknown>;
  expect([...d.keys()]).toEqual(['a', 'b', 'big', 'neg', 'n', 'nested', 's', 'fs']);
  const a = d.get('a') as unknown[];
  expect(isList(a)).toBe(true);
  expect(a.slice(0, 7)).toEqual([1, -2, 2.5, 'xé中', null, true, false]);
  expect(isTuple(a[7])).toBe(true);
  expect(a[7]).toEqual([1, 2]);
  expect(isTuple(a[8])).toBe(true);
  expect(d.get('b')).toEqual(new Uint8Array([0x78, 0x79]));
  expect(d.get('big')).toBe(2n ** 70n);
  expect(d.get('neg')).toBe(-(2 ** 40));
  expect(d.get('n')).toBe(-5);
  expect((d.get('nested') as Map<string, unknown>).get('k')).toEqual([]);
  expect(d.get('s')).toEqual(new Set([1, 2]));
  expect(d.get('fs')).toEqual(new Set([3]));
}

describe('unpickle: data produced by CPython', () => {
  it('protocol 0 (text opcodes, PUT/GET, GLOBAL calls)', () => checkSample(load(hex(PY_PROTO0), { globals: PROTO0_GLOBALS })));
  it('protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE, EMPTY_SET/ADDITEMS, FROZENSET)', () => checkSample(load(hex(PY_PROTO4))));
  it('protocol 5', () => checkSample(load(hex(PY_PROTO5))));

  it('memo keeps shared references: pickle.dumps((l, l))', () => {
    const v = load(hex('80025d71004b016168008671012e')) as unknown[][];
    expect(v[0]).toBe(v[1]);
    expect(v[0]).toEqual([1]);
  });

  it('OrderedDict through a whitelisted constructor', () => {
    const globals = new Map<string, PickleGlobal>([['collections.OrderedDict', { call: () => new Map() }]]);
    const v = load(hex('800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000006171024b01732e'), { globals });
    expect(v).toEqual(new Map([['a', 1]]));
  });
});

describe('unpickle: writer-built pickles', () => {
  it('numbers of every width', () => {
    const values = [0, 255, 256, 65535, 65536, -1, -2147483648, 2147483647, 2 ** 40, -(2 ** 53) + 1, 2n ** 64n, -(2n ** 80n), 0.1, -1.5e-300];
    expect(load(pickle(values))).toEqual(values);
  });

  it('text opcodes and protocol-0 forms', () => {
    const w = new PickleWriter().mark();
    w.raw(new TextEncoder().encode("I01\nI00\nI-7\nL12345678901234567890L\nF-0.25\nS'a\\nb\\x41'\nVx\\u00e9\\U0001F600\n"));
    w.list().stop();
    expect(load(w.finish())).toEqual([true, false, -7, 12345678901234567890n, -0.25, 'a\nbA', 'xé😀']);
  });

  it('BINSTRING is latin-1, bytes are copies', () => {
    const w = new PickleWriter().proto(2).mark().op(0x55, 2, 0x80, 0xe9).op(0x43, 1, 7).tuple().stop();
    expect(load(w.finish())).toEqual(['\u0080é', new Uint8Array([7])]);
  });

  it('DUP, POP, POP_MARK, DICT, LIST, APPEND, SETITEM, TUPLE1/2/3', () => {
    const w = new PickleWriter().proto(2).mark(); // collects everything below into one tuple
    w.mark().int(9).int(8).popMark(); // discarded
    w.int(1).dup().tupleN(2); // (1, 1)
    w.int(5).pop(); // discarded
    w.emptyList().int(3).append(); // [3]
    w.mark().str('k').int(4).dict(); // {'k': 4}
    w.str('j').int(6).setitem(); // {'k': 4, 'j': 6}
    w.mark().list(); // []
    w.int(7).tupleN(1); // (7,)
    w.int(1).int(2).int(3).tupleN(3); // (1, 2, 3)
    w.float(2); // 2.0
    w.mark().pop(); // POP of a bare MARK discards the mark
    w.tuple().stop();
    const v = load(w.finish());
    expect(isTuple(v)).toBe(true);
    expect(v).toEqual([
      [1, 1],
      [3],
      new Map<string, number>([
        ['k', 4],
        ['j', 6],
      ]),
      [],
      [7],
      [1, 2, 3],
      2,
    ]);
  });

  it('calls whitelisted globals with their arguments, BUILD goes to the hook', () => {
    const seen: unknown[] = [];
    const globals = new Map<string, PickleGlobal>([
      [
        'pkg.make',
        {
          call: (args) => ({ made: args }),
          build: (obj, state) => seen.push(obj, state),
        },
      ],
      ['pkg.Opaque', { call: (args) => new PyObject('pkg.Opaque', args) }],
    ]);
    const w = new PickleWriter().proto(2).mark();
    w.global('pkg', 'make').int(1).str('a').tupleN(2).reduce().str('st').build();
    w.stackGlobal('pkg', 'Opaque').emptyTuple().newobj().int(3).build();
    w.tuple().stop();
    const [made, opaque] = load(w.finish(), { globals }) as [unknown, PyObject];
    expect(made).toEqual({ made: [1, 'a'] });
    expect(seen).toEqual([made, 'st']);
    expect(opaque).toBeInstanceOf(PyObject);
    expect(opaque.state).toBe(3);
  });

  it('hands persistent ids to the callback', () => {
    const w = new PickleWriter().proto(2).value(tuple('storage', 'k')).binpersid().stop();
    const v = load(w.finish(), { persistentLoad: (pid) => ({ pid }) });
    expect(v).toEqual({ pid: ['storage', 'k'] });
    expectError(() => load(w.finish()), 'E_UNSUPPORTED', 'persistent id');
  });

  it('a referenced global is a PickleGlobalRef', () => {
    const globals = new Map<string, PickleGlobal>([['torch.FloatStorage', {}]]);
    const v = load(new PickleWriter().proto(2).global('torch', 'FloatStorage').stop().finish(), { globals });
    expect(v).toBeInstanceOf(PickleGlobalRef);
    expect((v as PickleGlobalRef).qualname).toBe('torch.FloatStorage');
  });
});

describe('unpickle: refuses code execution', () => {
  it('GLOBAL posix.system (CPython pickle of os.system, protocol 2)', () => {
    expectError(
      () => load(hex('800263706f7369780a73797374656d0a7100580a0000006563686f2070776e656471018571025271032e')),
      'E_UNSAFE',
      'refusing to load pickle global posix.system',
    );
  });
  it('STACK_GLOBAL posix.system (protocol 4)', () => {
    expectError(
      () => load(hex('80049525000000000000008c05706f736978948c0673797374656d9493948c0a6563686f2070776e656494859452942e')),
      'E_UNSAFE',
      'posix.system',
    );
  });
  it('__builtin__.eval (protocol 0) is named builtins.eval', () => {
    expectError(() => load(hex('635f5f6275696c74696e5f5f0a6576616c0a70300a2856312b310a70310a7470320a5270330a2e')), 'E_UNSAFE', 'builtins.eval');
  });
  it.each([
    ['os', 'system'],
    ['subprocess', 'Popen'],
    ['builtins', 'exec'],
    ['builtins', '__import__'],
    ['torch', 'load'],
  ])('%s.%s', (module, name) => {
    const data = new PickleWriter().proto(2).global(module, name).str('x').tupleN(1).reduce().stop().finish();
    expectError(
      () => load(data, { refuseReason: 'not a tensor checkpoint type' }),
      'E_UNSAFE',
      `test.pkl: refusing to load pickle global ${module}.${name} (not a tensor checkpoint type)`,
    );
  });
  it('Object.prototype names never resolve', () => {
    for (const [m, n] of [
      ['__proto__', 'x'],
      ['constructor', 'constructor'],
      ['toString', ''],
      ['hasOwnProperty', ''],
    ] as const) {
      expectError(() => load(new PickleWriter().proto(2).global(m, n).stop().finish(), { globals: new Map() }), 'E_UNSAFE', `${m}.${n}`);
    }
  });
  it('a whitelisted reference-only global cannot be called', () => {
    const globals = new Map<string, PickleGlobal>([['torch.FloatStorage', {}]]);
    const data = new PickleWriter().proto(2).global('torch', 'FloatStorage').int(4).tupleN(1).reduce().stop().finish();
    expectError(() => load(data, { globals }), 'E_UNSAFE', 'refusing to call pickle global torch.FloatStorage');
  });
});

describe('unpickle: malformed input', () => {
  const w = () => new PickleWriter().proto(2);
  it('unknown opcode names the opcode and byte offset', () => {
    expectError(() => load(w().none().op(0xff).finish()), 'E_UNSUPPORTED', 'unsupported pickle opcode 0xff at byte 3');
    expectError(() => load(w().op(0x97).finish()), 'E_UNSUPPORTED', '0x97 (NEXT_BUFFER) at byte 2');
  });
  it('protocol too new', () => expectError(() => load(new PickleWriter().proto(6).finish()), 'E_UNSUPPORTED', 'protocol 6'));
  it('stack underflow', () => {
    expectError(() => load(w().tupleN(2).finish()), 'E_CORRUPT', 'stack underflow');
    expectError(() => load(w().stop().finish()), 'E_CORRUPT', 'stack underflow');
    expectError(() => load(w().mark().reduce().finish()), 'E_CORRUPT', 'stack underflow');
  });
  it('missing MARK', () => {
    expectError(() => load(w().int(1).tuple().finish()), 'E_CORRUPT', 'missing MARK');
    expectError(() => load(w().emptyDict().setitems().finish()), 'E_CORRUPT', 'missing MARK');
  });
  it('memo miss', () => expectError(() => load(w().get(3).finish()), 'E_CORRUPT', 'memo key 3 is missing'));
  it('oversized lengths', () => {
    expectError(() => load(w().op(0x58, 0xf0, 0xff, 0xff, 0xff).finish()), 'E_CORRUPT', 'BINUNICODE needs 4294967280 bytes');
    expectError(() => load(w().op(0x8d, 0, 0, 0, 0, 0, 0, 0x10, 0).finish()), 'E_CORRUPT', 'BINUNICODE8');
    expectError(() => load(w().op(0x8b, 0xff, 0xff, 0xff, 0x7f).finish()), 'E_CORRUPT', 'LONG4');
    expectError(() => load(w().op(0x54, 0xff, 0xff, 0xff, 0xff).finish()), 'E_CORRUPT', 'negative length');
  });
  it('truncated: no STOP, cut arguments, cut text lines', () => {
    expectError(() => load(w().none().finish()), 'E_CORRUPT', 'no STOP');
    expectError(() => load(w().op(0x4a, 1).finish()), 'E_CORRUPT', 'BININT needs 4 bytes');
    expectError(() => load(new PickleWriter().raw(new TextEncoder().encode('cos\nsys')).finish()), 'E_CORRUPT', 'unterminated');
    expectError(() => load(new Uint8Array(0)), 'E_CORRUPT', 'no STOP');
  });
  it('bad container operations', () => {
    expectError(() => load(w().emptyTuple().int(1).append().finish()), 'E_CORRUPT', 'APPEND on a tuple');
    expectError(() => load(w().emptyList().int(1).int(2).setitem().finish()), 'E_CORRUPT', 'SETITEM on a list');
    expectError(() => load(w().mark().int(1).dict().finish()), 'E_CORRUPT', 'odd number');
    expectError(() => load(w().int(1).int(2).build().finish()), 'E_CORRUPT', 'BUILD on a int');
    expectError(() => load(w().int(1).emptyTuple().reduce().finish()), 'E_CORRUPT', 'REDUCE on a int');
    expectError(() => load(w().int(1).int(2).op(0x93).finish()), 'E_CORRUPT', 'STACK_GLOBAL');
    expectError(() => load(new PickleWriter().raw(new TextEncoder().encode('Ix1\n.')).finish()), 'E_CORRUPT', 'bad integer');
  });
  it('every truncation of a real pickle fails with a SedsegError', () => {
    const data = hex(PY_PROTO4);
    for (let n = 0; n < data.length; n++) {
      try {
        load(data.subarray(0, n));
      } catch (e) {
        expect(isSedsegError(e), `cut at ${n}: ${String(e)}`).toBe(true);
        continue;
      }
      throw new Error(`cut at ${n} did not fail`);
    }
  });
});

describe('unpickle: hostile input (fuzzing regressions)', () => {
  const w = () => new PickleWriter().proto(2);

  it('LONG1/LONG4 decode exactly (random widths and signs, against a byte-by-byte reference)', () => {
    const reference = (bytes: number[]): bigint => {
      let v = 0n;
      for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
      if (bytes.length > 0 && bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
      return v;
    };
    let seed = 12345;
    const rnd = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let n = 0; n <= 40; n++) {
      for (let k = 0; k < 8; k++) {
        const bytes = Array.from({ length: n }, () => Math.floor(rnd() * 256));
        if (k === 0 && n > 0) bytes[n - 1] = 0xff; // negative
        if (k === 1 && n > 0) bytes.fill(0xff); // -1
        if (k === 2 && n > 0) bytes.fill(0); // 0
        const want = reference(bytes);
        const expected = want >= BigInt(Number.MIN_SAFE_INTEGER) && want <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(want) : want;
        expect(load(w().long4(bytes).stop().finish()), `LONG4 ${bytes}`).toBe(expected);
        expect(load(w().op(0x8a, n).raw(bytes).stop().finish()), `LONG1 ${bytes}`).toBe(expected);
      }
    }
  });

  it('a LONG4 of 4096 bytes (the limit) decodes in linear time; a 160 kB one is refused at once', () => {
    const bytes = Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) load(w().long4(bytes).stop().finish());
    expect(performance.now() - t0).toBeLessThan(2000);
    // Under an ignored key, as the fuzzer found it: the quadratic decoder spent a minute here.
    const huge = w().emptyDict().str('junk').long4(new Uint8Array(160_000).fill(0x5a)).setitem().stop().finish();
    const t1 = performance.now();
    expectError(() => load(huge), 'E_UNSUPPORTED', 'test.pkl: pickle LONG4 integer of 160000 bytes exceeds the 4096-byte limit (MAX_PICKLE_INT_BYTES)');
    expect(performance.now() - t1).toBeLessThan(500);
  });

  it('protocol-0 integers longer than CPython accepts (4300 digits) are refused', () => {
    expect(load(new PickleWriter().raw(new TextEncoder().encode(`L${'9'.repeat(4300)}L\n.`)).finish())).toBe(BigInt('9'.repeat(4300)));
    expectError(
      () => load(new PickleWriter().raw(new TextEncoder().encode(`I-${'1'.repeat(5000)}\n.`)).finish()),
      'E_UNSUPPORTED',
      'INT integer of 5000 digits exceeds the 4300-digit limit',
    );
  });

  it('bounds the objects a pickle may create (2.1M EMPTY_LIST opcodes)', () => {
    // PROTO 2, [prefix], n × opcode, STOP — built directly (PickleWriter is slow at this size).
    const flood = (n: number, op: number, prefix: number[] = []): Uint8Array => {
      const data = new Uint8Array(3 + prefix.length + n).fill(op);
      data.set([0x80, 2, ...prefix]);
      data[data.length - 1] = 0x2e;
      return data;
    };
    // Unbounded, a 256 MiB pickle of these ran V8 out of memory after six minutes.
    const t0 = performance.now();
    expectError(() => load(flood(2_100_000, 0x5d)), 'E_UNSUPPORTED', 'test.pkl: pickle creates more than 2000000 objects (limit MAX_PICKLE_OBJECTS');
    expect(performance.now() - t0).toBeLessThan(15_000); // about 0.3 s; generous for loaded CI machines
    // Dicts count more (they are larger): 600k of them are over the limit too.
    expectError(() => load(flood(600_000, 0x7d)), 'E_UNSUPPORTED', 'MAX_PICKLE_OBJECTS');
    // MEMOIZE floods count as well (a Map of 16.7M entries would be a RangeError).
    expectError(() => load(flood(2_100_000, 0x94, [0x4e])), 'E_UNSUPPORTED', 'MAX_PICKLE_OBJECTS');
  });

  it('refuses invalid UTF-8 in BINUNICODE / SHORT_BINUNICODE / BINUNICODE8 (as CPython)', () => {
    // Two keys that would both decode to "w\uFFFD" and collide.
    const collide = w().emptyDict().mark().strBytes([0x77, 0xff]).int(1).strBytes([0x77, 0xfe]).int(2).setitems().stop().finish();
    expectError(() => load(collide), 'E_CORRUPT', 'test.pkl: corrupt pickle: BINUNICODE is not valid UTF-8 (byte 4)');
    expectError(() => load(w().shortStrBytes([0xc3]).stop().finish()), 'E_CORRUPT', 'SHORT_BINUNICODE is not valid UTF-8');
    expectError(() => load(w().shortStrBytes([0xc0, 0x80]).stop().finish()), 'E_CORRUPT', 'not valid UTF-8'); // overlong
    expectError(() => load(w().shortStrBytes([0xf4, 0x90, 0x80, 0x80]).stop().finish()), 'E_CORRUPT', 'not valid UTF-8'); // > U+10FFFF
    expectError(() => load(w().op(0x8d, 2, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80).stop().finish()), 'E_CORRUPT', 'BINUNICODE8 is not valid UTF-8');
  });

  it('decodes text like CPython: encoded surrogates pass, a BOM is kept', () => {
    expect(load(w().shortStrBytes([0x61, 0xed, 0xa0, 0x80, 0x62]).stop().finish())).toBe('a\ud800b');
    expect(load(w().shortStrBytes([0xed, 0xb0, 0x80, 0xf0, 0x9f, 0x98, 0x80]).stop().finish())).toBe('\udc00😀');
    expect(load(w().shortStrBytes([0xef, 0xbb, 0xbf, 0x61]).stop().finish())).toBe('\ufeffa');
    expect(load(w().shortStr('xé中😀').stop().finish())).toBe('xé中😀');
  });

  it('refuses a dict that gives one key two values, naming the key', () => {
    const dup = w().emptyDict().mark().str('w').int(1).str('v').int(2).str('w').int(3).setitems().stop().finish();
    expectError(() => load(dup), 'E_CORRUPT', 'test.pkl: corrupt pickle: SETITEMS gives dict key "w" a second value');
    expectError(
      () => load(w().emptyDict().int(5).none().setitem().int(5).none().setitem().stop().finish()),
      'E_CORRUPT',
      'SETITEM gives dict key 5 a second value',
    );
    expectError(() => load(w().mark().str('k').int(1).str('k').int(2).dict().stop().finish()), 'E_CORRUPT', 'DICT gives dict key "k"');
  });

  it('a dict containing itself, and deep nesting, build without recursion', () => {
    // d = {}; d['self'] = d
    const v = load(w().emptyDict().put(0).str('self').get(0).setitem().stop().finish()) as Map<string, unknown>;
    expect(v.get('self')).toBe(v);
    // 100k nested lists / tuples
    const deep = w();
    for (let i = 0; i < 100_000; i++) deep.mark();
    deep.repeat(100_000, 0x74); // TUPLE
    let t = load(deep.stop().finish()) as unknown[];
    let depth = 0;
    while (t.length === 1) {
      t = t[0] as unknown[];
      depth++;
    }
    expect(depth).toBe(99_999);
  });

  it('a hook error becomes E_CORRUPT with the file and byte; a RangeError becomes E_UNSUPPORTED', () => {
    const globals = new Map<string, PickleGlobal>([
      [
        'm.bad',
        {
          call: () => {
            throw new PickleDataError('bad arguments');
          },
        },
      ],
      [
        'm.huge',
        {
          call: () => {
            throw new RangeError('Invalid array length');
          },
        },
      ],
    ]);
    expectError(
      () => load(w().global('m', 'bad').emptyTuple().reduce().stop().finish(), { globals }),
      'E_CORRUPT',
      'test.pkl: corrupt pickle: bad arguments (byte 10)',
    );
    expectError(
      () => load(w().global('m', 'huge').emptyTuple().reduce().stop().finish(), { globals }),
      'E_UNSUPPORTED',
      'test.pkl: pickle exceeds what can be loaded (Invalid array length)',
    );
  });

  it('keeps messages one short line whatever the names are', () => {
    const name = `${'x'.repeat(100_000)}\n`;
    let caught: unknown;
    try {
      load(w().global(name, 'y').stop().finish());
    } catch (e) {
      caught = e;
    }
    expect(isSedsegError(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain('refusing to load pickle global xxxx');
    expect(message.length).toBeLessThan(400);
    expect(message).not.toContain('\n');
  });
});
