import { describe, expect, it } from 'vitest';
import { openSafetensors, type HostTensor } from '../src/index.js';
import { fileSource } from '../src/node.js';
import { preprocessImage } from '../src/image/preprocess.js';
import { resizeBilinearPlanes } from '../src/image/resize-bilinear.js';
import { readReferenceJson, referencePath } from './helpers/reference.js';

async function caseTensors(name: string, keys: string[]): Promise<Record<string, HostTensor>> {
  const store = await openSafetensors(await fileSource(referencePath('tiny', name, 'tensors.safetensors')));
  try {
    const out: Record<string, HostTensor> = {};
    for (const k of keys) out[k] = await store.read(k);
    return out;
  } finally {
    await store.close();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('preprocessing', () => {
  it.each(['case-01', 'case-02'])('%s: normalise + resize reproduces the reference input', async (name) => {
    const meta = readReferenceJson<{ resolution: number }>('tiny', name, 'case.json');
    const t = await caseTensors(name, ['image', 'input']);
    const [H, W] = t.image!.shape as [number, number, number];
    const input = preprocessImage({ width: W, height: H, data: t.image!.data as Uint8Array }, meta.resolution);
    expect(t.input!.shape).toEqual([1, 3, meta.resolution, meta.resolution]);
    // Issue tolerance: 1e-4 × max(1, max |golden|); measured 1.6e-7 (case-01) and 3.0e-5 (case-02).
    const golden = t.input!.data as Float32Array;
    const scale = golden.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    expect(maxAbsDiff(input, golden)).toBeLessThanOrEqual(1e-4 * scale);
  });

  it('refuses resolutions that are not multiples of 32', () => {
    const image = { width: 2, height: 2, data: new Uint8Array(12) };
    expect(() => preprocessImage(image, 100)).toThrow(/multiple of 32, got 100/);
    expect(() => preprocessImage({ ...image, data: new Uint8Array(5) }, 64)).toThrow(/5 bytes for 2×2 RGB/);
  });

  it('resizes with align_corners semantics', () => {
    // 1×2 → 1×4, align_corners=true: endpoints kept, linear in between
    expect(Array.from(resizeBilinearPlanes(Float32Array.from([0, 3]), 1, 1, 2, 1, 4, true))).toEqual([0, 1, 2, 3]);
    // align_corners=false: PyTorch gives [0, 0.75, 2.25, 3]
    expect(Array.from(resizeBilinearPlanes(Float32Array.from([0, 3]), 1, 1, 2, 1, 4, false))).toEqual([0, 0.75, 2.25, 3]);
  });
});
