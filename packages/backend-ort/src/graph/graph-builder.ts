/**
 * Builds one ONNX graph: unique value names, deduplicated constants, and the shape tensors that
 * Reshape/Expand/Resize need — static ones as constants, and, when the graph keeps the class count
 * dynamic, ones computed at run time from the shape of a class-batched input.
 *
 * Dynamic class count: while a stage is traced, the class axis of its inputs has the length
 * `sentinel` (a large prime no real size is a multiple of), so any traced size that is a multiple
 * of it is `k × classes`. Such sizes are emitted as `k · Shape(input)[axis]`.
 */
import type { OnnxAttribute, OnnxGraph, OnnxInitializer, OnnxNode, OnnxValueInfo } from '../onnx/onnx-model.js';

export interface DynamicClassSource {
  /** Graph input holding the class axis. */
  input: string;
  axis: number;
}

function int64Bytes(values: readonly number[]): Uint8Array {
  const b = new BigInt64Array(values.length);
  values.forEach((v, i) => (b[i] = BigInt(v)));
  return new Uint8Array(b.buffer);
}

export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();
  private classDimName: string | undefined;

  constructor(
    readonly name: string,
    /** Traced length of the class axis; undefined when every size is fixed. */
    readonly sentinel: number | undefined,
    private readonly classSource: DynamicClassSource | undefined,
  ) {}

  fresh(prefix = 'v'): string {
    return `${prefix}${this.counter++}`;
  }

  /** True when a traced size stands for a multiple of the dynamic class count. */
  isDynamic(size: number): boolean {
    return this.sentinel !== undefined && size !== 0 && size % this.sentinel === 0;
  }

  /** Dims for a value info: fixed sizes, `classes` for the class count, null for other multiples of it. */
  valueInfoDims(shape: readonly number[]): (number | string | null)[] {
    return shape.map((d) => (this.isDynamic(d) ? (d === this.sentinel ? 'classes' : null) : d));
  }

  node(opType: string, inputs: readonly string[], attributes?: Record<string, OnnxAttribute>, outputCount = 1): string {
    const outputs = Array.from({ length: outputCount }, () => this.fresh());
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${this.nodes.length}`, ...(attributes ? { attributes } : {}) });
    return outputs[0]!;
  }

  initializer(init: OnnxInitializer): string {
    this.initializers.push(init);
    return init.name;
  }

  private constant(key: string, make: (name: string) => OnnxInitializer): string {
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.initializer(make(this.fresh('c')));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float32 constant of shape [] (`dims` = []) or [1]. */
  floatScalar(value: number, dims: readonly number[] = []): string {
    return this.constant(`f:${value}:${dims.length}`, (name) => ({ name, dataType: 'float32', dims, raw: float32Bytes(Float32Array.of(value)) }));
  }

  int64s(values: readonly number[]): string {
    return this.constant(`i64:${values.join(',')}`, (name) => ({ name, dataType: 'int64', dims: [values.length], raw: int64Bytes(values) }));
  }

  int32s(values: Int32Array): string {
    return this.constant(`i32:${values.join(',')}`, (name) => ({
      name,
      dataType: 'int32',
      dims: [values.length],
      raw: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
    }));
  }

  /** The dynamic class count as an int64 tensor [1]. */
  private classDim(): string {
    if (this.classDimName === undefined) {
      if (!this.classSource) throw new Error(`graph ${this.name}: a size depends on the class count but no input carries it`);
      const shape = this.node('Shape', [this.classSource.input]);
      this.classDimName = this.node('Gather', [shape, this.int64s([this.classSource.axis])], { axis: { kind: 'int', value: 0 } });
    }
    return this.classDimName;
  }

  /** `size` as an int64 tensor [1] (`k · classes` when dynamic). */
  private sizeTensor(size: number): string {
    if (!this.isDynamic(size)) return this.int64s([size]);
    const k = size / this.sentinel!;
    return k === 1 ? this.classDim() : this.node('Mul', [this.classDim(), this.int64s([k])]);
  }

  /** An int64 shape tensor for the traced `dims` (computed at run time where a size is dynamic). */
  shapeTensor(dims: readonly number[]): string {
    if (!dims.some((d) => this.isDynamic(d))) return this.int64s(dims);
    const parts: string[] = [];
    let fixed: number[] = [];
    for (const d of dims) {
      if (this.isDynamic(d)) {
        if (fixed.length) parts.push(this.int64s(fixed));
        fixed = [];
        parts.push(this.sizeTensor(d));
      } else {
        fixed.push(d);
      }
    }
    if (fixed.length) parts.push(this.int64s(fixed));
    return parts.length === 1 ? parts[0]! : this.node('Concat', parts, { axis: { kind: 'int', value: 0 } });
  }

  /** The length of axis `axis` of value `x` (traced size `size`) as a float32 tensor [1]. */
  sizeAsFloat(x: string, axis: number, size: number): string {
    if (!this.isDynamic(size)) return this.floatScalar(size, [1]);
    const k = size / this.sentinel!;
    const dim = this.node('Gather', [this.node('Shape', [x]), this.int64s([axis])], { axis: { kind: 'int', value: 0 } });
    const f = this.node('Cast', [dim], { to: { kind: 'int', value: 1 } });
    return k === 1 ? f : this.node('Mul', [f, this.floatScalar(k, [1])]);
  }

  toGraph(): OnnxGraph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}
