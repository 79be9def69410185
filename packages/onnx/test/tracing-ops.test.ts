/**
 * Tracing without a runtime: a stage becomes one graph whose class axis is dynamic, the same
 * graph (same key) for every class count; sizes baked into values are refused; argument errors.
 */
import { describe, expect, it } from 'vitest';
import { SedsegError, type Ops, type Stage } from '@sedseg/core';
import { TracingOps, type LazyTensor } from '../src/index.js';

/** Tracing only: nothing is ever computed. */
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

describe('TracingOps', () => {
  const ops = new TraceOnlyOps();
  const w = ops.weight(Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2], 'proj.weight');
  // per class: x [T, 2] → linear → [T, 3], then divided by the class count
  const stage: Stage<LazyTensor> = {
    name: 'demo',
    inputs: [{ name: 'x', classAxis: 0 }],
    outputs: ['y', 'mean'],
    run: (o: Ops<LazyTensor>, i) => {
      const y = o.linear(i.x!, w);
      return { y, mean: o.div(o.sum(y, [0], true), o.sizeAsTensor(y, 0)) };
    },
  };

  it('traces a stage into one graph with a dynamic class axis, weights as initializers', () => {
    const traced = ops.traceStage(stage, { x: [5, 2] });
    expect(traced.stage).toBe('demo');
    expect(traced.graph.inputs).toEqual([{ name: 'x', dataType: 'float32', dims: ['classes', 2] }]);
    expect(traced.graph.outputs.map((o) => [o.name, o.dims])).toEqual([
      ['y', ['classes', 3]],
      ['mean', [1, 3]],
    ]);
    expect(traced.graph.initializers.map((i) => i.name)).toContain('proj.weight');
    expect(traced.key).toBe(ops.traceStage(stage, { x: [1, 2] }).key);
    const half = ops.traceStage(stage, { x: [5, 2] }, { weightType: 'float16' });
    expect(half.graph.initializers.find((i) => i.name === 'proj.weight.f16')?.dataType).toBe('float16');
    expect(half.key).not.toBe(traced.key);
  });

  it('refuses a stage that bakes the class count into a value', () => {
    const bad: Stage<LazyTensor> = { ...stage, name: 'bad', run: (o, i) => ({ y: o.mulScalar(i.x!, o.shape(i.x!)[0]!), mean: i.x! }) };
    expect(() => ops.traceStage(bad, { x: [2, 2] })).toThrow(/stage bad: mulScalar by a dynamic size \(class count or batch\); use ops.sizeAsTensor\(\)/);
    expect(() => ops.traceStage(stage, {})).toThrow(/stage demo: input "x" is missing/);
  });

  it('computes host-only work on the host and refuses bad arguments with named errors', () => {
    const a = ops.constant(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    expect(ops.gather(a, Int32Array.of(1), 0).data).toEqual(Float32Array.of(4, 5, 6));
    expect(ops.concat([a, a], 0).data?.length).toBe(12);
    expect(() => ops.constant(new Float32Array(5), [2, 3], 'x')).toThrow(/x: 5 values do not fill shape \[2, 3\]/);
    expect(() => ops.reshape(a, [4, 2])).toThrow(/reshape: \[2, 3\] cannot become \[4, 2\]/);
    expect(() => ops.gather(a, Int32Array.of(2), 0)).toThrow(/index 2 out of range/);
    expect(() => ops.add(a, ops.constant(new Float32Array(2), [2]))).toThrow(/do not broadcast/);
    ops.dispose(a);
    expect(() => ops.relu(a)).toThrow(/trace backend: relu on a disposed tensor/);
  });
});
