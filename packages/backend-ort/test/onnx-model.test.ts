/** A model written by @sedseg/onnx's protobuf writer, loaded and run by onnxruntime-node. */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { serializeOnnxModel } from '../src/index.js';

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
      const x = new ort.Tensor(
        'float32',
        Float32Array.from({ length: 2 * n }, (_, i) => i),
        [n, 2],
      );
      const { y } = await session.run({ x });
      expect([...(y!.data as Float32Array)]).toEqual(Array.from({ length: 2 * n }, (_, i) => 2 * i));
    }
    await session.release();
  });
});
