/**
 * The ONNX writer against the protobuf wire format: a tiny model written by hand-computed bytes,
 * negative int64 values, and a model onnxruntime-node accepts and runs.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { serializeOnnxModel } from '../src/index.js';
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

describe('ONNX model', () => {
  it('is loaded and run by onnxruntime-node, with a dynamic dimension', async () => {
    const bytes = serializeOnnxModel(
      {
        name: 'scale',
        nodes: [{ opType: 'Mul', inputs: ['x', 'two'], outputs: ['y'] }],
        initializers: [{ name: 'two', dataType: 'float32', dims: [], raw: new Uint8Array(Float32Array.of(2).buffer) }],
        inputs: [{ name: 'x', dataType: 'float32', dims: ['classes', 2] }],
        outputs: [{ name: 'y', dataType: 'float32', dims: ['classes', 2] }],
      },
      { opset: 17 },
    );
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    for (const n of [1, 4]) {
      const x = new ort.Tensor('float32', Float32Array.from({ length: 2 * n }, (_, i) => i), [n, 2]);
      const { y } = await session.run({ x });
      expect([...(y!.data as Float32Array)]).toEqual(Array.from({ length: 2 * n }, (_, i) => 2 * i));
    }
    await session.release();
  });
});
