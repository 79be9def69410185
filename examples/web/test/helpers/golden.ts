/** The golden cases of ../shared/reference/tiny read in Node, for checking the page's labels. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from '@sedseg/core';
import { fileSource } from '@sedseg/core/node';
import { REFERENCE_DIR } from './server.js';

export interface GoldenCase {
  name: string;
  resolution: number;
  pooling: number;
  topk: number[];
  width: number;
  height: number;
  classes: string[];
  /** Golden tensors by name (labels, labels_margin, cer_top{k}_labels). */
  tensors: Record<string, ArrayLike<number>>;
}

export async function readGoldenCase(name: string): Promise<GoldenCase> {
  const dir = join(REFERENCE_DIR, 'tiny', name);
  const meta = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as {
    resolution: number;
    topk: number[];
    decoder_pooling?: [number, number];
    image: { width: number; height: number };
  };
  const store = await openSafetensors(await fileSource(join(dir, 'tensors.safetensors')));
  const tensors: Record<string, ArrayLike<number>> = {};
  try {
    for (const t of ['labels', 'labels_margin', ...meta.topk.map((k) => `cer_top${k}_labels`)]) tensors[t] = (await store.read(t)).data as ArrayLike<number>;
  } finally {
    await store.close();
  }
  return {
    name,
    resolution: meta.resolution,
    pooling: meta.decoder_pooling?.[0] ?? 2,
    topk: meta.topk,
    width: meta.image.width,
    height: meta.image.height,
    classes: JSON.parse(readFileSync(join(dir, 'classes.json'), 'utf8')) as string[],
    tensors,
  };
}
