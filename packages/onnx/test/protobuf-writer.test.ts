/**
 * The ONNX writer against the protobuf wire format: hand-computed bytes, negative int64 values.
 * (That onnxruntime loads and runs what it writes is tested in @sedseg/backend-ort.)
 */
import { describe, expect, it } from 'vitest';
import { ProtoMessage } from '../src/onnx/protobuf-writer.js';

describe('protobuf writer', () => {
  it('encodes varints, negative int64, floats, strings and nested messages', () => {
    expect([...new ProtoMessage().int(1, 150).toBytes()]).toEqual([0x08, 0x96, 0x01]);
    expect([...new ProtoMessage().int(1, -1).toBytes()]).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect([...new ProtoMessage().string(2, 'hi').toBytes()]).toEqual([0x12, 0x02, 0x68, 0x69]);
    expect([...new ProtoMessage().float(2, 1).toBytes()]).toEqual([0x15, 0x00, 0x00, 0x80, 0x3f]);
    const inner = new ProtoMessage().int(1, 3);
    expect([...new ProtoMessage().message(3, inner).toBytes()]).toEqual([0x1a, 0x02, 0x08, 0x03]);
  });
});
