import { SedsegError } from '../errors.js';

/**
 * A minimal pickle (protocol 2) emitter: just the opcodes `torch.save` uses for a state dict,
 * written the way CPython's pickler writes them, so that the result reads like a file torch
 * wrote (and `pickletools.dis` shows the same shape).
 *
 * Memo: CPython memoizes every str, tuple, dict and GLOBAL it writes (BINPUT after it) and
 * refers back to an object it has seen (BINGET) instead of writing it again. It keys the memo
 * by object identity; here strings and globals are memoized by value, which unpickles to the
 * same data (str is immutable). Tuples and reduce results are put in the memo like CPython
 * does (so memo indices match) but never looked up again.
 *
 * The caller keeps the stack balanced; this class only checks argument ranges.
 */

const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  EMPTY_DICT: 0x7d,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  NONE: 0x4e,
  BINUNICODE: 0x58,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  BINPERSID: 0x51,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
} as const;

/** CPython's `_BATCHSIZE`: dict items go out in SETITEMS batches of at most this many. */
export const PICKLE_BATCH_SIZE = 1000;

const encoder = new TextEncoder();

export class PickleEmitter {
  private buf = new Uint8Array(4096);
  private length = 0;
  private memoSize = 0;
  private readonly strings = new Map<string, number>();
  private readonly globals = new Map<string, number>();

  /** The bytes written so far (a view; copy it before writing more). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes());
    this.buf = grown;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  private u16(n: number): void {
    this.reserve(2);
    this.buf[this.length++] = n & 0xff;
    this.buf[this.length++] = (n >>> 8) & 0xff;
  }

  private u32(n: number): void {
    this.reserve(4);
    for (let i = 0; i < 4; i++) this.buf[this.length++] = (n >>> (8 * i)) & 0xff;
  }

  private raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Puts the value on top of the stack into the next memo slot; returns the slot. */
  private put(): number {
    const index = this.memoSize++;
    if (index < 256) {
      this.byte(OP.BINPUT);
      this.byte(index);
    } else {
      this.byte(OP.LONG_BINPUT);
      this.u32(index);
    }
    return index;
  }

  private get(index: number): void {
    if (index < 256) {
      this.byte(OP.BINGET);
      this.byte(index);
    } else {
      this.byte(OP.LONG_BINGET);
      this.u32(index);
    }
  }

  proto(version = 2): this {
    this.byte(OP.PROTO);
    this.byte(version);
    return this;
  }

  stop(): this {
    this.byte(OP.STOP);
    return this;
  }

  mark(): this {
    this.byte(OP.MARK);
    return this;
  }

  emptyDict(): this {
    this.byte(OP.EMPTY_DICT);
    this.put();
    return this;
  }

  /** Empty tuples are never memoized (CPython writes EMPTY_TUPLE each time). */
  emptyTuple(): this {
    this.byte(OP.EMPTY_TUPLE);
    return this;
  }

  /**
   * Closes a tuple of `n` items just pushed: TUPLE1-3 for 1-3 items, MARK ... TUPLE otherwise
   * (then the caller must have written `mark()` before the items, which `tupleStart` tells).
   */
  tuple(n: number): this {
    if (n === 0) return this.emptyTuple();
    this.byte(n === 1 ? OP.TUPLE1 : n === 2 ? OP.TUPLE2 : n === 3 ? OP.TUPLE3 : OP.TUPLE);
    this.put();
    return this;
  }

  /** Whether a tuple of `n` items needs a MARK before its items (CPython: more than 3). */
  static tupleNeedsMark(n: number): boolean {
    return n > 3;
  }

  /** A tuple of small non-negative integers (sizes, strides). */
  intTuple(values: readonly number[]): this {
    const marked = PickleEmitter.tupleNeedsMark(values.length);
    if (marked) this.mark();
    for (const v of values) this.int(v);
    return this.tuple(values.length);
  }

  setItem(): this {
    this.byte(OP.SETITEM);
    return this;
  }

  setItems(): this {
    this.byte(OP.SETITEMS);
    return this;
  }

  bool(value: boolean): this {
    this.byte(value ? OP.NEWTRUE : OP.NEWFALSE);
    return this;
  }

  none(): this {
    this.byte(OP.NONE);
    return this;
  }

  /**
   * An integer the way CPython picks the opcode: BININT1 below 256, BININT2 below 65536,
   * BININT for other 32-bit signed values, LONG1 (little-endian two's complement) beyond.
   */
  int(value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new SedsegError('E_ARGUMENT', `pickle: ${value} is not an integer that can be written exactly`);
    }
    const n = BigInt(value);
    if (n >= 0n && n < 256n) {
      this.byte(OP.BININT1);
      this.byte(Number(n));
    } else if (n >= 0n && n < 65536n) {
      this.byte(OP.BININT2);
      this.u16(Number(n));
    } else if (n >= -(2n ** 31n) && n < 2n ** 31n) {
      this.byte(OP.BININT);
      this.u32(Number(BigInt.asUintN(32, n)));
    } else {
      // Shortest two's complement: enough bytes that the sign bit is right.
      let bytes = 1;
      while (n < -(2n ** BigInt(8 * bytes - 1)) || n >= 2n ** BigInt(8 * bytes - 1)) bytes++;
      let u = BigInt.asUintN(8 * bytes, n);
      this.byte(OP.LONG1);
      this.byte(bytes);
      for (let i = 0; i < bytes; i++, u >>= 8n) this.byte(Number(u & 0xffn));
    }
    return this;
  }

  /**
   * A str: BINGET when the same text was written before, else BINUNICODE (UTF-8, 4-byte
   * length) and BINPUT. SHORT_BINUNICODE is protocol 4; CPython's protocol 2 (torch's
   * default) always writes BINUNICODE.
   */
  str(text: string): this {
    const seen = this.strings.get(text);
    if (seen !== undefined) {
      this.get(seen);
      return this;
    }
    const utf8 = encoder.encode(text);
    this.byte(OP.BINUNICODE);
    this.u32(utf8.length);
    this.raw(utf8);
    this.strings.set(text, this.put());
    return this;
  }

  /**
   * A module-level name, e.g. `global('collections', 'OrderedDict')`: GLOBAL the first time
   * (memoized), BINGET afterwards.
   */
  global(module: string, name: string): this {
    const key = `${module}\n${name}`;
    const seen = this.globals.get(key);
    if (seen !== undefined) {
      this.get(seen);
      return this;
    }
    if (/[\n\r]/.test(module) || /[\n\r]/.test(name)) throw new SedsegError('E_ARGUMENT', `pickle: bad global name ${JSON.stringify(key)}`);
    this.byte(OP.GLOBAL);
    this.raw(encoder.encode(`${key}\n`));
    this.globals.set(key, this.put());
    return this;
  }

  /** REDUCE (call the callable below the arguments tuple); the result is memoized. */
  reduce(): this {
    this.byte(OP.REDUCE);
    this.put();
    return this;
  }

  /** BINPERSID: the value on top of the stack is a persistent id, resolved by the loader. */
  persistentId(): this {
    this.byte(OP.BINPERSID);
    return this;
  }
}
