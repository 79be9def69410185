/**
 * The backend registry: priority order, device fall-through with reasons, explicit requests that
 * fail in one line, definitions checked on registration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { listBackends, registerBackend, resolveBackend, unregisterBackend, type BackendDefinition, type BackendOps, type Device } from '../src/index.js';

const fakeOps = (name: string): BackendOps => ({ name }) as unknown as BackendOps;
const created: string[] = [];

function fake(name: string, priority: number, devices: Device[], broken: Partial<Record<Device, string>> = {}, probeOnly = false): BackendDefinition {
  return {
    name,
    priority,
    devices,
    ...(probeOnly ? { unavailableReason: (d: Device) => broken[d] } : {}),
    async create({ device }) {
      if (!probeOnly && broken[device]) throw new Error(`${broken[device]}\nstack line`);
      created.push(`${name}/${device}`);
      return fakeOps(`${name}-${device}`);
    },
  };
}

describe('backend registry', () => {
  const names = ['t-fast', 't-slow', 't-gpu'];
  afterEach(() => {
    for (const n of names) unregisterBackend(n);
    created.length = 0;
  });

  it('lists by priority and resolves the highest that starts', async () => {
    registerBackend(fake('t-slow', -1000, ['cpu']));
    registerBackend(fake('t-fast', 1000, ['cuda', 'cpu'], { cuda: 'no CUDA here' }));
    const mine = listBackends()
      .filter((d) => names.includes(d.name))
      .map((d) => d.name);
    expect(mine).toEqual(['t-fast', 't-slow']);
    const r = await resolveBackend({ backend: 't-fast' });
    expect(r.backend).toBe('t-fast');
    expect(r.device).toBe('cpu');
    expect(r.fallbacks).toEqual([{ backend: 't-fast', device: 'cuda', reason: 'no CUDA here' }]);
    expect(r.notice).toBeUndefined(); // auto: trying devices in order is not worth a notice
  });

  it('an explicitly requested device that no backend can run falls back with a one-line notice', async () => {
    registerBackend(fake('t-fast', 1000, ['cuda', 'cpu'], { cuda: 'CUDA libraries missing' }, true));
    const r = await resolveBackend({ backend: 't-fast', device: 'cpu' });
    expect(r.device).toBe('cpu');
    await expect(resolveBackend({ backend: 't-fast', device: 'cuda' })).rejects.toThrow(/^backend "t-fast" cannot run on cuda: CUDA libraries missing$/);
    await expect(resolveBackend({ backend: 't-fast', device: 'webgpu' })).rejects.toThrow(/does not run on webgpu \(its devices: cuda, cpu\)/);
    const fallback = await resolveBackend({ device: 'cuda' });
    expect(fallback.notice).toMatch(/^cuda is unavailable \(.*t-fast\/cuda: CUDA libraries missing.*\); running \S+ on \S+$/);
    expect(fallback.notice).not.toContain('\n');
  });

  it('names every reason when nothing starts, and refuses unknown names and bad definitions', async () => {
    registerBackend(fake('t-gpu', 1000, ['webgpu'], { webgpu: 'no adapter' }));
    await expect(resolveBackend({ backend: 't-gpu' })).rejects.toThrow(/^backend "t-gpu" could not start: t-gpu\/webgpu: no adapter$/);
    await expect(resolveBackend({ backend: 'nope' })).rejects.toThrow(/unknown backend "nope" \(registered: .*t-gpu/);
    expect(() => registerBackend({ name: 'x', priority: 1, devices: ['tpu'], create: async () => fakeOps('x') } as unknown as BackendDefinition)).toThrow(
      /unknown device "tpu"/,
    );
    expect(() => registerBackend({ name: 'x', priority: 1, devices: ['cpu'] } as unknown as BackendDefinition)).toThrow(/"create" must be a function/);
  });

  it('the last registration of a name wins (an application can override a built-in)', async () => {
    registerBackend(fake('t-fast', 1, ['cpu']));
    registerBackend(fake('t-fast', 2, ['wasm']));
    const r = await resolveBackend({ backend: 't-fast' });
    expect(r.device).toBe('wasm');
  });
});
