/**
 * `Ops` on onnxruntime-web: `OnnxSessionOps` of @sedseg/onnx (each SED stage traced once per
 * input signature into an ONNX graph, compiled into a cached session, and run) given
 * onnxruntime-web, on its WebGPU execution provider or on wasm. What is particular to browsers:
 * WebGPU detection with a fallback to wasm (and the reason kept), the adapter's buffer limits
 * (checked before a stage runs, and sizing the decoder's class chunks), wasm threads.
 */
import * as ortWeb from 'onnxruntime-web';
import { defaultComposites, SedsegError, type Shape, type Stage } from '@sedseg/core';
import { DYNAMIC_SIZES, OnnxSessionOps, type DynamicSizeName, type LazyTensor, type OnnxRuntime, type TracedStage } from '@sedseg/onnx';
import { bytesText, classChunkFor, probeWebGpu, tensorLimit, type GpuLike, type GpuLimits } from './gpu-limits.js';

/** What `device` asks for; `auto` = WebGPU when there is an adapter, else wasm. */
export type WebDeviceChoice = 'webgpu' | 'wasm' | 'auto';
/** What actually runs. */
export type WebDevice = 'webgpu' | 'wasm';

/** The onnxruntime-web module (or one shaped like it: `env.wasm` is set when present). */
export type OrtWebModule = OnnxRuntime<ortWeb.InferenceSession.SessionOptions> & {
  env?: { wasm?: { numThreads?: number; wasmPaths?: ortWeb.Env.WasmPrefixOrFilePaths } };
};

export interface WebOpsOptions {
  /** Default `auto`: WebGPU when available, else wasm (see `WebOps.fallbackReason`). */
  device?: WebDeviceChoice;
  /**
   * With `webgpu` (or `auto`) and no usable adapter: true (default) runs on wasm instead and says
   * why in `fallbackReason`; false throws that reason (what the registry does for an explicit
   * `webgpu`).
   */
  fallback?: boolean;
  /**
   * wasm threads (`ort.env.wasm.numThreads`; default ONNX Runtime's choice). Forced to 1 when the
   * page is not cross-origin isolated (`crossOriginIsolated === false`: no SharedArrayBuffer).
   * Global to the onnxruntime-web module and read when its first session is created.
   */
  threads?: number;
  /** Where onnxruntime-web loads its `.wasm`/`.mjs` files from (`ort.env.wasm.wasmPaths`). */
  wasmPaths?: ortWeb.Env.WasmPrefixOrFilePaths;
  /** The runtime module (default: `import * as ort from 'onnxruntime-web'`). */
  ort?: OrtWebModule;
  /** Compiled stage sessions kept (default 24). */
  maxSessions?: number;
  /**
   * Buffer limits to respect instead of the adapter's (tests, or a stricter budget). When given
   * they are checked on wasm too.
   */
  limits?: GpuLimits;
  /** WebGPU entry point to probe (default `navigator.gpu`; null = none). For tests. */
  gpu?: GpuLike | null;
}

const isPositiveInteger = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1;

/** Replaces traced dynamic lengths (multiples of a sentinel) by the run's sizes. */
function concreteShape(shape: readonly number[], sizes: ReadonlyMap<DynamicSizeName, number>): number[] {
  return shape.map((d) => {
    for (const [name, n] of sizes) {
      const sentinel = DYNAMIC_SIZES[name];
      if (d !== 0 && d % sentinel === 0) return (d / sentinel) * n;
    }
    return d;
  });
}

export class WebOps extends OnnxSessionOps<ortWeb.InferenceSession.SessionOptions> {
  /** The device actually running. */
  readonly device: WebDevice;
  /** Why WebGPU was asked for (or `auto`) but wasm runs, in plain words. */
  readonly fallbackReason?: string;
  /** The buffer limits checked before each stage (the adapter's on WebGPU; given ones; else none). */
  readonly limits?: GpuLimits;
  readonly preferredClassChunk: number;

  constructor(runtime: OrtWebModule, device: WebDevice, options: { maxSessions?: number; limits?: GpuLimits; fallbackReason?: string } = {}) {
    super({
      runtime,
      name: 'ort-web',
      sessionOptions: {
        executionProviders: [device],
        graphOptimizationLevel: 'all',
        // Memory patterns are planned per input shape, and shapes change with the class count.
        enableMemPattern: false,
      },
      ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}),
    });
    this.device = device;
    if (options.fallbackReason !== undefined) this.fallbackReason = options.fallbackReason;
    if (options.limits !== undefined) this.limits = options.limits;
    // wasm: small chunks run fastest on CPUs (as with onnxruntime-node on CPU); WebGPU: by the limits.
    this.preferredClassChunk = device === 'webgpu' ? classChunkFor(options.limits ?? { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 }) : 2;
  }

  /**
   * On WebGPU, LayerNorm is built from reductions (core's two-pass default) instead of ONNX
   * LayerNormalization: the WebGPU kernel's one-pass variance loses digits for values far from
   * zero (the conformance kit's "values near 100" case was off by 4e-3).
   */
  override layerNorm(x: LazyTensor, w: LazyTensor, b: LazyTensor, eps: number): LazyTensor {
    return this.device === 'webgpu' ? defaultComposites(this).layerNorm(x, w, b, eps) : super.layerNorm(x, w, b, eps);
  }

  /** The WebGPU MatMul kernel refuses 1-D operands: a vector goes through as a [1, in] matrix. */
  override linear(x: LazyTensor, w: LazyTensor, b?: LazyTensor): LazyTensor {
    if (this.device !== 'webgpu' || x.shape.length !== 1) return super.linear(x, w, b);
    const y = super.linear(this.reshape(x, [1, x.shape[0]!]), w, b);
    return this.reshape(y, [y.shape[1]!]);
  }

  /**
   * Traces as `OnnxSessionOps` does, then checks the traced graph against the buffer limits with
   * the run's sizes: every input, weight and output must fit one buffer, or this throws naming
   * the tensor (instead of a lost GPU device later).
   */
  override traceStage(
    stage: Stage<LazyTensor>,
    inputShapes: Readonly<Record<string, Shape>>,
    options?: Parameters<OnnxSessionOps['traceStage']>[2],
  ): TracedStage {
    const traced = super.traceStage(stage, inputShapes, options);
    if (this.limits !== undefined) this.checkLimits(stage, inputShapes, traced, this.limits);
    return traced;
  }

  private checkLimits(stage: Stage<LazyTensor>, inputShapes: Readonly<Record<string, Shape>>, traced: TracedStage, limits: GpuLimits): void {
    const limit = tensorLimit(limits);
    const check = (what: string, bytes: number, shape?: readonly number[]) => {
      if (bytes <= limit.bytes) return;
      const where = this.device === 'webgpu' ? "this GPU's" : 'the configured';
      throw new SedsegError(
        'E_UNSUPPORTED',
        `stage ${stage.name}: ${what}${shape ? ` [${shape.join(', ')}]` : ''} needs ${bytesText(bytes)}, over ${where} ${limit.name} of ${bytesText(limit.bytes)}; use a smaller resolution, fewer classes per chunk (classChunk), or the wasm device`,
      );
    };
    const sizes = new Map<DynamicSizeName, number>();
    for (const input of stage.inputs) {
      const shape = inputShapes[input.name];
      if (shape === undefined) continue;
      if (input.classAxis !== undefined) sizes.set('classes', shape[input.classAxis]!);
      if (input.batchAxis !== undefined) sizes.set('batch', shape[input.batchAxis]!);
      for (const axis of input.lengthAxes ?? []) sizes.set('length', shape[axis]!);
      check(`input "${input.name}"`, 4 * shape.reduce((a, b) => a * b, 1), shape);
    }
    for (const init of traced.graph.initializers) check(`weight "${init.name}"`, init.raw.byteLength, init.dims);
    for (const [name, shape] of Object.entries(traced.outputShapes)) {
      const real = concreteShape(shape, sizes);
      check(`output "${name}"`, 4 * real.reduce((a, b) => a * b, 1), real);
    }
  }
}

/**
 * Creates the browser backend. `device: 'auto'` (default) or `'webgpu'` runs on WebGPU when the
 * browser has an adapter, else on wasm with `fallbackReason` set (or throws it, `fallback: false`).
 */
export async function createWebOps(options: WebOpsOptions = {}): Promise<WebOps> {
  const choice = options.device ?? 'auto';
  if (!['webgpu', 'wasm', 'auto'].includes(choice)) {
    throw new SedsegError('E_ARGUMENT', `ort-web backend: device must be webgpu, wasm or auto, got ${JSON.stringify(choice)}`);
  }
  if (options.threads !== undefined && !isPositiveInteger(options.threads)) {
    throw new SedsegError('E_ARGUMENT', `ort-web backend: threads must be a positive integer, got ${options.threads}`);
  }
  if (options.maxSessions !== undefined && !isPositiveInteger(options.maxSessions)) {
    throw new SedsegError('E_ARGUMENT', `ort-web backend: maxSessions must be a positive integer, got ${options.maxSessions}`);
  }
  const runtime: OrtWebModule = options.ort ?? (ortWeb as unknown as OrtWebModule);

  let device: WebDevice = 'wasm';
  let limits = options.limits;
  let fallbackReason: string | undefined;
  if (choice !== 'wasm') {
    const probe = await probeWebGpu(options.gpu === undefined ? undefined : options.gpu);
    if (probe.ok) {
      device = 'webgpu';
      limits ??= probe.limits;
    } else {
      if (choice === 'webgpu' && options.fallback === false) throw new SedsegError('E_BACKEND', probe.reason);
      fallbackReason = probe.reason;
    }
  }

  const wasm = runtime.env?.wasm;
  if (wasm !== undefined) {
    if (options.wasmPaths !== undefined) wasm.wasmPaths = options.wasmPaths;
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    if (isolated === false) wasm.numThreads = 1;
    else if (options.threads !== undefined) wasm.numThreads = options.threads;
  }
  return new WebOps(runtime, device, {
    ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}),
    ...(limits !== undefined ? { limits } : {}),
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
  });
}
