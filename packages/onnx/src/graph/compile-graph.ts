/**
 * Turns recorded tensors into one ONNX graph: collects the nodes the requested outputs depend
 * on, decides what each leaf becomes (graph input or initializer), emits the nodes, and computes
 * a structural key, so that a graph with the same structure, sizes and weights reuses a compiled
 * session.
 *
 * Leaves:
 * - weights → initializers (the key names them by identity, not by value);
 * - stage inputs (placeholders) → graph inputs, the class axis dynamic;
 * - other host values: made while the stage was traced (masks, small constants) → initializers
 *   (the key includes their values); otherwise → graph inputs fed at run time (the key has
 *   their shape only).
 */
import { float32ToFloat16Array } from '@sedseg/core';
import type { OnnxGraph } from '../onnx/onnx-model.js';
import { emitOp } from './emit-op.js';
import type { DynamicSizeName } from './dynamic-sizes.js';
import { float32Bytes, GraphBuilder, type DynamicSizeSource } from './graph-builder.js';
import type { LazyTensor, OpAttr } from './lazy-tensor.js';

export interface CompileOptions {
  name: string;
  /** Stage placeholders and their dynamic axes (axis → size name, see dynamic-sizes.ts). */
  placeholders?: ReadonlyMap<LazyTensor, ReadonlyMap<number, DynamicSizeName>>;
  /** Host values with an id at or above this were made while tracing: they become initializers. */
  tracedFrom?: number;
  /** Storage type of weight initializers (float16: stored half, cast to float32 in the graph). */
  weightType?: 'float32' | 'float16';
}

export interface CompiledGraph {
  graph: OnnxGraph;
  /** Same key ⇔ same graph (structure, sizes, weights, embedded values). */
  key: string;
  /** Graph inputs in order, with the tensors that feed them. */
  feeds: { name: string; tensor: LazyTensor }[];
}

/** A 53-bit FNV-1a style hash of float values (keys of embedded constants). */
function hashValues(data: Float32Array): string {
  const bytes = float32Bytes(data);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    h1 = Math.imul(h1 ^ bytes[i]!, 16777619);
    h2 = Math.imul(h2 ^ bytes[i]!, 2246822519);
  }
  return `${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}:${data.length}`;
}

function attrKey(attrs: Readonly<Record<string, OpAttr>>): string {
  return Object.keys(attrs)
    .sort()
    .map((k) => {
      const v = attrs[k]!;
      return `${k}=${ArrayBuffer.isView(v) || Array.isArray(v) ? Array.from(v as ArrayLike<number>).join(',') : String(v)}`;
    })
    .join(';');
}

/** Tensors `outputs` depend on, inputs before users, stopping at host values and placeholders. */
export function topologicalOrder(outputs: readonly LazyTensor[]): LazyTensor[] {
  const order: LazyTensor[] = [];
  const state = new Map<LazyTensor, 1 | 2>();
  for (const root of outputs) {
    const stack: LazyTensor[] = [root];
    while (stack.length) {
      const t = stack[stack.length - 1]!;
      const s = state.get(t);
      if (s === 2) {
        stack.pop();
        continue;
      }
      const deps = t.isConcrete || !t.op ? [] : t.op.inputs;
      if (s === 1) {
        state.set(t, 2);
        order.push(t);
        stack.pop();
        continue;
      }
      state.set(t, 1);
      for (const d of deps) if (!state.has(d)) stack.push(d);
    }
  }
  return order;
}

export function compileGraph(outputs: readonly { name: string; tensor: LazyTensor }[], options: CompileOptions): CompiledGraph {
  const placeholders = options.placeholders ?? new Map<LazyTensor, ReadonlyMap<number, DynamicSizeName>>();
  const sources = new Map<DynamicSizeName, DynamicSizeSource>();
  for (const [t, axes] of placeholders) {
    for (const [axis, name] of axes) if (!sources.has(name)) sources.set(name, { input: t.name!, axis });
  }
  // Graphs of stages trace dynamic sizes; graphs of eager reads have fixed sizes only.
  const g = new GraphBuilder(options.name, options.tracedFrom !== undefined ? sources : undefined);
  const names = new Map<LazyTensor, string>();
  const local = new Map<LazyTensor, number>();
  const keyParts: string[] = [options.weightType ?? 'float32'];
  const feeds: { name: string; tensor: LazyTensor }[] = [];
  const fp16 = options.weightType === 'float16';

  for (const t of topologicalOrder(outputs.map((o) => o.tensor))) {
    local.set(t, local.size);
    const shape = t.shape.join('x');
    const placeholder = placeholders.get(t);
    if (placeholder !== undefined || t.kind === 'input') {
      if (placeholder === undefined) throw new Error(`graph ${options.name}: input "${t.name}" belongs to another stage`);
      const name = t.name!;
      g.inputs.push({ name, dataType: 'float32', dims: t.shape.map((d, i) => placeholder.get(i) ?? d) });
      feeds.push({ name, tensor: t });
      names.set(t, name);
      keyParts.push(`I:${name}:${shape}:${[...placeholder].join(',')}`);
    } else if (t.kind === 'weight') {
      const name = t.name ?? g.fresh('w');
      if (fp16) {
        const half = float32ToFloat16Array(t.data!);
        g.initializer({ name: `${name}.f16`, dataType: 'float16', dims: t.shape, raw: new Uint8Array(half.buffer) });
        names.set(t, g.node('Cast', [`${name}.f16`], { to: { kind: 'int', value: 1 } }));
      } else {
        g.initializer({ name, dataType: 'float32', dims: t.shape, raw: float32Bytes(t.data!) });
        names.set(t, name);
      }
      keyParts.push(`W${t.id}`);
    } else if (t.isConcrete) {
      if (options.tracedFrom !== undefined && t.id >= options.tracedFrom) {
        const name = g.initializer({ name: g.fresh('k'), dataType: 'float32', dims: t.shape, raw: float32Bytes(t.data!) });
        names.set(t, name);
        keyParts.push(`K:${hashValues(t.data!)}:${shape}`);
      } else if (options.tracedFrom !== undefined) {
        throw new Error(`stage ${options.name}: it uses a host tensor that is neither a weight nor one of its inputs`);
      } else {
        const name = `in${feeds.length}`;
        g.inputs.push({ name, dataType: 'float32', dims: t.shape });
        feeds.push({ name, tensor: t });
        names.set(t, name);
        keyParts.push(`D:${shape}`);
      }
    } else {
      const op = t.op!;
      const inputNames = op.inputs.map((i) => names.get(i)!);
      names.set(t, emitOp(g, op, inputNames, t));
      keyParts.push(`${op.type}(${attrKey(op.attrs)})[${op.inputs.map((i) => local.get(i)).join(',')}]:${shape}`);
    }
  }
  for (const o of outputs) {
    g.nodes.push({ opType: 'Identity', inputs: [names.get(o.tensor)!], outputs: [o.name], name: `output_${o.name}` });
    g.outputs.push({ name: o.name, dataType: 'float32', dims: g.valueInfoDims(o.tensor.shape) });
    keyParts.push(`O:${o.name}=${local.get(o.tensor)}`);
  }
  return { graph: g.toGraph(), key: keyParts.join('|'), feeds };
}
