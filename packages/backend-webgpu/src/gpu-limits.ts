/**
 * WebGPU detection and the adapter limits the backend respects. Declared structurally (no
 * @webgpu/types): only `navigator.gpu.requestAdapter()` and two limits are used.
 */

/** The adapter limits that bound one tensor's buffer. */
export interface GpuLimits {
  /** Largest GPU buffer (WebGPU default 256 MiB). */
  maxBufferSize: number;
  /** Largest buffer a shader can bind as storage (WebGPU default 128 MiB). */
  maxStorageBufferBindingSize: number;
}

/** The part of a `GPUAdapter` read here. */
export interface GpuAdapterLike {
  readonly limits: Readonly<GpuLimits>;
}

/** The part of `navigator.gpu` used here. */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>;
}

/** `navigator.gpu`, or undefined (no navigator, or a browser without WebGPU). */
export function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? undefined;
}

export type GpuProbe = { ok: true; limits: GpuLimits } | { ok: false; reason: string };

/**
 * Asks for a WebGPU adapter: its limits, or why there is none, in plain words. `gpu`: the entry
 * point to ask (default `navigator.gpu`; null = none).
 */
export async function probeWebGpu(gpu: GpuLike | null | undefined = navigatorGpu()): Promise<GpuProbe> {
  if (gpu === undefined || gpu === null) {
    const hasNavigator = (globalThis as { navigator?: unknown }).navigator !== undefined;
    return {
      ok: false,
      reason: hasNavigator
        ? 'WebGPU is not available in this browser (navigator.gpu is undefined)'
        : 'WebGPU is not available here (no navigator: not a browser)',
    };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, reason: `WebGPU adapter request failed (${e instanceof Error ? e.message : String(e)})` };
  }
  if (adapter === null || adapter === undefined) {
    return { ok: false, reason: 'WebGPU is available but no adapter was found (no usable GPU, or WebGPU is disabled for it)' };
  }
  return { ok: true, limits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } };
}

/** The largest tensor the limits allow, in bytes, and which limit that is. */
export function tensorLimit(limits: GpuLimits): { bytes: number; name: keyof GpuLimits } {
  return limits.maxStorageBufferBindingSize <= limits.maxBufferSize
    ? { bytes: limits.maxStorageBufferBindingSize, name: 'maxStorageBufferBindingSize' }
    : { bytes: limits.maxBufferSize, name: 'maxBufferSize' };
}

/**
 * Classes per decoder chunk for these limits: a power of two from 2 to 32, about one class per
 * 16 MiB of the largest bindable buffer (the decoder's per-class tensors at R=768 are several MiB
 * each), so the WebGPU defaults (128 MiB) give 8 and large GPUs 32.
 */
export function classChunkFor(limits: GpuLimits): number {
  const perClass = 16 * 2 ** 20;
  let chunk = 2;
  while (chunk < 32 && chunk * 2 * perClass <= tensorLimit(limits).bytes) chunk *= 2;
  return chunk;
}

/** `n` bytes in words: `300.0 MiB (314572800 bytes)`. */
export function bytesText(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]} (${n} bytes)`;
}
