/**
 * Test helper: emits pickle bytes (protocol 2 opcodes, plus a few from later protocols) so
 * tests can build checkpoints and hostile pickles without Python.
 */

const enc = new TextEncoder();

export class PickleWriter {
  private readonly out: number[] = [];

  /** Raw opcode and argument bytes. */
  op(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b & 0xff);
    return this;
  }
  raw(bytes: Uint8Array | readonly number[]): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }
  private u32(n: number): this {
    return this.op(n, n >>> 8, n >>> 16, n >>> 24);
  }
  private line(text: string): this {
    return this.raw(enc.encode(`${text}\n`));
  }

  proto(v = 2): this {
    return this.op(0x80, v);
  }
  stop(): this {
    return this.op(0x2e);
  }
  mark(): this {
    return this.op(0x28);
  }
  pop(): this {
    return this.op(0x30);
  }
  popMark(): this {
    return this.op(0x31);
  }
  dup(): this {
    return this.op(0x32);
  }
  none(): this {
    return this.op(0x4e);
  }
  bool(v: boolean): this {
    return this.op(v ? 0x88 : 0x89);
  }

  int(v: number | bigint): this {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 0x100) return this.op(0x4b, v);
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 0x10000) return this.op(0x4d, v, v >>> 8);
    if (typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) return this.op(0x4a).u32(v >>> 0);
    // LONG1: little-endian two's complement, minimal length.
    let big = BigInt(v);
    const bytes: number[] = [];
    for (;;) {
      const byte = Number(big & 0xffn);
      bytes.push(byte);
      big >>= 8n;
      if ((big === 0n && !(byte & 0x80)) || (big === -1n && byte & 0x80)) break;
    }
    return this.op(0x8a, bytes.length).raw(bytes);
  }
  float(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    return this.op(0x47).raw(b);
  }
  str(s: string): this {
    const b = enc.encode(s);
    return this.op(0x58).u32(b.length).raw(b);
  }
  shortStr(s: string): this {
    const b = enc.encode(s);
    return this.op(0x8c, b.length).raw(b);
  }
  bytes(b: Uint8Array): this {
    return this.op(0x42).u32(b.length).raw(b);
  }
  /** BINUNICODE with raw (possibly invalid) UTF-8 bytes. */
  strBytes(b: Uint8Array | readonly number[]): this {
    return this.op(0x58).u32(b.length).raw(b);
  }
  /** SHORT_BINUNICODE with raw (possibly invalid) UTF-8 bytes. */
  shortStrBytes(b: Uint8Array | readonly number[]): this {
    return this.op(0x8c, b.length).raw(b);
  }
  /** LONG4 with the given little-endian two's complement bytes. */
  long4(b: Uint8Array | readonly number[]): this {
    return this.op(0x8b).u32(b.length).raw(b);
  }
  /** `n` copies of the same opcode bytes (fast, for huge hostile pickles). */
  repeat(n: number, ...bytes: number[]): this {
    for (let i = 0; i < n; i++) for (const b of bytes) this.out.push(b & 0xff);
    return this;
  }

  emptyDict(): this {
    return this.op(0x7d);
  }
  emptyList(): this {
    return this.op(0x5d);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  tuple(): this {
    return this.op(0x74);
  }
  tupleN(n: 1 | 2 | 3): this {
    return this.op(0x84 + n);
  }
  list(): this {
    return this.op(0x6c);
  }
  dict(): this {
    return this.op(0x64);
  }
  append(): this {
    return this.op(0x61);
  }
  appends(): this {
    return this.op(0x65);
  }
  setitem(): this {
    return this.op(0x73);
  }
  setitems(): this {
    return this.op(0x75);
  }

  put(i: number): this {
    return i < 256 ? this.op(0x71, i) : this.op(0x72).u32(i);
  }
  get(i: number): this {
    return i < 256 ? this.op(0x68, i) : this.op(0x6a).u32(i);
  }
  memoize(): this {
    return this.op(0x94);
  }

  global(module: string, name: string): this {
    return this.op(0x63).line(module).line(name);
  }
  stackGlobal(module: string, name: string): this {
    return this.shortStr(module).shortStr(name).op(0x93);
  }
  reduce(): this {
    return this.op(0x52);
  }
  newobj(): this {
    return this.op(0x81);
  }
  build(): this {
    return this.op(0x62);
  }
  binpersid(): this {
    return this.op(0x51);
  }

  /** Writes a JS value as Python data (see `PyValue`). */
  value(v: PyValue): this {
    if (v === null) return this.none();
    if (typeof v === 'boolean') return this.bool(v);
    if (typeof v === 'bigint') return this.int(v);
    if (typeof v === 'number') return Number.isInteger(v) ? this.int(v) : this.float(v);
    if (typeof v === 'string') return this.str(v);
    if (v instanceof Uint8Array) return this.bytes(v);
    if (v instanceof Tuple) {
      this.mark();
      for (const item of v.items) this.value(item);
      return this.tuple();
    }
    if (v instanceof Emit) {
      v.emit(this);
      return this;
    }
    if (Array.isArray(v)) {
      this.emptyList().mark();
      for (const item of v) this.value(item);
      return this.appends();
    }
    this.emptyDict().mark();
    for (const [k, item] of v) this.value(k).value(item);
    return this.setitems();
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** Python values for `PickleWriter.value`: arrays are lists, Maps dicts. */
export type PyValue = null | boolean | number | bigint | string | Uint8Array | Tuple | Emit | PyValue[] | Map<PyValue, PyValue>;

export class Tuple {
  constructor(readonly items: PyValue[]) {}
}
export const tuple = (...items: PyValue[]): Tuple => new Tuple(items);

/** Custom opcodes in the middle of a value. */
export class Emit {
  constructor(readonly emit: (w: PickleWriter) => void) {}
}

export interface TensorSpec {
  /** Storage class name without `torch.`, e.g. `FloatStorage`. */
  storageType: string;
  key: string;
  /** Elements in the storage. */
  numel: number;
  shape: number[];
  stride?: number[];
  offset?: number;
  /** Wrap in `torch._utils._rebuild_parameter` like an nn.Parameter. */
  parameter?: boolean;
}

export function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i]!;
  }
  return stride;
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` as torch writes it. */
export function tensor(spec: TensorSpec): Emit {
  return new Emit((w) => {
    if (spec.parameter) w.global('torch._utils', '_rebuild_parameter').mark();
    w.global('torch._utils', '_rebuild_tensor_v2').mark();
    w.mark().str('storage').global('torch', spec.storageType).str(spec.key).str('cpu').int(spec.numel).tuple().binpersid();
    w.int(spec.offset ?? 0);
    w.value(new Tuple(spec.shape));
    w.value(new Tuple(spec.stride ?? contiguousStride(spec.shape)));
    w.bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    w.tuple().reduce();
    if (spec.parameter) w.bool(true).global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  });
}

/** A whole pickle: PROTO 2, the value, STOP. */
export function pickle(v: PyValue): Uint8Array {
  return new PickleWriter().proto(2).value(v).stop().finish();
}
