/**
 * A minimal protocol-buffers encoder, enough to write ONNX models (proto2, no dependency).
 * A message is kept as a list of byte parts so that large tensor payloads (raw weights) are
 * referenced, not copied, until `toBytes()` joins everything once.
 */
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

const encoder = new TextEncoder();

export class ProtoMessage {
  private readonly parts: Uint8Array[] = [];
  private scratch: number[] = [];
  private partsLength = 0;

  /** Encoded size in bytes. */
  get length(): number {
    return this.partsLength + this.scratch.length;
  }

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    const bytes = Uint8Array.from(this.scratch);
    this.parts.push(bytes);
    this.partsLength += bytes.length;
    this.scratch = [];
  }

  private pushBytes(bytes: Uint8Array): void {
    this.flushScratch();
    this.parts.push(bytes);
    this.partsLength += bytes.length;
  }

  private varint(value: number | bigint): void {
    let v = typeof value === 'bigint' ? BigInt.asUintN(64, value) : value;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf: ${v} is not a safe integer`);
      if (v < 0) {
        v = BigInt.asUintN(64, BigInt(v));
      } else {
        while (v > 0x7f) {
          this.scratch.push((v % 128) | 0x80);
          v = Math.floor(v / 128);
        }
        this.scratch.push(v);
        return;
      }
    }
    let b = v;
    while (b > 0x7fn) {
      this.scratch.push(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    this.scratch.push(Number(b));
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** int32/int64/uint64/enum/bool field (negative values as 10-byte two's complement). */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.scratch.push(...b);
    return this;
  }

  double(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.scratch.push(...b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.varint(value.length);
    this.pushBytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  message(field: number, value: ProtoMessage): this {
    this.tag(field, WIRE_BYTES);
    this.varint(value.length);
    value.flushScratch();
    for (const p of value.parts) this.pushBytes(p);
    return this;
  }

  /** The whole message as one buffer. */
  toBytes(): Uint8Array {
    this.flushScratch();
    const out = new Uint8Array(this.partsLength);
    let offset = 0;
    for (const p of this.parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}
