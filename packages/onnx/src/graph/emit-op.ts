/**
 * How each recorded `Ops` operator becomes ONNX nodes (opset 17). Only operators that
 * onnxruntime-web's WebGPU execution provider also runs are emitted (GroupNormalization is
 * decomposed), so the same graphs serve the browser.
 */
import type { OnnxAttribute } from '../onnx/onnx-model.js';
import type { GraphBuilder } from './graph-builder.js';
import type { LazyTensor, OpRecord } from './lazy-tensor.js';

const int = (value: number): OnnxAttribute => ({ kind: 'int', value });
const ints = (value: readonly number[]): OnnxAttribute => ({ kind: 'ints', value });

/** Permutation swapping the last two axes of a rank-r tensor. */
function swapLast(r: number): number[] {
  const p = Array.from({ length: r }, (_, i) => i);
  [p[r - 2], p[r - 1]] = [p[r - 1]!, p[r - 2]!];
  return p;
}

const UNARY: Record<string, string> = { sqrt: 'Sqrt', relu: 'Relu' };
const BINARY: Record<string, string> = { add: 'Add', mul: 'Mul', div: 'Div' };

/**
 * Emits the nodes of `rec` given the names of its inputs, returns the output name.
 * `out` is the traced output (its shape), `inputsTraced` the traced inputs.
 */
export function emitOp(g: GraphBuilder, rec: OpRecord, inputs: readonly string[], out: LazyTensor): string {
  const a = rec.attrs;
  const [x, y, z] = inputs as [string, string, string];
  const xShape = rec.inputs[0]?.shape ?? [];
  if (rec.type in UNARY) return g.node(UNARY[rec.type]!, [x]);
  if (rec.type in BINARY) return g.node(BINARY[rec.type]!, [x, y]);
  switch (rec.type) {
    case 'mulScalar':
      return g.node('Mul', [x, g.floatScalar(a.scalar as number)]);
    case 'addScalar':
      return g.node('Add', [x, g.floatScalar(a.scalar as number)]);
    case 'elu':
      return g.node('Elu', [x], { alpha: { kind: 'float', value: 1 } });
    case 'gelu': {
      // x · ½ · (1 + erf(x / √2)), PyTorch's exact GELU
      const erf = g.node('Erf', [g.node('Mul', [x, g.floatScalar(Math.SQRT1_2)])]);
      return g.node('Mul', [g.node('Mul', [x, g.floatScalar(0.5)]), g.node('Add', [erf, g.floatScalar(1)])]);
    }
    case 'reshape':
      return g.node('Reshape', [x, g.shapeTensor(out.shape)]);
    case 'transpose':
      return g.node('Transpose', [x], { perm: ints(a.perm as number[]) });
    case 'concat':
      return g.node('Concat', inputs, { axis: int(a.axis as number) });
    case 'broadcastTo':
      return g.node('Expand', [x, g.shapeTensor(out.shape)]);
    case 'gather':
      return g.node('Gather', [x, g.int32s(a.indices as Int32Array)], { axis: int(a.axis as number) });
    case 'sum':
      return g.node('ReduceSum', [x, g.int64s(a.axes as number[])], { keepdims: int(a.keepDims ? 1 : 0) });
    case 'softmax':
      return g.node('Softmax', [x], { axis: int(a.axis as number) });
    case 'size':
      return g.sizeAsFloat(x, a.axis as number, xShape[a.axis as number]!);
    case 'matmul': {
      const ta = a.transposeA ? g.node('Transpose', [x], { perm: ints(swapLast(xShape.length)) }) : x;
      const tb = a.transposeB ? g.node('Transpose', [y], { perm: ints(swapLast(rec.inputs[1]!.shape.length)) }) : y;
      return g.node('MatMul', [ta, tb]);
    }
    case 'linear': {
      const product = g.node('MatMul', [x, g.node('Transpose', [y], { perm: ints([1, 0]) })]);
      return inputs.length > 2 ? g.node('Add', [product, z]) : product;
    }
    case 'layerNorm':
      return g.node('LayerNormalization', [x, y, z], { axis: int(-1), epsilon: { kind: 'float', value: a.eps as number } });
    case 'groupNorm': {
      // GroupNormalization is not run by every execution provider: mean/variance by hand.
      const groups = a.groups as number;
      const channels = xShape[1]!;
      const grouped = g.node('Reshape', [x, g.shapeTensor([xShape[0]!, groups, -1])]);
      const mean = g.node('ReduceMean', [grouped], { axes: ints([2]), keepdims: int(1) });
      const centered = g.node('Sub', [grouped, mean]);
      const variance = g.node('ReduceMean', [g.node('Mul', [centered, centered])], { axes: ints([2]), keepdims: int(1) });
      const normed = g.node('Div', [centered, g.node('Sqrt', [g.node('Add', [variance, g.floatScalar(a.eps as number)])])]);
      const back = g.node('Reshape', [normed, g.shapeTensor(xShape)]);
      const perChannel = g.int64s([1, channels, 1, 1]);
      return g.node('Add', [g.node('Mul', [back, g.node('Reshape', [y, perChannel])]), g.node('Reshape', [z, perChannel])]);
    }
    case 'conv2d': {
      const w = rec.inputs[1]!.shape;
      const p = a.padding as number;
      const s = a.stride as number;
      return g.node('Conv', inputs, {
        kernel_shape: ints([w[2]!, w[3]!]),
        pads: ints([p, p, p, p]),
        strides: ints([s, s]),
        dilations: ints([1, 1]),
        group: int(a.groups as number),
      });
    }
    case 'convTranspose2d': {
      const w = rec.inputs[1]!.shape;
      const s = a.stride as number;
      return g.node('ConvTranspose', inputs, { kernel_shape: ints([w[2]!, w[3]!]), strides: ints([s, s]) });
    }
    case 'avgPool2d': {
      const k = a.k as number;
      return g.node('AveragePool', [x], { kernel_shape: ints([k, k]), strides: ints([k, k]) });
    }
    case 'resizeBilinear':
      // half_pixel is PyTorch's rule at every size (pytorch_half_pixel maps a length-1 output to source 0)
      return g.node('Resize', [x, '', '', g.shapeTensor(out.shape)], {
        mode: { kind: 'string', value: 'linear' },
        coordinate_transformation_mode: { kind: 'string', value: a.alignCorners ? 'align_corners' : 'half_pixel' },
      });
    default:
      throw new Error(`ONNX tracing: no ONNX lowering for operator "${rec.type}"`);
  }
}
