/**
 * Gradients of the broadcasting elementwise kernels of `cpu-kernels.ts` (`binary`), for
 * training on tfjs's pure-JS `cpu` backend, whose broadcasting kernels and their gradients walk
 * the tensors index by index. A broadcast operand's gradient is summed over the axes it was
 * repeated along (`sumToShape`).
 */
import { binary, broadcastShapes, sizeOf, stridesOf, type BinaryOp } from './cpu-kernels.js';

type Data = Float32Array;

/** Sums `x` of shape `from` down to `to` (which broadcasts to `from`), in float64. */
export function sumToShape(x: Data, from: readonly number[], to: readonly number[]): Data {
  if (sizeOf(to) === x.length) return x;
  const r = from.length;
  const aligned = [...Array(r - to.length).fill(1), ...to] as number[];
  const toStrides = stridesOf(aligned);
  // per output axis: the step in the result (0 where the axis is summed away)
  const step = from.map((d, i) => (aligned[i] === d ? toStrides[i]! : 0));
  const acc = new Float64Array(sizeOf(to));
  const idx = new Array<number>(r).fill(0);
  const inner = from[r - 1] ?? 1;
  const innerStep = step[r - 1] ?? 0;
  let t = 0;
  for (let o = 0; o < x.length; o += inner) {
    if (innerStep === 0) {
      let s = 0;
      for (let j = 0; j < inner; j++) s += x[o + j]!;
      acc[t] = acc[t]! + s;
    } else {
      for (let j = 0; j < inner; j++) acc[t + j * innerStep] = acc[t + j * innerStep]! + x[o + j]!;
    }
    // advance the multi-index over the outer axes
    for (let ax = r - 2; ax >= 0; ax--) {
      idx[ax] = idx[ax]! + 1;
      t += step[ax]!;
      if (idx[ax]! < from[ax]!) break;
      t -= step[ax]! * from[ax]!;
      idx[ax] = 0;
    }
  }
  return Float32Array.from(acc);
}

/** ∂L/∂a and ∂L/∂b of `binary(op, a, b)` from dy (of the broadcast shape). */
export function binaryGradients(op: BinaryOp, dy: Data, a: Data, aShape: readonly number[], b: Data, bShape: readonly number[]): [Data, Data] {
  const out = broadcastShapes(aShape, bShape)!;
  switch (op) {
    case 'add':
      return [sumToShape(dy, out, aShape), sumToShape(dy, out, bShape)];
    case 'sub':
      return [sumToShape(dy, out, aShape), sumToShape(binary('mul', dy, out, Float32Array.of(-1), [1]).values, out, bShape)];
    case 'mul':
      return [sumToShape(binary('mul', dy, out, b, bShape).values, out, aShape), sumToShape(binary('mul', dy, out, a, aShape).values, out, bShape)];
    case 'div': {
      // d/da = dy / b; d/db = −dy·a / b² = −(dy / b)·(a / b)
      const q = binary('div', dy, out, b, bShape).values;
      const y = binary('div', a, aShape, b, bShape).values;
      const qy = binary('mul', q, out, y, out).values;
      return [sumToShape(q, out, aShape), sumToShape(binary('mul', qy, out, Float32Array.of(-1), [1]).values, out, bShape)];
    }
  }
}
