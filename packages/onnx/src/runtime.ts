/**
 * The part of an ONNX runtime that `OnnxSessionOps` uses, declared structurally so that this
 * package depends on no runtime: the modules `onnxruntime-node` and `onnxruntime-web` (both typed
 * by onnxruntime-common) satisfy it as they are, e.g. `new OnnxSessionOps({ runtime: ort })`.
 */

/** A runtime tensor: float32 data in, float32 data out. */
export interface OnnxRuntimeTensor {
  readonly dims: readonly number[];
  /** The values (a `Float32Array` for the float32 outputs of sedseg graphs). */
  readonly data: unknown;
}

/** A compiled model. */
export interface OnnxRuntimeSession {
  run(feeds: Readonly<Record<string, OnnxRuntimeTensor>>, fetches: readonly string[]): Promise<Readonly<Record<string, OnnxRuntimeTensor>>>;
  /** Frees the session (its copy of the weights included). */
  release(): Promise<void>;
}

/** An ONNX runtime module; `SessionOptions` is its session options type. */
export interface OnnxRuntime<SessionOptions = unknown> {
  InferenceSession: {
    /** Compiles a serialized model (ONNX protobuf bytes). */
    create(model: Uint8Array, options?: SessionOptions): Promise<OnnxRuntimeSession>;
  };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OnnxRuntimeTensor;
}
