/**
 * FLOP counts of recorded graphs: exact counts on small stages whose arithmetic is known by hand.
 */
import { describe, expect, it } from 'vitest';
import { SedsegError, type Ops, type Stage } from '@sedseg/core';
import { TracingOps, type LazyTensor } from '../src/index.js';

class TraceOnlyOps extends TracingOps {
  constructor() {
    super('trace');
  }
  read(): Promise<Float32Array> {
    throw new SedsegError('E_UNSUPPORTED', 'trace-only ops cannot compute');
  }
  runStage(): Promise<Record<string, LazyTensor>> {
    throw new SedsegError('E_UNSUPPORTED', 'trace-only ops cannot compute');
  }
}

const ops = new TraceOnlyOps();
const zeros = (shape: number[]): Float32Array => new Float32Array(shape.reduce((a, b) => a * b, 1));
const weight = (name: string, shape: number[]): LazyTensor => ops.weight(zeros(shape), shape, name);

function stageOf(name: string, inputs: string[], run: (o: Ops<LazyTensor>, i: Record<string, LazyTensor>) => LazyTensor): Stage<LazyTensor> {
  return { name, inputs: inputs.map((n) => ({ name: n, classAxis: 0 })), outputs: ['y'], run: (o, i) => ({ y: run(o, i as Record<string, LazyTensor>) }) };
}

describe('countStageFlops', () => {
  it('counts matmuls, linears and convolutions as 2 FLOPs per multiply-add, biases once per output', () => {
    const mm = stageOf('mm', ['a', 'b'], (o, i) => o.matmul(i.a!, i.b!, { transposeB: true }));
    // [3, 4, 5] × [3, 6, 5]ᵀ: 3 batches of 4×6 outputs, 5 products each
    expect(ops.countStageFlops(mm, { a: [3, 4, 5], b: [3, 6, 5] })).toEqual({ flops: 2 * 3 * 4 * 6 * 5, byOp: { matmul: 720 }, movedElements: 0 });

    const w = weight('fc.weight', [8, 16]);
    const b = weight('fc.bias', [8]);
    const fc = stageOf('fc', ['x'], (o, i) => o.linear(i.x!, w, b));
    expect(ops.countStageFlops(fc, { x: [10, 16] }).flops).toBe(2 * 10 * 16 * 8 + 10 * 8);

    const cw = weight('conv.weight', [4, 3, 3, 3]);
    const conv = stageOf('conv', ['x'], (o, i) => o.conv2d(i.x!, cw, undefined, { padding: 1 }));
    expect(ops.countStageFlops(conv, { x: [2, 3, 8, 8] }).flops).toBe(2 * 2 * 4 * 8 * 8 * 3 * 9);

    // depthwise 7×7 with a bias: one input channel per output channel
    const dw = weight('dw.weight', [6, 1, 7, 7]);
    const db = weight('dw.bias', [6]);
    const depthwise = stageOf('dw', ['x'], (o, i) => o.conv2d(i.x!, dw, db, { padding: 3, groups: 6 }));
    expect(ops.countStageFlops(depthwise, { x: [1, 6, 5, 5] }).flops).toBe(2 * 6 * 25 * 49 + 6 * 25);

    // ConvTranspose 2×2 stride 2, 4 → 3 channels: every input pixel scatters a 2×2×3 patch
    const tw = weight('up.weight', [4, 3, 2, 2]);
    const tb = weight('up.bias', [3]);
    const up = stageOf('up', ['x'], (o, i) => o.convTranspose2d(i.x!, tw, tb, 2));
    expect(ops.countStageFlops(up, { x: [1, 4, 5, 5] }).flops).toBe(2 * 4 * 25 * 3 * 4 + 3 * 10 * 10);
  });

  it('counts norms, element-wise work and pooling per element, data movement as 0 FLOPs', () => {
    const g = weight('n.weight', [8]);
    const b = weight('n.bias', [8]);
    const stage = stageOf('mix', ['x'], (o, i) => {
      const n = o.groupNorm(i.x!, 2, g, b, 1e-5); // 7 · 2·8·4·4
      const r = o.relu(n); // 256
      const p = o.avgPool2d(r, 2); // 4 per output: 4 · 2·8·2·2
      const t = o.transpose(p, [0, 2, 3, 1]); // moves 64 elements
      return o.addScalar(o.reshape(t, [2, 32]), 1); // 64
    });
    const count = ops.countStageFlops(stage, { x: [2, 8, 4, 4] });
    expect(count.byOp).toEqual({ groupNorm: 7 * 256, relu: 256, avgPool2d: 4 * 64, transpose: 0, reshape: 0, addScalar: 64 });
    expect(count.flops).toBe(7 * 256 + 256 + 256 + 64);
    expect(count.movedElements).toBe(64);
  });

  it('counts only what the outputs depend on, at the exact input shapes given', () => {
    const stage: Stage<LazyTensor> = {
      name: 'dead',
      inputs: [{ name: 'x', classAxis: 0 }],
      outputs: ['y'],
      run: (o, i) => {
        o.mul(i.x!, i.x!); // recorded but unused
        return { y: o.sum(i.x!, [1], false) };
      },
    };
    expect(ops.countStageFlops(stage, { x: [5, 7] }).flops).toBe(35);
    expect(ops.countStageFlops(stage, { x: [50, 7] }).flops).toBe(350);
    expect(() => ops.countStageFlops(stage, {})).toThrow(/stage dead: input "x" is missing/);
  });
});
