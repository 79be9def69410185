/**
 * `Ops` on ONNX Runtime (onnxruntime-node): `OnnxSessionOps` of @sedseg/onnx (operators record
 * nodes, each stage is traced once per input signature into an ONNX graph with the class count
 * as a dynamic dimension, compiled into a cached `InferenceSession`, and run) given
 * onnxruntime-node, plus what is particular to Node: threads, the CPU memory arena, and CUDA
 * when this install has it, with a fallback to CPU when it does not load.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { SedsegError } from '@sedseg/core';
import { OnnxSessionOps } from '@sedseg/onnx';

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

export class OrtOps extends OnnxSessionOps<ort.InferenceSession.SessionOptions> {
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

  constructor(options: OrtOpsOptions = {}) {
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new SedsegError('E_ARGUMENT', `ort backend: threads must be a positive integer, got ${options.threads}`);
    }
    super({ runtime: ort, name: 'ort', ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {}) });
    this.threads = options.threads;
    this.memArena = options.memArena ?? true;
    this.executionProviders = options.executionProviders ?? defaultProviders();
    this.providersChosen = options.executionProviders !== undefined;
  }

  protected override async createSession(model: Uint8Array): Promise<ort.InferenceSession> {
    const create = (executionProviders: string[]) =>
      ort.InferenceSession.create(model, {
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
  }
}

/** Creates the ort backend. */
export function createOrtOps(options: OrtOpsOptions = {}): OrtOps {
  return new OrtOps(options);
}
