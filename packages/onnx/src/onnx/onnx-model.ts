/**
 * ONNX model description and its serialization to the `ModelProto` protobuf (onnx.proto3 field
 * numbers). Only what sedseg's graphs use: float/int tensors, raw initializers, node attributes
 * of the plain kinds, and tensor value infos with fixed or named (dynamic) dimensions.
 */
import { ProtoMessage } from './protobuf-writer.js';

export type OnnxDataType = 'float32' | 'float16' | 'int32' | 'int64';

const DATA_TYPE_CODE: Record<OnnxDataType, number> = { float32: 1, int32: 6, int64: 7, float16: 10 };

export interface OnnxInitializer {
  name: string;
  dataType: OnnxDataType;
  dims: readonly number[];
  /** Little-endian raw bytes. */
  raw: Uint8Array;
}

export type OnnxAttribute =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] };

export interface OnnxNode {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, OnnxAttribute>>;
}

/** A graph input or output: a tensor whose dims are sizes, names of dynamic sizes, or unknown. */
export interface OnnxValueInfo {
  name: string;
  dataType: OnnxDataType;
  dims: readonly (number | string | null)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

export interface OnnxModelOptions {
  opset: number;
  producerName?: string;
  producerVersion?: string;
  /** `metadata_props` entries. */
  metadata?: Readonly<Record<string, string>>;
}

/** ONNX IR version that goes with opsets 17–18. */
const IR_VERSION = 8;

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

function attributeMessage(name: string, a: OnnxAttribute): ProtoMessage {
  const m = new ProtoMessage().string(1, name);
  switch (a.kind) {
    case 'float':
      m.float(2, a.value);
      break;
    case 'int':
      m.int(3, a.value);
      break;
    case 'string':
      m.string(4, a.value);
      break;
    case 'floats':
      for (const v of a.value) m.float(7, v);
      break;
    case 'ints':
      for (const v of a.value) m.int(8, v);
      break;
  }
  return m.int(20, ATTRIBUTE_TYPE[a.kind]);
}

function nodeMessage(n: OnnxNode): ProtoMessage {
  const m = new ProtoMessage();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  if (n.name) m.string(3, n.name);
  m.string(4, n.opType);
  for (const [name, a] of Object.entries(n.attributes ?? {})) m.message(5, attributeMessage(name, a));
  return m;
}

function tensorMessage(t: OnnxInitializer): ProtoMessage {
  const m = new ProtoMessage();
  for (const d of t.dims) m.int(1, d);
  m.int(2, DATA_TYPE_CODE[t.dataType]);
  m.string(8, t.name);
  m.bytes(9, t.raw);
  return m;
}

function valueInfoMessage(v: OnnxValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const d of v.dims) {
    const dim = new ProtoMessage();
    if (typeof d === 'number') dim.int(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoMessage().int(1, DATA_TYPE_CODE[v.dataType]).message(2, shape);
  const type = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, v.name).message(2, type);
}

/** Serializes a graph as an ONNX `ModelProto` (default domain only). */
export function serializeOnnxModel(graph: OnnxGraph, options: OnnxModelOptions): Uint8Array {
  const g = new ProtoMessage();
  for (const n of graph.nodes) g.message(1, nodeMessage(n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensorMessage(t));
  for (const i of graph.inputs) g.message(11, valueInfoMessage(i));
  for (const o of graph.outputs) g.message(12, valueInfoMessage(o));

  const model = new ProtoMessage().int(1, IR_VERSION);
  model.string(2, options.producerName ?? 'sedseg');
  if (options.producerVersion) model.string(3, options.producerVersion);
  model.message(7, g);
  model.message(8, new ProtoMessage().string(1, '').int(2, options.opset));
  for (const [key, value] of Object.entries(options.metadata ?? {})) model.message(14, new ProtoMessage().string(1, key).string(2, value));
  const bytes = model.toBytes();
  if (bytes.length > 2 ** 31 - 1) {
    throw new RangeError(`ONNX graph "${graph.name}" is ${bytes.length} bytes: over protobuf's 2 GB limit`);
  }
  return bytes;
}
