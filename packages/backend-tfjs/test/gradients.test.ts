/**
 * Training path: while tfjs records gradients, TfjsOps uses tfjs ops only (no host kernels, no
 * weight cache), so gradients reach weights and inputs. tfjs-core alone registers no gradient
 * functions (the `@tensorflow/tfjs` union package and tfjs-node do); this test registers them
 * from tfjs-core's ES module build.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTfjsOps } from '../src/index.js';
import { hostReference as R } from '@sedseg/core/conformance';

// The wasm backend has no Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput/Filter or
// UnsortedSegmentSum (gather's gradient) kernels: train on tfjs-node or cpu.
describe.each(['cpu'] as const)('gradients through TfjsOps on %s', (platform) => {
  it('match finite differences through conv2d, convTranspose2d, linear, norms, gelu, softmax, resize', async () => {
    const ops = await createTfjsOps({ platform });
    const tf = ops.tf;
    const r = R.rng(7);
    const c = (shape: number[]): Tensor => ops.constant(R.f32(R.rand(r, shape)), shape);
    const x = c([1, 3, 6, 6]);
    const w = tf.variable(c([4, 3, 3, 3]));
    const dw = tf.variable(c([4, 1, 3, 3]));
    const ct = tf.variable(c([4, 4, 2, 2]));
    const lin = tf.variable(c([5, 4]));
    const lw = c([4]);
    const lb = c([4]);
    const idx = Int32Array.from([3, 0, 2]);
    const f = (): Scalar =>
      ops.tidy(() => {
        let y = ops.conv2d(x, w, undefined, { padding: 1 }); // [1,4,6,6]
        y = ops.conv2d(y, dw, undefined, { padding: 1, groups: 4 });
        y = ops.groupNorm(y, 2, lw, lb, 1e-5);
        y = ops.convTranspose2d(y, ct, lb, 2); // [1,4,12,12]
        y = ops.avgPool2d(ops.resizeBilinear(y, [8, 8], true), 2); // [1,4,4,4]
        const z = ops.layerNorm(ops.transpose(y, [0, 2, 3, 1]), lw, lb, 1e-5); // [1,4,4,4]
        const s = ops.softmax(ops.linear(ops.gelu(ops.gather(z, idx, 1)), lin), -1); // [1,3,4,5]
        return tf.sum(ops.mul(s, ops.elu(ops.sum(ops.gather(z, idx, 1), [-1], true)))) as Scalar;
      });
    const vars = [w, dw, ct, lin];
    const { value, grads } = tf.variableGrads(f, vars);
    expect(ops.cachedTensorCount).toBe(0);
    const base = (await ops.read(value))[0]!;
    for (const v of vars) {
      const g = await ops.read(grads[v.name]!);
      const vals = await ops.read(v);
      const i = 1;
      const eps = 1e-2;
      const old = vals[i]!;
      vals[i] = old + eps;
      v.assign(ops.constant(vals, v.shape));
      const plus = (await ops.read(f()))[0]!;
      vals[i] = old - eps;
      v.assign(ops.constant(vals, v.shape));
      const minus = (await ops.read(f()))[0]!;
      vals[i] = old;
      v.assign(ops.constant(vals, v.shape));
      const fd = (plus - minus) / (2 * eps);
      expect(Math.abs(fd - g[i]!), `${v.name}: fd ${fd} vs grad ${g[i]}`).toBeLessThan(2e-3 + 0.02 * Math.abs(fd));
    }
    expect(Number.isFinite(base)).toBe(true);
    tf.dispose([x, lw, lb, value, ...Object.values(grads), ...vars]);
  });
});
