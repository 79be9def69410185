/**
 * `TracingOps` that run their graphs in an ONNX runtime (onnxruntime-node, onnxruntime-web, …,
 * see runtime.ts). A stage (`runStage`) is traced once per input signature, compiled into a
 * session that is cached, and run. Work outside stages (a `read` of a recorded value) is compiled
 * the same way, with every host value as a graph input.
 *
 * Subclasses supply the runtime's specifics: its session options, or a `createSession` with
 * their own fallbacks (e.g. a GPU provider that fails to load).
 */
import { SedsegError, type Stage } from '@sedseg/core';
import { compileGraph, type CompiledGraph } from './graph/compile-graph.js';
import { dynamicAxesOf, type DynamicSizeName } from './graph/dynamic-sizes.js';
import { LazyTensor } from './graph/lazy-tensor.js';
import { serializeOnnxModel } from './onnx/onnx-model.js';
import { OPSET } from './opset.js';
import type { OnnxRuntime, OnnxRuntimeSession, OnnxRuntimeTensor } from './runtime.js';
import type { PrebuiltStages } from './prebuilt-stages.js';
import { SessionCache } from './session-cache.js';
import { TracingOps } from './tracing-ops.js';

export interface OnnxSessionOpsOptions<SessionOptions = unknown> {
  /** The runtime module, e.g. `import * as ort from 'onnxruntime-web'`. */
  runtime: OnnxRuntime<SessionOptions>;
  /** Backend name (`Ops.name`, default `onnx`). */
  name?: string;
  /** Options of every session created (unless `createSession` is overridden). */
  sessionOptions?: SessionOptions;
  /** Compiled stage sessions kept (default 24). */
  maxSessions?: number;
  /** Graphs built ahead of time (a `sedseg export` folder): the stages they cover are not traced. */
  prebuilt?: PrebuiltStages;
}

export class OnnxSessionOps<SessionOptions = unknown> extends TracingOps {
  protected readonly runtime: OnnxRuntime<SessionOptions>;
  private readonly sessionOptions: SessionOptions | undefined;
  private readonly sessions: SessionCache;
  private readonly eagerSessions: SessionCache;
  /** Graphs built ahead of time, used instead of tracing the stages they cover. */
  prebuilt: PrebuiltStages | undefined;

  constructor(options: OnnxSessionOpsOptions<SessionOptions>) {
    super(options.name ?? 'onnx');
    this.runtime = options.runtime;
    this.sessionOptions = options.sessionOptions;
    this.sessions = new SessionCache(options.maxSessions ?? 24);
    // Graphs compiled for reads outside stages (the text encoder's batches) rarely repeat and may
    // embed large weights: keep only a few.
    this.eagerSessions = new SessionCache(2);
    this.prebuilt = options.prebuilt;
  }

  /** Compiles a serialized graph. Override to choose options per session or to fall back. */
  protected createSession(model: Uint8Array): Promise<OnnxRuntimeSession> {
    return this.runtime.InferenceSession.create(model, this.sessionOptions);
  }

  async read(x: LazyTensor): Promise<Float32Array> {
    if (x.disposed) throw new SedsegError('E_ARGUMENT', `${this.name} backend: reading a disposed tensor`);
    await this.materialize([x]);
    return new Float32Array(x.data!);
  }

  /** Releases every compiled session. The ops object stays usable (sessions are rebuilt). */
  async release(): Promise<void> {
    await this.sessions.clear();
    await this.eagerSessions.clear();
  }

  /** Disposing weights also releases the compiled sessions that embed them (their own copies). */
  override dispose(x: LazyTensor | readonly LazyTensor[]): void {
    super.dispose(x);
    // called for every freed tensor of a run: nothing is allocated unless a weight is among them
    let weights: Set<number> | undefined;
    for (const t of Array.isArray(x) ? (x as readonly LazyTensor[]) : [x as LazyTensor]) {
      if (t.kind !== 'weight') continue;
      weights ??= new Set();
      weights.add(t.id);
    }
    if (weights === undefined) return;
    void this.sessions.releaseUsing(weights);
    void this.eagerSessions.releaseUsing(weights);
  }

  /** Number of compiled sessions currently kept. */
  get sessionCount(): number {
    return this.sessions.size + this.eagerSessions.size;
  }

  private session(compiled: CompiledGraph, cache = this.sessions): Promise<OnnxRuntimeSession> {
    return cache.get(compiled.key, () => this.createSession(serializeOnnxModel(compiled.graph, { opset: OPSET })));
  }

  private tensor(t: LazyTensor): OnnxRuntimeTensor {
    return new this.runtime.Tensor('float32', t.data!, [...t.shape]);
  }

  /** Computes every recorded (not yet computed) tensor of `xs` in one graph. */
  private async materialize(xs: readonly LazyTensor[]): Promise<void> {
    const pending = [...new Set(xs.filter((x) => !x.isConcrete))];
    for (const x of xs) {
      if (x.kind === 'input') throw new SedsegError('E_ARGUMENT', `${this.name} backend: stage input "${x.name}" cannot be read while tracing`);
    }
    if (pending.length === 0) return;
    const outputs = pending.map((tensor, i) => ({ name: `out${i}`, tensor }));
    const compiled = compileGraph(outputs, { name: 'eager' });
    const session = await this.session(compiled, this.eagerSessions);
    const feeds: Record<string, OnnxRuntimeTensor> = {};
    for (const f of compiled.feeds) {
      if (!f.tensor.isConcrete) throw new Error(`graph input ${f.name} has no value`);
      feeds[f.name] = this.tensor(f.tensor);
    }
    const results = await session.run(
      feeds,
      outputs.map((o) => o.name),
    );
    for (const o of outputs) o.tensor.resolve(results[o.name]!.data as Float32Array);
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
    const feeds: Record<string, OnnxRuntimeTensor> = {};
    let session: OnnxRuntimeSession;
    const prebuilt = this.prebuilt?.find(stage.name, shapes, stage.outputs);
    if (prebuilt !== undefined) {
      const read = this.prebuilt!.read;
      session = await this.sessions.get(`prebuilt:${prebuilt.file}`, async () => this.createSession(await read(prebuilt.file)));
      for (const i of prebuilt.inputs) feeds[i.name] = this.tensor(inputs[i.name]!);
    } else {
      const traced = this.traceStage(stage, shapes);
      session = await this.session(traced);
      for (const f of traced.feeds) feeds[f.name] = this.tensor(inputs[f.name]!);
    }
    const result = await session.run(feeds, [...stage.outputs]);
    const out: Record<string, LazyTensor> = {};
    for (const name of stage.outputs) {
      const r = result[name]!;
      out[name] = LazyTensor.data(r.data as Float32Array, [...r.dims]);
    }
    return out;
  }
}
