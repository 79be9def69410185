/**
 * GPT-2's reversible byte ↔ unicode mapping (`bytes_to_unicode` in OpenAI CLIP / open_clip).
 *
 * BPE works on strings of "visible" characters: every UTF-8 byte is mapped to one character,
 * printable Latin-1 bytes to themselves and the others (controls, space, 0x7f-0xa0, 0xad) to
 * U+0100 onwards. The insertion order of the Python dict matters: it is the order of the first
 * 256 (and next 256) vocabulary entries.
 */

export interface ByteUnicodeTable {
  /** `encoder[byte]`: the character standing for that byte. */
  readonly encoder: readonly string[];
  /** Character → byte, the inverse of `encoder`. */
  readonly decoder: ReadonlyMap<string, number>;
  /** The 256 characters in Python's dict order (the first 256 vocabulary entries). */
  readonly order: readonly string[];
}

function build(): ByteUnicodeTable {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b); // '®'..'ÿ'
  const chars = bytes.slice();
  const printable = new Set(bytes);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.has(b)) {
      bytes.push(b);
      chars.push(256 + n);
      n++;
    }
  }
  const encoder = new Array<string>(256);
  const decoder = new Map<string, number>();
  const order: string[] = [];
  for (let i = 0; i < 256; i++) {
    const b = bytes[i]!;
    const ch = String.fromCharCode(chars[i]!);
    encoder[b] = ch;
    decoder.set(ch, b);
    order.push(ch);
  }
  return { encoder, decoder, order };
}

let table: ByteUnicodeTable | undefined;

/** The byte ↔ unicode table (built once). */
export function bytesToUnicode(): ByteUnicodeTable {
  table ??= build();
  return table;
}
