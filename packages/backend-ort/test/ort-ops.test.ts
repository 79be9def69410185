/**
 * The ort backend's own behaviour (the model-level parity is in packages/parity): operators
 * against hand-computed values, stage compilation once per signature with a dynamic class
 * count, the guard against sizes baked into values, and argument errors.
 */
import { describe, expect, it } from 'vitest';
import { runStage, type Ops, type Stage } from '@sedseg/core';
import { createOrtOps, type LazyTensor } from '../src/index.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(tol);
};

describe('ort operators (eager reads compile small graphs)', () => {
  const ops = createOrtOps({ threads: 1 });
  it('elementwise, broadcasting, reductions and softmax', async () => {
    const a = ops.constant(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    const b = ops.constant(Float32Array.of(10, 20, 30), [3]);
    close(await ops.read(ops.add(a, b)), [11, 22, 33, 14, 25, 36]);
    close(await ops.read(ops.sum(a, [1], false)), [6, 15]);
    close(await ops.read(ops.mulScalar(ops.addScalar(a, 1), 2)), [4, 6, 8, 10, 12, 14]);
    const s = await ops.read(ops.softmax(a, -1));
    const e = [1, 2, 3].map(Math.exp);
    close(
      s.subarray(0, 3),
      e.map((v) => v / (e[0]! + e[1]! + e[2]!)),
    );
    close(await ops.read(ops.gelu(ops.constant(Float32Array.of(-1, 0, 1), [3]))), [-0.15865526, 0, 0.8413447]);
  });

  it('matmul with transposes, linear, gather and reshape on host values', async () => {
    const a = ops.constant(Float32Array.of(1, 2, 3, 4), [2, 2]);
    const b = ops.constant(Float32Array.of(5, 6, 7, 8), [2, 2]);
    close(await ops.read(ops.matmul(a, b, { transposeB: true })), [17, 23, 39, 53]);
    close(await ops.read(ops.matmul(a, b, { transposeA: true })), [26, 30, 38, 44]);
    close(await ops.read(ops.linear(a, b, ops.constant(Float32Array.of(1, -1), [2]))), [18, 22, 40, 52]);
    close(await ops.read(ops.gather(a, Int32Array.of(1, 0, 1), 0)), [3, 4, 1, 2, 3, 4]);
    expect(ops.shape(ops.reshape(a, [4, 1]))).toEqual([4, 1]);
  });

  it('group norm (decomposed) and bilinear resize with both corner rules', async () => {
    const x = ops.constant(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8), [1, 2, 2, 2]);
    const w = ops.constant(Float32Array.of(1, 2), [2]);
    const bias = ops.constant(Float32Array.of(0, 1), [2]);
    const mean = 4.5;
    const sd = Math.sqrt([1, 2, 3, 4, 5, 6, 7, 8].reduce((s, v) => s + (v - mean) ** 2, 0) / 8 + 1e-5);
    const expected = [1, 2, 3, 4, 5, 6, 7, 8].map((v, i) => ((v - mean) / sd) * (i < 4 ? 1 : 2) + (i < 4 ? 0 : 1));
    close(await ops.read(ops.groupNorm(x, 1, w, bias, 1e-5)), expected, 1e-5);
    const img = ops.constant(Float32Array.of(0, 1, 2, 3), [1, 1, 2, 2]);
    close(await ops.read(ops.resizeBilinear(img, [3, 3], true)), [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
    close(await ops.read(ops.resizeBilinear(img, [4, 4], false)), [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
  });

  it('a value disposed while a recorded node needs it is freed once that node is computed', async () => {
    const x = ops.constant(Float32Array.of(-1, 2), [2]);
    const y = ops.relu(x);
    ops.dispose(x);
    expect(x.data).toBeDefined(); // still needed by y
    close(await ops.read(y), [0, 2]);
    expect(x.data).toBeUndefined();
    const z = ops.constant(Float32Array.of(1), [1]);
    ops.dispose(z);
    expect(z.data).toBeUndefined(); // nothing needed it
    await expect(ops.read(z)).rejects.toThrow(/reading a disposed tensor/);
  });

  it('refuses bad arguments with named errors', () => {
    const a = ops.constant(new Float32Array(6), [2, 3]);
    expect(() => ops.constant(new Float32Array(5), [2, 3], 'x')).toThrow(/x: 5 values do not fill shape \[2, 3\]/);
    expect(() => ops.reshape(a, [4, 2])).toThrow(/reshape: \[2, 3\] cannot become \[4, 2\]/);
    expect(() => ops.gather(a, Int32Array.of(2), 0)).toThrow(/index 2 out of range/);
    expect(() => ops.add(a, ops.constant(new Float32Array(2), [2]))).toThrow(/do not broadcast/);
    expect(() => createOrtOps({ threads: 0 })).toThrow(/threads must be a positive integer/);
    ops.dispose(a);
    expect(() => ops.relu(a)).toThrow(/disposed/);
  });
});

describe('ort stages', () => {
  const ops = createOrtOps({ threads: 1 });
  const w = ops.weight(Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2], 'proj.weight');
  // per class: x [T, 2] → linear → [T, 3], then divided by the class count (as class attention does)
  const stage: Stage<LazyTensor> = {
    name: 'demo',
    inputs: [{ name: 'x', classAxis: 0 }],
    outputs: ['y', 'mean'],
    run: (o: Ops<LazyTensor>, i) => {
      const y = o.linear(i.x!, w);
      return { y, mean: o.div(o.sum(y, [0], true), o.sizeAsTensor(y, 0)) };
    },
  };

  it('compiles once and serves every class count', async () => {
    const before = ops.sessionCount;
    for (const t of [1, 3, 5]) {
      const x = ops.constant(
        Float32Array.from({ length: 2 * t }, (_, i) => i),
        [t, 2],
      );
      const out = await runStage(ops, stage, { x });
      const y = await ops.read(out.y!);
      const expected: number[] = [];
      for (let r = 0; r < t; r++) for (let o = 0; o < 3; o++) expected.push(2 * r * (o * 2 + 1) + (2 * r + 1) * (o * 2 + 2));
      close(y, expected);
      const mean = await ops.read(out.mean!);
      close(
        mean,
        [0, 1, 2].map((o) => expected.filter((_, i) => i % 3 === o).reduce((a, b) => a + b, 0) / t),
      );
    }
    expect(ops.sessionCount - before).toBe(1);
  });

  it('refuses a stage that bakes the class count into a value', async () => {
    const bad: Stage<LazyTensor> = { ...stage, name: 'bad', run: (o, i) => ({ y: o.mulScalar(i.x!, o.shape(i.x!)[0]!), mean: i.x! }) };
    const x = ops.constant(new Float32Array(4), [2, 2]);
    await expect(runStage(ops, bad, { x })).rejects.toThrow(/stage bad: mulScalar by a dynamic size \(class count or batch\); use ops.sizeAsTensor\(\)/);
  });

  it('refuses a disposed input', async () => {
    const x = ops.constant(new Float32Array(4), [2, 2]);
    ops.dispose(x);
    await expect(runStage(ops, stage, { x })).rejects.toThrow(/stage demo: input "x" was disposed/);
  });

  it('refuses inputs with different class counts', async () => {
    const two: Stage<LazyTensor> = {
      name: 'two',
      inputs: [
        { name: 'a', classAxis: 0 },
        { name: 'b', classAxis: 0 },
      ],
      outputs: ['s'],
      run: (o, i) => ({ s: o.add(i.a!, i.b!) }),
    };
    await expect(runStage(ops, two, { a: ops.constant(new Float32Array(2), [2, 1]), b: ops.constant(new Float32Array(3), [3, 1]) })).rejects.toThrow(
      /inputs hold 2 and 3 classes/,
    );
  });
});
