/**
 * The tensor handle of the ONNX-tracing backends (`TracingOps`: ort, and browser ones).
 * Operators do not compute anything: they record a node (`op`) with its inputs and output shape.
 * Values are computed when needed — by `read`, or when a stage runs — by compiling the recorded
 * nodes into an ONNX graph and running it in an ONNX runtime; the tensor then holds its `data`
 * and forgets its node.
 *
 * Kinds:
 * - `data`: a value on the host (from `constant`, or a computed result);
 * - `weight`: a model parameter (from `weight`), embedded in graphs as an initializer;
 * - `input`: a stage input placeholder while a stage is being traced;
 * - `node`: a recorded operation not computed yet.
 */
export type LazyKind = 'data' | 'weight' | 'input' | 'node';

export type OpAttr = number | string | boolean | readonly number[] | Int32Array;

export interface OpRecord {
  /** Operator name of the `Ops` interface (e.g. `conv2d`), see emit-op.ts. */
  readonly type: string;
  readonly inputs: readonly LazyTensor[];
  readonly attrs: Readonly<Record<string, OpAttr>>;
}

let nextId = 1;

export class LazyTensor {
  /** Creation order: tells constants made while a stage is traced from earlier ones. */
  readonly id = nextId++;
  kind: LazyKind;
  readonly shape: readonly number[];
  data: Float32Array | undefined;
  op: OpRecord | undefined;
  /** Weight key or stage input name. */
  readonly name: string | undefined;
  disposed = false;
  /** Recorded, not yet computed nodes that take this tensor as an input. */
  private users = 0;
  /** Disposed while nodes still needed it: its data goes when the last of them is computed. */
  private releaseWhenUnused = false;

  private constructor(kind: LazyKind, shape: readonly number[], name?: string) {
    this.kind = kind;
    this.shape = shape;
    this.name = name;
  }

  static data(data: Float32Array, shape: readonly number[], name?: string): LazyTensor {
    const t = new LazyTensor('data', shape, name);
    t.data = data;
    return t;
  }

  static weight(data: Float32Array, shape: readonly number[], name: string): LazyTensor {
    const t = new LazyTensor('weight', shape, name);
    t.data = data;
    return t;
  }

  static input(shape: readonly number[], name: string): LazyTensor {
    return new LazyTensor('input', shape, name);
  }

  static node(op: OpRecord, shape: readonly number[]): LazyTensor {
    const t = new LazyTensor('node', shape);
    t.op = op;
    for (const input of op.inputs) input.users++;
    return t;
  }

  /** Id of the next tensor to be created. */
  static peekNextId(): number {
    return nextId;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** True when the value is known on the host. */
  get isConcrete(): boolean {
    return this.data !== undefined;
  }

  /** Stores a computed value and drops the recorded node (and with it the inputs it held). */
  resolve(data: Float32Array): void {
    const inputs = this.op?.inputs ?? [];
    this.data = data;
    this.op = undefined;
    this.kind = 'data';
    for (const input of inputs) {
      input.users--;
      if (input.users === 0 && input.releaseWhenUnused) input.data = undefined;
    }
  }

  /**
   * `dispose`: marks the tensor unusable for new operations and frees its host data now, or —
   * when recorded nodes still need it — as soon as the last of them has been computed.
   */
  release(): void {
    this.disposed = true;
    if (this.kind === 'weight') return;
    if (this.users === 0) this.data = undefined;
    else this.releaseWhenUnused = true;
  }
}
