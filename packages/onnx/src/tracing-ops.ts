/**
 * `Ops` whose operators compute nothing: each records a node (graph/lazy-tensor.ts), and
 * `traceStage` turns a stage into one ONNX graph with its dynamic sizes (class count, batch,
 * length) kept symbolic. Running graphs is left to a subclass (`OnnxSessionOps` runs them in an
 * ONNX runtime), so that tracing — and exporting — needs no runtime at all.
 */
import { normalizeAxis, SedsegError, type Conv2dOptions, type MatmulOptions, type Ops, type Shape, type Stage } from '@sedseg/core';
import { broadcastShapes } from './broadcast-shapes.js';
import { compileGraph, type CompiledGraph, type CompileOptions } from './graph/compile-graph.js';
import { countFlops, type FlopCount } from './graph/count-flops.js';
import { DYNAMIC_SIZES, dynamicAxesOf, isTracedSize, type DynamicSizeName } from './graph/dynamic-sizes.js';
import { LazyTensor, type OpAttr } from './graph/lazy-tensor.js';
import { concatOnHost, gatherOnHost } from './host-arrays.js';

/** A stage traced into a graph. */
export interface TracedStage extends CompiledGraph {
  stage: string;
  /** Traced output shapes (dynamic sizes have their sentinel lengths, see dynamic-sizes.ts). */
  outputShapes: Record<string, number[]>;
}

export abstract class TracingOps implements Ops<LazyTensor> {
  /** Set while a stage is traced: sizes must not be baked into values then. */
  private tracing: string | undefined;

  /** `name`: the backend name (`Ops.name`), also the prefix of its error messages. */
  constructor(readonly name: string) {}

  /** Host copy of `x`: computing recorded nodes needs a runtime. */
  abstract read(x: LazyTensor): Promise<Float32Array>;
  abstract runStage(stage: Stage<LazyTensor>, inputs: Readonly<Record<string, LazyTensor>>): Promise<Record<string, LazyTensor>>;

  // ---- data and memory ----------------------------------------------------------------------
  constant(data: Float32Array, shape: Shape, name?: string): LazyTensor {
    this.checkData(data, shape, name ?? 'constant');
    return LazyTensor.data(new Float32Array(data), [...shape], name);
  }

  weight(data: Float32Array, shape: Shape, name: string): LazyTensor {
    this.checkData(data, shape, name);
    return LazyTensor.weight(data, [...shape], name);
  }

  private checkData(data: Float32Array, shape: Shape, what: string): void {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new SedsegError('E_ARGUMENT', `${what}: ${data.length} values do not fill shape [${shape.join(', ')}]`);
    if (this.tracing !== undefined) {
      // A dynamic size baked into a value would be wrong for every other size.
      if (data.length < 64 && data.some(isTracedSize)) {
        throw new SedsegError(
          'E_UNSUPPORTED',
          `stage ${this.tracing}: ${what} holds a dynamic size (class count or batch) as a value; use ops.sizeAsTensor() so the graph works for every size`,
        );
      }
    }
  }

  shape(x: LazyTensor): Shape {
    return x.shape;
  }

  tidy<R>(fn: () => R): R {
    return fn();
  }

  dispose(x: LazyTensor | readonly LazyTensor[]): void {
    const list = Array.isArray(x) ? (x as readonly LazyTensor[]) : [x as LazyTensor];
    // A disposed value may still feed nodes recorded before: its data goes when they are computed.
    for (const t of list) t.release();
  }

  // ---- recording ------------------------------------------------------------------------------
  private record(type: string, inputs: readonly LazyTensor[], shape: readonly number[], attrs: Record<string, OpAttr> = {}): LazyTensor {
    for (const i of inputs) {
      if (i.disposed) throw new SedsegError('E_ARGUMENT', `${this.name} backend: ${type} on a disposed tensor`);
    }
    return LazyTensor.node({ type, inputs, attrs }, shape);
  }

  private unary(type: string, x: LazyTensor): LazyTensor {
    return this.record(type, [x], x.shape);
  }

  private binary(type: string, a: LazyTensor, b: LazyTensor): LazyTensor {
    return this.record(type, [a, b], broadcastShapes(a.shape, b.shape, type));
  }

  sizeAsTensor(x: LazyTensor, axis: number): LazyTensor {
    return this.record('size', [x], [1], { axis: normalizeAxis(axis, x.shape.length) });
  }

  add(a: LazyTensor, b: LazyTensor): LazyTensor {
    return this.binary('add', a, b);
  }
  mul(a: LazyTensor, b: LazyTensor): LazyTensor {
    return this.binary('mul', a, b);
  }
  div(a: LazyTensor, b: LazyTensor): LazyTensor {
    return this.binary('div', a, b);
  }
  mulScalar(x: LazyTensor, s: number): LazyTensor {
    this.checkScalar(s, 'mulScalar');
    return this.record('mulScalar', [x], x.shape, { scalar: s });
  }
  addScalar(x: LazyTensor, s: number): LazyTensor {
    this.checkScalar(s, 'addScalar');
    return this.record('addScalar', [x], x.shape, { scalar: s });
  }
  private checkScalar(s: number, op: string): void {
    if (this.tracing !== undefined && isTracedSize(s)) {
      throw new SedsegError(
        'E_UNSUPPORTED',
        `stage ${this.tracing}: ${op} by a dynamic size (class count or batch); use ops.sizeAsTensor() so the graph works for every size`,
      );
    }
  }
  sqrt(x: LazyTensor): LazyTensor {
    return this.unary('sqrt', x);
  }
  gelu(x: LazyTensor): LazyTensor {
    return this.unary('gelu', x);
  }
  relu(x: LazyTensor): LazyTensor {
    return this.unary('relu', x);
  }
  elu(x: LazyTensor): LazyTensor {
    return this.unary('elu', x);
  }

  reshape(x: LazyTensor, shape: Shape): LazyTensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== x.size || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new SedsegError('E_ARGUMENT', `reshape: [${x.shape.join(', ')}] cannot become [${shape.join(', ')}]`);
    }
    // Host values are reshaped on the host: same data, new shape.
    if (x.isConcrete && x.kind === 'data') return LazyTensor.data(x.data!, [...shape]);
    return this.record('reshape', [x], [...shape]);
  }

  transpose(x: LazyTensor, perm: readonly number[]): LazyTensor {
    const r = x.shape.length;
    const p = perm.map((a) => normalizeAxis(a, r));
    if (p.length !== r || new Set(p).size !== r) throw new SedsegError('E_ARGUMENT', `transpose: [${perm.join(', ')}] is not a permutation of ${r} axes`);
    return this.record(
      'transpose',
      [x],
      p.map((a) => x.shape[a]!),
      { perm: p },
    );
  }

  concat(xs: readonly LazyTensor[], axis: number): LazyTensor {
    if (xs.length === 0) throw new SedsegError('E_ARGUMENT', 'concat: no tensors');
    const first = xs[0]!;
    const a = normalizeAxis(axis, first.shape.length);
    const shape = [...first.shape];
    shape[a] = 0;
    for (const x of xs) {
      if (x.shape.length !== shape.length || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
        throw new SedsegError('E_ARGUMENT', `concat: [${x.shape.join(', ')}] does not match [${first.shape.join(', ')}] off axis ${a}`);
      }
      shape[a] += x.shape[a]!;
    }
    // Host values are joined on the host (class chunks between stages).
    if (xs.every((x) => x.isConcrete)) return LazyTensor.data(concatOnHost(xs, a), shape);
    return this.record('concat', xs, shape, { axis: a });
  }

  broadcastTo(x: LazyTensor, shape: Shape): LazyTensor {
    const out = broadcastShapes(x.shape, shape, 'broadcastTo');
    if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
      throw new SedsegError('E_ARGUMENT', `broadcastTo: [${x.shape.join(', ')}] cannot broadcast to [${shape.join(', ')}]`);
    }
    return this.record('broadcastTo', [x], [...shape]);
  }

  gather(x: LazyTensor, indices: Int32Array, axis: number): LazyTensor {
    const a = normalizeAxis(axis, x.shape.length);
    const n = x.shape[a]!;
    for (const i of indices) if (!(i >= 0 && i < n)) throw new SedsegError('E_ARGUMENT', `gather: index ${i} out of range for axis ${a} of length ${n}`);
    const shape = [...x.shape];
    shape[a] = indices.length;
    // Host values (and weights: e.g. token embeddings) are gathered on the host.
    if (x.isConcrete) return LazyTensor.data(gatherOnHost(x.data!, x.shape, indices, a), shape);
    return this.record('gather', [x], shape, { indices: Int32Array.from(indices), axis: a });
  }

  sum(x: LazyTensor, axes: readonly number[], keepDims: boolean): LazyTensor {
    const r = x.shape.length;
    const ax = [...new Set(axes.map((a) => normalizeAxis(a, r)))].sort((p, q) => p - q);
    const shape = keepDims ? x.shape.map((d, i) => (ax.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !ax.includes(i));
    return this.record('sum', [x], shape, { axes: ax, keepDims });
  }

  softmax(x: LazyTensor, axis: number): LazyTensor {
    return this.record('softmax', [x], x.shape, { axis: normalizeAxis(axis, x.shape.length) });
  }

  matmul(a: LazyTensor, b: LazyTensor, options: MatmulOptions = {}): LazyTensor {
    if (a.shape.length < 2 || b.shape.length < 2) throw new SedsegError('E_ARGUMENT', 'matmul: operands need at least 2 axes');
    const [m, k] = options.transposeA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
    const [k2, n] = options.transposeB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
    if (k !== k2) throw new SedsegError('E_ARGUMENT', `matmul: inner sizes ${k} and ${k2} differ`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matmul');
    return this.record('matmul', [a, b], [...batch, m, n], { transposeA: !!options.transposeA, transposeB: !!options.transposeB });
  }

  linear(x: LazyTensor, w: LazyTensor, b?: LazyTensor): LazyTensor {
    if (w.shape.length !== 2 || x.shape.at(-1) !== w.shape[1]) {
      throw new SedsegError('E_ARGUMENT', `linear: input [${x.shape.join(', ')}] does not match weight [${w.shape.join(', ')}]`);
    }
    return this.record('linear', b ? [x, w, b] : [x, w], [...x.shape.slice(0, -1), w.shape[0]!]);
  }

  layerNorm(x: LazyTensor, w: LazyTensor, b: LazyTensor, eps: number): LazyTensor {
    return this.record('layerNorm', [x, w, b], x.shape, { eps });
  }

  groupNorm(x: LazyTensor, groups: number, w: LazyTensor, b: LazyTensor, eps: number): LazyTensor {
    if (x.shape.length !== 4 || x.shape[1]! % groups !== 0)
      throw new SedsegError('E_ARGUMENT', `groupNorm: [${x.shape.join(', ')}] does not split into ${groups} groups`);
    return this.record('groupNorm', [x, w, b], x.shape, { groups, eps });
  }

  conv2d(x: LazyTensor, w: LazyTensor, b: LazyTensor | undefined, options: Conv2dOptions = {}): LazyTensor {
    const stride = options.stride ?? 1;
    const padding = options.padding ?? 0;
    const groups = options.groups ?? 1;
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [o, ci, kh, kw] = w.shape as [number, number, number, number];
    if (x.shape.length !== 4 || w.shape.length !== 4 || ci * groups !== c) {
      throw new SedsegError('E_ARGUMENT', `conv2d: input [${x.shape.join(', ')}] does not match weight [${w.shape.join(', ')}] with ${groups} groups`);
    }
    const oh = Math.floor((h + 2 * padding - kh) / stride) + 1;
    const ow = Math.floor((wd + 2 * padding - kw) / stride) + 1;
    return this.record('conv2d', b ? [x, w, b] : [x, w], [n, o, oh, ow], { stride, padding, groups });
  }

  convTranspose2d(x: LazyTensor, w: LazyTensor, b: LazyTensor | undefined, stride: number): LazyTensor {
    const [n, c, h, wd] = x.shape as [number, number, number, number];
    const [ci, o, kh, kw] = w.shape as [number, number, number, number];
    if (x.shape.length !== 4 || w.shape.length !== 4 || ci !== c) {
      throw new SedsegError('E_ARGUMENT', `convTranspose2d: input [${x.shape.join(', ')}] does not match weight [${w.shape.join(', ')}]`);
    }
    return this.record('convTranspose2d', b ? [x, w, b] : [x, w], [n, o, (h - 1) * stride + kh, (wd - 1) * stride + kw], { stride });
  }

  avgPool2d(x: LazyTensor, k: number): LazyTensor {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return this.record('avgPool2d', [x], [n, c, Math.floor(h / k), Math.floor(w / k)], { k });
  }

  resizeBilinear(x: LazyTensor, size: readonly [number, number], alignCorners: boolean): LazyTensor {
    const [n, c] = x.shape as [number, number];
    return this.record('resizeBilinear', [x], [n, c, size[0], size[1]], { alignCorners });
  }

  // ---- tracing ----------------------------------------------------------------------------------
  /**
   * The FLOPs `stage` does on inputs of exactly `inputShapes` (graph/count-flops.ts): the stage is
   * recorded on placeholders of those shapes — nothing is computed or compiled — and every
   * recorded node is counted.
   */
  countStageFlops(stage: Stage<LazyTensor>, inputShapes: Readonly<Record<string, Shape>>): FlopCount {
    const args: Record<string, LazyTensor> = {};
    for (const input of stage.inputs) {
      const shape = inputShapes[input.name];
      if (shape === undefined) throw new SedsegError('E_ARGUMENT', `stage ${stage.name}: input "${input.name}" is missing`);
      args[input.name] = LazyTensor.input([...shape], input.name);
    }
    const outs = stage.run(this, args);
    return countFlops(stage.outputs.map((name) => outs[name]!).filter((t) => t !== undefined));
  }

  /**
   * Traces `stage` on placeholders shaped like `inputShapes` (dynamic axes at their sentinel
   * lengths, see graph/dynamic-sizes.ts) into a graph; `weightType` chooses how weights are stored.
   */
  traceStage(stage: Stage<LazyTensor>, inputShapes: Readonly<Record<string, Shape>>, options: Pick<CompileOptions, 'weightType'> = {}): TracedStage {
    const placeholders = new Map<LazyTensor, Map<number, DynamicSizeName>>();
    const args: Record<string, LazyTensor> = {};
    for (const input of stage.inputs) {
      const shape = inputShapes[input.name];
      if (shape === undefined) throw new SedsegError('E_ARGUMENT', `stage ${stage.name}: input "${input.name}" is missing`);
      const axes = dynamicAxesOf(input);
      const traced = shape.map((d, i) => {
        const name = axes.get(i);
        return name === undefined ? d : DYNAMIC_SIZES[name];
      });
      const p = LazyTensor.input(traced, input.name);
      placeholders.set(p, axes);
      args[input.name] = p;
    }
    const tracedFrom = LazyTensor.peekNextId();
    this.tracing = stage.name;
    let outs: Record<string, LazyTensor>;
    try {
      outs = stage.run(this, args);
    } finally {
      this.tracing = undefined;
    }
    const outputs = stage.outputs.map((name) => {
      const tensor = outs[name];
      if (tensor === undefined) throw new SedsegError('E_ARGUMENT', `stage ${stage.name}: output "${name}" was not produced`);
      return { name, tensor };
    });
    const compiled = compileGraph(outputs, { name: stage.name, placeholders, tracedFrom, ...options });
    return { ...compiled, stage: stage.name, outputShapes: Object.fromEntries(outputs.map((o) => [o.name, [...o.tensor.shape]])) };
  }
}
