import { createRequire } from 'node:module';
import { isSedsegError } from '@sedseg/core';
import { describe, expect, it } from 'vitest';
import { createTfjsOps, loadTfjs, TFJS_PLATFORM_PACKAGES, type TfjsPlatform } from '../src/index.js';

const installed = (pkg: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('loadTfjs', () => {
  it("'cpu' loads tfjs-core with the pure-JS backend", async () => {
    const { tf, backend, platform } = await loadTfjs('cpu');
    expect(platform).toBe('cpu');
    expect(backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(typeof tf.conv2d).toBe('function');
  });

  it("'wasm' loads the wasm backend with its .wasm files found in node_modules", async () => {
    const { tf, backend, platform } = await loadTfjs('wasm');
    expect(platform).toBe('wasm');
    expect(backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const y = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
    expect([...(await y.data())]).toEqual([4, 6]);
    y.dispose();
  });

  it.each(['node', 'node-gpu'] as const)("an explicit '%s' that is not installed names the package to install", async (platform) => {
    const pkg = TFJS_PLATFORM_PACKAGES[platform];
    if (installed(pkg)) return; // only meaningful where it is missing (as in this repository)
    const e = await rejection(loadTfjs(platform));
    expect(isSedsegError(e)).toBe(true);
    expect((e as { code: string }).code).toBe('E_ARGUMENT');
    expect((e as Error).message).toContain(`npm install ${pkg}`);
    expect((e as Error).message).toContain(`'${platform}'`);
    // createTfjsOps reports the same
    const e2 = await rejection(createTfjsOps({ platform }));
    expect((e2 as Error).message).toContain(pkg);
  });

  it("'auto' falls back to the cpu backend when neither tfjs-node package is installed", async () => {
    const { platform, backend } = await loadTfjs();
    if (installed(TFJS_PLATFORM_PACKAGES['node-gpu']) || installed(TFJS_PLATFORM_PACKAGES.node)) {
      expect(backend).toBe('tensorflow');
    } else {
      expect(platform).toBe('cpu');
      expect(backend).toBe('cpu');
    }
  });

  it('an unknown platform is an argument error', async () => {
    const e = await rejection(loadTfjs('gpu' as TfjsPlatform));
    expect(isSedsegError(e) && e.code === 'E_ARGUMENT').toBe(true);
  });

  it('instances on different platforms can be used side by side', async () => {
    const cpu = await createTfjsOps({ platform: 'cpu' });
    const wasm = await createTfjsOps({ platform: 'wasm' });
    const a = cpu.constant(new Float32Array([1, 2, 3]), [3]);
    const b = wasm.constant(new Float32Array([4, 5, 6]), [3]);
    expect(cpu.tf.getBackend()).toBe('wasm');
    const c = cpu.mulScalar(a, 2); // switches the engine back to cpu
    expect(cpu.tf.getBackend()).toBe('cpu');
    const d = wasm.addScalar(b, 1);
    expect(wasm.tf.getBackend()).toBe('wasm');
    expect([...(await cpu.read(c))]).toEqual([2, 4, 6]);
    expect([...(await wasm.read(d))]).toEqual([5, 6, 7]);
    cpu.dispose([a, c]);
    wasm.dispose([b, d]);
  });
});
