/**
 * Builds one ONNX graph: unique value names, deduplicated constants, and the shape tensors that
 * Reshape/Expand/Resize need — static ones as constants, and, when the graph keeps sizes dynamic
 * (dynamic-sizes.ts), ones computed at run time: a traced size `k · sentinel` becomes
 * `k · Shape(input)[axis]` for an input axis that carries that size.
 */
import type { OnnxAttribute, OnnxGraph, OnnxInitializer, OnnxNode, OnnxValueInfo } from '../onnx/onnx-model.js';
import { dynamicSizeOf, type DynamicSizeName } from './dynamic-sizes.js';

/** A graph input axis that carries a dynamic size. */
export interface DynamicSizeSource {
  input: string;
  axis: number;
}

function int64Bytes(values: readonly number[]): Uint8Array {
  const b = new BigInt64Array(values.length);
  values.forEach((v, i) => {
    b[i] = BigInt(v);
  });
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
  private readonly sizeNames = new Map<DynamicSizeName, string>();

  constructor(
    readonly name: string,
    /** Where each dynamic size can be read; undefined when every size is fixed (no tracing). */
    private readonly sources: ReadonlyMap<DynamicSizeName, DynamicSizeSource> | undefined,
  ) {}

  fresh(prefix = 'v'): string {
    return `${prefix}${this.counter++}`;
  }

  /** The dynamic size a traced size stands for, if the graph has dynamic sizes. */
  private dynamic(size: number): { name: DynamicSizeName; factor: number } | undefined {
    return this.sources === undefined ? undefined : dynamicSizeOf(size, `graph ${this.name}`);
  }

  isDynamic(size: number): boolean {
    return this.dynamic(size) !== undefined;
  }

  /** Dims for a value info: fixed sizes, the name of a dynamic size, null for multiples of one. */
  valueInfoDims(shape: readonly number[]): (number | string | null)[] {
    return shape.map((d) => {
      const dyn = this.dynamic(d);
      return dyn === undefined ? d : dyn.factor === 1 ? dyn.name : null;
    });
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

  /** A dynamic size as an int64 tensor [1], read from the shape of an input that carries it. */
  private dimOf(name: DynamicSizeName): string {
    let dim = this.sizeNames.get(name);
    if (dim === undefined) {
      const source = this.sources?.get(name);
      if (!source) throw new Error(`graph ${this.name}: a size depends on "${name}" but no input carries it`);
      const shape = this.node('Shape', [source.input]);
      dim = this.node('Gather', [shape, this.int64s([source.axis])], { axis: { kind: 'int', value: 0 } });
      this.sizeNames.set(name, dim);
    }
    return dim;
  }

  /** `size` as an int64 tensor [1] (`k · dynamic size` when dynamic). */
  private sizeTensor(size: number): string {
    const dyn = this.dynamic(size);
    if (dyn === undefined) return this.int64s([size]);
    return dyn.factor === 1 ? this.dimOf(dyn.name) : this.node('Mul', [this.dimOf(dyn.name), this.int64s([dyn.factor])]);
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
    const dim = this.node('Gather', [this.node('Shape', [x]), this.int64s([axis])], { axis: { kind: 'int', value: 0 } });
    return this.node('Cast', [dim], { to: { kind: 'int', value: 1 } });
  }

  toGraph(): OnnxGraph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }
}
