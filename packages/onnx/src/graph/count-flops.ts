/**
 * Analytic floating-point operation counts of recorded (traced) graphs: every node a stage
 * records is counted from its input and output shapes, so a stage's count covers every operator
 * it runs and nothing is estimated by hand. Counts are the model's arithmetic as written, before
 * ONNX Runtime fuses or rewrites anything.
 *
 * Conventions (one multiply-add = 2 FLOPs, as in the usual GFLOP/s figures):
 *
 * | operator | FLOPs |
 * | --- | --- |
 * | matmul [.., M, K] × [.., K, N] | 2·batch·M·N·K |
 * | linear x [.., K] → [.., N] | 2·rows·K·N (+ rows·N with a bias) |
 * | conv2d | 2·N·O·OH·OW·(C/groups)·KH·KW (+ N·O·OH·OW with a bias) |
 * | convTranspose2d | 2·N·C·H·W·O·KH·KW (+ output elements with a bias) |
 * | layerNorm, groupNorm | 7 per element: mean, subtract, square, variance sum, normalize, scale, shift |
 * | softmax | 4 per element: max-subtract, exp, sum, divide |
 * | gelu | 5 per element (x·½·(1 + erf(x/√2)), as emitted) |
 * | add, mul, div, relu, elu, sqrt, addScalar, mulScalar | 1 per output element (a transcendental counts 1) |
 * | sum | 1 per input element |
 * | avgPool2d k×k | k² per output element |
 * | resizeBilinear | 7 per output element (4 multiplies, 3 adds) |
 * | reshape, transpose, concat, broadcastTo, gather, size | 0 (data movement: `movedElements`) |
 */
import type { LazyTensor, OpRecord } from './lazy-tensor.js';
import { topologicalOrder } from './compile-graph.js';

export interface FlopCount {
  /** All FLOPs of the graph. */
  flops: number;
  /** FLOPs per operator type (`conv2d`, `matmul`, …). */
  byOp: Record<string, number>;
  /** Elements written by data-movement operators (transpose, concat, …; no FLOPs). */
  movedElements: number;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const ELEMENTWISE = new Set(['add', 'mul', 'div', 'relu', 'elu', 'sqrt', 'addScalar', 'mulScalar']);
const MOVEMENT = new Set(['reshape', 'transpose', 'concat', 'broadcastTo', 'gather', 'size']);

/** FLOPs of one recorded node producing `out` (see the table above). */
export function opFlops(rec: OpRecord, out: readonly number[]): number {
  const n = size(out);
  const [x, w, b] = rec.inputs;
  if (ELEMENTWISE.has(rec.type)) return n;
  if (MOVEMENT.has(rec.type)) return 0;
  switch (rec.type) {
    case 'matmul': {
      const xs = x!.shape;
      const k = rec.attrs.transposeA ? xs.at(-2)! : xs.at(-1)!;
      return 2 * n * k; // n = batch·M·N
    }
    case 'linear':
      return 2 * n * x!.shape.at(-1)! + (b ? n : 0);
    case 'conv2d': {
      const [, ci, kh, kw] = w!.shape as [number, number, number, number];
      return 2 * n * ci * kh * kw + (b ? n : 0);
    }
    case 'convTranspose2d': {
      const [, o, kh, kw] = w!.shape as [number, number, number, number];
      return 2 * size(x!.shape) * o * kh * kw + (b ? n : 0);
    }
    case 'layerNorm':
    case 'groupNorm':
      return 7 * n;
    case 'softmax':
      return 4 * n;
    case 'gelu':
      return 5 * n;
    case 'sum':
      return size(x!.shape);
    case 'avgPool2d':
      return (rec.attrs.k as number) ** 2 * n;
    case 'resizeBilinear':
      return 7 * n;
    default:
      throw new Error(`FLOP count: no rule for operator "${rec.type}"`);
  }
}

/** FLOPs of every node the `outputs` depend on (nodes not computed yet; host values count 0). */
export function countFlops(outputs: readonly LazyTensor[]): FlopCount {
  const result: FlopCount = { flops: 0, byOp: {}, movedElements: 0 };
  for (const t of topologicalOrder(outputs)) {
    if (t.isConcrete || !t.op) continue;
    const f = opFlops(t.op, t.shape);
    result.flops += f;
    result.byOp[t.op.type] = (result.byOp[t.op.type] ?? 0) + f;
    if (MOVEMENT.has(t.op.type) && t.op.type !== 'size' && t.op.type !== 'reshape') result.movedElements += size(t.shape);
  }
  return result;
}
