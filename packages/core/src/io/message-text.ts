/**
 * Helpers that put untrusted file content (key names, entry names, header values) into error
 * messages. Messages stay one line and short whatever the file holds: text is cut to a bounded
 * length and control characters are escaped; structured values are previewed without recursion
 * (never `JSON.stringify` on unbounded user data: a 100k-deep array overflows the stack and a
 * 100 MB string makes a 100 MB message).
 */

/** Longest name (in UTF-16 units) quoted in a message before it is cut. */
const MESSAGE_NAME_CHARS = 200;

/** Longest preview of a structured value (header field) in a message. */
const MESSAGE_VALUE_CHARS = 80;

// C0/C1 controls, line/paragraph separators and lone surrogates would break a one-line message.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A name for a message: unchanged when short and printable (so ordinary keys read naturally),
 * otherwise control characters escaped (`\u000a`) and the result cut to about `max`
 * characters, followed by `…(N chars)` giving the real length.
 */
export function nameForMessage(name: string, max = MESSAGE_NAME_CHARS): string {
  if (name.length <= max && !UNPRINTABLE.test(name)) return name;
  let out = '';
  let i = 0;
  for (; i < name.length && out.length < max; i++) {
    const c = name.charCodeAt(i);
    const pair = c >= 0xd800 && c < 0xdc00 && i + 1 < name.length && (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) {
      out += name.slice(i, i + 2);
      i++;
    } else if (UNPRINTABLE.test(name[i]!)) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else {
      out += name[i];
    }
  }
  return i < name.length ? `${out}…(${name.length} chars)` : out;
}

/** `"name"` in double quotes, bounded and escaped as `nameForMessage`. */
export function quoteForMessage(name: string, max = MESSAGE_NAME_CHARS): string {
  return `"${nameForMessage(name, max)}"`;
}

/**
 * A short JSON-like preview of a parsed JSON value: primitives as JSON, arrays and objects
 * expanded at most two levels deep and a few items wide, the whole cut to `max` characters.
 */
export function previewValue(value: unknown, max = MESSAGE_VALUE_CHARS): string {
  const out = preview(value, 2, max + 1);
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

function preview(value: unknown, depth: number, budget: number): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > budget ? value.slice(0, budget) : value);
  if (typeof value === 'bigint') return `${value}`.slice(0, budget);
  if (Array.isArray(value)) {
    if (depth === 0) return value.length === 0 ? '[]' : '[…]';
    const parts: string[] = [];
    let used = 2;
    for (let i = 0; i < value.length && i < 8 && used < budget; i++) {
      const p = preview(value[i], depth - 1, budget - used);
      parts.push(p);
      used += p.length + 1;
    }
    return `[${parts.join(',')}${parts.length < value.length ? ',…' : ''}]`;
  }
  if (typeof value === 'object') {
    if (depth === 0) return '{…}';
    const parts: string[] = [];
    let used = 2;
    let count = 0;
    for (const key in value as Record<string, unknown>) {
      if (!Object.hasOwn(value, key)) continue;
      if (count++ >= 8 || used >= budget) {
        parts.push('…');
        break;
      }
      const p = `${JSON.stringify(key.slice(0, budget))}:${preview((value as Record<string, unknown>)[key], depth - 1, budget - used)}`;
      parts.push(p);
      used += p.length + 1;
    }
    return `{${parts.join(',')}}`;
  }
  return typeof value;
}

/** A shape like `shapeToString` (`[2, 3]`), with at most `maxDims` dimensions listed. */
export function shapeForMessage(shape: readonly number[], maxDims = 12): string {
  if (shape.length <= maxDims) return `[${shape.join(', ')}]`;
  return `[${shape.slice(0, maxDims).join(', ')}, …(${shape.length} dims)]`;
}
