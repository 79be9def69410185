/**
 * The sizes a compiled stage graph keeps dynamic, and how tracing finds them. While a stage is
 * traced, each dynamic axis of its inputs has a sentinel length — a large prime that no real size
 * is a multiple of — so every traced size that is a multiple `k · sentinel` stands for `k` times
 * that dynamic size, and is emitted as a run-time shape computation.
 */
import type { StageInput } from '@sedseg/core';

/** Sentinel length of each dynamic size (`dim_param` names in the ONNX graphs). */
export const DYNAMIC_SIZES = { classes: 1_000_003, batch: 1_000_033, length: 1_000_037 } as const;
export type DynamicSizeName = keyof typeof DYNAMIC_SIZES;

const NAMES = Object.keys(DYNAMIC_SIZES) as DynamicSizeName[];

/**
 * The dynamic size a traced length stands for (`factor` × it), or undefined for a fixed size.
 * A product of two dynamic sizes cannot be expressed and is refused.
 */
export function dynamicSizeOf(size: number, where: string): { name: DynamicSizeName; factor: number } | undefined {
  if (size === 0) return undefined;
  const hits = NAMES.filter((n) => size % DYNAMIC_SIZES[n] === 0);
  if (hits.length === 0) return undefined;
  if (hits.length > 1 || (size / DYNAMIC_SIZES[hits[0]!]) % DYNAMIC_SIZES[hits[0]!] === 0) {
    throw new Error(`${where}: a size is a product of dynamic sizes (${hits.join(' × ')}), which graphs cannot express`);
  }
  return { name: hits[0]!, factor: size / DYNAMIC_SIZES[hits[0]!] };
}

/** True when a value looks like a traced dynamic size (a size baked into a value). */
export function isTracedSize(value: number): boolean {
  return value !== 0 && NAMES.some((n) => value % DYNAMIC_SIZES[n] === 0);
}

/** The dynamic axes of a stage input, axis → size name. */
export function dynamicAxesOf(input: StageInput): Map<number, DynamicSizeName> {
  const axes = new Map<number, DynamicSizeName>();
  if (input.classAxis !== undefined) axes.set(input.classAxis, 'classes');
  if (input.batchAxis !== undefined) axes.set(input.batchAxis, 'batch');
  for (const axis of input.lengthAxes ?? []) axes.set(axis, 'length');
  return axes;
}
