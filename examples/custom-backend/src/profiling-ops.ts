/**
 * A profiling backend: wraps any sedseg backend and measures, per operator and per stage, how
 * many calls were made and how long they took. Written only against `@sedseg/core`'s public
 * types, as a third-party backend package would be.
 *
 * It wraps the complete operator set (`completeOps(backend)`): every `Ops` member exists on the
 * wrapper, whether the wrapped backend implements it or core's default fills it in. A default
 * (e.g. `layerNorm` on a backend without one) is timed as one operator; the primitives it calls
 * go straight to the wrapped backend and are not counted again.
 *
 * Notes on what is measured:
 * - Eager backends (tfjs) compute inside each operator call: operator times are compute times
 *   (on asynchronous platforms, dispatch times).
 * - Compiling backends (ort) have their own `runStage`: a stage is handed to them whole and its
 *   time is measured per stage; operators they only record inside a stage are not seen here.
 *   Operators core calls between stages are timed either way.
 */
import { completeOps, type BackendOps, type Conv2dOptions, type MatmulOptions, type Ops, type Shape, type Stage } from '@sedseg/core';

export interface ProfileEntry {
  calls: number;
  /** Total wall-clock milliseconds. */
  ms: number;
}

export interface Profile {
  backend: string;
  ops: Record<string, ProfileEntry>;
  stages: Record<string, ProfileEntry>;
}

function entry(table: Map<string, ProfileEntry>, name: string): ProfileEntry {
  let e = table.get(name);
  if (!e) {
    e = { calls: 0, ms: 0 };
    table.set(name, e);
  }
  return e;
}

export class ProfilingOps<T> implements Ops<T> {
  readonly name: string;
  private readonly opTable = new Map<string, ProfileEntry>();
  private readonly stageTable = new Map<string, ProfileEntry>();
  readonly weight?: (data: Float32Array, shape: Shape, name: string) => T;
  private readonly inner: Ops<T>;

  constructor(backend: BackendOps<T>) {
    const inner = completeOps(backend);
    this.inner = inner;
    this.name = `profile(${inner.name})`;
    // Weights must reach a compiling backend as weights (they become graph initializers).
    if (inner.weight) this.weight = inner.weight.bind(inner);
  }

  /** The wrapped backend's decoder chunk preference holds for the wrapper too. */
  get preferredClassChunk(): number | undefined {
    return this.inner.preferredClassChunk;
  }

  /**
   * Stages are timed whole. A compiling backend gets the stage (it traces it with its own
   * operators); an eager one runs it through this wrapper, so its operators are timed too.
   */
  async runStage(stage: Stage<T>, inputs: Readonly<Record<string, T>>): Promise<Record<string, T>> {
    const t0 = performance.now();
    try {
      if (this.inner.runStage) return await this.inner.runStage(stage, inputs);
      return this.inner.tidy(() => stage.run(this, inputs));
    } finally {
      this.count(this.stageTable, stage.name, t0);
    }
  }

  /** Adds one call of `name`, started at `t0`, to `table`. */
  private count(table: Map<string, ProfileEntry>, name: string, t0: number): void {
    const e = entry(table, name);
    e.calls++;
    e.ms += performance.now() - t0;
  }

  /** Calls `fn` as operator `name`, timing it. */
  private timed<R>(name: string, fn: () => R): R {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.count(this.opTable, name, t0);
    }
  }

  /** What was measured so far, slowest first. */
  report(): Profile {
    const sorted = (t: Map<string, ProfileEntry>) => Object.fromEntries([...t.entries()].sort((a, b) => b[1].ms - a[1].ms));
    return { backend: this.inner.name, ops: sorted(this.opTable), stages: sorted(this.stageTable) };
  }

  reset(): void {
    this.opTable.clear();
    this.stageTable.clear();
  }

  // ---- data and memory: passed through (not profiled) ------------------------------------------
  constant(data: Float32Array, shape: Shape, name?: string): T {
    return this.inner.constant(data, shape, name);
  }
  async read(x: T): Promise<Float32Array> {
    const t0 = performance.now();
    try {
      return await this.inner.read(x);
    } finally {
      this.count(this.opTable, 'read', t0);
    }
  }
  shape(x: T): Shape {
    return this.inner.shape(x);
  }
  tidy<R>(fn: () => R): R {
    return this.inner.tidy(fn);
  }
  dispose(x: T | readonly T[]): void {
    this.inner.dispose(x);
  }
  sizeAsTensor(x: T, axis: number): T {
    return this.timed('sizeAsTensor', () => this.inner.sizeAsTensor(x, axis));
  }

  // ---- operators: timed ---------------------------------------------------------------------------
  add(a: T, b: T): T {
    return this.timed('add', () => this.inner.add(a, b));
  }
  mul(a: T, b: T): T {
    return this.timed('mul', () => this.inner.mul(a, b));
  }
  div(a: T, b: T): T {
    return this.timed('div', () => this.inner.div(a, b));
  }
  mulScalar(x: T, s: number): T {
    return this.timed('mulScalar', () => this.inner.mulScalar(x, s));
  }
  addScalar(x: T, s: number): T {
    return this.timed('addScalar', () => this.inner.addScalar(x, s));
  }
  sqrt(x: T): T {
    return this.timed('sqrt', () => this.inner.sqrt(x));
  }
  gelu(x: T): T {
    return this.timed('gelu', () => this.inner.gelu(x));
  }
  relu(x: T): T {
    return this.timed('relu', () => this.inner.relu(x));
  }
  elu(x: T): T {
    return this.timed('elu', () => this.inner.elu(x));
  }
  reshape(x: T, shape: Shape): T {
    return this.timed('reshape', () => this.inner.reshape(x, shape));
  }
  transpose(x: T, perm: readonly number[]): T {
    return this.timed('transpose', () => this.inner.transpose(x, perm));
  }
  concat(xs: readonly T[], axis: number): T {
    return this.timed('concat', () => this.inner.concat(xs, axis));
  }
  broadcastTo(x: T, shape: Shape): T {
    return this.timed('broadcastTo', () => this.inner.broadcastTo(x, shape));
  }
  gather(x: T, indices: Int32Array, axis: number): T {
    return this.timed('gather', () => this.inner.gather(x, indices, axis));
  }
  sum(x: T, axes: readonly number[], keepDims: boolean): T {
    return this.timed('sum', () => this.inner.sum(x, axes, keepDims));
  }
  softmax(x: T, axis: number): T {
    return this.timed('softmax', () => this.inner.softmax(x, axis));
  }
  matmul(a: T, b: T, options?: MatmulOptions): T {
    return this.timed('matmul', () => this.inner.matmul(a, b, options));
  }
  linear(x: T, w: T, b?: T): T {
    return this.timed('linear', () => this.inner.linear(x, w, b));
  }
  layerNorm(x: T, w: T, b: T, eps: number): T {
    return this.timed('layerNorm', () => this.inner.layerNorm(x, w, b, eps));
  }
  groupNorm(x: T, groups: number, w: T, b: T, eps: number): T {
    return this.timed('groupNorm', () => this.inner.groupNorm(x, groups, w, b, eps));
  }
  conv2d(x: T, w: T, b: T | undefined, options?: Conv2dOptions): T {
    return this.timed('conv2d', () => this.inner.conv2d(x, w, b, options));
  }
  convTranspose2d(x: T, w: T, b: T | undefined, stride: number): T {
    return this.timed('convTranspose2d', () => this.inner.convTranspose2d(x, w, b, stride));
  }
  avgPool2d(x: T, k: number): T {
    return this.timed('avgPool2d', () => this.inner.avgPool2d(x, k));
  }
  resizeBilinear(x: T, size: readonly [number, number], alignCorners: boolean): T {
    return this.timed('resizeBilinear', () => this.inner.resizeBilinear(x, size, alignCorners));
  }
}

/** Wraps `backend` (any operator set: core's defaults fill what it leaves out) in a profiler. */
export function profile<T>(backend: BackendOps<T>): ProfilingOps<T> {
  return new ProfilingOps(backend);
}
