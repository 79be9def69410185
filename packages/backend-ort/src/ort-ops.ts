/**
 * `Ops` on ONNX Runtime (onnxruntime-node). Operators record nodes (graph/lazy-tensor.ts); a stage
 * (`runStage`) is traced once per input signature into an ONNX graph with the class count as a
 * dynamic dimension and the weights as initializers, compiled into an `InferenceSession` that is
 * cached, and run. Work outside stages (a `read` of a recorded value, the few operators core
 * applies between stages) is compiled the same way, with every host value as a graph input.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { normalizeAxis, SedsegError, type Conv2dOptions, type MatmulOptions, type Ops, type Shape, type Stage } from '@sedseg/core';
import { compileGraph, type CompiledGraph, type CompileOptions } from './graph/compile-graph.js';
import { DYNAMIC_SIZES, dynamicAxesOf, isTracedSize, type DynamicSizeName } from './graph/dynamic-sizes.js';
import { LazyTensor, type OpAttr } from './graph/lazy-tensor.js';
import { serializeOnnxModel } from './onnx/onnx-model.js';
import { SessionCache } from './session-cache.js';

/** ONNX opset of every graph. */
export const OPSET = 17;


export interface OrtOpsOptions {
  /** Intra-op threads (default: ONNX Runtime's choice, one per core). */
  threads?: number;
  /**
   * Execution providers in order of preference (default: `cuda` then `cpu` when this
   * onnxruntime-node build has CUDA, else `cpu`).
   */
  executionProviders?: string[];
  /** Compiled sessions kept (default 24). */
  maxSessions?: number;
  /**
   * ONNX Runtime's CPU memory arena (default true): faster, but each session keeps the peak
   * memory of its largest run. false returns memory after every run (smaller, slower).
   */
  memArena?: boolean;
}

/** A stage traced into a graph. */
export interface TracedStage extends CompiledGraph {
  stage: string;
  /** Traced output shapes (dynamic sizes have their sentinel lengths, see dynamic-sizes.ts). */
  outputShapes: Record<string, number[]>;
}

function broadcastShapes(a: Shape, b: Shape, op: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new SedsegError('E_ARGUMENT', `${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * True when this onnxruntime-node install can load its CUDA provider: it is listed, and on Linux
 * its provider libraries were downloaded next to the binding (the default install skips them).
 */
export function cudaInstalled(): boolean {
  if (!(ort.listSupportedBackends?.() ?? []).some((b) => b.name === 'cuda')) return false;
  if (process.platform !== 'linux') return true;
  try {
    const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const bindings = join(root, 'bin', 'napi-v6', 'linux', process.arch);
    return existsSync(join(bindings, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

function defaultProviders(): string[] {
  return cudaInstalled() ? ['cuda', 'cpu'] : ['cpu'];
}

export class OrtOps implements Ops<LazyTensor> {
  readonly name = 'ort';
  /**
   * On CPU, small class chunks run fastest (measured on SED-B, R=768: chunks of 2 beat 16 by 15 %
   * and halve the decoder's memory); on CUDA, large ones.
   */
  get preferredClassChunk(): number {
    return this.executionProviders[0] === 'cpu' ? 2 : 32;
  }

  /** Execution providers in use (after a fallback to CPU when CUDA cannot load). */
  executionProviders: string[];
  /** True once a session was created, or when the user chose the providers. */
  private providersChosen: boolean;
  private readonly threads: number | undefined;
  private readonly memArena: boolean;
  private readonly sessions: SessionCache;
  private readonly eagerSessions: SessionCache;
  /** Set while a stage is traced: host values must not be read then. */
  private tracing: string | undefined;

  constructor(options: OrtOpsOptions = {}) {
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new SedsegError('E_ARGUMENT', `ort backend: threads must be a positive integer, got ${options.threads}`);
    }
    this.threads = options.threads;
    this.memArena = options.memArena ?? true;
    this.executionProviders = options.executionProviders ?? defaultProviders();
    this.providersChosen = options.executionProviders !== undefined;
    this.sessions = new SessionCache(options.maxSessions ?? 24);
    // Graphs compiled for reads outside stages (the text encoder's batches) rarely repeat and may
    // embed large weights: keep only a few.
    this.eagerSessions = new SessionCache(2);
  }

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
        throw new SedsegError('E_UNSUPPORTED', `stage ${this.tracing}: ${what} holds a dynamic size (class count or batch) as a value; use ops.sizeAsTensor() so the graph works for every size`);
      }
    }
  }

  async read(x: LazyTensor): Promise<Float32Array> {
    if (x.disposed) throw new SedsegError('E_ARGUMENT', 'ort backend: reading a disposed tensor');
    await this.materialize([x]);
    return new Float32Array(x.data!);
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

  /** Releases every compiled session. The ops object stays usable (sessions are rebuilt). */
  async release(): Promise<void> {
    await this.sessions.clear();
    await this.eagerSessions.clear();
  }

  /** Number of compiled sessions currently kept. */
  get sessionCount(): number {
    return this.sessions.size + this.eagerSessions.size;
  }

  // ---- recording ------------------------------------------------------------------------------
  private record(type: string, inputs: readonly LazyTensor[], shape: readonly number[], attrs: Record<string, OpAttr> = {}): LazyTensor {
    for (const i of inputs) {
      if (i.disposed) throw new SedsegError('E_ARGUMENT', `ort backend: ${type} on a disposed tensor`);
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
      throw new SedsegError('E_UNSUPPORTED', `stage ${this.tracing}: ${op} by a dynamic size (class count or batch); use ops.sizeAsTensor() so the graph works for every size`);
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
    return this.record('transpose', [x], p.map((a) => x.shape[a]!), { perm: p });
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
    if (x.shape.length !== 4 || x.shape[1]! % groups !== 0) throw new SedsegError('E_ARGUMENT', `groupNorm: [${x.shape.join(', ')}] does not split into ${groups} groups`);
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

  // ---- compiling and running --------------------------------------------------------------------
  private async session(compiled: CompiledGraph, cache = this.sessions): Promise<ort.InferenceSession> {
    return cache.get(compiled.key, async () => {
      const bytes = serializeOnnxModel(compiled.graph, { opset: OPSET });
      const create = (executionProviders: string[]) =>
        ort.InferenceSession.create(bytes, {
          executionProviders,
          // A failed CUDA load is handled below: keep ONNX Runtime's own log quiet about it.
          ...(executionProviders.includes('cuda') && !this.providersChosen ? { logSeverityLevel: 4 as const } : {}),
          graphOptimizationLevel: 'all',
          ...(this.memArena ? {} : { enableCpuMemArena: false }),
          // Memory patterns are planned per input shape, and shapes change with the class count.
          enableMemPattern: false,
          ...(this.threads !== undefined ? { intraOpNumThreads: this.threads, interOpNumThreads: 1 } : {}),
        });
      try {
        return await create(this.executionProviders);
      } catch (e) {
        // onnxruntime-node lists CUDA even when its libraries were not installed: fall back to CPU once.
        if (this.providersChosen || !/Failed to load shared library|CUDA/i.test(String(e))) throw e;
        this.executionProviders = ['cpu'];
        return await create(this.executionProviders);
      } finally {
        this.providersChosen = true;
      }
    });
  }

  private async execute(compiled: CompiledGraph, outputs: readonly { name: string; tensor: LazyTensor }[]): Promise<Map<string, ort.Tensor>> {
    const session = await this.session(compiled, this.eagerSessions);
    const feeds: Record<string, ort.Tensor> = {};
    for (const f of compiled.feeds) {
      if (!f.tensor.isConcrete) throw new Error(`graph input ${f.name} has no value`);
      feeds[f.name] = new ort.Tensor('float32', f.tensor.data!, [...f.tensor.shape]);
    }
    const result = await session.run(feeds, outputs.map((o) => o.name));
    return new Map(Object.entries(result));
  }

  /** Computes every recorded (not yet computed) tensor of `xs` in one graph. */
  private async materialize(xs: readonly LazyTensor[]): Promise<void> {
    const pending = [...new Set(xs.filter((x) => !x.isConcrete))];
    for (const x of xs) {
      if (x.kind === 'input') throw new SedsegError('E_ARGUMENT', `ort backend: stage input "${x.name}" cannot be read while tracing`);
    }
    if (pending.length === 0) return;
    const outputs = pending.map((tensor, i) => ({ name: `out${i}`, tensor }));
    const compiled = compileGraph(outputs, { name: 'eager' });
    const results = await this.execute(compiled, outputs);
    for (const o of outputs) o.tensor.resolve(results.get(o.name)!.data as Float32Array);
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

  async runStage(stage: Stage<LazyTensor>, inputs: Readonly<Record<string, LazyTensor>>): Promise<Record<string, LazyTensor>> {
    for (const [name, t] of Object.entries(inputs)) {
      if (t.disposed) throw new SedsegError('E_ARGUMENT', `stage ${stage.name}: input "${name}" was disposed`);
    }
    await this.materialize(Object.values(inputs));
    // Every input axis of one dynamic size must have the same length.
    const sizes = new Map<DynamicSizeName, number>();
    for (const input of stage.inputs) {
      for (const [axis, name] of dynamicAxesOf(input)) {
        const n = inputs[input.name]!.shape[axis]!;
        const seen = sizes.get(name);
        if (seen !== undefined && seen !== n) throw new SedsegError('E_ARGUMENT', `stage ${stage.name}: inputs hold ${seen} and ${n} ${name}`);
        sizes.set(name, n);
      }
    }
    const shapes = Object.fromEntries(stage.inputs.map((i) => [i.name, inputs[i.name]!.shape]));
    const traced = this.traceStage(stage, shapes);
    const feedTensors = new Map(traced.feeds.map((f) => [f.name, inputs[f.name]!]));
    const session = await this.session(traced);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of feedTensors) feeds[name] = new ort.Tensor('float32', t.data!, [...t.shape]);
    const result = await session.run(feeds, [...stage.outputs]);
    const out: Record<string, LazyTensor> = {};
    for (const name of stage.outputs) {
      const r = result[name]!;
      out[name] = LazyTensor.data(r.data as Float32Array, [...r.dims]);
    }
    return out;
  }
}

/** `x` gathered along `axis` at `indices`, on the host. */
function gatherOnHost(data: Float32Array, shape: readonly number[], indices: Int32Array, axis: number): Float32Array {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const out = new Float32Array(outer * indices.length * inner);
  for (let o = 0; o < outer; o++) {
    for (const [j, i] of indices.entries()) {
      out.set(data.subarray((o * n + i) * inner, (o * n + i + 1) * inner), (o * indices.length + j) * inner);
    }
  }
  return out;
}

/** Tensors joined along `axis`, on the host. */
function concatOnHost(xs: readonly LazyTensor[], axis: number): Float32Array {
  const outer = xs[0]!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const rows = xs.map((x) => x.shape.slice(axis).reduce((a, b) => a * b, 1));
  const total = rows.reduce((a, b) => a + b, 0);
  const out = new Float32Array(outer * total);
  for (let o = 0; o < outer; o++) {
    let offset = o * total;
    xs.forEach((x, i) => {
      out.set(x.data!.subarray(o * rows[i]!, (o + 1) * rows[i]!), offset);
      offset += rows[i]!;
    });
  }
  return out;
}

/** Creates the ort backend. */
export function createOrtOps(options: OrtOpsOptions = {}): OrtOps {
  return new OrtOps(options);
}
