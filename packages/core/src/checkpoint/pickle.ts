import { SedsegError } from '../errors.js';

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
 */

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

const utf8 = new TextDecoder('utf-8');
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
  const { source } = options;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let opStart = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  // Which whitelisted global built an object, so BUILD can find its `build` hook.
  const builtBy = new WeakMap<object, PickleGlobal>();

  const corrupt = (msg: string): never => {
    throw new SedsegError('E_CORRUPT', `${source}: corrupt pickle: ${msg} (byte ${opStart})`);
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
      throw new SedsegError('E_UNSAFE', `${source}: refusing to load pickle global ${qualname} (${why})`);
    }
    return new PickleGlobalRef(module, name, spec);
  };
  const call = (callable: unknown, args: unknown, op: string): unknown => {
    if (!(callable instanceof PickleGlobalRef)) corrupt(`${op} on a ${pyTypeName(callable)}, not a global`);
    const ref = callable as PickleGlobalRef;
    if (!isTuple(args)) corrupt(`${op} arguments of ${ref.qualname} are a ${pyTypeName(args)}, not a tuple`);
    if (!ref.spec.call) {
      throw new SedsegError('E_UNSAFE', `${source}: refusing to call pickle global ${ref.qualname} (only referenced, never called, in checkpoints)`);
    }
    const result = ref.spec.call(args as readonly unknown[]);
    if (typeof result === 'object' && result !== null) builtBy.set(result, ref.spec);
    return result;
  };
  const persistent = (pid: unknown): unknown => {
    if (!options.persistentLoad) {
      throw new SedsegError('E_UNSUPPORTED', `${source}: pickle has a persistent id but no loader was given`);
    }
    return options.persistentLoad(pid);
  };
  const setItems = (target: unknown, items: readonly unknown[], op: string): void => {
    if (!(target instanceof Map)) corrupt(`${op} on a ${pyTypeName(target)}, not a dict`);
    if (items.length % 2 !== 0) corrupt(`${op} with an odd number of items`);
    const map = target as Map<unknown, unknown>;
    for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
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
      case 0x80: { // PROTO
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
        stack.push(top());
        break;

      // --- constants and numbers ---
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: // BININT
        take(4, 'BININT');
        stack.push(dv.getInt32(pos - 4, true));
        break;
      case 0x4b: stack.push(u8('BININT1')); break; // BININT1
      case 0x4d: stack.push(u16('BININT2')); break; // BININT2
      case 0x8a: { // LONG1
        const n = u8('LONG1');
        stack.push(decodeLong(take(n, 'LONG1')));
        break;
      }
      case 0x8b: { // LONG4
        take(4, 'LONG4');
        const n = dv.getInt32(pos - 4, true);
        if (n < 0) corrupt('LONG4 with a negative length');
        stack.push(decodeLong(take(n, 'LONG4')));
        break;
      }
      case 0x49: { // INT (text); protocol 0 spells booleans I01 / I00
        const text = line('INT');
        stack.push(text === '01' ? true : text === '00' ? false : parseIntText(text, corrupt));
        break;
      }
      case 0x4c: // LONG (text, trailing L)
        stack.push(parseIntText(line('LONG').replace(/L$/, ''), corrupt));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        take(8, 'BINFLOAT');
        stack.push(dv.getFloat64(pos - 8, false));
        break;
      case 0x46: { // FLOAT (text)
        const text = line('FLOAT').trim();
        const v = Number(text);
        if (text === '' || (Number.isNaN(v) && !/^[-+]?nan$/i.test(text))) corrupt(`bad FLOAT ${JSON.stringify(text)}`);
        stack.push(v);
        break;
      }

      // --- strings and bytes ---
      case 0x58: stack.push(utf8.decode(take(u32('BINUNICODE'), 'BINUNICODE'))); break;
      case 0x8c: stack.push(utf8.decode(take(u8('SHORT_BINUNICODE'), 'SHORT_BINUNICODE'))); break;
      case 0x8d: stack.push(utf8.decode(take(u64('BINUNICODE8'), 'BINUNICODE8'))); break;
      case 0x56: stack.push(decodeRawUnicodeEscape(line('UNICODE'))); break; // UNICODE
      case 0x54: { // BINSTRING: Python 2 str, signed length
        take(4, 'BINSTRING');
        const n = dv.getInt32(pos - 4, true);
        if (n < 0) corrupt('BINSTRING with a negative length');
        stack.push(latin1.decode(take(n, 'BINSTRING')));
        break;
      }
      case 0x55: stack.push(latin1.decode(take(u8('SHORT_BINSTRING'), 'SHORT_BINSTRING'))); break;
      case 0x53: stack.push(decodeStringLiteral(line('STRING'), corrupt)); break; // STRING
      case 0x42: stack.push(take(u32('BINBYTES'), 'BINBYTES').slice()); break;
      case 0x43: stack.push(take(u8('SHORT_BINBYTES'), 'SHORT_BINBYTES').slice()); break;
      case 0x8e: stack.push(take(u64('BINBYTES8'), 'BINBYTES8').slice()); break;

      // --- containers ---
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(Object.freeze([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x74: { // TUPLE
        // popMark() replaces `stack`: take the items before naming `stack.push`.
        const items = popMark();
        stack.push(Object.freeze(items));
        break;
      }
      case 0x85: { // TUPLE1
        const a = pop();
        stack.push(Object.freeze([a]));
        break;
      }
      case 0x86: { // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(Object.freeze([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(Object.freeze([a, b, c]));
        break;
      }
      case 0x6c: { // LIST
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x64: { // DICT
        const items = popMark();
        const map = new Map<unknown, unknown>();
        setItems(map, items, 'DICT');
        stack.push(map);
        break;
      }
      case 0x91: { // FROZENSET
        const items = popMark();
        stack.push(new Set(items));
        break;
      }
      case 0x61: { // APPEND
        const item = pop();
        appendItems(top(), [item], 'APPEND');
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items, 'APPENDS');
        break;
      }
      case 0x73: { // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value], 'SETITEM');
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items, 'SETITEMS');
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        addItems(top(), items);
        break;
      }

      // --- memo ---
      case 0x71: memo.set(u8('BINPUT'), top()); break; // BINPUT
      case 0x72: memo.set(u32('LONG_BINPUT'), top()); break; // LONG_BINPUT
      case 0x70: memo.set(parseMemoKey(line('PUT'), corrupt), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8('BINGET'))); break; // BINGET
      case 0x6a: stack.push(memoGet(u32('LONG_BINGET'))); break; // LONG_BINGET
      case 0x67: stack.push(memoGet(parseMemoKey(line('GET'), corrupt))); break; // GET

      // --- globals, calls, objects ---
      case 0x63: { // GLOBAL
        const module = line('GLOBAL');
        const name = line('GLOBAL');
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') corrupt('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        stack.push(call(callable, args, 'REDUCE'));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args), treated like a call
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args, 'NEWOBJ'));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        const hook = typeof obj === 'object' && obj !== null ? builtBy.get(obj)?.build : undefined;
        if (hook) hook(obj, state);
        else if (obj instanceof PyObject) obj.state = state;
        // Instance attributes of a dict subclass (OrderedDict's `_metadata` in state dicts)
        // carry no tensor data: dropped.
        else if (!(obj instanceof Map)) corrupt(`BUILD on a ${pyTypeName(obj)}`);
        break;
      }
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x50: stack.push(persistent(line('PERSID'))); break; // PERSID

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

/** Little-endian two's complement → number when safe, else bigint. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return normalizeInt(v);
}

function normalizeInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntText(text: string, corrupt: (msg: string) => never): number | bigint {
  const t = text.trim();
  if (!/^[-+]?\d+$/.test(t)) corrupt(`bad integer ${JSON.stringify(text)}`);
  return normalizeInt(BigInt(t));
}

function parseMemoKey(text: string, corrupt: (msg: string) => never): number {
  const v = parseIntText(text, corrupt);
  if (typeof v !== 'number' || v < 0) corrupt(`bad memo key ${JSON.stringify(text)}`);
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
