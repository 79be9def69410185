/**
 * Device choice and the buffer-limits check, in Node (no WebGPU here: `auto` falls back to wasm).
 */
import { describe, expect, it } from 'vitest';
import { getBackend, resolveBackend, type Stage } from '@sedseg/core';
import type { LazyTensor } from '@sedseg/onnx';
import { classChunkFor, createWebOps, webBackend } from '../src/index.js';

const MiB = 2 ** 20;

describe('createWebOps', () => {
  it('falls back to wasm without WebGPU and says why', async () => {
    const ops = await createWebOps({ threads: 1 });
    expect(ops.device).toBe('wasm');
    expect(ops.fallbackReason).toMatch(/^WebGPU is not available/);
    const noAdapter = await createWebOps({ device: 'webgpu', threads: 1, gpu: { requestAdapter: async () => null } });
    expect(noAdapter.device).toBe('wasm');
    expect(noAdapter.fallbackReason).toMatch(/no adapter was found/);
    const plain = await createWebOps({ device: 'wasm', threads: 1 });
    expect(plain.device).toBe('wasm');
    expect(plain.fallbackReason).toBeUndefined();
    expect(plain.preferredClassChunk).toBe(2);
  });

  it('with fallback: false, an explicit webgpu fails with the reason', async () => {
    await expect(createWebOps({ device: 'webgpu', fallback: false, gpu: null })).rejects.toThrow(/WebGPU is not available/);
  });

  it('sizes class chunks from the adapter limits', () => {
    expect(classChunkFor({ maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 128 * MiB })).toBe(8);
    expect(classChunkFor({ maxBufferSize: 4096 * MiB, maxStorageBufferBindingSize: 2048 * MiB })).toBe(32);
    expect(classChunkFor({ maxBufferSize: 64 * MiB, maxStorageBufferBindingSize: 32 * MiB })).toBe(2);
  });

  it('refuses a stage whose weight or output exceeds the limits, naming it', async () => {
    const stage = (n: number): Stage<LazyTensor> => ({
      name: 'project',
      inputs: [{ name: 'x', classAxis: 0 }],
      outputs: ['y'],
      run: (ops, { x }) => ({ y: ops.matmul(x!, ops.weight!(new Float32Array(8 * n).fill(0.5), [8, n], 'proj.weight')) }),
    });
    const small = await createWebOps({ device: 'wasm', threads: 1, limits: { maxBufferSize: 4096, maxStorageBufferBindingSize: 2048 } });
    const x = small.constant(new Float32Array(3 * 8).fill(1), [3, 8]);
    // 8×32 weight = 1 KiB, output 3×32 fits: runs
    const ok = await small.runStage(stage(32), { x });
    expect(Array.from(await small.read(ok.y!)).slice(0, 2)).toEqual([4, 4]);
    // 8×128 weight = 4 KiB > 2048
    await expect(small.runStage(stage(128), { x })).rejects.toThrow(
      'stage project: weight "proj.weight" [8, 128] needs 4.0 KiB (4096 bytes), over the configured maxStorageBufferBindingSize of 2.0 KiB (2048 bytes)',
    );
    // output [classes=40, 8] = 1280 bytes fits, [classes=100, 16] = 6400 bytes does not (the class count is dynamic)
    const many = small.constant(new Float32Array(100 * 8).fill(1), [100, 8]);
    await expect(small.runStage(stage(16), { x: many })).rejects.toThrow(/input "x" \[100, 8\] needs 3\.1 KiB/);
    const wide = await createWebOps({ device: 'wasm', threads: 1, limits: { maxBufferSize: 4096, maxStorageBufferBindingSize: 4000 } });
    const y = wide.constant(new Float32Array(100 * 8).fill(1), [100, 8]);
    await expect(wide.runStage(stage(16), { x: y })).rejects.toThrow(
      /output "y" \[100, 16\] needs 6\.3 KiB \(6400 bytes\), over the configured maxStorageBufferBindingSize/,
    );
  });
});

describe('the ort-web registry entry', () => {
  it('is registered on import, explains why webgpu is unavailable, and starts on wasm', async () => {
    expect(getBackend('ort-web')).toBe(webBackend);
    expect(webBackend.devices).toEqual(['webgpu', 'wasm']);
    expect(await webBackend.unavailableReason?.('webgpu')).toMatch(/^WebGPU is not available/);
    expect(await webBackend.unavailableReason?.('wasm')).toBeUndefined();
    await expect(resolveBackend({ backend: 'ort-web', device: 'webgpu' })).rejects.toThrow(/cannot run on webgpu: WebGPU is not available/);
    const resolved = await resolveBackend({ backend: 'ort-web', threads: 1 });
    expect(resolved.device).toBe('wasm');
    expect(resolved.fallbacks.map((f) => f.device)).toEqual(['webgpu']);
    await expect(webBackend.create({ device: 'wasm', extra: { maxSessions: 0 } })).rejects.toThrow(/maxSessions must be a positive integer/);
  });
});
