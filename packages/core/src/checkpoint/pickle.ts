import { SedsegError } from '../errors.js';
import { nameForMessage } from '../io/message-text.js';

/**
 * A pickle virtual machine that builds plain data and never runs code.
 *
 * Python's pickle calls arbitrary importable functions (GLOBAL + REDUCE), which is how a
 * malicious `.pth` runs `os.system`. Here a global resolves only through a caller-supplied
 * whitelist: every other global is refused with E_UNSAFE at the moment it is named, and a
 * whitelisted global is "called" by a JS function the caller wrote. Everything else is data:
 *
 * | Python            | JS                                                   |
 * | ----------------- | ---------------------------------------------------- |
 * | None, bool, float | null, boolean, number                                |
 * | int               | number when a safe integer, else bigint              |
 * | str / bytes       | string / Uint8Array (protocol 0-2 `str` → latin-1 string) |
 * | list              | mutable array (`isList`)                             |
 * | tuple             | frozen array (`isTuple`)                             |
 * | dict              | Map, insertion ordered (`isDict`)                    |
 * | set / frozenset   | Set                                                  |
 * | global            | `PickleGlobalRef` (only for whitelisted names)       |
 *
 * Supported opcodes: protocols 0-5 except INST/OBJ, EXT1-4, NEWOBJ_EX, BYTEARRAY8 and the
 * out-of-band buffer opcodes, none of which `torch.save` emits.
 *
 * Hostile input: the VM's work is linear in the pickle's size and bounded by
 * `MAX_PICKLE_OBJECTS` (values it creates), integers by `MAX_PICKLE_INT_BYTES` /
 * `MAX_PICKLE_INT_DIGITS`. Text must be valid UTF-8 (as CPython, which refuses such a pickle;
 * encoded surrogates are accepted like CPython's `surrogatepass`). A dict given the same key
 * twice is refused (a `torch.save` pickle never does that; accepting it would silently drop a
 * value). Everything the VM builds is iterative: no input makes it recurse.
 */

/**
 * Most values one pickle may create (every value pushed on the stack, every MARK and memo
 * entry; a dict or set counts 4, being about five times the memory of a list). `torch.save`
 * of a state dict needs about 25 per tensor (4.5k for the 209-tensor tiny SED model), so even
 * a checkpoint with optimizer state for tens of thousands of tensors stays far below. The limit
 * bounds memory to a few hundred MB and time to about a second for hostile pickles.
 */
export const MAX_PICKLE_OBJECTS = 2_000_000;

/**
 * Longest LONG1/LONG4 integer (bytes). Checkpoints hold small integers (sizes, strides, step
 * counts; torch's legacy magic number is 10 bytes); 4 KiB is a 32768-bit integer.
 */
export const MAX_PICKLE_INT_BYTES = 4096;

/**
 * Longest protocol-0 INT/LONG text (digits): CPython's own limit for int <-> str conversion
 * (`sys.int_info.default_max_str_digits`), which its unpickler applies to these opcodes too.
 */
export const MAX_PICKLE_INT_DIGITS = 4300;

/**
 * Thrown by a whitelisted global's `call`/`build` hook for malformed data; the VM reports it as
 * E_CORRUPT with the file name and byte offset.
 */
export class PickleDataError extends Error {}

/** How one whitelisted global behaves. */
export interface PickleGlobal {
  /** REDUCE / NEWOBJ with these arguments. Without it the global can be referenced, not called. */
  call?(args: readonly unknown[]): unknown;
  /** BUILD (`__setstate__`) on an object this global's `call` returned. */
  build?(obj: unknown, state: unknown): void;
}

/** Whitelisted globals keyed by `module.name` (e.g. `collections.OrderedDict`). */
export type PickleWhitelist = ReadonlyMap<string, PickleGlobal>;

export interface UnpickleOptions {
  /** Name of the file, first in every error message. */
  source: string;
  globals: PickleWhitelist;
  /** Resolves a persistent id (BINPERSID / PERSID); without it such ids are refused. */
  persistentLoad?(pid: unknown): unknown;
  /** Why a non-whitelisted global is refused, for the E_UNSAFE message. */
  refuseReason?: string;
}

/** A whitelisted global as it sits on the pickle stack. */
export class PickleGlobalRef {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly spec: PickleGlobal,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of a whitelisted class kept as inert data (arguments and BUILD state). */
export class PyObject {
  state: unknown = undefined;
  constructor(
    readonly className: string,
    readonly args: readonly unknown[],
  ) {}
}

export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}
export function isList(v: unknown): v is unknown[] {
  return Array.isArray(v) && !Object.isFrozen(v);
}
export function isDict(v: unknown): v is Map<unknown, unknown> {
  return v instanceof Map;
}

/** A short Python-ish type name for messages. */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (isTuple(v)) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  if (v instanceof PickleGlobalRef) return `global ${v.qualname}`;
  if (v instanceof PyObject) return v.className;
  return 'object';
}

const HIGHEST_PROTOCOL = 5;

/** Names of opcodes we know but do not implement, for clearer messages. */
const UNSUPPORTED_OPS: ReadonlyMap<number, string> = new Map([
  [0x69, 'INST'],
  [0x6f, 'OBJ'],
  [0x82, 'EXT1'],
  [0x83, 'EXT2'],
  [0x84, 'EXT4'],
  [0x92, 'NEWOBJ_EX'],
  [0x96, 'BYTEARRAY8'],
  [0x97, 'NEXT_BUFFER'],
  [0x98, 'READONLY_BUFFER'],
]);

/** Python 2 module names that Python 3's unpickler maps (fix_imports). */
const PY2_MODULES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
]);

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/**
 * UTF-8 text of a pickle string, decoded as CPython's unpickler does (`'utf-8',
 * 'surrogatepass'`): invalid sequences are refused (null), surrogates encoded as three bytes
 * become lone surrogates.
 */
function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return decodeUtf8SurrogatePass(bytes);
  }
}

function decodeUtf8SurrogatePass(bytes: Uint8Array): string | null {
  const units: number[] = [];
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    let cp: number;
    let n: number;
    if (b < 0x80) {
      cp = b;
      n = 1;
    } else if (b >= 0xc2 && b < 0xe0) {
      cp = b & 0x1f;
      n = 2;
    } else if (b >= 0xe0 && b < 0xf0) {
      cp = b & 0x0f;
      n = 3;
    } else if (b >= 0xf0 && b < 0xf5) {
      cp = b & 0x07;
      n = 4;
    } else {
      return null;
    }
    if (i + n > bytes.length) return null;
    for (let k = 1; k < n; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return null;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms and values past U+10FFFF are invalid; surrogates pass.
    if ((n === 3 && cp < 0x800) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) return null;
    if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    else units.push(cp);
    i += n;
    if (units.length >= 0x2000) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}
// Not TextDecoder('latin1'): the WHATWG label means windows-1252, which remaps 0x80-0x9f.
const latin1 = {
  decode(bytes: Uint8Array): string {
    let out = '';
    for (let i = 0; i < bytes.length; i += 0x2000) out += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
    return out;
  },
};

/** Runs a pickle and returns the object it builds. */
export function unpickle(data: Uint8Array, options: UnpickleOptions): unknown {
  try {
    return runPickle(data, options);
  } catch (e) {
    // Resource exhaustion inside the VM or a hook (a Map past its maximum size, an allocation
    // refused) is reported like any other refused input, never as a bare RangeError.
    if (e instanceof RangeError) {
      throw new SedsegError('E_UNSUPPORTED', `${options.source}: pickle exceeds what can be loaded (${e.message})`, { cause: e });
    }
    throw e;
  }
}

function runPickle(data: Uint8Array, options: UnpickleOptions): unknown {
  const { source } = options;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let opStart = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  // Which whitelisted global built an object, so BUILD can find its `build` hook.
  const builtBy = new WeakMap<object, PickleGlobal>();
  let created = 0;

  const corrupt = (msg: string): never => {
    throw new SedsegError('E_CORRUPT', `${source}: corrupt pickle: ${msg} (byte ${opStart})`);
  };
  /** Counts `cost` units against MAX_PICKLE_OBJECTS. */
  const spend = (cost: number): void => {
    created += cost;
    if (created > MAX_PICKLE_OBJECTS) {
      throw new SedsegError(
        'E_UNSUPPORTED',
        `${source}: pickle creates more than ${MAX_PICKLE_OBJECTS} objects (limit MAX_PICKLE_OBJECTS; a checkpoint needs about 25 per tensor) (byte ${opStart})`,
      );
    }
  };
  const push = (v: unknown): void => {
    spend(v instanceof Map || v instanceof Set ? 4 : 1);
    stack.push(v);
  };
  const take = (n: number, what: string): Uint8Array => {
    if (!Number.isSafeInteger(n) || n < 0 || n > data.length - pos) {
      corrupt(`${what} needs ${n} bytes, ${data.length - pos} left`);
    }
    const out = data.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = (what: string): number => take(1, what)[0]!;
  const u16 = (what: string): number => {
    take(2, what);
    return dv.getUint16(pos - 2, true);
  };
  const u32 = (what: string): number => {
    take(4, what);
    return dv.getUint32(pos - 4, true);
  };
  const u64 = (what: string): number => {
    take(8, what);
    const v = dv.getBigUint64(pos - 8, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) corrupt(`${what} length ${v} is out of range`);
    return Number(v);
  };
  /** A protocol-0 text argument: bytes up to the next newline. */
  const line = (what: string): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) corrupt(`${what}: unterminated text argument`);
    const text = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const text = (bytes: Uint8Array, what: string): string => {
    const s = decodeUtf8(bytes);
    if (s === null) corrupt(`${what} is not valid UTF-8`);
    return s!;
  };
  const longInt = (bytes: Uint8Array, what: string): number | bigint => {
    if (bytes.length > MAX_PICKLE_INT_BYTES) {
      throw new SedsegError(
        'E_UNSUPPORTED',
        `${source}: pickle ${what} integer of ${bytes.length} bytes exceeds the ${MAX_PICKLE_INT_BYTES}-byte limit (MAX_PICKLE_INT_BYTES) (byte ${opStart})`,
      );
    }
    return decodeLong(bytes);
  };
  const textInt = (raw: string, what: string): number | bigint => {
    const t = raw.trim();
    const digits = t.replace(/^[-+]/, '').length;
    if (digits > MAX_PICKLE_INT_DIGITS) {
      throw new SedsegError(
        'E_UNSUPPORTED',
        `${source}: pickle ${what} integer of ${digits} digits exceeds the ${MAX_PICKLE_INT_DIGITS}-digit limit (MAX_PICKLE_INT_DIGITS) (byte ${opStart})`,
      );
    }
    return parseIntText(t, corrupt);
  };
  const pop = (): unknown => {
    if (stack.length === 0) corrupt('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) corrupt('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const outer = metastack.pop();
    if (!outer) corrupt('missing MARK');
    stack = outer!;
    return items;
  };
  const memoPut = (key: number, value: unknown): void => {
    if (!memo.has(key)) spend(1);
    memo.set(key, value);
  };
  const memoGet = (key: number): unknown => {
    if (!memo.has(key)) corrupt(`memo key ${key} is missing`);
    return memo.get(key);
  };
  const resolveGlobal = (rawModule: string, name: string): PickleGlobalRef => {
    const module = PY2_MODULES.get(rawModule) ?? rawModule;
    const qualname = `${module}.${name}`;
    // A Map, not an object literal: `__proto__` or `constructor` must not resolve to anything.
    const spec = options.globals.get(qualname);
    if (!spec) {
      const why = options.refuseReason ?? 'not whitelisted';
      throw new SedsegError('E_UNSAFE', `${source}: refusing to load pickle global ${nameForMessage(qualname)} (${why})`);
    }
    return new PickleGlobalRef(module, name, spec);
  };
  /** Runs a hook; its PickleDataError becomes E_CORRUPT naming the file and byte. */
  const hook = <T>(run: () => T): T => {
    try {
      return run();
    } catch (e) {
      if (e instanceof PickleDataError) corrupt(e.message);
      throw e;
    }
  };
  const call = (callable: unknown, args: unknown, op: string): unknown => {
    if (!(callable instanceof PickleGlobalRef)) corrupt(`${op} on a ${pyTypeName(callable)}, not a global`);
    const ref = callable as PickleGlobalRef;
    if (!isTuple(args)) corrupt(`${op} arguments of ${nameForMessage(ref.qualname)} are a ${pyTypeName(args)}, not a tuple`);
    if (!ref.spec.call) {
      throw new SedsegError(
        'E_UNSAFE',
        `${source}: refusing to call pickle global ${nameForMessage(ref.qualname)} (only referenced, never called, in checkpoints)`,
      );
    }
    const result = hook(() => ref.spec.call!(args as readonly unknown[]));
    if (typeof result === 'object' && result !== null) builtBy.set(result, ref.spec);
    return result;
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) {
      throw new SedsegError('E_UNSUPPORTED', `${source}: pickle has a persistent id but no loader was given`);
    }
    const load = options.persistentLoad;
    return hook(() => load(pid));
  };
  const setItems = (target: unknown, items: readonly unknown[], op: string): void => {
    if (!(target instanceof Map)) corrupt(`${op} on a ${pyTypeName(target)}, not a dict`);
    if (items.length % 2 !== 0) corrupt(`${op} with an odd number of items`);
    const map = target as Map<unknown, unknown>;
    for (let i = 0; i < items.length; i += 2) {
      // Python would keep the last value; a second value for a key is refused instead, so that
      // no tensor of a state dict can be dropped without a word.
      if (map.has(items[i])) corrupt(`${op} gives dict key ${describeKey(items[i])} a second value`);
      map.set(items[i], items[i + 1]);
    }
  };
  const appendItems = (target: unknown, items: readonly unknown[], op: string): void => {
    if (!isList(target)) corrupt(`${op} on a ${pyTypeName(target)}, not a list`);
    for (const item of items) (target as unknown[]).push(item);
  };
  const addItems = (target: unknown, items: readonly unknown[]): void => {
    if (!(target instanceof Set)) corrupt(`ADDITEMS on a ${pyTypeName(target)}, not a set`);
    for (const item of items) (target as Set<unknown>).add(item);
  };

  while (pos < data.length) {
    opStart = pos;
    const op = data[pos++]!;
    switch (op) {
      // --- framing and control ---
      case 0x80: {
        // PROTO
        const proto = u8('PROTO');
        if (proto > HIGHEST_PROTOCOL) throw new SedsegError('E_UNSUPPORTED', `${source}: pickle protocol ${proto} is not supported (byte ${opStart})`);
        break;
      }
      case 0x95: // FRAME: only a read-ahead hint
        u64('FRAME');
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        spend(1);
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        // Python allows POP to discard a bare MARK.
        if (stack.length === 0 && metastack.length > 0) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;

      // --- constants and numbers ---
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4a: // BININT
        take(4, 'BININT');
        push(dv.getInt32(pos - 4, true));
        break;
      case 0x4b:
        push(u8('BININT1'));
        break; // BININT1
      case 0x4d:
        push(u16('BININT2'));
        break; // BININT2
      case 0x8a: {
        // LONG1
        const n = u8('LONG1');
        push(longInt(take(n, 'LONG1'), 'LONG1'));
        break;
      }
      case 0x8b: {
        // LONG4
        take(4, 'LONG4');
        const n = dv.getInt32(pos - 4, true);
        if (n < 0) corrupt('LONG4 with a negative length');
        push(longInt(take(n, 'LONG4'), 'LONG4'));
        break;
      }
      case 0x49: {
        // INT (text); protocol 0 spells booleans I01 / I00
        const t = line('INT');
        push(t === '01' ? true : t === '00' ? false : textInt(t, 'INT'));
        break;
      }
      case 0x4c: // LONG (text, trailing L)
        push(textInt(line('LONG').replace(/L$/, ''), 'LONG'));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        take(8, 'BINFLOAT');
        push(dv.getFloat64(pos - 8, false));
        break;
      case 0x46: {
        // FLOAT (text)
        const t = line('FLOAT').trim();
        const v = Number(t);
        if (t === '' || (Number.isNaN(v) && !/^[-+]?nan$/i.test(t))) corrupt(`bad FLOAT ${JSON.stringify(nameForMessage(t, 40))}`);
        push(v);
        break;
      }

      // --- strings and bytes ---
      case 0x58:
        push(text(take(u32('BINUNICODE'), 'BINUNICODE'), 'BINUNICODE'));
        break;
      case 0x8c:
        push(text(take(u8('SHORT_BINUNICODE'), 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE'));
        break;
      case 0x8d:
        push(text(take(u64('BINUNICODE8'), 'BINUNICODE8'), 'BINUNICODE8'));
        break;
      case 0x56:
        push(decodeRawUnicodeEscape(line('UNICODE')));
        break; // UNICODE
      case 0x54: {
        // BINSTRING: Python 2 str, signed length
        take(4, 'BINSTRING');
        const n = dv.getInt32(pos - 4, true);
        if (n < 0) corrupt('BINSTRING with a negative length');
        push(latin1.decode(take(n, 'BINSTRING')));
        break;
      }
      case 0x55:
        push(latin1.decode(take(u8('SHORT_BINSTRING'), 'SHORT_BINSTRING')));
        break;
      case 0x53:
        push(decodeStringLiteral(line('STRING'), corrupt));
        break; // STRING
      case 0x42:
        push(take(u32('BINBYTES'), 'BINBYTES').slice());
        break;
      case 0x43:
        push(take(u8('SHORT_BINBYTES'), 'SHORT_BINBYTES').slice());
        break;
      case 0x8e:
        push(take(u64('BINBYTES8'), 'BINBYTES8').slice());
        break;

      // --- containers ---
      case 0x7d:
        push(new Map());
        break; // EMPTY_DICT
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x29:
        push(Object.freeze([]));
        break; // EMPTY_TUPLE
      case 0x8f:
        push(new Set());
        break; // EMPTY_SET
      case 0x74: {
        // TUPLE
        // popMark() replaces `stack`: take the items before naming `stack.push`.
        const items = popMark();
        push(Object.freeze(items));
        break;
      }
      case 0x85: {
        // TUPLE1
        const a = pop();
        push(Object.freeze([a]));
        break;
      }
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(Object.freeze([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(Object.freeze([a, b, c]));
        break;
      }
      case 0x6c: {
        // LIST
        const items = popMark();
        push(items);
        break;
      }
      case 0x64: {
        // DICT
        const items = popMark();
        const map = new Map<unknown, unknown>();
        setItems(map, items, 'DICT');
        push(map);
        break;
      }
      case 0x91: {
        // FROZENSET
        const items = popMark();
        push(new Set(items));
        break;
      }
      case 0x61: {
        // APPEND
        const item = pop();
        appendItems(top(), [item], 'APPEND');
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items, 'APPENDS');
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value], 'SETITEM');
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items, 'SETITEMS');
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        addItems(top(), items);
        break;
      }

      // --- memo ---
      case 0x71:
        memoPut(u8('BINPUT'), top());
        break; // BINPUT
      case 0x72:
        memoPut(u32('LONG_BINPUT'), top());
        break; // LONG_BINPUT
      case 0x70:
        memoPut(parseMemoKey(line('PUT'), corrupt), top());
        break; // PUT
      case 0x94:
        memoPut(memo.size, top());
        break; // MEMOIZE
      case 0x68:
        push(memoGet(u8('BINGET')));
        break; // BINGET
      case 0x6a:
        push(memoGet(u32('LONG_BINGET')));
        break; // LONG_BINGET
      case 0x67:
        push(memoGet(parseMemoKey(line('GET'), corrupt)));
        break; // GET

      // --- globals, calls, objects ---
      case 0x63: {
        // GLOBAL
        const module = line('GLOBAL');
        const name = line('GLOBAL');
        push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') corrupt('STACK_GLOBAL needs two strings');
        push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        push(call(callable, args, 'REDUCE'));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args), treated like a call
        const args = pop();
        const cls = pop();
        push(call(cls, args, 'NEWOBJ'));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        const build = typeof obj === 'object' && obj !== null ? builtBy.get(obj)?.build : undefined;
        if (build) hook(() => build(obj, state));
        else if (obj instanceof PyObject) obj.state = state;
        // Instance attributes of a dict subclass (OrderedDict's `_metadata` in state dicts)
        // carry no tensor data: dropped.
        else if (!(obj instanceof Map)) corrupt(`BUILD on a ${pyTypeName(obj)}`);
        break;
      }
      case 0x51:
        push(persistent(pop()));
        break; // BINPERSID
      case 0x50:
        push(persistent(line('PERSID')));
        break; // PERSID

      default: {
        const known = UNSUPPORTED_OPS.get(op);
        const label = `0x${op.toString(16).padStart(2, '0')}${known ? ` (${known})` : ''}`;
        throw new SedsegError('E_UNSUPPORTED', `${source}: unsupported pickle opcode ${label} at byte ${opStart}`);
      }
    }
  }
  opStart = pos;
  return corrupt('truncated pickle (no STOP opcode)');
}

/** A dict key for a message: strings quoted and cut, numbers as they are, others by type. */
function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(nameForMessage(key));
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') return nameForMessage(String(key));
  return `of type ${pyTypeName(key)}`;
}

/**
 * Little-endian two's complement → number when safe, else bigint. Linear time: the bytes are
 * turned into one hexadecimal string and parsed once (shifting a BigInt byte by byte is
 * quadratic in the length).
 */
function decodeLong(bytes: Uint8Array): number | bigint {
  const n = bytes.length;
  if (n === 0) return 0;
  if (n <= 6) {
    // Fits a safe integer exactly.
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[i]!;
    return bytes[n - 1]! & 0x80 ? v - 2 ** (8 * n) : v;
  }
  let hex = '';
  for (let i = n - 1; i >= 0; i--) hex += HEX_BYTE[bytes[i]!]!;
  let v = BigInt(`0x${hex}`);
  if (bytes[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
  return normalizeInt(v);
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function normalizeInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntText(text: string, corrupt: (msg: string) => never): number | bigint {
  const t = text.trim();
  if (!/^[-+]?\d+$/.test(t)) corrupt(`bad integer ${JSON.stringify(nameForMessage(text, 40))}`);
  return normalizeInt(BigInt(t));
}

function parseMemoKey(text: string, corrupt: (msg: string) => never): number {
  const v = text.trim().length > 20 ? -1 : parseIntText(text, corrupt);
  if (typeof v !== 'number' || v < 0) corrupt(`bad memo key ${JSON.stringify(nameForMessage(text, 40))}`);
  return v as number;
}

/** Protocol 0 UNICODE argument: latin-1 text with \uXXXX and \UXXXXXXXX escapes. */
function decodeRawUnicodeEscape(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt(u4 ?? u8 ?? '0', 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : _;
  });
}

/** Protocol 0 STRING argument: a quoted Python 2 string literal (common escapes only). */
function decodeStringLiteral(text: string, corrupt: (msg: string) => never): string {
  const q = text[0];
  if (text.length < 2 || (q !== "'" && q !== '"') || text[text.length - 1] !== q) corrupt('STRING argument is not quoted');
  const body = text.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (m: string, e: string) => {
    if (e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return Object.hasOwn(simple, e) ? simple[e]! : m;
  });
}
